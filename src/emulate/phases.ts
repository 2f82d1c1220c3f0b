// The goal states `waagent emulate` publishes, in order, and when each one is finished. Pure.
import type { ScenarioExtension, ScenarioPackage } from '../emulator/scenario.js';
import type { HandlerOp } from './agent-log.js';
import type { EmulateOptions, EmulateSettings, PackageRef } from './options.js';
import { handlerViews, processedIncarnation, TERMINAL_EXT_STATUSES, type HandlerView } from './status-view.js';

export type PhaseId = 'install-old' | 'install' | 'update' | 'new-settings' | 'disable' | 'uninstall';
export type PhaseKind = 'enable' | 'disable' | 'uninstall';

export interface PhaseSpec {
  readonly id: PhaseId;
  readonly title: string;
  readonly kind: PhaseKind;
  /** The handler version this goal state asks for. */
  readonly version: string;
  readonly seqNo: number;
  readonly extension: ScenarioExtension;
}

export interface CommandRecord {
  readonly op: HandlerOp;
  readonly version: string;
  readonly command: string;
  /** Milliseconds since the run started. */
  readonly startedMs: number;
  durationMs: number | null;
  result: 'running' | 'ok' | 'failed' | 'timeout';
  exitCode: number | null;
  message: string | null;
}

export interface PhaseResult {
  readonly id: PhaseId;
  readonly title: string;
  readonly kind: PhaseKind;
  readonly version: string;
  readonly seqNo: number;
  readonly incarnation: number;
  /** ok; failed (a command failed or an error status); timeout (no terminal status in time); aborted. */
  readonly outcome: 'ok' | 'failed' | 'timeout' | 'aborted';
  readonly startedMs: number;
  readonly durationMs: number;
  /** The handler's entry in the last status considered (null: none). */
  readonly final: HandlerView | null;
  readonly commands: readonly CommandRecord[];
  /** Problems the agent logged for the handler besides failed commands (download, manifest...). */
  readonly agentErrors: readonly string[];
}

function pkgOf(p: PackageRef): ScenarioPackage {
  return p.kind === 'zip' ? { version: p.version, packageZip: p.path } : { version: p.version, packageDir: p.path };
}

function settingsOf(s: EmulateSettings): Partial<ScenarioExtension> {
  return {
    ...(s.publicSettings !== undefined ? { publicSettings: s.publicSettings } : {}),
    ...(s.protectedSettings !== undefined ? { protectedSettings: s.protectedSettings } : {}),
  };
}

/** install (+ update) + enable, new settings, disable, uninstall. */
export function planPhases(o: EmulateOptions): PhaseSpec[] {
  const ext = (p: PackageRef, seqNo: number, state: ScenarioExtension['state'], s: EmulateSettings, available: PackageRef[]): ScenarioExtension => ({
    name: o.name, state, seqNo, ...pkgOf(p), ...settingsOf(s), availableVersions: available.map(pkgOf),
  });
  const phases: PhaseSpec[] = [];
  let seq = 0;
  // Only the old version is offered at first, so the agent cannot pick the new one already.
  const all = o.from ? [o.from, o.pkg] : [o.pkg];
  if (o.from) {
    phases.push({ id: 'install-old', title: `install + enable ${o.from.version} (sequence ${seq})`, kind: 'enable', version: o.from.version, seqNo: seq, extension: ext(o.from, seq, 'enabled', o.settings, [o.from]) });
    seq++;
    phases.push({ id: 'update', title: `update ${o.from.version} → ${o.pkg.version} + enable (sequence ${seq})`, kind: 'enable', version: o.pkg.version, seqNo: seq, extension: ext(o.pkg, seq, 'enabled', o.settings, all) });
  } else {
    phases.push({ id: 'install', title: `install + enable ${o.pkg.version} (sequence ${seq})`, kind: 'enable', version: o.pkg.version, seqNo: seq, extension: ext(o.pkg, seq, 'enabled', o.settings, all) });
  }
  seq++;
  phases.push({ id: 'new-settings', title: `new settings (sequence ${seq})`, kind: 'enable', version: o.pkg.version, seqNo: seq, extension: ext(o.pkg, seq, 'enabled', o.secondSettings, all) });
  phases.push({ id: 'disable', title: 'disable', kind: 'disable', version: o.pkg.version, seqNo: seq, extension: ext(o.pkg, seq, 'disabled', o.secondSettings, all) });
  phases.push({ id: 'uninstall', title: 'uninstall', kind: 'uninstall', version: o.pkg.version, seqNo: seq, extension: ext(o.pkg, seq, 'uninstall', o.secondSettings, all) });
  return phases;
}

/**
 * Whether a status blob ends the phase. enable: the extension reported a terminal status for this sequence number
 * at this version, or the agent finished the goal state with the handler failed. disable/uninstall: the agent
 * finished the goal state (the blob reports it processed).
 */
export function isTerminal(spec: PhaseSpec, handlerName: string, incarnation: number, status: unknown): boolean {
  const processed = processedIncarnation(status) === incarnation;
  if (spec.kind !== 'enable') return processed;
  const views = handlerViews(status, handlerName);
  const v = views.find((x) => x.version === spec.version);
  if (v?.ext && v.ext.sequenceNumber === spec.seqNo && TERMINAL_EXT_STATUSES.has(v.ext.status)) return true;
  return processed && views.some((x) => x.code !== 0);
}

/** The entry to show for the phase: the requested version's, else any. */
export function phaseView(spec: PhaseSpec, handlerName: string, status: unknown): HandlerView | null {
  const views = handlerViews(status, handlerName);
  return views.find((x) => x.version === spec.version) ?? views[0] ?? null;
}

/** How a finished (or timed out) phase went. */
export function phaseOutcome(spec: PhaseSpec, terminal: boolean, final: HandlerView | null, commands: readonly CommandRecord[], agentErrors: readonly string[]): PhaseResult['outcome'] {
  if (!terminal) return 'timeout';
  if (commands.some((c) => c.result === 'failed' || c.result === 'timeout') || agentErrors.length > 0) return 'failed';
  if (final && final.code !== 0) return 'failed';
  if (spec.kind === 'enable' && final?.ext?.status === 'error') return 'failed';
  return 'ok';
}
