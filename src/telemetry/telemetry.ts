// The telemetry service of the extension-handler process: the agent's event recorder, a collector loop
// (agent event files every 60 s, extension ETP files every Debug.EtpCollectionPeriod) and the sender loop.
// Both loops run on their own async timers (the injected Clock) and never delay the goal-state loop.
import type { Clock, Logger } from '../deps.js';
import { errorMessage } from '../errors.js';
import type { Paths } from '../state/paths.js';
import { AgentEvents } from './agent-events.js';
import { CommonParams, type SystemFacts, type VmIdentity } from './common-params.js';
import { collectAgentEvents } from './event-collector.js';
import { eventsDir } from './event-file.js';
import { collectExtensionEvents } from './etp-collector.js';
import { TelemetrySender, SENDER_DEFAULTS, sleepUnlessAborted } from './sender.js';

export interface TelemetryOptions {
  /** Agent event files collection period (upstream: 60 s). */
  readonly eventPeriodMs: number;
  /** Extension (ETP) events collection period: Debug.EtpCollectionPeriod seconds (upstream default 300). */
  readonly etpPeriodMs: number;
  /** How long the sender waits to batch events after the first one (upstream: 5 s). */
  readonly batchWaitMs: number;
  /** Delay between read attempts of an event file that does not parse yet (upstream: 1 s). */
  readonly fileRetryDelayMs: number;
  /** Deadline of the last send when the agent stops. */
  readonly stopFlushMs: number;
}

export const DEFAULT_EVENT_PERIOD_MS = 60_000;

/**
 * Options from the configuration and two test knobs (environment, milliseconds):
 * WAAGENT_TS_EVENT_PERIOD_MS (agent event collection period) and WAAGENT_TS_TELEMETRY_BATCH_MS (batch wait).
 */
export function telemetryOptions(etpPeriodSeconds: number, env: Readonly<Record<string, string | undefined>> = {}): TelemetryOptions {
  const ms = (name: string, def: number) => {
    const v = Number(env[name]);
    return env[name] !== undefined && env[name] !== '' && Number.isFinite(v) && v >= 1 ? Math.floor(v) : def;
  };
  return {
    eventPeriodMs: ms('WAAGENT_TS_EVENT_PERIOD_MS', DEFAULT_EVENT_PERIOD_MS),
    etpPeriodMs: etpPeriodSeconds * 1000,
    batchWaitMs: ms('WAAGENT_TS_TELEMETRY_BATCH_MS', SENDER_DEFAULTS.batchWaitMs),
    fileRetryDelayMs: 1000,
    stopFlushMs: 5000,
  };
}

export interface TelemetryDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly paths: Paths;
  /** POSTs one TelemetryData body. */
  readonly send: (body: string, signal?: AbortSignal) => Promise<void>;
  readonly facts: SystemFacts;
  /** Container id and role names from the latest goal state. */
  readonly identity: () => VmIdentity | null;
  /** Name param of agent events (the name the fabric knows the agent by). */
  readonly agentName: string;
  readonly agentVersion: string;
  /** GAVersion param. */
  readonly gaVersion: string;
}

export class Telemetry {
  readonly events: AgentEvents;
  readonly sender: TelemetrySender;
  private readonly common: CommonParams;
  private readonly collectorLog: Logger;
  private ac: AbortController | null = null;
  private loops: Promise<unknown> | null = null;

  constructor(private readonly deps: TelemetryDeps, readonly options: TelemetryOptions) {
    this.common = new CommonParams(deps.gaVersion, deps.facts, deps.identity);
    this.collectorLog = deps.logger.child({ thread: 'TelemetryEventsCollector' });
    this.events = new AgentEvents({
      clock: deps.clock, logger: deps.logger, dir: eventsDir(deps.paths), common: this.common,
      agentName: deps.agentName, agentVersion: deps.agentVersion,
    });
    this.sender = new TelemetrySender({
      clock: deps.clock, logger: deps.logger.child({ thread: 'SendTelemetryHandler' }), send: deps.send, events: this.events,
      batchWaitMs: options.batchWaitMs,
    });
  }

  /** Starts the collector and sender loops (idempotent). */
  start(): void {
    if (this.ac) return;
    this.ac = new AbortController();
    const signal = this.ac.signal;
    const o = this.options;
    this.deps.logger.info(`Telemetry: agent events every ${o.eventPeriodMs / 1000} s, extension events every ${o.etpPeriodMs / 1000} s`);
    this.loops = Promise.all([
      this.sender.run(signal).catch((err) => this.deps.logger.error(`Telemetry sender stopped: ${errorMessage(err)}`)),
      this.collectLoop(signal).catch((err) => this.deps.logger.error(`Telemetry collector stopped: ${errorMessage(err)}`)),
    ]);
  }

  /** Stops both loops, then sends what is queued (bounded by stopFlushMs). */
  async stop(): Promise<void> {
    if (!this.ac) return;
    this.ac.abort();
    await this.loops;
    this.ac = null;
    await this.events.settled();
    await this.sender.flush(AbortSignal.timeout(this.options.stopFlushMs));
  }

  async collectAgentEventsOnce(signal?: AbortSignal): Promise<void> {
    await this.events.settled();
    await collectAgentEvents({
      clock: this.deps.clock, logger: this.collectorLog, dir: eventsDir(this.deps.paths), common: this.common,
      enqueue: (e) => this.sender.enqueue(e), events: this.events, agentNames: [this.deps.agentName],
      fileRetryDelayMs: this.options.fileRetryDelayMs, ...(signal ? { signal } : {}),
    });
  }

  async collectExtensionEventsOnce(signal?: AbortSignal): Promise<void> {
    await collectExtensionEvents({
      clock: this.deps.clock, logger: this.collectorLog, extLogDir: this.deps.paths.extLogDir, common: this.common,
      enqueue: (e) => this.sender.enqueue(e), events: this.events, fileRetryDelayMs: this.options.fileRetryDelayMs, ...(signal ? { signal } : {}),
    });
  }

  /** Runs each collection when due (both at start), then sleeps until the next one is due. */
  private async collectLoop(signal: AbortSignal): Promise<void> {
    const { clock } = this.deps;
    const ops = [
      { periodMs: this.options.eventPeriodMs, next: 0, run: () => this.collectAgentEventsOnce(signal) },
      { periodMs: this.options.etpPeriodMs, next: 0, run: () => this.collectExtensionEventsOnce(signal) },
    ];
    while (!signal.aborted) {
      for (const op of ops) {
        if (signal.aborted || clock.now() < op.next) continue;
        op.next = clock.now() + op.periodMs;
        try {
          await op.run();
        } catch (err) {
          this.collectorLog.warn(`An error occurred in the telemetry collector; will skip the current iteration: ${errorMessage(err)}`);
        }
      }
      const wait = Math.max(1, Math.min(...ops.map((o) => o.next)) - clock.now());
      await sleepUnlessAborted(clock, wait, signal);
    }
  }
}
