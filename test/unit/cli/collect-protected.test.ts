// -collect-logs decrypts the protected settings with the tenant key and scrubs their plaintext from the bundle:
// a handler that wrote its decrypted settings (or a command line built from them) to its log folder leaks nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Parser } from 'tar';
import { collectLogs } from '../../../src/cli/commands/collect-logs.js';
import { protectedValues, scrubValues } from '../../../src/cli/commands/collect-protected.js';
import { createOpenssl } from '../../../src/platform/openssl.js';

const OPENSSL = '/usr/bin/openssl';

async function tenant(libDir: string): Promise<string> {
  const key = join(libDir, 'tenant.key');
  const crt = join(libDir, 'tenant.crt');
  execFileSync(OPENSSL, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-subj', '/CN=tenant'], { stdio: 'ignore' });
  const thumb = execFileSync(OPENSSL, ['x509', '-in', crt, '-noout', '-fingerprint', '-sha1']).toString().trim().split('=')[1]!.replace(/:/g, '');
  await writeFile(join(libDir, `${thumb}.crt`), await readFile(crt), { mode: 0o600 });
  await writeFile(join(libDir, `${thumb}.prv`), await readFile(key), { mode: 0o600 });
  await rm(key);
  await rm(crt);
  return thumb;
}

function encrypt(libDir: string, thumb: string, plaintext: string): string {
  return execFileSync(OPENSSL, ['cms', '-encrypt', '-outform', 'DER', '-aes256', join(libDir, `${thumb}.crt`)], { input: plaintext }).toString('base64');
}

test('protectedValues decrypts each settings file and scrubValues removes the values and their long tokens', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-ts-collect-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const libDir = join(dir, 'lib');
  await mkdir(join(libDir, 'Pub.Ext-1.0', 'config'), { recursive: true });
  const thumb = await tenant(libDir);
  const pw = `pw-${randomBytes(8).toString('hex')}`;
  const token = `tok${randomBytes(8).toString('hex')}`;
  const plain = JSON.stringify({ password: pw, commandToExecute: `./run.sh --token ${token}`, port: 12345678, short: 'abc' });
  const settings = join(libDir, 'Pub.Ext-1.0', 'config', '0.settings');
  await writeFile(settings, JSON.stringify({ runtimeSettings: [{ handlerSettings: { protectedSettingsCertThumbprint: thumb, protectedSettings: encrypt(libDir, thumb, plain), publicSettings: {} } }] }));
  const bad = join(libDir, 'Pub.Ext-1.0', 'config', '1.settings');
  await writeFile(bad, JSON.stringify({ runtimeSettings: [{ handlerSettings: { protectedSettingsCertThumbprint: thumb, protectedSettings: 'bm90IGNtcw==' } }] }));

  const r = await protectedValues(libDir, [settings, bad], createOpenssl({ path: OPENSSL }));
  assert.equal(r.failed, 1, 'the undecryptable blob is counted, not fatal');
  for (const v of [plain, pw, token, '12345678']) assert.ok(r.values.includes(v), v);
  assert.ok(!r.values.includes('abc'), 'short values are left alone');
  const scrubbed = scrubValues(`got ${plain}; password=${pw}; ran with ${token}; abc`, r.values);
  for (const v of [pw, token]) assert.ok(!scrubbed.includes(v), scrubbed);
  assert.match(scrubbed, /abc$/);

  // The whole collection: a handler log holding the plaintext reaches the bundle scrubbed.
  const extLogDir = join(dir, 'ext');
  await mkdir(join(extLogDir, 'Pub.Ext'), { recursive: true });
  await writeFile(join(extLogDir, 'Pub.Ext', 'handler.log'), `decrypted: ${plain}\nrunning ./run.sh --token ${token}\n`);
  const agentLogFile = join(dir, 'waagent.log');
  await writeFile(agentLogFile, 'log\n');
  const opts = { libDir, extLogDir, agentLogFile, confPath: join(dir, 'none.conf'), full: true };
  const read = async (): Promise<string> => {
    let all = '';
    const p = new Parser({ onReadEntry: (e) => e.on('data', (c: Buffer) => (all += c.toString('latin1'))) });
    await new Promise<void>(async (resolve, reject) => {
      p.on('end', resolve);
      p.on('error', reject);
      p.end(await readFile(join(libDir, 'logcollector', 'logs.tar.gz')));
    });
    return all;
  };
  await collectLogs(opts);
  assert.ok((await read()).includes(pw), 'without openssl nothing is decrypted (the check can fail)');
  await collectLogs({ ...opts, openssl: createOpenssl({ path: OPENSSL }) });
  const bundle = await read();
  for (const v of [pw, token]) assert.ok(!bundle.includes(v), `${v} in the bundle`);
  assert.match(bundle, /Protected settings values scrubbed: \d+ \(1 settings could not be decrypted\)/);
});
