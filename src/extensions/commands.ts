// Runs one handler command the way upstream does: shell, cwd = handler dir, own process group,
// output to files, a timeout that kills the group, upstream's environment variables.
import { appendFile, mkdir, mkdtemp, rm, stat, truncate, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger, Runner, Clock } from '../deps.js';
import { ExtCode, ExtensionError } from '../errors.js';
import { formatCommandOutput } from '../platform/command-output.js';
import { formatLogLine } from '../log/format.js';
import type { Progress } from '../log/progress.js';

export type HandlerOp = 'install' | 'enable' | 'disable' | 'update' | 'uninstall';

export const OP_ERROR_CODE: Record<HandlerOp, number> = {
  install: ExtCode.PluginInstallProcessingFailed,
  enable: ExtCode.PluginEnableProcessingFailed,
  disable: ExtCode.PluginDisableProcessingFailed,
  update: ExtCode.PluginUpdateProcessingFailed,
  uninstall: ExtCode.PluginProcessingError,
};

const OP_LABEL: Record<HandlerOp, string> = { install: 'Install', enable: 'Enable', disable: 'Disable', update: 'Update', uninstall: 'Uninstall' };

export const SUPPORTED_FEATURES_ENV = '[{"Key": "ExtensionTelemetryPipeline", "Value": "1.0"}]';
const COMMAND_LOG_MAX = 10 * 1024 * 1024;

/** Handlers whose commands legitimately run long (CustomScript, Chef, DSC) get the long timeout. */
export function isLongRunningHandler(handlerName: string): boolean {
  return /customscript|chef|dsc/i.test(handlerName.slice(handlerName.lastIndexOf('.') + 1)) || /chef/i.test(handlerName);
}

export interface CommandContext {
  readonly runner: Runner;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly handlerName: string;
  readonly version: string;
  readonly baseDir: string;
  readonly logDir: string;
  readonly wireServerAddress: string;
  readonly timeoutMs: number;
  /** The agent's own environment; copied in last, so it wins (as upstream). */
  readonly agentEnv: Readonly<Record<string, string | undefined>>;
  /** "Still running" lines (and the terminal's live line) while the command runs. */
  readonly progress?: Progress;
}

export interface CommandArgs {
  readonly op: HandlerOp;
  readonly command: string;
  readonly seqNo: number | null;
  readonly extensionName?: string;
  readonly extraEnv?: Readonly<Record<string, string>>;
}

export interface CommandOutcome {
  readonly exitCode: number;
  readonly output: string;
  readonly durationMs: number;
}

/** The full child environment, and the part the agent set (logged, as upstream does). */
export function commandEnv(ctx: CommandContext, args: CommandArgs): { env: Record<string, string>; agentSet: Record<string, string> } {
  const env: Record<string, string> = {
    AZURE_GUEST_AGENT_EXTENSION_PATH: ctx.baseDir,
    AZURE_GUEST_AGENT_EXTENSION_VERSION: ctx.version,
    AZURE_GUEST_AGENT_WIRE_PROTOCOL_ADDRESS: ctx.wireServerAddress,
    ConfigSequenceNumber: String(args.seqNo ?? 0),
    AZURE_GUEST_AGENT_EXTENSION_SUPPORTED_FEATURES: SUPPORTED_FEATURES_ENV,
  };
  if (args.extensionName !== undefined) env.ConfigExtensionName = args.extensionName;
  if (args.op === 'install' || args.op === 'enable') env.AZURE_GUEST_AGENT_UNINSTALL_CMD_EXIT_CODE = 'NOT_RUN';
  Object.assign(env, args.extraEnv ?? {});
  const agentSet = { ...env };
  for (const [k, v] of Object.entries(ctx.agentEnv)) if (v !== undefined) env[k] = v;
  return { env, agentSet };
}

/** Runs the command; resolves on exit code 0, throws ExtensionError (operation's code, or 1011) otherwise. */
export async function runHandlerCommand(ctx: CommandContext, args: CommandArgs): Promise<CommandOutcome> {
  const fullCommand = join(ctx.baseDir, args.command.replace(/^\/+/, ''));
  const { env, agentSet } = commandEnv(ctx, args);
  ctx.logger.info(`Executing command: ${fullCommand} with environment variables: ${JSON.stringify(agentSet)}`);
  await mkdir(ctx.logDir, { recursive: true, mode: 0o755 });
  const tmp = await mkdtemp(join(ctx.baseDir, `.${args.op}-`));
  const stdoutPath = join(tmp, 'stdout');
  const stderrPath = join(tmp, 'stderr');
  let result;
  const what = `${args.op} of ${ctx.handlerName}-${ctx.version}${args.extensionName !== undefined ? ` (${args.extensionName})` : ''}`;
  const progress = ctx.progress?.command(ctx.logger, what, ctx.timeoutMs);
  try {
    result = await ctx.runner.run(fullCommand, { cwd: ctx.baseDir, env, timeoutMs: ctx.timeoutMs, stdoutPath, stderrPath });
  } finally {
    progress?.finish();
    // The files may still be held by a background job; unlinking them is harmless to it.
    await rm(tmp, { recursive: true, force: true });
  }
  const output = formatCommandOutput(result.stdout, result.stderr);
  await appendCommandLog(ctx, args, fullCommand, output);
  const label = OP_LABEL[args.op];
  if (result.launchError !== undefined) {
    throw new ExtensionError(`[ExtensionOperationError] ${label}: Failed to launch '${fullCommand}': ${result.launchError}`, OP_ERROR_CODE[args.op], { code: 'WAA_EXT_COMMAND' });
  }
  if (result.timedOut) {
    const secs = Math.round(ctx.timeoutMs / 1000);
    throw new ExtensionError(`[ExtensionOperationError] ${label}: Timeout(${secs}): ${fullCommand}\n${output}`, ExtCode.PluginHandlerScriptTimedout, { code: 'WAA_EXT_TIMEOUT' });
  }
  const rc = result.exitCode ?? 128 + signalNumber(result.signal);
  if (rc !== 0) {
    let msg = `[ExtensionOperationError] ${label}: Non-zero exit code: ${rc}, ${fullCommand}\n${output}`;
    if (rc === 126) msg += `\n${await noexecWarning(ctx.baseDir)}`;
    const err = new ExtensionError(msg, OP_ERROR_CODE[args.op], { code: 'WAA_EXT_COMMAND' });
    Object.assign(err, { exitCode: rc });
    throw err;
  }
  return { exitCode: 0, output, durationMs: result.durationMs };
}

function signalNumber(sig: NodeJS.Signals | null): number {
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  return sig ? table[sig] ?? 0 : 0;
}

/** Exit code 126 usually means "cannot execute": say so when the handler's mount is noexec. */
async function noexecWarning(dir: string): Promise<string> {
  try {
    const mounts = (await readFile('/proc/self/mounts', 'utf8')).split('\n').map((l) => l.split(' '));
    let best: string[] | undefined;
    for (const m of mounts) {
      const mp = m[1];
      if (mp && (dir === mp || dir.startsWith(mp.endsWith('/') ? mp : `${mp}/`)) && (!best || mp.length > best[1]!.length)) best = m;
    }
    if (best && (best[3] ?? '').split(',').includes('noexec')) {
      return `WARNING: ${best[1]} is mounted with the noexec flag, which can prevent execution of VM Extensions.`;
    }
    return 'Exit code 126 means the command could not be executed (permissions or a noexec mount).';
  } catch {
    return 'Exit code 126 means the command could not be executed (permissions or a noexec mount).';
  }
}

/** CommandExecution.log in the handler's log folder, head-truncated to 10 MiB. */
async function appendCommandLog(ctx: CommandContext, args: CommandArgs, cmd: string, output: string): Promise<void> {
  const file = join(ctx.logDir, args.extensionName ? `CommandExecution_${args.extensionName}.log` : 'CommandExecution.log');
  try {
    const st = await stat(file).catch(() => undefined);
    if (st && st.size > COMMAND_LOG_MAX) {
      const keep = (await readFile(file)).subarray(st.size - COMMAND_LOG_MAX / 2);
      await truncate(file, 0);
      await writeFile(file, keep);
    }
    const micros = Math.round(ctx.clock.now() * 1000);
    const lines = output.split('\n').filter((l) => l.trim() !== '').join('\n');
    await appendFile(file, formatLogLine({ timeMicros: micros, level: 'INFO', thread: 'ExtHandler', prefix: `[${ctx.handlerName}-${ctx.version}]`, msg: `Command: ${cmd}\n${lines}` }));
  } catch (err) {
    ctx.logger.warn(`Cannot write ${file} as ${(err as Error).message}`);
  }
}
