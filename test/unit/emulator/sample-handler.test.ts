// The bundled sample handler, run the way the agent runs it: /bin/sh -c, cwd = base dir, ConfigSequenceNumber set.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { sampleHandlerDir } from '../../../src/emulator/cli.js';
import { withTempDir } from './helpers.js';

const run = promisify(execFile);

async function setup(dir: string): Promise<string> {
  const base = join(dir, 'Test.Sample-1.0.0');
  await cp(sampleHandlerDir(), base, { recursive: true });
  await mkdir(join(base, 'config'), { recursive: true });
  const env = [{
    name: 'Test.Sample', version: 1.0,
    handlerEnvironment: {
      logFolder: join(dir, 'log'), configFolder: join(base, 'config'), statusFolder: join(base, 'status'),
      heartbeatFile: join(base, 'heartbeat.log'), eventsFolder: join(dir, 'log', 'events'), eventsFolder_preview: join(dir, 'log', 'events'),
    },
  }];
  // json.dumps spacing, one line, as the agent writes it.
  await writeFile(join(base, 'HandlerEnvironment.json'), JSON.stringify(env).replace(/":/g, '": ').replace(/,"/g, ', "'));
  return base;
}

async function command(base: string, op: string, seq: number): Promise<void> {
  const manifest = JSON.parse(await readFile(join(base, 'HandlerManifest.json'), 'utf8')) as Array<{ handlerManifest: Record<string, string> }>;
  const cmd = manifest[0]?.handlerManifest[`${op}Command`];
  assert.ok(cmd, `${op}Command in manifest`);
  await run('/bin/sh', ['-c', join(base, cmd)], { cwd: base, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ConfigSequenceNumber: String(seq) } });
}

test('manifest has the upstream shape with every command', async () => {
  const m = JSON.parse(await readFile(join(sampleHandlerDir(), 'HandlerManifest.json'), 'utf8')) as Array<Record<string, any>>;
  assert.equal(m[0]?.name, 'SampleExtension');
  for (const op of ['install', 'enable', 'disable', 'uninstall', 'update']) {
    assert.equal(m[0]?.handlerManifest[`${op}Command`], `bin/sample.sh ${op}`);
  }
  assert.equal(m[0]?.handlerManifest.reportHeartbeat, false);
  assert.ok(((await stat(join(sampleHandlerDir(), 'bin', 'sample.sh'))).mode & 0o111) !== 0, 'sample.sh is executable');
});

test('enable writes <seq>.status with the settings message, mrseq, and logs each command', async () => {
  await withTempDir(async (dir) => {
    const base = await setup(dir);
    const settings = { runtimeSettings: [{ handlerSettings: { publicSettings: { message: 'say "hi"' }, protectedSettings: null } }] };
    await writeFile(join(base, 'config', '5.settings'), JSON.stringify(settings));
    await command(base, 'install', 5);
    await command(base, 'enable', 5);
    const status = JSON.parse(await readFile(join(base, 'status', '5.status'), 'utf8')) as Array<Record<string, any>>;
    assert.equal(status[0]?.version, 1);
    assert.match(status[0]?.timestampUTC, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual({ ...status[0]?.status }, {
      name: 'SampleExtension', operation: 'Enable', status: 'success', code: 0,
      formattedMessage: { lang: 'en-US', message: "Enable succeeded: say 'hi'" },
    });
    assert.equal(await readFile(join(base, 'mrseq'), 'utf8'), '5');
    assert.deepEqual(await readdir(join(base, 'status')), ['5.status'], 'no temp file left behind');
    await command(base, 'disable', 5);
    const log = (await readFile(join(dir, 'log', 'commands.log'), 'utf8')).trim().split('\n');
    assert.deepEqual(log.map((l) => l.split(' ').slice(1).join(' ')), ['install seq=5', 'enable seq=5', 'disable seq=5']);
  });
});

test('enable without a settings file still reports success', async () => {
  await withTempDir(async (dir) => {
    const base = await setup(dir);
    await command(base, 'enable', 0);
    const status = JSON.parse(await readFile(join(base, 'status', '0.status'), 'utf8')) as Array<Record<string, any>>;
    assert.equal(status[0]?.status.formattedMessage.message, 'Enable succeeded');
  });
});
