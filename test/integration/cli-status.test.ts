// `waagent status` against a lib dir the real agent filled while running against the emulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createEmulator } from '../../src/emulator/server.js';
import { eventually, repoRoot, runAgainstEmulator, tempRoot } from '../helpers/agent.js';
import { handler } from '../helpers/status.js';
import { AGENT_VERSION } from '../../src/version.js';
import { runWaagent } from '../helpers/cli.js';

const waagent = (args: string[], env: Record<string, string> = {}) => runWaagent(args, { env });

const NAME = 'Sample.Handler';


test('status shows the version, incarnation and the handler table of a running agent', async (t) => {
  const { emu, root, agent } = await runAgainstEmulator(t, () => createEmulator({
    scenario: { incarnation: 3, extensions: [{ name: NAME, version: '1.0.0', state: 'enabled', seqNo: 0, packageDir: join(repoRoot(), 'fixtures/extensions/sample') }] },
  }));
  await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 30_000);
  // Saved right after the upload the emulator saw.
  await eventually(() => readFile(join(root.libDir, 'waagent_status.json'), 'utf8').then((s) => s.includes('"success"'), () => false), 30_000, 'waagent_status.json');
  await agent.stop();
  const r = await waagent(['status', `-configuration-path:${root.confPath}`], { WAAGENT_TS_LOG_FILE: root.logFile });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Agent version: ${AGENT_VERSION.replace(/\./g, '\\.')}$`, 'm'));
  assert.match(r.stdout, /^Goal state incarnation: 3$/m);
  assert.match(r.stdout, /^Last status: \d{4}-/m);
  assert.match(r.stdout, /^NAME\s+VERSION\s+STATE\s+STATUS\s+CODE\s+MESSAGE$/m);
  assert.match(r.stdout, /^Sample\.Handler\s+1\.0\.0\s+Enabled\s+success\s+0\b/m);

  const j = await waagent(['status', '--json', '--configuration-path', root.confPath], { WAAGENT_TS_LOG_FILE: root.logFile });
  assert.equal(j.code, 0, j.stderr);
  const report = JSON.parse(j.stdout) as { agentVersion: string; handlers: Array<{ name: string; state: string }> };
  assert.equal(report.agentVersion, AGENT_VERSION);
  assert.deepEqual(report.handlers.map((h) => [h.name, h.state]), [[NAME, 'Enabled']]);
});

test('status tolerates a missing or malformed saved status, and a bad config exits 1', async (t) => {
  const root = await tempRoot();
  t.after(() => root.cleanup());
  let r = await waagent(['status', `-configuration-path:${root.confPath}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Note: No status saved yet/);
  assert.match(r.stdout, /No extension handlers\./);
  await writeFile(join(root.libDir, 'waagent_status.json'), '{"aggregateStatus": 5}');
  r = await waagent(['status', `-configuration-path:${root.confPath}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Note: Malformed .*waagent_status\.json: field aggregateStatus/);
  await writeFile(root.confPath, 'Lib.Dir=/x\nLogs.Verbose=maybe\n');
  r = await waagent(['status', `-configuration-path:${root.confPath}`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Error: /);
});
