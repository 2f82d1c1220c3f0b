// WireClient and GoalStateFetcher against the emulator: an unchanged document is not parsed again, concurrent
// goal-state GETs are shared, and the certificate download only delays goal states whose handlers need it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../../src/deps.js';
import { createEmulator, type Emulator } from '../../../src/emulator/server.js';
import { sampleHandlerDir } from '../../../src/emulator/cli.js';
import type { Scenario, ScenarioExtension } from '../../../src/emulator/scenario.js';
import { createHttpClient } from '../../../src/protocol/http.js';
import { HostPluginClient } from '../../../src/protocol/host-plugin.js';
import { WireClient } from '../../../src/protocol/wire-client.js';
import { systemClock } from '../../../src/platform/clock.js';
import type { Paths } from '../../../src/state/paths.js';
import { GoalStateFetcher, needsCertificates } from '../../../src/agent/goal-state-fetcher.js';

const ext = (seqNo: number, more: Partial<ScenarioExtension> = {}): ScenarioExtension => ({
  name: 'Test.Sample', version: '1.0.0', state: 'enabled', seqNo, publicSettings: { message: `m${seqNo}` }, packageDir: sampleHandlerDir(), ...more,
});

const logger = { verbose: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
const retry = { maxAttempts: 1, retryDelayMs: 1, throttleDelayMs: 1, throttledMinAttempts: 1 };

async function rig(t: { after(fn: () => Promise<void>): void }, scenario: Scenario): Promise<{ emu: Emulator; wire: WireClient; hostPlugin: HostPluginClient; paths: Paths }> {
  const libDir = await mkdtemp(join(tmpdir(), 'wire-client-'));
  const emu = await createEmulator({ scenario });
  t.after(async () => {
    await emu.close();
    await rm(libDir, { recursive: true, force: true });
  });
  const http = createHttpClient();
  const wire = new WireClient({ http, clock: systemClock, logger, baseUrl: emu.wireUrl, retry });
  const hostPlugin = new HostPluginClient({ http, clock: systemClock, logger, baseUrl: emu.hostPluginUrl, retry });
  const paths: Paths = { libDir, extLogDir: libDir, agentLogFile: join(libDir, 'log'), confPath: join(libDir, 'conf'), pidFile: join(libDir, 'pid') };
  return { emu, wire, hostPlugin, paths };
}

const goalStateGets = (emu: Emulator) => emu.state.requests({ server: 'wire', path: /comp=goalstate/ }).length;

test('an unchanged goal state is not parsed again; a new incarnation is', async (t) => {
  const { emu, wire } = await rig(t, { extensions: [ext(0)] });
  const a = await wire.getGoalState();
  const b = await wire.getGoalState();
  assert.equal(goalStateGets(emu), 2, 'both polls reach the WireServer');
  assert.equal(b.text, a.text);
  assert.equal(b.value, a.value, 'the same parsed object: parse skipped');
  emu.publish({ extensions: [ext(1)] });
  const c = await wire.getGoalState();
  assert.notEqual(c.value, a.value);
  assert.notEqual(c.value.incarnation, a.value.incarnation);

  const url = c.value.extensionsConfigUrl!;
  const x = await wire.getExtensionsConfig(url, c.value.incarnation);
  const y = await wire.getExtensionsConfig(url, c.value.incarnation);
  assert.equal(y.value, x.value, 'same text and incarnation: parse skipped');
  const z = await wire.getExtensionsConfig(url, 'another');
  assert.notEqual(z.value, x.value, 'the incarnation is part of the parsed value');
  assert.equal(z.value.inSvdSeqNo, 'another');
});

test('goal-state GETs asked for while one is in flight share it; later ones send their own', async (t) => {
  const { emu, wire } = await rig(t, { extensions: [ext(0)] });
  const [a, b] = await Promise.all([wire.getGoalState(), wire.getGoalState()]);
  assert.equal(goalStateGets(emu), 1);
  assert.equal(a, b);
  await wire.getGoalState();
  assert.equal(goalStateGets(emu), 2);
});

test('needsCertificates: protected settings or a thumbprint', () => {
  const spec = (s: { protectedSettings: string | null; certificateThumbprint: string | null }) => ({
    id: 'x', handlers: [{ settings: [{ ...s }] }],
  }) as unknown as Parameters<typeof needsCertificates>[0];
  assert.equal(needsCertificates(spec({ protectedSettings: null, certificateThumbprint: null })), false);
  assert.equal(needsCertificates(spec({ protectedSettings: 'MIIB', certificateThumbprint: null })), true);
  assert.equal(needsCertificates(spec({ protectedSettings: null, certificateThumbprint: 'ABC' })), true);
});

test('the certificate download delays only goal states whose handlers have protected settings', async (t) => {
  const { emu, wire, hostPlugin, paths } = await rig(t, { extensions: [ext(0)] });
  let release: () => void = () => undefined;
  const calls: string[] = [];
  const certificates = {
    update: (url: string) => {
      calls.push(url);
      return new Promise<never[]>((resolve) => (release = () => resolve([])));
    },
  };
  const fetcher = new GoalStateFetcher({ wire, hostPlugin, logger, paths, certificates });
  // No protected settings: the goal state is ready while the download is still pending.
  const first = await fetcher.update();
  assert.equal(first.changed, true);
  assert.equal(calls.length, 1);

  emu.publish({ extensions: [ext(1, { protectedSettings: { secret: 's' } })] });
  let done = false;
  const second = fetcher.update().then((r) => {
    done = true;
    return r;
  });
  // The second download starts once the first one ends (never two at once), at the end of the WireServer documents.
  for (let i = 0; i < 1000 && calls.length < 2; i++) {
    if (i === 0) release();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(calls.length, 2, 'the second download started after the first one ended');
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'the goal state waits for its certificates');
  release();
  const r = await second;
  assert.ok(needsCertificates(r.goalState.extensions));
});
