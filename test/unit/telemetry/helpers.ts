// Shared bits of the telemetry unit tests: a capturing logger, a fake clock, fixed common params.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock, Logger } from '../../../src/deps.js';
import { CommonParams, type SystemFacts, type VmIdentity } from '../../../src/telemetry/common-params.js';

export interface CapturedLogger extends Logger {
  readonly lines: string[];
}

export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  const mk = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  const logger: CapturedLogger = { lines, verbose: mk('VERBOSE'), info: mk('INFO'), warn: mk('WARNING'), error: mk('ERROR'), child: () => logger };
  return logger;
}

/**
 * Time moves only through sleep(). Each sleep yields to the event loop (a real 1 ms timer once `realMs` is set),
 * so background loops never spin; only the first 1000 sleeps are kept.
 */
export function fakeClock(start = Date.UTC(2024, 0, 2, 3, 4, 5, 6.789), realMs = 0): Clock & { sleeps: number[]; advance(ms: number): void } {
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    advance: (ms) => void (t += ms),
    sleep: async (ms, signal) => {
      if (sleeps.length < 1000) sleeps.push(ms);
      await new Promise((r) => (realMs > 0 ? setTimeout(r, realMs) : setImmediate(r)));
      if (signal?.aborted) throw signal.reason;
      t += ms;
    },
  };
}

export const FACTS: SystemFacts = { osVersion: 'Linux:ubuntu-22.04-jammy:6.5.0-1', ramMb: 7957, processors: 2, cpuArchitecture: 'x86_64' };

export function commonParams(identity: VmIdentity | null = null): CommonParams {
  return new CommonParams('waagent-ts-9.9.9', FACTS, () => identity);
}

export async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-ts-telemetry-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Waits (real time, bounded at 10 s) until check() holds; a safety net so a broken loop fails instead of hanging. */
export async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
