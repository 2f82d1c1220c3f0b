// The soak loop shared by test/soak/soak.test.ts (60 s) and bench/soak.mjs (10 min by default): the real agent
// (-run-exthandlers) against the emulator on loopback, 20 extensions, a new goal state every few seconds (a rotating
// few extensions get new settings, one carries protected settings so certificates are decrypted each time), while
// the agent process is sampled from /proc: RSS, open file descriptors and child processes. Bounded in time and count.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEmulator } from '../../src/emulator/server.js';
import type { Scenario } from '../../src/emulator/scenario.js';
import { fixtureHandler, startAgent, tempRoot } from '../helpers/agent.js';
import { goalStateStatus, handlers } from '../helpers/status.js';

export interface SoakOptions {
  readonly durationMs: number;
  readonly extensions?: number;
  /** A new goal state this often. */
  readonly publishEveryMs?: number;
  /** Extensions whose settings change with each goal state. */
  readonly changePerPublish?: number;
  readonly sampleEveryMs?: number;
  /** Warm-up before the start figures are taken (modules loaded, every handler installed). */
  readonly warmupMs?: number;
  /** How long the final goal state may take to be applied, and the agent to settle, at the end. */
  readonly settleTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface ProcSample {
  readonly atMs: number;
  /** kB */
  readonly rssKb: number;
  readonly fds: number;
  /** Live descendants of the agent (handler commands, openssl). */
  readonly children: number;
}

export interface SoakResult {
  readonly pid: number;
  readonly durationMs: number;
  readonly extensions: number;
  readonly published: number;
  /** Distinct goal states (incarnations) the agent reported as executed successfully. */
  readonly applied: number;
  readonly uploads: number;
  readonly start: ProcSample;
  readonly end: ProcSample;
  readonly maxRssKb: number;
  readonly maxFds: number;
  readonly maxChildren: number;
  readonly samples: number;
  readonly agentExitCode: number | null;
}

function rssKb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Live descendants of `root` (every process whose parent chain reaches it). */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(name), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  for (const pid of parent.keys()) {
    let p = parent.get(pid);
    for (let hops = 0; p !== undefined && p > 1 && hops < 64; hops++) {
      if (p === root) {
        out.push(pid);
        break;
      }
      p = parent.get(p);
    }
  }
  return out;
}

export function sample(pid: number): ProcSample | null {
  const rss = rssKb(pid);
  const fds = fdCount(pid);
  if (rss === null || fds === null) return null;
  return { atMs: Date.now(), rssKb: rss, fds, children: descendants(pid).length };
}

function scenario(n: number, seqs: readonly number[], round: number): Scenario {
  return {
    extensions: Array.from({ length: n }, (_, i) => ({
      name: `Soak.Ext${String(i).padStart(2, '0')}`, version: '1.0.0', state: 'enabled' as const, seqNo: seqs[i] ?? 0,
      publicSettings: { round: seqs[i] ?? 0, filler: 'x'.repeat(200) },
      ...(i === 0 ? { protectedSettings: { secret: `soak-${round}` } } : {}),
      packageDir: fixtureHandler('noop'),
    })),
  };
}

/** The agent's figures at rest: the smallest fd and child counts of a few samples (a command may be in flight). */
async function settledSample(pid: number): Promise<ProcSample | null> {
  let best: ProcSample | null = null;
  for (let i = 0; i < 5; i++) {
    const s = sample(pid);
    if (!s) return best;
    if (!best || s.fds + s.children < best.fds + best.children) best = s;
    await sleep(300);
  }
  return best;
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const n = o.extensions ?? 20;
  const publishEveryMs = o.publishEveryMs ?? 3000;
  const change = Math.min(o.changePerPublish ?? 4, n);
  const sampleEveryMs = o.sampleEveryMs ?? 1000;
  const settleTimeoutMs = o.settleTimeoutMs ?? 180_000;
  const log = o.log ?? ((): void => undefined);
  let uploads = 0;
  const emu = await createEmulator({
    scenario: scenario(n, [], 0),
    log: (line) => {
      if (/^(?:hostplugin PUT \/status|wire PUT \/blob\/)\S* -> 2\d\d/.test(line)) uploads++;
    },
  });
  const root = await tempRoot({ 'Extensions.GoalStatePeriod': '1', 'Logs.Verbose': 'n' });
  const agent = startAgent(root, emu, ['-run-exthandlers'], { WAAGENT_TS_NO_CONSOLE: '1' });
  const pid = agent.proc.pid!;
  const applied = new Set<string>();
  let lastSeq = 0;
  const scan = (): void => {
    for (const r of emu.state.statusBlobs()) {
      if (r.seq <= lastSeq) continue;
      lastSeq = r.seq;
      const g = goalStateStatus(r.status);
      if (g?.status === 'Success') applied.add(g.inSvdSeqNo);
    }
  };
  const allAt = (seqs: readonly number[]) => (s: unknown): boolean => {
    const hs = handlers(s);
    return seqs.every((q, i) => {
      const h = hs.find((x) => x.handlerName === `Soak.Ext${String(i).padStart(2, '0')}`);
      return h?.ext?.sequenceNumber === q && h.ext.status === 'success';
    });
  };
  try {
    const seqs = Array.from({ length: n }, () => 0);
    await emu.waitFor(allAt(seqs), settleTimeoutMs);
    log(`soak: ${n} extensions installed and enabled; publishing a new goal state every ${publishEveryMs} ms for ${Math.round(o.durationMs / 1000)} s`);
    const startedAt = Date.now();
    const warmupUntil = startedAt + (o.warmupMs ?? Math.min(15_000, o.durationMs / 4));
    const endAt = startedAt + o.durationMs;
    let start: ProcSample | null = null;
    let maxRssKb = 0;
    let maxFds = 0;
    let maxChildren = 0;
    let samples = 0;
    let published = 0;
    let round = 0;
    let nextPublish = Date.now();
    let nextReport = Date.now() + 60_000;
    while (Date.now() < endAt) {
      if (Date.now() >= nextPublish) {
        round++;
        for (let k = 0; k < change; k++) {
          const i = (round * change + k) % n;
          seqs[i] = (seqs[i] ?? 0) + 1;
        }
        emu.publish(scenario(n, seqs, round));
        published++;
        nextPublish += publishEveryMs;
      }
      const s = sample(pid);
      if (!s) throw new Error(`the agent (pid ${pid}) exited during the soak: ${agent.output().slice(-2000)}`);
      samples++;
      if (Date.now() >= warmupUntil) {
        // Taken at rest like the end figures (the smallest of a few samples), so both compare alike.
        start ??= (await settledSample(pid)) ?? s;
        maxRssKb = Math.max(maxRssKb, s.rssKb);
        maxFds = Math.max(maxFds, s.fds);
        maxChildren = Math.max(maxChildren, s.children);
      }
      if (Date.now() >= nextReport) {
        log(`soak: ${Math.round((Date.now() - startedAt) / 1000)} s, RSS ${Math.round(s.rssKb / 1024)} MiB, ${s.fds} fds, ${s.children} children, ${published} published, ${applied.size} applied, ${uploads} uploads`);
        nextReport += 60_000;
      }
      scan();
      await sleep(Math.max(10, Math.min(sampleEveryMs, nextPublish - Date.now(), endAt - Date.now())));
    }
    // The last goal state must be applied; then the agent is at rest and the end figures are taken.
    await emu.waitFor(allAt(seqs), settleTimeoutMs);
    await sleep(2000);
    scan();
    const end = await settledSample(pid);
    if (!end || !start) throw new Error(`the agent (pid ${pid}) exited during the soak: ${agent.output().slice(-2000)}`);
    maxRssKb = Math.max(maxRssKb, end.rssKb);
    return {
      pid, durationMs: Date.now() - startedAt, extensions: n, published, applied: applied.size, uploads,
      start, end, maxRssKb, maxFds, maxChildren, samples, agentExitCode: await agent.stop(),
    };
  } finally {
    await agent.stop();
    await emu.close();
    await root.cleanup();
  }
}

/** Descriptors the agent may hold at the end beyond the start (an HTTP keep-alive socket or two, a reopened file). */
export const FD_TOLERANCE = 4;
/** RSS growth over the run: V8 grows its heap lazily, so this is generous; a leak per goal state breaks it. */
export const RSS_GROWTH_KB = 48 * 1024;

/** What the figures say is leaking (empty: nothing). */
export function soakProblems(r: SoakResult): string[] {
  const out: string[] = [];
  if (r.end.fds > r.start.fds + FD_TOLERANCE) out.push(`fd leak: ${r.start.fds} at the start, ${r.end.fds} at the end (tolerance ${FD_TOLERANCE})`);
  if (r.end.children > 0) out.push(`${r.end.children} child process(es) left at rest (${r.start.children} at the start)`);
  if (r.end.rssKb - r.start.rssKb >= RSS_GROWTH_KB) out.push(`RSS grew by ${r.end.rssKb - r.start.rssKb} kB (bound ${RSS_GROWTH_KB} kB)`);
  if (r.agentExitCode !== 0) out.push(`the agent exited with ${String(r.agentExitCode)} when stopped`);
  return out;
}

/** The figures, one line each, for the test output and the benchmark. */
export function describeSoak(r: SoakResult): string[] {
  const mib = (kb: number): string => `${(kb / 1024).toFixed(1)} MiB`;
  return [
    `soak: ${Math.round(r.durationMs / 1000)} s, ${r.extensions} extensions, ${r.samples} samples of pid ${r.pid}`,
    `  RSS        start ${mib(r.start.rssKb)}  end ${mib(r.end.rssKb)}  max ${mib(r.maxRssKb)}  growth ${mib(r.end.rssKb - r.start.rssKb)}`,
    `  fds        start ${r.start.fds}  end ${r.end.fds}  max ${r.maxFds}`,
    `  children   start ${r.start.children}  end ${r.end.children}  max ${r.maxChildren}`,
    `  goal states published ${r.published}  applied ${r.applied}  status uploads ${r.uploads}  agent exit code ${String(r.agentExitCode)}`,
  ];
}
