// Real address, private network: the emulator listens on 168.63.129.16:80 and :32526 inside a private network
// namespace and the agent, with no endpoint override, finds it there by itself. Needs root; CI=true makes it
// mandatory. Nothing here touches the host namespace's addresses or routes or sends it fabric traffic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempRoot } from '../helpers/agent.js';
import { createNetns, FABRIC_IP, isRoot, startAgentInNetns, startEmulatorInNetns, type Netns, type NetnsProcess } from '../helpers/netns.js';
import { handler } from '../helpers/status.js';

const CI = process.env.CI === 'true';
const skip = !isRoot() && !CI ? 'needs root for network namespaces (runs under CI=true)' : false;
const STATUS_DEADLINE_MS = 40_000;
const SAMPLE = 'Emulator.SampleExtension';

test('Real address, private network: the agent finds the fabric at 168.63.129.16 and reports the sample extension', { skip, timeout: 60_000 }, async () => {
  assert.ok(isRoot(), 'CI=true: this end-to-end test must run as root (network namespaces)');
  const root = await tempRoot();
  let ns: Netns | undefined;
  let emu: NetnsProcess | undefined;
  let agent: NetnsProcess | undefined;
  try {
    ns = await createNetns();
    emu = await startEmulatorInNetns(ns);
    assert.match(emu.output(), /^WireServer: +http:\/\/168\.63\.129\.16:80$/m);
    assert.match(emu.output(), /^HostGAPlugin: +http:\/\/168\.63\.129\.16:32526$/m);
    agent = startAgentInNetns(ns, root);

    // Bounded poll of the control API, from inside the namespace, until the extension reaches a final state.
    const statusUrl = `http://${FABRIC_IP}/__emulator/status`;
    const deadline = Date.now() + STATUS_DEADLINE_MS;
    let status: unknown;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      const r = await ns.fetch(statusUrl, { timeoutMs: 3000 });
      last = `${r.status} ${r.body.slice(0, 500)}`;
      if (r.status === 200) {
        status = JSON.parse(r.body);
        const ext = handler(status, SAMPLE)?.ext;
        if (ext?.status === 'success' || ext?.status === 'error') break;
      }
      if (agent.proc.exitCode !== null || agent.proc.signalCode !== null) break;
      await sleep(250);
    }
    const diag = (): string => `last control answer: ${last}\nagent output:\n${agent?.output().slice(-4000)}`;
    const h = handler(status, SAMPLE);
    assert.ok(h, `no status for ${SAMPLE} within ${STATUS_DEADLINE_MS} ms; ${diag()}`);
    assert.equal(h.ext?.status, 'success', diag());
    assert.equal(h.status, 'Ready', diag());
    assert.match(h.ext?.message ?? '', /Enable succeeded: hello from the fabric emulator/);

    // The default endpoint: the goal state came from the WireServer port and the status through the HostGAPlugin.
    const reqs = await ns.fetch(`http://${FABRIC_IP}/__emulator/requests?limit=5000`);
    const list = JSON.parse(reqs.body) as Array<{ server: string; method: string; path: string }>;
    assert.ok(list.some((q) => q.server === 'wire' && q.path.startsWith('/machine/?comp=goalstate')), 'no goal state request recorded');
    const statuses = JSON.parse((await ns.fetch(`http://${FABRIC_IP}/__emulator/statuses`)).body) as Array<{ via: string }>;
    assert.equal(statuses.at(-1)?.via, 'hostplugin');
  } finally {
    await Promise.all([agent?.stop(), emu?.stop()]);
    await ns?.destroy();
    await root.cleanup();
  }
});
