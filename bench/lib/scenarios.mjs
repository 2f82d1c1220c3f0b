// One benchmark session: a fresh fabric with N extensions, a fresh scratch root, one agent process (tree), then
// S1 (cold start; S4 when N > 1), and for N = 1 also S2 (reaction) and S3 (idle). Every wait is bounded.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFabric } from './fabric.mjs';
import { makeRoot, startAgent } from './agents.mjs';
import { treeCpuByPid, treeCpuSeconds, treeMemory } from './proc.mjs';

/** Delays before each S2 publish, so publishes land at different phases of the agents' 6 s poll. */
const S2_PHASES_MS = [1300, 3700, 600, 4900, 2500, 5500, 1900, 4300];
const S2_TIMEOUT_MS = 180_000;

export function extensionNames(n) {
  return Array.from({ length: n }, (_, i) => `Bench.Ext${String(i + 1).padStart(3, '0')}`);
}

function scenarioFor(names, seqNo, packageDir) {
  return {
    extensions: names.map((name) => ({
      name, version: '1.0.0', state: 'enabled', seqNo, publicSettings: { message: `bench seq ${seqNo}` }, packageDir,
    })),
  };
}

/** True when every named extension reports settings status `success` for sequence number `seq`. */
export function allSucceeded(status, names, seq) {
  const list = status?.aggregateStatus?.handlerAggregateStatus;
  if (!Array.isArray(list) || list.length < names.length) return false;
  const byName = new Map(list.map((h) => [h?.handlerName, h]));
  for (const name of names) {
    const rs = byName.get(name)?.runtimeSettingsStatus;
    if (!rs || Number(rs.sequenceNumber) !== seq || rs.settingsStatus?.status?.status !== 'success') return false;
  }
  return true;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(d)));
const diff = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]).filter(([, v]) => v !== 0));

/**
 * Runs one session. o: {agent, mode, handler, n, distDir, workDir, handlerDirs {name: folder}, s2Reps, idleMs, settleMs, imdsStub, keep,
 * emit(resultLine), progress(text)}.
 */
export async function runSession(o) {
  const names = extensionNames(o.n);
  const label = `${o.agent} ${o.mode} ${o.handler} N=${o.n}`;
  const root = join(o.workDir, `${String(o.index ?? 0).padStart(2, '0')}-${o.agent}-${o.mode}-${o.handler}-${o.n}`);
  const paths = makeRoot(root);
  const packageDir = o.handlerDirs[o.handler];
  const fabric = await startFabric({ distDir: o.distDir, scenario: scenarioFor(names, 0, packageDir), logFile: join(root, 'fabric.log'), imdsStub: o.imdsStub });
  const base = { agent: o.agent, mode: o.mode, handler: o.handler, extensions: o.n };
  let agent;
  try {
    const after = fabric.lastStatusSeq();
    agent = startAgent({ agent: o.agent, mode: o.mode, paths, distDir: o.distDir, nodeArgs: o.nodeArgs });
    const died = agent.exited.then((e) => {
      throw new Error(`agent exited (${e.error ?? e.code ?? e.signal}); see ${paths.out} and ${paths.agentLog}`);
    });
    died.catch(() => undefined);
    o.progress(`${label}: started pid ${agent.pid}`);

    // S1 / S4: cold start to the first upload where every extension succeeded.
    const s1Timeout = 180_000 + 12_000 * o.n;
    const load1 = loadavg()[0];
    try {
      const rec = await fabric.waitStatus((s) => allSucceeded(s, names, 0), s1Timeout, after, died);
      const cpu = treeCpuSeconds(agent.pid);
      const c = fabric.counters();
      const seconds = (rec.at - agent.startedAt) / 1000;
      o.emit({
        scenario: o.n === 1 ? 'S1' : 'S4', ...base, seconds: round(seconds), cpuSeconds: round(cpu),
        requests: c.requests.total, bytes: c.bytes.total, statusUploads: fabric.emu.state.statusBlobs().length, loadavg1: round(load1, 2),
      });
      o.progress(`${label}: all ${o.n} succeeded after ${seconds.toFixed(2)} s (tree CPU ${cpu.toFixed(2)} s)`);
    } catch (err) {
      o.emit({ scenario: o.n === 1 ? 'S1' : 'S4', ...base, error: String(err.message ?? err) });
      return;
    }
    if (o.s2Reps === 0 && o.idleMs === 0) return;

    // S2: reaction to a new goal state (new sequence number) in steady state.
    if (o.s2Reps > 0) {
      const times = [];
      const cpus = [];
      let error;
      for (let i = 1; i <= o.s2Reps; i++) {
        await Promise.race([sleep(S2_PHASES_MS[(i - 1) % S2_PHASES_MS.length]), died]).catch(() => undefined);
        const afterSeq = fabric.lastStatusSeq();
        const cpu0 = treeCpuSeconds(agent.pid);
        fabric.emu.publish(scenarioFor(names, i, packageDir));
        const t0 = Date.now();
        try {
          const rec = await fabric.waitStatus((s) => allSucceeded(s, names, i), S2_TIMEOUT_MS, afterSeq, died);
          times.push((rec.at - t0) / 1000);
          cpus.push(treeCpuSeconds(agent.pid) - cpu0);
          o.progress(`${label}: S2 #${i} ${times.at(-1).toFixed(2)} s`);
        } catch (err) {
          error = String(err.message ?? err);
          break;
        }
      }
      o.emit({
        scenario: 'S2', ...base, median: round(times.length ? median(times) : NaN), seconds: times.map((t) => round(t)),
        cpuSecondsPerReaction: round(cpus.length ? median(cpus) : NaN), loadavg1: round(loadavg()[0], 2), ...(error ? { error } : {}),
      });
      if (error) return;
    }

    // S3: idle steady state.
    if (o.idleMs > 0) {
      await Promise.race([sleep(o.settleMs), died]).catch(() => undefined);
      const c0 = fabric.counters();
      const byPid0 = treeCpuByPid(agent.pid);
      const cpu0 = Object.values(byPid0).reduce((a, b) => a + b, 0);
      const t0 = Date.now();
      const uploads0 = fabric.emu.state.statusBlobs().length;
      const load0 = loadavg()[0];
      try {
        await Promise.race([sleep(o.idleMs), died]);
      } catch (err) {
        o.emit({ scenario: 'S3', ...base, error: String(err.message ?? err) });
        return;
      }
      const byPid1 = treeCpuByPid(agent.pid);
      const cpu1 = Object.values(byPid1).reduce((a, b) => a + b, 0);
      const c1 = fabric.counters();
      const t1 = Date.now();
      const mem = treeMemory(agent.pid);
      const perMin = 60_000 / (t1 - t0);
      o.emit({
        scenario: 'S3', ...base, windowSeconds: round((t1 - t0) / 1000, 1),
        requestsPerMin: round((c1.requests.total - c0.requests.total) * perMin, 1),
        requestsPerMinByServer: { wire: round((c1.requests.wire - c0.requests.wire) * perMin, 1), hostplugin: round((c1.requests.hostplugin - c0.requests.hostplugin) * perMin, 1) },
        bytesPerMin: Math.round((c1.bytes.total - c0.bytes.total) * perMin),
        bytesPerMinDetail: Object.fromEntries(Object.entries(diff(c0.bytes, c1.bytes)).filter(([k]) => k !== 'total').map(([k, v]) => [k, Math.round(v * perMin)])),
        connectionsPerMin: round((c1.connections - c0.connections) * perMin, 1),
        statusUploadsPerMin: round((fabric.emu.state.statusBlobs().length - uploads0) * perMin, 1),
        imdsRequestsPerMin: round((c1.imdsRequests - c0.imdsRequests) * perMin, 1),
        cpuSecondsPerMin: round((cpu1 - cpu0) * perMin),
        rssMb: round(mem.rssMb, 1), pssMb: round(mem.pssMb, 1), ussMb: round(mem.ussMb, 1),
        procs: mem.procs.map((p) => ({
          pid: p.pid, role: p.role, rssMb: round(p.rssMb, 1), pssMb: round(p.pssMb, 1), ussMb: round(p.ussMb, 1),
          cpuSecondsPerMin: byPid1[p.pid] === undefined ? null : round((byPid1[p.pid] - (byPid0[p.pid] ?? 0)) * perMin),
        })),
        requestBreakdown: diff(c0.byPath, c1.byPath),
        loadavg1: round((load0 + loadavg()[0]) / 2, 2),
      });
      o.progress(`${label}: S3 ${((c1.requests.total - c0.requests.total) * perMin).toFixed(1)} req/min, CPU ${((cpu1 - cpu0) * perMin).toFixed(3)} s/min, PSS ${mem.pssMb.toFixed(1)} MB`);
    }
  } finally {
    if (agent) await agent.stop();
    await fabric.close();
    if (!o.keep) rmSync(root, { recursive: true, force: true });
  }
}
