// One handler at one version on disk: its folders, state files and commands.
import { copyFile, mkdir, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, Logger, Runner } from '../deps.js';
import type { Progress } from '../log/progress.js';
import { ExtCode, ExtensionError, errorMessage } from '../errors.js';
import type { ExtensionSettings, HandlerSpec } from '../protocol/goal-state.js';
import { handlerDir, handlerLogDir, handlerZipPath, type Paths } from '../state/paths.js';
import { runHandlerCommand, isLongRunningHandler, type CommandContext, type HandlerOp } from './commands.js';
import { handlerEnvironmentFor, writeHandlerEnvironment } from './environment.js';
import {
  readExtensionState, readHandlerState, writeExtensionState, writeHandlerState, writeHandlerStatus,
  extensionStateFileName, type ExtensionState, type HandlerState,
} from './handler-state.js';
import { requireCommand, type HandlerManifest } from './manifest.js';
import { addOwnerExecute, initializeManifest, loadHandlerManifest } from './package.js';
import { removeDirAtomically } from './remove-dir.js';
import { settingsFileName, writeSettingsFile } from './settings.js';
import type { WriteHealth } from '../state/write-health.js';

export interface InstanceDeps {
  readonly paths: Paths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly runner: Runner;
  readonly wireServerAddress: string;
  readonly commandTimeoutMs: number;
  readonly longCommandTimeoutMs: number;
  readonly agentEnv: Readonly<Record<string, string | undefined>>;
  /** Told of every state write, so a failed one shows in the status. */
  readonly writeHealth?: WriteHealth;
  /** Progress lines while a command runs (none without). */
  readonly progress?: Progress;
  /** Told which operation runs, so status can show it as transitioning. */
  readonly onOperation?: (name: string, version: string, op: HandlerOp | null) => void;
  /** Told how each command ended (telemetry operation events). Must not throw. */
  readonly onOperationResult?: (result: OperationResult) => void;
}

export interface OperationResult {
  /** Handler name, or `<handler>.<extension>` for a multi-config extension. */
  readonly name: string;
  readonly version: string;
  readonly op: HandlerOp;
  readonly success: boolean;
  readonly durationMs: number;
  /** `Command: <cmd>` and the output on success; the error message on failure (not yet redacted). */
  readonly message: string;
}

const LABEL: Record<HandlerOp, string> = { install: 'Install', enable: 'Enable', disable: 'Disable', update: 'Update', uninstall: 'Uninstall' };

export class HandlerInstance {
  readonly baseDir: string;
  readonly configDir: string;
  readonly statusDir: string;
  readonly log: Logger;
  private manifestCache: HandlerManifest | null = null;

  constructor(private readonly deps: InstanceDeps, readonly spec: HandlerSpec, readonly version: string) {
    this.baseDir = handlerDir(deps.paths, spec.name, version);
    this.configDir = join(this.baseDir, 'config');
    this.statusDir = join(this.baseDir, 'status');
    this.log = deps.logger.child({ prefix: `[${spec.name}-${version}]` });
  }

  get name(): string {
    return this.spec.name;
  }

  async state(): Promise<HandlerState> {
    return (await readHandlerState(this.configDir)).value;
  }

  async setState(s: HandlerState): Promise<void> {
    await writeHandlerState(this.configDir, s, this.deps.writeHealth);
  }

  async extState(ext: string): Promise<ExtensionState> {
    return (await readExtensionState(this.configDir, ext)).value;
  }

  async setExtState(ext: string, s: ExtensionState): Promise<void> {
    await writeExtensionState(this.configDir, ext, s, this.deps.writeHealth);
  }

  async setStatus(status: 'Ready' | 'NotReady', code: number, message: string): Promise<void> {
    try {
      await writeHandlerStatus(this.configDir, { name: this.name, version: this.version, status, code, message, supportsMultiConfig: this.spec.isMultiConfig }, this.deps.writeHealth);
    } catch (err) {
      this.log.error(`Cannot write HandlerStatus as ${errorMessage(err)}`);
    }
  }

  async manifest(): Promise<HandlerManifest> {
    this.manifestCache ??= await loadHandlerManifest(this.baseDir);
    return this.manifestCache;
  }

  /** After unpacking: u+x on every file, HandlerManifest.json at the root, folders, HandlerEnvironment.json. */
  async initialize(): Promise<HandlerManifest> {
    await addOwnerExecute(this.baseDir);
    const manifest = await initializeManifest(this.baseDir);
    this.manifestCache = manifest;
    if (this.spec.isMultiConfig && !manifest.supportsMultipleExtensions) {
      throw new ExtensionError(`Handler ${this.name} does not support MultiConfig but CRP expects it, failing due to inconsistent data`, ExtCode.PluginUnknownFailure);
    }
    const env = handlerEnvironmentFor(this.deps.paths, this.name, this.version);
    await mkdir(env.statusFolder, { recursive: true, mode: 0o700 });
    await mkdir(env.configFolder, { recursive: true, mode: 0o700 });
    await mkdir(env.logFolder, { recursive: true, mode: 0o755 });
    await mkdir(env.eventsFolder, { recursive: true, mode: 0o700 });
    await writeHandlerEnvironment(this.baseDir, env, this.deps.writeHealth);
    return manifest;
  }

  /**
   * Writes the settings of the goal state. Stale settings files numbered above the current one are removed,
   * so that the newest file is both the highest-numbered and the most recently written: handlers pick
   * by either rule (HandlerUtil by mtime, the CustomScript shim by number).
   */
  async writeSettings(): Promise<void> {
    const s = this.spec.settings;
    if (s.length === 0) {
      await writeSettingsFile(this.configDir, null, false, this.deps.writeHealth);
      return;
    }
    for (const x of s) {
      if (this.spec.isMultiConfig && x.state !== 'enabled') continue;
      await this.removeHigherSettings(x);
      await writeSettingsFile(this.configDir, x, this.spec.isMultiConfig, this.deps.writeHealth);
    }
  }

  private async removeHigherSettings(x: ExtensionSettings): Promise<void> {
    const re = this.spec.isMultiConfig ? new RegExp(`^${escapeRe(x.name)}\\.(\\d+)\\.settings$`) : /^(\d+)\.settings$/;
    for (const f of await readdir(this.configDir).catch(() => [] as string[])) {
      const m = re.exec(f);
      if (m && Number(m[1]) > x.sequenceNumber) await unlink(join(this.configDir, f)).catch(() => undefined);
    }
  }

  /** Deletes a multi-config extension's settings, status and state files (after it was disabled). */
  async removeExtensionFiles(ext: string): Promise<void> {
    const prefix = `${ext}.`;
    for (const [dir, suffix] of [[this.configDir, '.settings'], [this.statusDir, '.status']] as const) {
      for (const f of await readdir(dir).catch(() => [] as string[])) {
        if (f.startsWith(prefix) && f.endsWith(suffix)) await rm(join(dir, f), { force: true });
      }
    }
    await rm(join(this.configDir, extensionStateFileName(ext)), { force: true });
  }

  settingsFile(x: ExtensionSettings | null): string {
    return settingsFileName(x, this.spec.isMultiConfig);
  }

  private context(): CommandContext {
    const d = this.deps;
    return {
      runner: d.runner, clock: d.clock, logger: this.log, handlerName: this.name, version: this.version,
      baseDir: this.baseDir, logDir: handlerLogDir(d.paths, this.name), wireServerAddress: d.wireServerAddress,
      timeoutMs: isLongRunningHandler(this.name) ? d.longCommandTimeoutMs : d.commandTimeoutMs, agentEnv: d.agentEnv,
      ...(d.progress ? { progress: d.progress } : {}),
    };
  }

  /** Runs one manifest command; throws ExtensionError on failure (its exitCode kept when there was one). */
  async run(op: HandlerOp, settings: ExtensionSettings | null, extraEnv?: Record<string, string>): Promise<void> {
    const command = requireCommand(await this.manifest(), op);
    const ext = this.spec.isMultiConfig && settings ? settings.name : undefined;
    this.log.info(`${LABEL[op]} extension${ext ? ` ${ext}` : ''}: [${command}]`);
    this.deps.onOperation?.(this.name, this.version, op);
    const started = this.deps.clock.now();
    const report = (success: boolean, durationMs: number, message: string) =>
      this.deps.onOperationResult?.({ name: ext !== undefined ? `${this.name}.${ext}` : this.name, version: this.version, op, success, durationMs, message });
    try {
      const r = await runHandlerCommand(this.context(), {
        op, command, seqNo: settings?.sequenceNumber ?? null,
        ...(ext !== undefined ? { extensionName: ext } : {}),
        ...(extraEnv ? { extraEnv } : {}),
      });
      this.log.info(`${LABEL[op]} completed in ${Math.round(r.durationMs)} ms`);
      report(true, r.durationMs, `Command: ${command}\n${r.output}`);
    } catch (err) {
      report(false, this.deps.clock.now() - started, errorMessage(err));
      throw err;
    } finally {
      this.deps.onOperation?.(this.name, this.version, null);
    }
  }

  /** Removes the handler directory (renamed away first, see remove-dir.ts) and its zip. */
  async remove(): Promise<void> {
    await removeDirAtomically(this.baseDir);
    await rm(handlerZipPath(this.deps.paths, this.name, this.version), { force: true });
    this.log.info('Removed handler directory');
  }

  /** Copies `mrseq` and the status files into another version's folder (upgrade step 2). */
  async copyStateTo(other: HandlerInstance): Promise<void> {
    await copyFile(join(this.baseDir, 'mrseq'), join(other.baseDir, 'mrseq')).catch(() => undefined);
    await mkdir(other.statusDir, { recursive: true, mode: 0o700 });
    for (const f of await readdir(this.statusDir).catch(() => [] as string[])) {
      await copyFile(join(this.statusDir, f), join(other.statusDir, f)).catch(() => undefined);
    }
  }

  async mrseq(): Promise<string | null> {
    return readFile(join(this.baseDir, 'mrseq'), 'utf8').catch(() => null);
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The exit code to pass in AZURE_GUEST_AGENT_*_EXIT_CODE variables for a failed command. */
export function exitCodeOf(err: unknown): string {
  const rc = (err as { exitCode?: unknown }).exitCode;
  if (typeof rc === 'number') return String(rc);
  return err instanceof ExtensionError ? String(err.extCode) : '-1';
}
