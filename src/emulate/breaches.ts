// Breaches of the handler contract `waagent emulate` reports. Pure: built from phase results and the findings of
// the process, file and output checks.
import { OP_ERROR_CODE } from '../extensions/commands.js';
import type { FileChange } from './file-watch.js';
import type { LargeOutput } from './output-check.js';
import type { PhaseResult } from './phases.js';
import type { HandlerProcess } from './process-scan.js';
import { AGENT_NO_STATUS_PREFIX, describeHandler, oneLine, STATUS_INVALID_CODE } from './status-view.js';

export type BreachKind =
  | 'status-missing'
  | 'status-malformed'
  | 'no-terminal-status'
  | 'non-zero-exit'
  | 'error-status'
  | 'processes-left'
  | 'files-outside'
  | 'output-too-large';

export interface Breach {
  readonly kind: BreachKind;
  /** The phase it was seen in (none for checks made at the end). */
  readonly phase: string | null;
  readonly message: string;
  readonly details: readonly string[];
}

const MAX_DETAILS = 20;

function limited(items: string[]): string[] {
  return items.length <= MAX_DETAILS ? items : [...items.slice(0, MAX_DETAILS), `… and ${items.length - MAX_DETAILS} more`];
}

/** Breaches seen in one phase: failed commands, and for enable phases the extension's status. */
export function phaseBreaches(p: PhaseResult, timeoutMs: number): Breach[] {
  const out: Breach[] = [];
  const add = (kind: BreachKind, message: string, details: string[] = []): void => {
    out.push({ kind, phase: p.id, message, details: limited(details) });
  };
  for (const c of p.commands) {
    if (c.result === 'failed') {
      const how = c.exitCode !== null ? `exited with code ${c.exitCode}` : 'could not be started';
      const effect = c.op === 'uninstall' ? 'the agent ignores it and removes the handler' : `the agent reports code ${OP_ERROR_CODE[c.op]}`;
      add('non-zero-exit', `${c.op} (${c.version}) ${how}; ${effect}`, c.message ? [oneLine(c.message, 300)] : []);
    } else if (c.result === 'timeout') {
      add('non-zero-exit', `${c.op} (${c.version}) did not finish within ${Math.round(timeoutMs / 1000)} s and was killed; the agent reports code 1011`);
    }
  }
  const failedCommand = p.commands.some((c) => c.result === 'failed' || c.result === 'timeout');
  for (const e of p.agentErrors) add('error-status', `the agent could not run the handler: ${oneLine(e, 300)}`);
  const v = p.final;
  const ext = v?.ext && v.ext.sequenceNumber === p.seqNo ? v.ext : null;
  if (p.kind === 'enable') {
    if (ext?.status === 'transitioning' && ext.message?.startsWith(AGENT_NO_STATUS_PREFIX) && !failedCommand) {
      add('status-missing', `enable exited but no status file was written for sequence ${p.seqNo}`, [oneLine(ext.message, 300)]);
    }
    if (p.outcome === 'timeout') {
      add('no-terminal-status', `no terminal status (success, warning or error) for sequence ${p.seqNo} within ${Math.round(timeoutMs / 1000)} s`, [`last status: ${describeHandler(v)}`]);
    }
    if (ext?.status === 'error' && ext.code === STATUS_INVALID_CODE) {
      add('status-malformed', `the status file for sequence ${p.seqNo} is malformed (code ${STATUS_INVALID_CODE})`, ext.message ? [oneLine(ext.message, 300)] : []);
    } else if (ext?.status === 'error' && !failedCommand) {
      add('error-status', `the extension reported error (code ${ext.code ?? '?'}) for sequence ${p.seqNo}`, ext.message ? [oneLine(ext.message, 300)] : []);
    }
  } else if (p.outcome === 'timeout') {
    add('no-terminal-status', `the agent did not finish the ${p.kind} goal state within ${Math.round(timeoutMs / 1000)} s`, [`last status: ${describeHandler(v)}`]);
  }
  if (v && v.code !== 0 && !failedCommand && p.agentErrors.length === 0 && !out.some((b) => b.kind === 'status-malformed')) {
    add('error-status', `the handler status is ${v.status} with code ${v.code}`, v.message ? [oneLine(v.message, 300)] : []);
  }
  return out;
}

export function processBreach(procs: readonly HandlerProcess[]): Breach | null {
  if (procs.length === 0) return null;
  return {
    kind: 'processes-left', phase: 'uninstall',
    message: `${procs.length} process(es) of the handler still running after uninstall (killed by waagent emulate)`,
    details: limited(procs.map((p) => `pid ${p.pid} (${p.matched}): ${p.cmdline || '?'}`)),
  };
}

export function filesBreach(changes: readonly FileChange[], root: string): Breach | null {
  if (changes.length === 0) return null;
  return {
    kind: 'files-outside', phase: null,
    message: `${changes.length} file(s) written outside the handler's folders (paths relative to ${root})`,
    details: limited(changes.map((c) => `${c.change}: ${c.path}`)),
  };
}

export function outputBreaches(large: readonly LargeOutput[]): Breach[] {
  return large.map((o) => ({
    kind: 'output-too-large' as const, phase: null,
    message: `${o.command.split('/').pop()} (${o.version}) printed more than the agent keeps: its output was cut to the last 3200 characters`,
    details: [`${o.chars} characters recorded in CommandExecution.log`],
  }));
}
