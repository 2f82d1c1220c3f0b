// Runs the extension handler as a child, forever: picks the version, restarts the child when it exits (a clean
// exit at once, a crash with a capped exponential back-off), blacklists a downloaded version that crash-loops and
// falls back to the previous good one, and stops the child within a bound when the daemon is asked to stop.
import type { AgentChoice } from './agent-versions.js';

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  readonly error?: string;
}

export interface ChildHandle {
  readonly pid: number | undefined;
  readonly exited: Promise<ChildExit>;
  kill(signal: NodeJS.Signals): void;
}

export interface SupervisorLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface SupervisorDeps {
  readonly log: SupervisorLog;
  /** ms since the epoch */
  now(): number;
  /** Resolves after ms, or early (without throwing) when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  choose(): AgentChoice;
  spawn(choice: AgentChoice): ChildHandle;
  /** Records on disk that a downloaded version must not run again. */
  blacklist(choice: AgentChoice, reason: string): void;
  readonly crashLoop: { readonly count: number; readonly windowMs: number };
  readonly backoff?: { readonly minMs: number; readonly maxMs: number };
  /**
   * Restart delay after a downloaded version that never ran healthy crashed at start: it is retried quickly so that
   * the crash-loop count blacklists it (and the previous version reports again) within seconds, not 1 + 2 + 4 s.
   */
  readonly startFailureDelayMs?: number;
  /** SIGTERM to the child, then SIGKILL after this long. */
  readonly stopTimeoutMs?: number;
}

export const DEFAULT_BACKOFF = { minMs: 1000, maxMs: 60_000 } as const;
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;
export const DEFAULT_START_FAILURE_DELAY_MS = 200;
/** A child that ran this long was healthy: the back-off starts over, and its version is proven. */
const HEALTHY_RUN_MS = 60_000;
/** An exit this soon after the start is a crash at start (the new version cannot even come up). */
const START_FAILURE_MS = 30_000;

export function describeExit(e: ChildExit): string {
  if (e.error !== undefined) return `failed to start: ${e.error}`;
  if (e.signal !== null) return `killed by ${e.signal}`;
  return `exit code ${String(e.code)}`;
}

export function isAbnormal(e: ChildExit): boolean {
  return e.error !== undefined || e.signal !== null || e.code !== 0;
}

export class Supervisor {
  private child: ChildHandle | null = null;
  /** Abnormal exit times of the version being run; reset when another version is chosen. */
  private failures: number[] = [];
  private failuresOf: string | null = null;
  private launches = 0;
  /** Versions that ran healthy at least once, or that could not be blacklisted: restarted with the normal back-off. */
  private readonly proven = new Set<string>();

  constructor(private readonly deps: SupervisorDeps) {}

  /** Number of children started so far. */
  get launchCount(): number {
    return this.launches;
  }

  get currentPid(): number | undefined {
    return this.child?.pid;
  }

  /** Forwards a signal (SIGHUP: reopen the log) to the running child. */
  signalChild(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** Supervises until the signal aborts; resolves once the child has stopped. */
  async run(signal: AbortSignal): Promise<void> {
    const { log, crashLoop } = this.deps;
    const backoff = this.deps.backoff ?? DEFAULT_BACKOFF;
    let delayMs = backoff.minMs;
    while (!signal.aborted) {
      const choice = this.deps.choose();
      const name = `waagent-ts-${choice.version}`;
      if (choice.version !== this.failuresOf) {
        // Another version: its own crash count and back-off.
        this.failures = [];
        this.failuresOf = choice.version;
        delayMs = backoff.minMs;
      }
      log.info(`Starting agent ${name} (${choice.kind}): ${choice.entry} -run-exthandlers`);
      const started = this.deps.now();
      const exit = await this.runChild(choice, signal);
      if (signal.aborted) {
        log.info(`Agent ${name} stopped (${describeExit(exit)})`);
        break;
      }
      const now = this.deps.now();
      const ranMs = now - started;
      if (ranMs >= HEALTHY_RUN_MS) {
        delayMs = backoff.minMs;
        this.proven.add(choice.version);
      }
      if (!isAbnormal(exit)) {
        // An update or an orphan check: restart at once, but never spin on a child that exits immediately.
        log.info(`Agent ${name} exited with code 0 after ${Math.round(ranMs)} ms; starting the agent again`);
        if (ranMs < backoff.minMs) await this.deps.sleep(backoff.minMs, signal);
        continue;
      }
      this.failures = this.failures.filter((t) => now - t <= crashLoop.windowMs);
      this.failures.push(now);
      const count = this.failures.length;
      log.warn(`Agent ${name} exited abnormally (${describeExit(exit)}) after ${Math.round(ranMs)} ms [${count} in ${crashLoop.windowMs / 1000} s]`);
      if (choice.kind === 'downloaded' && count >= crashLoop.count) {
        const reason = `Agent ${name} exited abnormally ${count} times in ${crashLoop.windowMs / 1000} seconds (last: ${describeExit(exit)})`;
        try {
          this.deps.blacklist(choice, reason);
          log.error(`Agent ${name} is permanently disabled: ${reason}`);
        } catch (err) {
          log.error(`Cannot blacklist agent ${name} as ${(err as Error).message}`);
          // It will be chosen again: never restart it quickly in a loop.
          this.proven.add(choice.version);
        }
        // Fall back to the previous good version at once: the status must not stop flowing for long.
        this.failures = [];
        delayMs = backoff.minMs;
        continue;
      }
      if (choice.kind === 'downloaded' && !this.proven.has(choice.version) && ranMs < START_FAILURE_MS) {
        // Bounded: crashLoop.count such restarts blacklist the version.
        const quick = this.deps.startFailureDelayMs ?? DEFAULT_START_FAILURE_DELAY_MS;
        log.info(`Restarting agent ${name} in ${quick} ms (a new version that failed at start)`);
        await this.deps.sleep(quick, signal);
        continue;
      }
      log.info(`Restarting agent ${name} in ${delayMs} ms`);
      await this.deps.sleep(delayMs, signal);
      delayMs = Math.min(delayMs * 2, backoff.maxMs);
    }
  }

  private async runChild(choice: AgentChoice, signal: AbortSignal): Promise<ChildExit> {
    let child: ChildHandle;
    try {
      child = this.deps.spawn(choice);
    } catch (err) {
      return { code: null, signal: null, error: (err as Error).message };
    }
    this.child = child;
    this.launches++;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const stop = (): void => {
      child.kill('SIGTERM');
      // Bounded stop: a child that ignores SIGTERM is killed.
      killTimer = setTimeout(() => {
        this.deps.log.warn(`Agent did not stop within ${this.stopTimeoutMs} ms; killing it`);
        child.kill('SIGKILL');
      }, this.stopTimeoutMs);
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    try {
      return await child.exited;
    } finally {
      signal.removeEventListener('abort', stop);
      if (killTimer !== undefined) clearTimeout(killTimer);
      this.child = null;
    }
  }

  private get stopTimeoutMs(): number {
    return this.deps.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  }
}
