// `waagent status`: the running agent version, the last goal-state incarnation, and each handler's state and last
// status, read from the lib dir (agent-lifecycle.md §8) without contacting the fabric.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_CONF_PATH, loadConfig } from '../../config/load.js';
import { errorMessage } from '../../errors.js';
import { readHandlerState, readHandlerStatus } from '../../extensions/handler-state.js';
import { redactSecrets } from '../../log/redact.js';
import { runningVersion } from '../../version.js';

export interface StatusCommandOptions {
  configurationPath?: string;
  json?: boolean;
}

export interface HandlerRow {
  name: string;
  version: string;
  state: string;
  status: string;
  code: string;
  message: string;
}

export interface StatusReport {
  agentVersion: string;
  incarnation: string | null;
  lastStatus: { timestampUTC: string | null; goalState: string | null } | null;
  notes: string[];
  handlers: HandlerRow[];
}

const Formatted = z.object({ message: z.string().nullish() }).nullish();
const StatusBlob = z.object({
  timestampUTC: z.string().nullish(),
  aggregateStatus: z.object({
    handlerAggregateStatus: z.array(z.object({
      handlerName: z.string(),
      handlerVersion: z.string(),
      status: z.string().nullish(),
      code: z.number().nullish(),
      formattedMessage: Formatted,
      runtimeSettingsStatus: z.object({
        settingsStatus: z.object({
          status: z.object({ status: z.string().nullish(), code: z.number().nullish(), formattedMessage: Formatted }).nullish(),
        }).nullish(),
      }).nullish(),
    })).default([]),
    vmArtifactsAggregateStatus: z.object({
      goalStateAggregateStatus: z.object({ inSvdSeqNo: z.string().nullish(), status: z.string().nullish() }).nullish(),
    }).nullish(),
  }),
});
type StatusBlob = z.infer<typeof StatusBlob>;

const HANDLER_DIR_RE = /^(.+)-(\d+(?:\.\d+){0,3})$/;

async function readStatusBlob(libDir: string, notes: string[]): Promise<StatusBlob | null> {
  const file = join(libDir, 'waagent_status.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    notes.push(`No status saved yet (${file} is missing)`);
    return null;
  }
  try {
    const parsed = StatusBlob.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    notes.push(`Malformed ${file}: field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  } catch (err) {
    notes.push(`Malformed ${file}: ${errorMessage(err)}`);
  }
  return null;
}

/** The last incarnation: `<lib>/Incarnation` (upstream's file) if present, else the last one the agent logged. */
async function readIncarnation(libDir: string, logFile: string): Promise<string | null> {
  const saved = await readFile(join(libDir, 'Incarnation'), 'utf8').then((t) => t.trim(), () => '');
  if (saved) return saved;
  const log = await readFile(logFile, 'utf8').catch(() => '');
  const all = [...log.matchAll(/\[incarnation (\S+?)\]/g)];
  return all.at(-1)?.[1] ?? null;
}

export async function buildStatusReport(libDir: string, logFile: string): Promise<StatusReport> {
  const notes: string[] = [];
  const blob = await readStatusBlob(libDir, notes);
  const rows = new Map<string, HandlerRow>();
  const entries = await readdir(libDir, { withFileTypes: true }).catch(() => []);
  for (const e of entries.filter((d) => d.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const m = HANDLER_DIR_RE.exec(e.name);
    if (!m || m[1]!.startsWith('waagent-ts') || m[1] === 'WALinuxAgent') continue;
    const configDir = join(libDir, e.name, 'config');
    const state = await readHandlerState(configDir);
    const hs = await readHandlerStatus(configDir);
    if (state.problem) notes.push(state.problem);
    if (hs.problem) notes.push(hs.problem);
    rows.set(`${m[1]}@${m[2]}`, {
      name: m[1]!, version: m[2]!, state: state.value,
      status: hs.value?.status ?? '-', code: hs.value ? String(hs.value.code) : '-', message: hs.value?.message ?? '',
    });
  }
  // The saved status blob has the extension's own status, which is what an operator wants to see.
  for (const h of blob?.aggregateStatus.handlerAggregateStatus ?? []) {
    const ext = h.runtimeSettingsStatus?.settingsStatus?.status;
    const key = `${h.handlerName}@${h.handlerVersion}`;
    const row = rows.get(key) ?? { name: h.handlerName, version: h.handlerVersion, state: '-', status: '-', code: '-', message: '' };
    row.status = ext?.status ?? h.status ?? row.status;
    row.code = String(ext?.code ?? h.code ?? row.code);
    row.message = ext?.formattedMessage?.message ?? h.formattedMessage?.message ?? row.message;
    rows.set(key, row);
  }
  for (const r of rows.values()) r.message = redactSecrets(r.message).replace(/\s+/g, ' ').trim();
  const gs = blob?.aggregateStatus.vmArtifactsAggregateStatus?.goalStateAggregateStatus;
  return {
    agentVersion: runningVersion(),
    incarnation: await readIncarnation(libDir, logFile),
    lastStatus: blob ? { timestampUTC: blob.timestampUTC ?? null, goalState: gs ? `${gs.status ?? '?'} (inSvdSeqNo ${gs.inSvdSeqNo ?? '?'})` : null } : null,
    notes,
    handlers: [...rows.values()],
  };
}

export function formatTable(rows: readonly HandlerRow[]): string {
  const head = ['NAME', 'VERSION', 'STATE', 'STATUS', 'CODE', 'MESSAGE'];
  const cells = rows.map((r) => [r.name, r.version, r.state, r.status, r.code, r.message.length > 80 ? `${r.message.slice(0, 77)}...` : r.message]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [head, ...cells].map((c) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function formatStatusReport(r: StatusReport): string {
  const lines = [
    `Agent version: ${r.agentVersion}`,
    `Goal state incarnation: ${r.incarnation ?? 'unknown'}`,
    `Last status: ${r.lastStatus ? `${r.lastStatus.timestampUTC ?? 'no timestamp'}${r.lastStatus.goalState ? `, goal state ${r.lastStatus.goalState}` : ''}` : 'none'}`,
    ...r.notes.map((n) => `Note: ${n}`),
    '',
  ];
  return lines.join('\n') + '\n' + (r.handlers.length ? formatTable(r.handlers) : 'No extension handlers.\n');
}

export async function runStatusCommand(opts: StatusCommandOptions): Promise<number> {
  let libDir: string;
  try {
    const { config } = await loadConfig(opts.configurationPath ?? DEFAULT_CONF_PATH);
    libDir = config['Lib.Dir'];
  } catch (err) {
    process.stderr.write(`Error: ${errorMessage(err)}\n`);
    return 1;
  }
  const report = await buildStatusReport(libDir, process.env.WAAGENT_TS_LOG_FILE ?? '/var/log/waagent.log');
  process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatStatusReport(report));
  return 0;
}
