// The extension-handler main loop: poll -> goal state -> process extensions when new -> report status.
import type { Clock, Logger } from '../deps.js';
import { errorMessage } from '../errors.js';
import type { WriteHealth } from '../state/write-health.js';
import type { ExtensionsGoalState } from '../protocol/goal-state.js';
import type { GoalStateFetcher, FullGoalState } from './goal-state-fetcher.js';
import type { GuestAgentUpdateStatus } from './status-report.js';

export interface ExtensionsProcessor {
  /** Runs every handler of a new extensions goal state; never throws for one handler's failure. */
  process(gs: ExtensionsGoalState, signal: AbortSignal): Promise<void>;
}

export interface StatusReporter {
  /** Builds and uploads the status blob when it changed (or the keep-alive is due). */
  /** `force`: upload even when nothing changed (the last report before the process exits for an update). */
  report(gs: FullGoalState | null, processed: ProcessedGoalState | null, opts?: { force?: boolean }): Promise<void>;
}

export interface AgentUpdateStep {
  /** Runs every iteration before extensions are processed; never throws. True: exit so the daemon starts another agent version. */
  check(gs: FullGoalState | null, signal: AbortSignal): Promise<boolean>;
  /** guestAgentStatus.updateStatus to report (RSM mode only), null otherwise. */
  updateStatus?(): GuestAgentUpdateStatus | null;
}

export interface ProcessedGoalState {
  readonly id: string;
  readonly inSvdSeqNo: string;
  readonly status: 'Success' | 'Failed';
  readonly code: number;
  readonly message: string;
  readonly timestampMs: number;
}

export interface LoopDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly fetcher: GoalStateFetcher;
  readonly processor: ExtensionsProcessor;
  readonly reporter: StatusReporter;
  readonly periodMs: number;
  readonly updater?: AgentUpdateStep;
  /** A failed state write keeps the goal state pending (it runs again once the disk recovers). */
  readonly writeHealth?: WriteHealth;
}

const SUPPORTED_FEATURES = new Set(['MultipleExtensionsPerHandler']);
const FAILURE_LOG_INTERVAL_MS = 6 * 3600_000;

export class AgentLoop {
  private processed: ProcessedGoalState | null = null;
  private consecutiveFailures = 0;
  private outdatedLogged = '';
  private lastFailureLog = 0;
  private exitRequested = false;
  /** Whether this process has reported yet: a restarted agent reports before it processes anything. */
  private reported = false;

  constructor(private readonly deps: LoopDeps) {}

  get lastProcessed(): ProcessedGoalState | null {
    return this.processed;
  }

  /** One iteration; never throws (errors are logged and the next poll retries). */
  async runOnce(signal: AbortSignal): Promise<void> {
    const { logger, fetcher } = this.deps;
    let gs: FullGoalState | null = fetcher.latest;
    try {
      gs = (await fetcher.update({ signal })).goalState;
      if (this.consecutiveFailures > 0) logger.info(`Fetching the goal state recovered after ${this.consecutiveFailures} failure(s)`);
      this.consecutiveFailures = 0;
    } catch (err) {
      if (signal.aborted) return;
      this.logFetchFailure(err);
    }
    // Agent update (even when the refresh failed), before extensions; it may end the loop (agent-lifecycle.md §4).
    if (this.deps.updater && !signal.aborted && (await this.deps.updater.check(gs, signal))) {
      this.exitRequested = true;
      // A last upload just before the daemon switches versions: the fabric's view is fresh while the next one starts.
      await this.report(gs, signal, true);
      return;
    }
    // The first status of a (re)started agent goes out before any extension work, which may take long: the status
    // the previous process left on disk, so the fabric sees no gap longer than the restart itself.
    if (!this.reported && gs) await this.report(gs, signal);
    // An outdated goal state (older than the last Fast Track one) is never executed; the previous one stays reported.
    if (gs?.extensionsOutdated) this.logOutdated(gs.extensions.id);
    else if (gs && gs.extensions.id !== this.processed?.id) await this.reportWhile(gs, this.processExtensions(gs.extensions, signal), signal);
    await this.report(gs, signal);
  }

  private async report(gs: FullGoalState | null, signal: AbortSignal, force = false): Promise<void> {
    try {
      await this.deps.reporter.report(gs, this.processed, { force });
      this.reported = true;
    } catch (err) {
      if (!signal.aborted) this.deps.logger.warn(`Cannot report status as ${errorMessage(err)}`);
    }
  }

  /** Loops until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { logger, clock, periodMs } = this.deps;
    logger.info(`Goal State Period: ${periodMs / 1000} sec. This indicates how often the agent checks for new goal states and reports status.`);
    while (!signal.aborted && !this.exitRequested) {
      await this.runOnce(signal);
      if (this.exitRequested) break;
      try {
        await clock.sleep(periodMs, signal);
      } catch {
        break;
      }
    }
  }

  /** While a goal state is processed, status keeps flowing (a running command shows as transitioning). */
  private async reportWhile(gs: FullGoalState, work: Promise<void>, signal: AbortSignal): Promise<void> {
    let done = false;
    const finished = work.finally(() => {
      done = true;
    });
    const ticker = (async () => {
      while (!done && !signal.aborted) {
        await Promise.race([finished, this.deps.clock.sleep(this.deps.periodMs, signal).catch(() => undefined)]);
        if (done || signal.aborted) return;
        await this.deps.reporter.report(gs, this.processed).catch((err) => this.deps.logger.warn(`Cannot report status as ${errorMessage(err)}`));
      }
    })();
    await finished;
    await ticker;
  }

  private logOutdated(id: string): void {
    if (id === this.outdatedLogged) return;
    this.outdatedLogged = id;
    this.deps.logger.info(`Not executing ${id}: it is older than the most recent Fast Track goal state`);
  }

  private logFetchFailure(err: unknown): void {
    this.consecutiveFailures++;
    const now = this.deps.clock.now();
    // First 3 errors immediately, then one line every 6 hours (upstream's cadence; avoids log spam).
    if (this.consecutiveFailures <= 3) {
      this.deps.logger.error(`Error fetching the goal state: ${errorMessage(err)}`);
      this.lastFailureLog = now;
    } else if (now - this.lastFailureLog >= FAILURE_LOG_INTERVAL_MS) {
      this.deps.logger.error(`Fetching the goal state is still failing (${this.consecutiveFailures} failures): ${errorMessage(err)}`);
      this.lastFailureLog = now;
    }
  }

  private async processExtensions(egs: ExtensionsGoalState, signal: AbortSignal): Promise<void> {
    const { logger, clock } = this.deps;
    const started = clock.now();
    logger.info(`ProcessExtensionsGoalState started [${egs.id} channel: ${egs.channel} source: ${egs.source} activity: ${egs.activityId} correlation ${egs.correlationId}]`);
    const unsupported = egs.requiredFeatures.filter((f) => !SUPPORTED_FEATURES.has(f));
    if (unsupported.length > 0) {
      const message = `Failing GS ${egs.id} as Unsupported features found: ${unsupported.join(', ')}`;
      logger.error(message);
      this.processed = { id: egs.id, inSvdSeqNo: egs.inSvdSeqNo, status: 'Failed', code: 2001, message, timestampMs: clock.now() };
      return;
    }
    try {
      await this.deps.processor.process(egs, signal);
      const problem = this.deps.writeHealth?.problem() ?? null;
      if (problem !== null) {
        // The lib dir could not be written (full or read-only): keep the goal state pending, so it runs
        // again once the disk recovers instead of being remembered as done.
        logger.warn(`Goal state ${egs.id} will be processed again: ${problem}`);
        return;
      }
      this.processed = { id: egs.id, inSvdSeqNo: egs.inSvdSeqNo, status: 'Success', code: 0, message: 'GoalState executed successfully', timestampMs: clock.now() };
    } catch (err) {
      if (signal.aborted) return;
      const message = `Unexpected error when processing goal state: ${errorMessage(err)}`;
      logger.error(message);
      this.processed = { id: egs.id, inSvdSeqNo: egs.inSvdSeqNo, status: 'Failed', code: -1, message, timestampMs: clock.now() };
    }
    logger.info(`ProcessExtensionsGoalState completed [${egs.id} ${Math.round(clock.now() - started)} ms]`);
  }
}
