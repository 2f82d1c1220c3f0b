// Fast Track decisions (hostgaplugin.md §3.4-3.5, wire-protocol.md §5.2). Pure: no I/O, no clock; times come in.
import type { ExtensionsGoalState } from '../protocol/goal-state.js';
import { isVmSettingsSupportedVersion, type VmSettingsSource } from '../protocol/schemas/vm-settings.js';

/** After a "not supported" answer the plugin is asked again only after this long. */
export const VM_SETTINGS_RECHECK_MS = 6 * 3600_000;

export type VmSettingsSupport = 'unknown' | 'supported' | 'unsupported';

export interface SupportState {
  readonly support: VmSettingsSupport;
  /** Clock time (ms) before which an unsupported plugin is not asked again. */
  readonly nextCheckMs: number;
}

/** On process start the plugin counts as supporting vmSettings iff `<lib>/fast_track.json` exists. */
export function initialSupportState(fastTrackFileExists: boolean): SupportState {
  return { support: fastTrackFileExists ? 'supported' : 'unknown', nextCheckMs: 0 };
}

export function shouldRequestVmSettings(enabled: boolean, state: SupportState, nowMs: number): boolean {
  return enabled && !(state.support === 'unsupported' && nowMs < state.nextCheckMs);
}

export type UnsupportedEvent = 'not-supported' | 'support-stopped';

/** A 404, or a plugin older than 1.0.8.133. "support-stopped" when it supported vmSettings until now. */
export function onVmSettingsUnsupported(state: SupportState, nowMs: number): { state: SupportState; event: UnsupportedEvent } {
  return {
    state: { support: 'unsupported', nextCheckMs: nowMs + VM_SETTINGS_RECHECK_MS },
    event: state.support === 'supported' ? 'support-stopped' : 'not-supported',
  };
}

export const SUPPORTED_STATE: SupportState = { support: 'supported', nextCheckMs: 0 };

/**
 * What to do with a parsed 200 document: an old plugin means "not supported"; Fabric documents are ignored (they
 * lack the tenant certificates; the ExtensionsConfig is used); FastTrack ones are used and remembered in
 * fast_track.json; documents of unknown source are used but, like Fabric ones, clear fast_track.json (upstream).
 */
export type VmSettingsDisposition = 'unsupported' | 'use-fast-track' | 'use-unknown' | 'ignore-fabric';

export function dispositionOf(hostGAPluginVersion: string, source: VmSettingsSource): VmSettingsDisposition {
  if (!isVmSettingsSupportedVersion(hostGAPluginVersion)) return 'unsupported';
  if (source === 'FastTrack') return 'use-fast-track';
  return source === 'Fabric' ? 'ignore-fabric' : 'use-unknown';
}

/** `FastTrack` goes into supportedFeatures only while enabled in config and supported by the plugin. */
export function advertisesFastTrack(enabled: boolean, state: SupportState): boolean {
  return enabled && state.support === 'supported';
}

function ticks(egs: ExtensionsGoalState): bigint {
  try {
    return BigInt(egs.createdOnTicks);
  } catch {
    return 0n;
  }
}

export interface SelectionInput {
  readonly current: ExtensionsGoalState | null;
  /** The ExtensionsConfig fetched this poll: present iff the incarnation changed (or a refresh was forced). */
  readonly extensionsConfig: ExtensionsGoalState | null;
  /** Usable vmSettings (new or cached; never Fabric-sourced); null when unsupported, disabled or ignored. */
  readonly vmSettings: ExtensionsGoalState | null;
  readonly vmSettingsUpdated: boolean;
}

/**
 * The extensions goal state after a poll: with a new incarnation, the newer of ExtensionsConfig and vmSettings
 * (a tie goes to the ExtensionsConfig); with only new vmSettings, the vmSettings. The candidate replaces the current
 * goal state only if it is at least as new: an extensions goal state never replaces one with a later timestamp.
 */
export function selectExtensionsGoalState(i: SelectionInput): ExtensionsGoalState | null {
  let candidate: ExtensionsGoalState | null = null;
  if (i.extensionsConfig && i.vmSettings) candidate = ticks(i.vmSettings) > ticks(i.extensionsConfig) ? i.vmSettings : i.extensionsConfig;
  else if (i.extensionsConfig) candidate = i.extensionsConfig;
  else if (i.vmSettings && i.vmSettingsUpdated) candidate = i.vmSettings;
  if (candidate === null) return i.current;
  if (i.current === null || ticks(candidate) >= ticks(i.current)) return candidate;
  return i.current;
}

const TICKS_AT_EPOCH = 621355968000000000n;
/** 9999-12-31T23:59:59.9999999Z, the largest .NET DateTime. */
const MAX_TICKS = 3155378975999999999n;
const TIMESTAMP_RE = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?Z$/;

/** .NET ticks → upstream's creation timestamp `YYYY-MM-DDTHH:MM:SS.ffffffZ` (what fast_track.json holds). */
export function ticksToTimestamp(ticksText: string): string {
  let t: bigint;
  try {
    t = BigInt(ticksText);
  } catch {
    t = 0n;
  }
  if (t < 0n) t = 0n;
  if (t > MAX_TICKS) t = MAX_TICKS;
  const micros = t / 10n;
  const seconds = micros / 1_000_000n;
  const fraction = (micros % 1_000_000n).toString().padStart(6, '0');
  const ms = Number(seconds * 10n ** 7n - TICKS_AT_EPOCH) / 10_000;
  return `${new Date(ms).toISOString().slice(0, 19)}.${fraction}Z`;
}

/** The inverse at microsecond precision; null for text that is not such a timestamp. */
export function timestampToTicks(ts: string): bigint | null {
  const m = TIMESTAMP_RE.exec(ts);
  if (!m) return null;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
  if (Number.isNaN(d.getTime()) || d.getUTCDate() !== Number(m[3])) return null;
  const micros = BigInt((m[7] ?? '').padEnd(6, '0'));
  return BigInt(d.getTime()) * 10_000n + TICKS_AT_EPOCH + micros * 10n;
}

/** An extensions goal state older than the last Fast Track one must not be executed (it would undo newer changes). */
export function isOlderThanFastTrack(egs: ExtensionsGoalState, fastTrackTimestamp: string | null): boolean {
  if (fastTrackTimestamp === null) return false;
  const ft = timestampToTicks(fastTrackTimestamp);
  // Compared at microsecond precision, the precision of the timestamp.
  return ft !== null && ticks(egs) / 10n < ft / 10n;
}
