// Whole-system secret scan: the real agent runs the protected-settings flow against the emulator (settings encrypted to
// the tenant certificate the agent receives through its transport certificate, a status blob SAS URL with `sig=`),
// then `-collect-logs` and `-collect-logs -full` run, and every byte the agent wrote or sent is scanned: its log and
// output, the extension log folders, every file under the lib dir (history included), every status blob, health and
// telemetry body the emulator received, and every entry of both bundles. None may hold the plaintext protected
// settings, a line of a private key or the SAS signature. Settings, certificates and keys are 0600, their folders 0700.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { createEmulator } from '../../src/emulator/server.js';
import { eventually, fixtureHandler, startAgent, tempRoot, type TempRoot } from '../helpers/agent.js';
import { handler } from '../helpers/status.js';
import { runWaagent, untar } from '../helpers/cli.js';

const collectLogs = (root: TempRoot, full: boolean) =>
  runWaagent(['-collect-logs', ...(full ? ['-full'] : []), `-configuration-path:${root.confPath}`], { env: { WAAGENT_TS_LOG_FILE: root.logFile }, timeoutMs: 60_000 });

const NAME = 'Test.Decrypter';

function scenario(seqNo: number, protectedSettings: Record<string, unknown>) {
  return {
    extensions: [{
      name: NAME, version: '1.0.0', state: 'enabled' as const, seqNo, publicSettings: { visible: 'public value' }, protectedSettings,
      packageDir: fixtureHandler('decrypter'),
    }],
  };
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;



/** The base64 body lines of every private-key PEM block in `pem`. */
function keyLines(pem: string): string[] {
  const out: string[] = [];
  for (const m of pem.matchAll(/-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----([\s\S]*?)-----END \1PRIVATE KEY-----/g)) {
    for (const line of (m[2] ?? '').split(/\r?\n/)) if (line.trim().length >= 16) out.push(line.trim());
  }
  return out;
}

test('no plaintext protected setting, private-key line or SAS signature in anything the agent writes or sends', { timeout: 240_000 }, async (t) => {
  // Distinctive random markers: a match can only come from the scenario's plaintext.
  const marker = `SECRETSCAN-${randomBytes(16).toString('hex')}`;
  const marker2 = `SECRETSCAN2-${randomBytes(16).toString('hex')}`;
  const emu = await createEmulator({ scenario: scenario(0, { password: marker, nested: { token: `tok-${marker}` } }) });
  const root = await tempRoot();
  // The agent creates the lib dir itself, so its mode is the agent's doing.
  await rm(root.libDir, { recursive: true, force: true });
  const agent = startAgent(root, emu, ['-run-exthandlers'], { WAAGENT_TS_EVENT_PERIOD_MS: '300', WAAGENT_TS_TELEMETRY_BATCH_MS: '200' });
  t.after(async () => {
    await agent.stop();
    await emu.close();
    await root.cleanup();
  });

  await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 90_000);
  emu.publish(scenario(1, { commandToExecute: `echo ${marker2}` }));
  await emu.waitFor((s) => handler(s, NAME)?.ext?.sequenceNumber === 1 && handler(s, NAME)?.ext?.status === 'success', 90_000);
  await emu.state.waitUntil(() => emu.state.telemetry().length > 0, 60_000, 'a telemetry post');
  const outFile = join(root.extLogDir, NAME, 'protected-settings.json');
  assert.equal(await readFile(outFile, 'utf8'), JSON.stringify({ commandToExecute: `echo ${marker2}` }), 'the handler decrypted the settings');
  await eventually(async () => (await readdir(join(root.libDir, 'history')).catch(() => [])).length >= 2, 10_000, 'two history entries');
  // Stopped first, so nothing is half-written while the folders are scanned.
  assert.equal(await agent.stop(), 0);

  // What must never appear.
  const sasUrl = emu.goalState().statusBlobUrl;
  const sig = new URL(sasUrl).searchParams.get('sig');
  assert.ok(sig && sig.length >= 16, 'the status blob URL carries a signature');
  const libFiles = await walk(root.libDir);
  // Where keys are kept on purpose (0600): the tenant keys, the transport key and the decrypted certificate bundle.
  const keyFiles = libFiles.filter((f) => /\.prv$/.test(f) || basename(f) === 'TransportPrivate.pem' || basename(f) === 'Certificates.pem');
  assert.ok(keyFiles.some((f) => basename(f) === 'TransportPrivate.pem') && keyFiles.some((f) => /[0-9A-F]{40}\.prv$/.test(f)), keyFiles.join(', '));
  const keys = new Set<string>();
  for (const f of keyFiles) for (const l of keyLines(await readFile(f, 'utf8'))) keys.add(l);
  assert.ok(keys.size >= 20, `${keys.size} key lines`);
  // The encrypted blobs too: they belong in the handler's settings files only (history and bundles redact them).
  const blobs = new Set<string>();
  for (const f of libFiles.filter((x) => x.endsWith('.settings'))) {
    for (const r of JSON.parse(await readFile(f, 'utf8')).runtimeSettings) if (r.handlerSettings?.protectedSettings) blobs.add(r.handlerSettings.protectedSettings);
  }
  assert.equal(blobs.size, 2, 'two encrypted settings blobs');
  const forbidden: Array<[string, string]> = [
    ...[...blobs].map((b): [string, string] => ['encrypted protectedSettings blob', b]),
    ['plaintext protected setting', marker], ['plaintext protected setting', marker2],
    ['SAS signature', sig], ['SAS signature', encodeURIComponent(sig)], ['SAS signature', `sig=${encodeURIComponent(sig)}`],
    ...[...keys].map((k): [string, string] => ['private key line', k]),
  ];

  // -collect-logs, normal and full; both bundles are scanned.
  const bundles = new Map<string, Map<string, Buffer>>();
  const collectorOutput: string[] = [];
  for (const full of [false, true]) {
    const r = await collectLogs(root, full);
    assert.equal(r.code, 0, r.stderr);
    collectorOutput.push(r.stdout, r.stderr);
    const archive = join(root.libDir, 'logcollector', 'logs.tar.gz');
    assert.equal(await mode(archive), 0o600);
    assert.equal(await mode(dirname(archive)), 0o700);
    const files = await untar(archive);
    assert.ok([...files.keys()].some((n) => /history\/[^/]+\/GoalState\.xml$/.test(n)), 'the bundle holds the goal-state history');
    bundles.set(full ? 'bundle (-full)' : 'bundle', files);
  }

  // Everything to scan: [where, bytes, what may legitimately be in it].
  const sources: Array<[string, Buffer | string]> = [['agent output', agent.output()], ['-collect-logs output', collectorOutput.join('\n')]];
  for (const f of [root.logFile, `${root.logFile}.1`]) {
    const text = await readFile(f).catch(() => null);
    if (text) sources.push([f, text]);
  }
  assert.ok(sources.length >= 2, 'the agent log exists');
  for (const r of emu.state.statusBlobs()) sources.push([`status blob #${r.seq}`, r.text]);
  for (const r of emu.state.healthReports()) sources.push(['health report', r.raw]);
  for (const r of emu.state.healthService()) sources.push(['HostGAPlugin health', JSON.stringify(r.body)]);
  for (const r of emu.state.telemetry()) sources.push(['telemetry', r.raw]);
  assert.ok(emu.state.statusBlobs().length > 0 && emu.state.telemetry().length > 0);
  for (const [name, files] of bundles) for (const [p, data] of files) sources.push([`${name}: ${p}`, data], [`${name}: entry name`, p]);
  const extFiles = await walk(root.extLogDir);
  for (const f of extFiles) if (f !== outFile) sources.push([f, await readFile(f)]);
  const history = libFiles.filter((f) => relative(root.libDir, f).startsWith('history/'));
  assert.ok(history.some((f) => f.endsWith('ExtensionsConfig.xml')) && history.some((f) => f.endsWith('Certificates.json')), history.join(', '));
  for (const f of libFiles) sources.push([f, await readFile(f)]);

  const found: string[] = [];
  for (const [where, data] of sources) {
    const text = typeof data === 'string' ? data : data.toString('latin1');
    const isKeyFile = keyFiles.includes(where);
    for (const [what, value] of forbidden) {
      if (isKeyFile && what === 'private key line') continue; // the key's own file
      if (where.endsWith('.settings') && what === 'encrypted protectedSettings blob') continue; // the handler's input
      if (text.includes(value)) found.push(`${what} in ${where}`);
    }
    // A signature in any form the scan did not predict (e.g. re-encoded).
    const m = /[?&;]sig=(?!<redacted>|REDACTED|\*\*\*)[^&\s"'<]{8,}/i.exec(text);
    if (m) found.push(`sig= value in ${where}: ${m[0].slice(0, 12)}...`);
  }
  assert.deepEqual([...new Set(found)], []);
  assert.ok(sources.length > 30, `${sources.length} sources scanned`);

  // Modes: settings, certificates and keys 0600; the folders holding them 0700.
  assert.equal(await mode(root.libDir), 0o700, 'lib dir');
  const secretFiles = libFiles.filter((f) => /\.(?:settings|crt|prv|pem)$/.test(f) || /Certificates\.(?:xml|json)$/.test(f) || relative(root.libDir, f).startsWith('history/'));
  assert.ok(secretFiles.filter((f) => f.endsWith('.settings')).length >= 2 && secretFiles.some((f) => f.endsWith('.crt')));
  const folders = new Set<string>();
  for (const f of secretFiles) {
    assert.equal(await mode(f), 0o600, f);
    folders.add(dirname(f));
  }
  for (const d of folders) assert.equal(await mode(d), 0o700, d);
});
