// The real agent against the emulator: tenant certificates reach the lib dir, a handler decrypts its protected
// settings with them the way Azure's handlers do, and the plaintext appears nowhere the agent writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createEmulator } from '../../src/emulator/server.js';
import { eventually, fixtureHandler, startAgent, tempRoot } from '../helpers/agent.js';
import { handler } from '../helpers/status.js';

const NAME = 'Test.Decrypter';

function scenario(seqNo: number, protectedSettings: Record<string, unknown>) {
  return {
    extensions: [{
      name: NAME, version: '1.0.0', state: 'enabled' as const, seqNo, publicSettings: { visible: 'public value' }, protectedSettings,
      packageDir: fixtureHandler('decrypter'),
    }],
  };
}

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

test('a handler decrypts its protected settings with the tenant certificate the agent stored; no plaintext leaks', async (t) => {
  // Random values, so a match can only come from the scenario's plaintext.
  const secrets = [`pw-${randomBytes(12).toString('hex')}`, `key-${randomBytes(12).toString('hex')}`, `tok-${randomBytes(12).toString('hex')}`];
  const first = { password: secrets[0], nested: { storageAccountKey: secrets[1] }, list: [1, 'two'] };
  const second = { commandToExecute: `echo ${secrets[2]}` };

  const emu = await createEmulator({ scenario: scenario(0, first) });
  const root = await tempRoot();
  const agent = startAgent(root, emu);
  t.after(async () => {
    await agent.stop();
    await emu.close();
    await root.cleanup();
  });

  const rec = await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 60_000);
  const h = handler(rec.status, NAME)!;
  const plaintext1 = JSON.stringify(first);
  assert.equal(h.ext!.message, `decrypted ${Buffer.byteLength(plaintext1)} bytes`);
  const outFile = join(root.extLogDir, NAME, 'protected-settings.json');
  assert.equal(await readFile(outFile, 'utf8'), plaintext1);
  assert.equal(await mode(outFile), 0o600);

  // The settings file carries the blob verbatim and names the certificate; <lib>/<THUMB>.crt/.prv are 0600.
  const settings = JSON.parse(await readFile(join(root.libDir, `${NAME}-1.0.0`, 'config', '0.settings'), 'utf8'));
  const hs = settings.runtimeSettings[0].handlerSettings;
  const thumb: string = hs.protectedSettingsCertThumbprint;
  assert.match(thumb, /^[0-9A-F]{40}$/);
  assert.match(hs.protectedSettings, /^[A-Za-z0-9+/]+=*$/);
  assert.deepEqual(hs.publicSettings, { visible: 'public value' });
  const crt = join(root.libDir, `${thumb}.crt`);
  const fp = execFileSync('/usr/bin/openssl', ['x509', '-in', crt, '-noout', '-fingerprint', '-sha1']).toString();
  assert.equal(fp.trim().split('=')[1]!.replace(/:/g, ''), thumb, 'the file is named after its SHA-1 thumbprint');
  for (const f of [`${thumb}.crt`, `${thumb}.prv`, 'TransportCert.pem', 'TransportPrivate.pem', 'Certificates.xml']) {
    assert.equal(await mode(join(root.libDir, f)), 0o600, f);
  }
  const certReqs = emu.state.requests({ path: /comp=certificates/ });
  assert.equal(certReqs.length, 1);
  assert.equal(certReqs[0]!.status, 200);
  assert.equal(certReqs[0]!.headers['x-ms-cipher-name'], 'AES128_CBC');
  assert.match(await agent.log(), new RegExp(`INFO ExtHandler ExtHandler Certificates of the goal state: ${thumb} \\(with private key\\)$`, 'm'));

  // A new incarnation: certificates are fetched again and the handler decrypts the new settings.
  emu.publish(scenario(1, second));
  await emu.waitFor((s) => handler(s, NAME)?.ext?.sequenceNumber === 1 && handler(s, NAME)?.ext?.status === 'success', 60_000);
  assert.equal(await readFile(outFile, 'utf8'), JSON.stringify(second));
  assert.equal(emu.state.requests({ path: /comp=certificates/ }).length, 2);
  await eventually(async () => (await agent.log()).includes('ExtHandler [Test.Decrypter-1.0.0]'), 10_000, 'handler log lines');

  // Stopped first, so no file is half-written or vanishing while the folders are scanned.
  assert.equal(await agent.stop(), 0);

  // Nothing the agent wrote or sent holds a plaintext value: its log and output, every status blob, health and
  // telemetry post, and every file under the lib dir and the extension log dir except the key material (.prv/.pem),
  // the settings files (the encrypted blob) and the handler's own decrypted output.
  const sources: [string, string][] = [['agent log', await agent.log()], ['agent output', agent.output()]];
  for (const r of emu.state.statusBlobs()) sources.push([`status blob #${r.seq}`, r.text]);
  for (const r of emu.state.healthReports()) sources.push(['health report', r.raw]);
  for (const r of emu.state.telemetry()) sources.push(['telemetry', r.raw]);
  const files = [...(await walk(root.libDir)), ...(await walk(root.extLogDir))].filter(
    (f) => !/\.(prv|pem|settings)$/.test(f) && f !== outFile,
  );
  assert.ok(files.some((f) => f.endsWith(`${thumb}.crt`)) && files.some((f) => f.endsWith('Certificates.xml')));
  for (const f of files) sources.push([f, (await readFile(f)).toString('latin1')]);
  for (const [where, text] of sources) {
    for (const s of secrets) assert.ok(!text.includes(s), `plaintext secret found in ${where}`);
  }
});
