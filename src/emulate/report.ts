// The report `waagent emulate` ends with: the phases, the statuses the fabric received, every breach. As JSON
// (`--json`, one document) or as text for a person.
import { AGENT_VERSION } from '../version.js';
import type { Breach } from './breaches.js';
import type { PhaseResult } from './phases.js';
import { describeHandler, type HandlerView } from './status-view.js';

export interface ReceivedStatus {
  /** Milliseconds since the run started. */
  readonly atMs: number;
  /** Incarnation published when it arrived. */
  readonly incarnation: number;
  /** The handler's entries (empty once it is uninstalled). */
  readonly handler: readonly HandlerView[];
}

export interface EmulateReport {
  readonly tool: string;
  readonly handler: { readonly name: string; readonly version: string; readonly package: string };
  readonly from: { readonly version: string; readonly package: string } | null;
  readonly scratchRoot: string;
  /** Whether the scratch root was left on disk (breaches, an error, or --keep). */
  kept: boolean;
  readonly phases: PhaseResult[];
  readonly statuses: ReceivedStatus[];
  readonly breaches: Breach[];
  /** The run itself failed (the agent died, an I/O error); the report is then incomplete. */
  error: string | null;
  /** Handler processes still running at the end of the run, killed (beyond those reported after uninstall). */
  killedAtEnd: number;
  durationMs: number;
  ok: boolean;
}

export function newReport(init: Pick<EmulateReport, 'handler' | 'from' | 'scratchRoot'>): EmulateReport {
  return {
    tool: `waagent emulate (waagent-ts ${AGENT_VERSION})`, ...init,
    kept: false, phases: [], statuses: [], breaches: [], error: null, killedAtEnd: 0, durationMs: 0, ok: false,
  };
}

/** Exit code: 0 only when the run completed without a breach; 1 breaches; 2 the run itself failed. */
export function exitCodeOf(r: EmulateReport): number {
  if (r.error !== null) return 2;
  return r.breaches.length > 0 ? 1 : 0;
}

const OUTCOME_MARK: Record<PhaseResult['outcome'], string> = { ok: '✓', failed: '✗', timeout: '⏱', aborted: '–' };

/** The text report: phases, received statuses, breaches, verdict, where to look. */
export function renderReport(r: EmulateReport, style: { bold: (s: string) => string; red: (s: string) => string; green: (s: string) => string }): string {
  const lines: string[] = [''];
  lines.push(style.bold(`Report: ${r.handler.name} ${r.handler.version}${r.from ? ` (updated from ${r.from.version})` : ''}`));
  lines.push('  Phases:');
  for (const p of r.phases) {
    const mark = p.outcome === 'ok' ? style.green(OUTCOME_MARK[p.outcome]) : style.red(OUTCOME_MARK[p.outcome]);
    lines.push(`    ${mark} ${p.title.padEnd(44)} ${p.outcome.padEnd(7)} ${(p.durationMs / 1000).toFixed(1)} s`);
    const cmds = p.commands.map((c) => `${c.op}${c.version !== p.version ? `@${c.version}` : ''} ${c.result}${c.durationMs !== null ? ` ${(c.durationMs / 1000).toFixed(2)} s` : ''}`);
    if (cmds.length > 0) lines.push(`        commands: ${cmds.join(', ')}`);
    lines.push(`        status:   ${describeHandler(p.final, true)}`);
  }
  lines.push(`  Statuses the fabric received (${r.statuses.length} change${r.statuses.length === 1 ? '' : 's'}):`);
  for (const s of r.statuses) {
    const what = s.handler.length === 0 ? 'handler not reported' : s.handler.map((h) => describeHandler(h, true)).join(' | ');
    lines.push(`    ${`${(s.atMs / 1000).toFixed(1)}s`.padStart(7)}  incarnation ${s.incarnation}  ${what}`);
  }
  if (r.breaches.length === 0) {
    lines.push(`  Breaches: none`);
  } else {
    lines.push(style.red(`  Breaches (${r.breaches.length}):`));
    for (const b of r.breaches) {
      lines.push(`    ${style.red('✗')} [${b.kind}]${b.phase ? ` ${b.phase}:` : ''} ${b.message}`);
      for (const d of b.details) lines.push(`        ${d}`);
    }
  }
  if (r.killedAtEnd > 0) lines.push(`  Killed ${r.killedAtEnd} handler process(es) still running when the run ended.`);
  if (r.error !== null) lines.push(style.red(`  The run did not complete: ${r.error}`));
  lines.push('');
  if (r.error !== null) lines.push(style.red('Result: ERROR (exit code 2)'));
  else if (r.breaches.length > 0) lines.push(style.red(`Result: FAILED, ${r.breaches.length} breach(es) of the handler contract (exit code 1)`));
  else lines.push(style.green('Result: PASSED, no breach of the handler contract'));
  if (r.kept) {
    lines.push(`Scratch root kept: ${r.scratchRoot}`);
    lines.push(`  agent log ${r.scratchRoot}/waagent.log, handler logs ${r.scratchRoot}/var/log/azure/${r.handler.name}/`);
  }
  return lines.join('\n') + '\n';
}
