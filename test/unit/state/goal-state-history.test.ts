// The goal-state history: redacted documents, entries written whole or not at all, pruned by count and size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GoalStateHistory, goalStateSecrets, historyTag, historyTimestamp, redactDocument, HISTORY_DIR,
} from '../../../src/state/goal-state-history.js';
import { collectLogs } from '../../../src/cli/commands/collect-logs.js';
import type { ExtensionsGoalState } from '../../../src/protocol/goal-state.js';
import type { Logger } from '../../../src/deps.js';

const PROTECTED = 'MIIBzAYJKoZIhvcNAQcDoIIBvTCCAbkCAQAxggFpMIIBZQIBADBNMDkxNzA1BgoJkiaJk/IsZAEZFidXaW5kb3dzIEF6dXJlIENSUCBDZXJ0aWZpY2F0ZSBHZW5lcmF0b3I=';
const SIG = 'Zm9vYmFyYmF6cXV4c2VjcmV0c2lnbmF0dXJlMTIzNDU2Nzg5MA==';
const SAS_URL = `https://md.blob.core.windows.net/$system/vm.status?sv=2018-03-28&sr=b&sk=system-1&sig=${encodeURIComponent(SIG)}&se=9999-01-01T00%3a00%3a00Z&sp=w`;
const KEY_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj';

const EXT_CONF = `<?xml version="1.0" encoding="utf-8"?>
<Extensions version="1.0.0.0" goalStateIncarnation="7">
  <StatusUploadBlob statusBlobType="BlockBlob">${SAS_URL.replace(/&/g, '&amp;')}</StatusUploadBlob>
  <PluginSettings><Plugin name="Test.Ext" version="1.0.0"><RuntimeSettings seqNo="0">{"runtimeSettings":[{"handlerSettings":{"protectedSettingsCertThumbprint":"ABCD","protectedSettings":"${PROTECTED}","publicSettings":{"visible":"yes"}}}]}</RuntimeSettings></Plugin></PluginSettings>
</Extensions>`;

const VM_SETTINGS = JSON.stringify({
  hostGAPluginVersion: '1.0.8.133', statusUploadBlob: { statusBlobType: 'BlockBlob', value: SAS_URL },
  extensionGoalStates: [{ name: 'Test.Ext', settings: [{ protectedSettingsCertThumbprint: 'ABCD', protectedSettings: PROTECTED, publicSettings: '{"visible":"yes"}' }] }],
}, null, 2);

function egs(): ExtensionsGoalState {
  return {
    id: 'incarnation_7', source: 'Fabric', channel: 'WireServer', inSvdSeqNo: '7', createdOnTicks: '0', activityId: '', correlationId: '',
    statusUploadBlob: { url: SAS_URL, type: 'BlockBlob' }, artifactsProfileUrl: null, onHold: null, requiredFeatures: [], gaFamilies: [],
    handlers: [{
      name: 'Test.Ext', version: '1.0.0', state: 'enabled', manifestUris: ['https://repo/manifest.xml'], encodedSignature: null, isMultiConfig: false, invalidReason: null,
      settings: [{ name: 'Test.Ext', sequenceNumber: 0, state: 'enabled', publicSettings: { visible: 'yes' }, protectedSettings: PROTECTED, certificateThumbprint: 'ABCD', dependencyLevel: 0 }],
    }],
  };
}

const quiet: Logger = { verbose() {}, info() {}, warn() {}, error() {}, child: () => quiet };

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-ts-history-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function entries(libDir: string): Promise<string[]> {
  return (await readdir(join(libDir, HISTORY_DIR))).sort();
}

test('history entries are named <timestamp>__<tag> and hold the redacted documents, 0700/0600', async (t) => {
  const libDir = await scratch(t);
  const clock = { now: () => Date.parse('2026-11-26T00:01:02.345Z') };
  const h = new GoalStateHistory({ libDir, clock, logger: quiet });
  const secrets = goalStateSecrets(egs());
  assert.ok(secrets.includes(PROTECTED) && secrets.includes(SIG) && secrets.includes(encodeURIComponent(SIG)));
  const entry = await h.save(historyTag('7', egs()), [
    { name: 'GoalState.xml', text: '<GoalState><Incarnation>7</Incarnation></GoalState>' },
    { name: 'ExtensionsConfig.xml', text: EXT_CONF },
    { name: 'VmSettings.json', text: VM_SETTINGS },
    { name: 'Certificates.json', text: '[{"thumbprint":"ABCD","hasPrivateKey":true}]' },
  ], secrets);
  assert.equal(entry, join(libDir, HISTORY_DIR, '2026-11-26T00-01-02__7'));
  assert.equal(historyTimestamp(clock.now()), '2026-11-26T00-01-02');
  assert.deepEqual((await readdir(entry)).sort(), ['Certificates.json', 'ExtensionsConfig.xml', 'GoalState.xml', 'VmSettings.json']);
  assert.equal((await stat(join(libDir, HISTORY_DIR))).mode & 0o777, 0o700);
  assert.equal((await stat(entry)).mode & 0o777, 0o700);
  for (const f of await readdir(entry)) {
    assert.equal((await stat(join(entry, f))).mode & 0o777, 0o600, f);
    const text = await readFile(join(entry, f), 'utf8');
    for (const s of [PROTECTED, SIG, encodeURIComponent(SIG), 'sig=']) assert.ok(!text.includes(s), `${s} in ${f}`);
  }
  const ext = await readFile(join(entry, 'ExtensionsConfig.xml'), 'utf8');
  assert.match(ext, /"protectedSettings":"\*\*\*REDACTED\*\*\*"/);
  assert.match(ext, /"publicSettings":\{"visible":"yes"\}/, 'public settings are kept for debugging');
  assert.match(ext, /vm\.status\?<redacted><\/StatusUploadBlob>/);
  assert.match(await readFile(join(entry, 'VmSettings.json'), 'utf8'), /"protectedSettings": "\*\*\*REDACTED\*\*\*"/);
  // Fast Track goal states carry their id in the tag; odd characters are replaced.
  assert.equal(historyTag('7', { id: 'etag_1/2', source: 'FastTrack' }), '7-etag_1_2');
});

test('a document still carrying a secret after redaction is left out, and key material never goes in', async (t) => {
  const libDir = await scratch(t);
  const h = new GoalStateHistory({ libDir, clock: { now: () => 0 }, logger: quiet });
  // The blob in a form the redactor does not know (not under a protectedSettings key).
  const odd = `<Odd blob="${PROTECTED}"/>`;
  const key = `-----BEGIN RSA PRIVATE KEY-----\n${KEY_BODY}\n-----END RSA PRIVATE KEY-----\n`;
  assert.equal(redactDocument(odd, [PROTECTED]), null);
  assert.ok(!redactDocument(key, [])!.includes(KEY_BODY));
  const entry = (await h.save('1', [{ name: 'Odd.xml', text: odd }, { name: 'Key.txt', text: key }, { name: 'GoalState.xml', text: '<g/>' }], [PROTECTED]))!;
  assert.deepEqual((await readdir(entry)).sort(), ['GoalState.xml', 'Key.txt', 'omitted.txt']);
  assert.match(await readFile(join(entry, 'omitted.txt'), 'utf8'), /Odd\.xml/);
  assert.ok(!(await readFile(join(entry, 'Key.txt'), 'utf8')).includes(KEY_BODY));
  assert.equal(await h.save('2', [{ name: '../escape', text: 'x' }]), null);
  assert.deepEqual(await entries(libDir), ['1970-01-01T00-00-00__1'], 'an invalid document name saves nothing');
});

test('pruning keeps the newest entries within the count and the total size', async (t) => {
  const libDir = await scratch(t);
  let now = Date.parse('2026-01-01T00:00:00Z');
  const clock = { now: () => now };
  const h = new GoalStateHistory({ libDir, clock, logger: quiet, limits: { maxEntries: 5, maxBytes: 1_000_000 } });
  for (let i = 0; i < 12; i++) {
    now += 1000;
    await h.save(String(i), [{ name: 'GoalState.xml', text: `<g>${i}</g>` }]);
    assert.ok((await entries(libDir)).length <= 5);
  }
  assert.deepEqual((await entries(libDir)).map((n) => n.split('__')[1]), ['7', '8', '9', '10', '11']);

  // By size: 300-byte entries under a 1000-byte limit keep three.
  const sized = new GoalStateHistory({ libDir, clock, logger: quiet, limits: { maxEntries: 50, maxBytes: 1000 } });
  for (let i = 0; i < 6; i++) {
    now += 1000;
    await sized.save(`s${i}`, [{ name: 'ExtensionsConfig.xml', text: 'x'.repeat(300) }]);
  }
  const left = await entries(libDir);
  assert.deepEqual(left.map((n) => n.split('__')[1]), ['s3', 's4', 's5']);
  let total = 0;
  for (const e of left) for (const f of await readdir(join(libDir, HISTORY_DIR, e))) total += (await stat(join(libDir, HISTORY_DIR, e, f))).size;
  assert.ok(total <= 1000, `${total} bytes`);
  // A single goal state above the size limit is not saved at all (and evicts nothing).
  now += 1000;
  assert.equal(await sized.save('huge', [{ name: 'ExtensionsConfig.xml', text: 'y'.repeat(2000) }]), null);
  assert.deepEqual(await entries(libDir), left);
  // Upstream's legacy entries (a takeover) count and are pruned too.
  await mkdir(join(libDir, HISTORY_DIR, '2018-04-06T08:21:37.142697_incarnation_1'));
  await writeFile(join(libDir, HISTORY_DIR, '2018-04-06T08-21-37__2.zip'), 'zip');
  const small = new GoalStateHistory({ libDir, clock, logger: quiet, limits: { maxEntries: 2 } });
  await small.prune();
  assert.deepEqual((await entries(libDir)).map((n) => n.split('__')[1]), ['s4', 's5']);
});

test('an entry appears whole or not at all: a failed save leaves nothing, stale temp folders are swept', async (t) => {
  const libDir = await scratch(t);
  const h = new GoalStateHistory({ libDir, clock: { now: () => 0 }, logger: quiet });
  // The second document fails to write (same name twice: exclusive create): no entry, no temp folder.
  assert.equal(await h.save('1', [{ name: 'GoalState.xml', text: '<a/>' }, { name: 'GoalState.xml', text: '<b/>' }]), null);
  assert.deepEqual(await entries(libDir), []);
  // A temp folder left by a killed process (a pid that is gone) is removed; one of a live process is not, and
  // neither ever counts as an entry.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  const stale = join(libDir, HISTORY_DIR, `.tmp-1970-01-01T00-00-00__9.${dead}.0123456789ab`);
  const live = join(libDir, HISTORY_DIR, `.tmp-1970-01-01T00-00-00__8.${process.pid}.0123456789ab`);
  await mkdir(stale);
  await writeFile(join(stale, 'GoalState.xml'), '<half');
  await mkdir(live);
  const entry = await h.save('2', [{ name: 'GoalState.xml', text: '<g/>' }]);
  assert.ok(entry);
  assert.deepEqual(await entries(libDir), [`.tmp-1970-01-01T00-00-00__8.${process.pid}.0123456789ab`, '1970-01-01T00-00-00__2']);
  // The same goal state again within the same second is not saved twice.
  assert.equal(await h.save('2', [{ name: 'GoalState.xml', text: '<g/>' }]), null);
});

test('-collect-logs takes the history (redacted again) but never key material placed in it', async (t) => {
  const dir = await scratch(t);
  const libDir = join(dir, 'lib');
  const h = new GoalStateHistory({ libDir, clock: { now: () => 0 }, logger: quiet });
  const entry = (await h.save('3', [{ name: 'ExtensionsConfig.xml', text: EXT_CONF }], goalStateSecrets(egs())))!;
  await writeFile(join(entry, 'ABCD.prv'), `-----BEGIN PRIVATE KEY-----\n${KEY_BODY}\n-----END PRIVATE KEY-----\n`);
  const agentLogFile = join(dir, 'waagent.log');
  await writeFile(agentLogFile, 'log\n');
  const r = await collectLogs({ libDir, extLogDir: join(dir, 'ext'), agentLogFile, confPath: join(dir, 'none.conf'), full: false });
  assert.ok(r.included.includes(join(entry, 'ExtensionsConfig.xml')), r.included.join(', '));
  assert.ok(!r.included.some((p) => p.endsWith('.prv')));
  assert.ok(r.skipped.some((s) => s.path === join(entry, 'ABCD.prv')));
});
