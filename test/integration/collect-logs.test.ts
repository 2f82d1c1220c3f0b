// `waagent -collect-logs`: what goes into the archive, what never does, and the size caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempRoot, type TempRoot } from '../helpers/agent.js';
import { collectLogs } from '../../src/cli/commands/collect-logs.js';
import { runWaagent, untar } from '../helpers/cli.js';

const waagent = (args: string[], env: Record<string, string>) => runWaagent(args, { env });

/** Every file entry of a tar.gz as text. */
async function listArchive(file: string): Promise<Map<string, string>> {
  return new Map([...(await untar(file))].map(([path, bytes]) => [path, bytes.toString('utf8')]));
}

const SECRET = 'hunter2-PLAINTEXT-secret';
const SIG = 'sig=AbCdSeCrEtSiG%3D';



async function populate(root: TempRoot): Promise<void> {
  const h = join(root.libDir, 'Foo.Bar-1.0.0');
  await mkdir(join(h, 'config'), { recursive: true });
  await mkdir(join(h, 'status'), { recursive: true });
  await writeFile(join(h, 'config', 'HandlerState'), 'Enabled');
  await writeFile(join(h, 'config', '0.settings'), JSON.stringify({ runtimeSettings: [{ handlerSettings: { protectedSettings: SECRET } }] }));
  await writeFile(join(h, 'status', '0.status'), `[{"status":{"formattedMessage":{"message":"downloaded https://a.blob.core.windows.net/c/x?sv=1&${SIG}"}}}]`);
  await writeFile(join(h, 'HandlerManifest.json'), '[]');
  await writeFile(join(root.libDir, 'waagent_status.json'), `{"x":"${SIG}","protectedSettings":"${SECRET}"}`);
  await writeFile(join(root.libDir, 'ABCDEF.prv'), `-----BEGIN PRIVATE KEY-----\n${SECRET}\n-----END PRIVATE KEY-----\n`);
  await writeFile(join(root.libDir, 'ABCDEF.crt'), 'cert');
  await writeFile(join(root.libDir, 'Certificates.xml'), SECRET);
  await writeFile(join(root.libDir, 'ExtensionsConfig.3.xml'), SECRET);
  await mkdir(join(root.extLogDir, 'Foo.Bar'), { recursive: true });
  await writeFile(join(root.extLogDir, 'Foo.Bar', 'CommandExecution.log'), `enable with "protectedSettings": "${SECRET}" and ${SIG}\n`);
  await writeFile(join(root.extLogDir, 'Foo.Bar', 'blob.bin'), Buffer.from([1, 0, 2, 0]));
  await mkdir(join(root.logFile, '..'), { recursive: true });
  await writeFile(root.logFile, `2026 INFO ExtHandler url https://h/p?${SIG}\n`);
}

test('-collect-logs archives logs, state and config with secrets redacted and key material left out', async (t) => {
  const root = await tempRoot();
  t.after(() => root.cleanup());
  await populate(root);
  const r = await waagent(['-collect-logs', `-configuration-path:${root.confPath}`], { WAAGENT_TS_LOG_FILE: root.logFile });
  assert.equal(r.code, 0, r.stderr);
  const archive = join(root.libDir, 'logcollector', 'logs.tar.gz');
  assert.ok(r.stdout.includes(archive), r.stdout);
  const files = await listArchive(archive);
  const names = [...files.keys()];
  const has = (suffix: string) => names.some((n) => n.endsWith(suffix));
  for (const s of ['results.txt', 'waagent.conf', 'var/log/waagent.log', 'Foo.Bar/CommandExecution.log', 'config/HandlerState', 'status/0.status', 'HandlerManifest.json', 'waagent_status.json']) {
    assert.ok(has(s), `${s} in ${names.join(', ')}`);
  }
  for (const s of ['.prv', '.crt', 'Certificates.xml', 'ExtensionsConfig.3.xml', '0.settings', 'blob.bin']) assert.ok(!has(s), `${s} must not be archived`);
  for (const [name, text] of files) {
    assert.ok(!text.includes(SECRET), `secret in ${name}`);
    assert.ok(!text.includes('AbCdSeCrEtSiG'), `SAS signature in ${name}`);
  }
  assert.ok(files.get(names.find((n) => n.endsWith('CommandExecution.log'))!)!.includes('***REDACTED***'));
  const results = files.get('results.txt')!;
  assert.match(results, /Certificate thumbprints: ABCDEF/);
  assert.match(results, /ABCDEF\.prv: secret material/);
  assert.match(results, /blob\.bin: binary file/);
});

test('the per-file cap keeps the tail and the total cap drops the oldest files', async (t) => {
  const root = await tempRoot();
  t.after(() => root.cleanup());
  await mkdir(join(root.logFile, '..'), { recursive: true });
  await writeFile(root.logFile, 'OLD-HEAD\n' + 'x'.repeat(3000) + '\nNEW-TAIL\n');
  const old = join(root.extLogDir, 'old.log');
  const recent = join(root.extLogDir, 'recent.log');
  await writeFile(old, 'o'.repeat(600));
  await writeFile(recent, 'r'.repeat(600));
  await utimes(old, new Date(2000, 1, 1), new Date(2000, 1, 1));
  const res = await collectLogs({ libDir: root.libDir, extLogDir: root.extLogDir, agentLogFile: root.logFile, confPath: root.confPath, full: false, fileCap: 1000, totalCap: 2000 });
  const files = await listArchive(res.archive);
  const log = [...files].find(([n]) => n.endsWith('waagent.log'))?.[1];
  assert.ok(log !== undefined && log.length === 1000 && log.endsWith('NEW-TAIL\n') && !log.includes('OLD-HEAD'));
  assert.ok([...files.keys()].some((n) => n.endsWith('recent.log')));
  assert.ok(![...files.keys()].some((n) => n.endsWith('old.log')), 'the oldest file is dropped at the total cap');
  assert.match(files.get('results.txt')!, /old\.log: total size cap of 2000 bytes reached/);
  const total = [...files].filter(([n]) => n !== 'results.txt').reduce((a, [, t]) => a + t.length, 0);
  assert.ok(total <= 2000, `total ${total}`);
});
