// Fast Track's pure decisions: support state machine, document disposition, goal-state selection, timestamps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '../../../src/deps.js';
import type { ExtensionsGoalState } from '../../../src/protocol/goal-state.js';
import { ZERO_GUID } from '../../../src/protocol/goal-state.js';
import {
  advertisesFastTrack, dispositionOf, initialSupportState, isOlderThanFastTrack, onVmSettingsUnsupported, selectExtensionsGoalState,
  shouldRequestVmSettings, SUPPORTED_STATE, ticksToTimestamp, timestampToTicks, VM_SETTINGS_RECHECK_MS,
  type SupportState,
} from '../../../src/agent/fast-track.js';

const H = 3600_000;

function egs(id: string, createdOnTicks: string, source: 'Fabric' | 'FastTrack' = id.startsWith('etag') ? 'FastTrack' : 'Fabric'): ExtensionsGoalState {
  return {
    id, source, channel: source === 'FastTrack' ? 'HostGAPlugin' : 'WireServer', inSvdSeqNo: '1', createdOnTicks,
    activityId: ZERO_GUID, correlationId: ZERO_GUID, statusUploadBlob: null, artifactsProfileUrl: null, onHold: false,
    requiredFeatures: [], gaFamilies: [], handlers: [],
  };
}

test('initial support state comes from the existence of fast_track.json', () => {
  assert.deepEqual(initialSupportState(true), { support: 'supported', nextCheckMs: 0 });
  assert.deepEqual(initialSupportState(false), { support: 'unknown', nextCheckMs: 0 });
});

test('when vmSettings are requested', () => {
  const unsupportedUntil10h: SupportState = { support: 'unsupported', nextCheckMs: 10 * H };
  const rows: Array<[boolean, SupportState, number, boolean]> = [
    [true, initialSupportState(false), 0, true],
    [true, SUPPORTED_STATE, 0, true],
    [true, unsupportedUntil10h, 10 * H - 1, false],
    [true, unsupportedUntil10h, 10 * H, true],
    [false, SUPPORTED_STATE, 0, false],
    [false, initialSupportState(false), 0, false],
  ];
  for (const [enabled, state, now, expected] of rows) {
    assert.equal(shouldRequestVmSettings(enabled, state, now), expected, `${enabled} ${JSON.stringify(state)} @${now}`);
  }
});

test('a "not supported" answer: logged once as not supported, or as support stopped after support; re-check in 6 h', () => {
  const rows: Array<[SupportState, 'not-supported' | 'support-stopped']> = [
    [initialSupportState(false), 'not-supported'],
    [{ support: 'unsupported', nextCheckMs: 5 }, 'not-supported'],
    [SUPPORTED_STATE, 'support-stopped'],
  ];
  for (const [before, event] of rows) {
    const r = onVmSettingsUnsupported(before, 1000);
    assert.equal(r.event, event);
    assert.deepEqual(r.state, { support: 'unsupported', nextCheckMs: 1000 + 6 * H });
  }
  assert.equal(VM_SETTINGS_RECHECK_MS, 6 * H);
});

test('disposition of a 200 document by plugin version and source', () => {
  const rows: Array<[string, 'FastTrack' | 'Fabric' | 'UNKNOWN', string]> = [
    ['1.0.8.159', 'FastTrack', 'use-fast-track'],
    ['1.0.8.133', 'FastTrack', 'use-fast-track'],
    ['1.0.8.132', 'FastTrack', 'unsupported'],
    ['1.0.7.999', 'Fabric', 'unsupported'],
    ['0.0.0.0', 'FastTrack', 'unsupported'],
    ['1.0.8.133', 'Fabric', 'ignore-fabric'],
    ['2.0', 'UNKNOWN', 'use-unknown'],
  ];
  for (const [version, source, expected] of rows) assert.equal(dispositionOf(version, source), expected, `${version} ${source}`);
});

test('FastTrack is advertised only while enabled and supported', () => {
  assert.equal(advertisesFastTrack(true, SUPPORTED_STATE), true);
  assert.equal(advertisesFastTrack(false, SUPPORTED_STATE), false);
  assert.equal(advertisesFastTrack(true, initialSupportState(false)), false);
  assert.equal(advertisesFastTrack(true, { support: 'unsupported', nextCheckMs: 0 }), false);
});

test('selecting the extensions goal state', () => {
  const ec10 = egs('incarnation_2', '10');
  const ec30 = egs('incarnation_3', '30');
  const vm20 = egs('etag_A', '20');
  const vm30 = egs('etag_B', '30');
  const vm5 = egs('etag_C', '5');
  const big = egs('etag_D', '638512345678901299');
  const bigger = egs('incarnation_9', '638512345678901300');
  const rows: Array<{ name: string; current: ExtensionsGoalState | null; ec: ExtensionsGoalState | null; vm: ExtensionsGoalState | null; updated: boolean; want: ExtensionsGoalState | null }> = [
    { name: 'first poll, no vmSettings', current: null, ec: ec10, vm: null, updated: false, want: ec10 },
    { name: 'first poll, vmSettings newer', current: null, ec: ec10, vm: vm20, updated: true, want: vm20 },
    { name: 'first poll, ExtensionsConfig newer', current: null, ec: ec30, vm: vm20, updated: true, want: ec30 },
    { name: 'a tie goes to the ExtensionsConfig', current: null, ec: ec30, vm: vm30, updated: true, want: ec30 },
    { name: 'new incarnation, cached vmSettings newer: keep them', current: vm20, ec: ec10, vm: vm20, updated: false, want: vm20 },
    { name: 'new incarnation, newer than cached vmSettings', current: vm20, ec: ec30, vm: vm20, updated: false, want: ec30 },
    { name: 'only vmSettings changed', current: ec10, ec: null, vm: vm20, updated: true, want: vm20 },
    { name: 'only vmSettings changed, but older than the current one', current: ec30, ec: null, vm: vm20, updated: true, want: ec30 },
    { name: 'cached vmSettings alone change nothing', current: ec10, ec: null, vm: vm20, updated: false, want: ec10 },
    { name: 'an older ExtensionsConfig never replaces a newer goal state', current: vm20, ec: ec10, vm: null, updated: false, want: vm20 },
    { name: 'an equally old one does', current: vm30, ec: ec30, vm: null, updated: false, want: ec30 },
    { name: 'vmSettings older than the current ExtensionsConfig', current: ec30, ec: null, vm: vm5, updated: true, want: ec30 },
    { name: 'ticks beyond 2^53 compare exactly', current: big, ec: bigger, vm: null, updated: false, want: bigger },
    { name: 'ticks beyond 2^53 compare exactly (older)', current: bigger, ec: null, vm: big, updated: true, want: bigger },
    { name: 'nothing at all', current: null, ec: null, vm: null, updated: false, want: null },
  ];
  for (const r of rows) {
    const got = selectExtensionsGoalState({ current: r.current, extensionsConfig: r.ec, vmSettings: r.vm, vmSettingsUpdated: r.updated });
    assert.equal(got?.id ?? null, r.want?.id ?? null, r.name);
  }
});

test('ticks and fast_track.json timestamps', () => {
  const ms = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
  const ticks = (BigInt(ms) + 62135596800000n) * 10000n + 1234n;
  assert.equal(ticksToTimestamp(ticks.toString()), '2024-01-02T03:04:05.678123Z');
  assert.equal(ticksToTimestamp('0'), '0001-01-01T00:00:00.000000Z');
  assert.equal(ticksToTimestamp('not a number'), '0001-01-01T00:00:00.000000Z');
  assert.equal(ticksToTimestamp('99999999999999999999'), '9999-12-31T23:59:59.999999Z');
  // Python: datetime.min + timedelta(microseconds=ticks // 10)
  assert.equal(ticksToTimestamp('638512345678901299'), '2024-05-13T22:02:47.890129Z');
  // Back at microsecond precision.
  assert.equal(timestampToTicks('2024-01-02T03:04:05.678123Z'), ticks - 4n);
  assert.equal(timestampToTicks('0001-01-01T00:00:00.000000Z'), 0n);
  assert.equal(timestampToTicks('2024-01-02T03:04:05Z'), (BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) + 62135596800000n) * 10000n);
  for (const bad of ['', '2024-01-02', '2024-02-30T00:00:00.000000Z', '2024-01-02T03:04:05.678123', 'x']) assert.equal(timestampToTicks(bad), null, bad);
});

test('outdated: older than the last Fast Track goal state, at microsecond precision', () => {
  const ft = '2024-01-02T03:04:05.678123Z';
  const at = timestampToTicks(ft)!;
  assert.equal(isOlderThanFastTrack(egs('incarnation_1', (at - 10n).toString()), ft), true);
  assert.equal(isOlderThanFastTrack(egs('incarnation_1', (at + 9n).toString()), ft), false, 'same microsecond');
  assert.equal(isOlderThanFastTrack(egs('incarnation_1', (at + 10n).toString()), ft), false);
  assert.equal(isOlderThanFastTrack(egs('incarnation_1', '0'), null), false, 'no Fast Track goal state yet');
  assert.equal(isOlderThanFastTrack(egs('incarnation_1', '0'), 'garbage'), false);
});
