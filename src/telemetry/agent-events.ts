// Records the agent's own events (operation outcomes, log events) as event files for the collector.
import type { Clock, Logger } from '../deps.js';
import { errorMessage } from '../errors.js';
import { redactSecrets } from '../log/redact.js';
import { utcTimestamp, type CommonParams, type EventOrigin } from './common-params.js';
import { serializeEvent, writeEventFile } from './event-file.js';
import {
  AGENT_PROVIDER_ID, LOG_EVENT_ID, LOG_PROVIDER_ID, OPERATION_EVENT_ID,
  type LogLevel, type TelemetryEvent, type TelemetryParam,
} from './event.js';

export interface OperationEvent {
  /** Extension (full) name; the agent's own name when absent. */
  readonly name?: string;
  /** Defaults to the agent's version. */
  readonly version?: string;
  readonly op: string;
  readonly success?: boolean;
  readonly message?: string;
  readonly durationMs?: number;
}

export interface AgentEventsDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** <lib>/events */
  readonly dir: string;
  readonly common: CommonParams;
  /** Name of agent events (Name param). */
  readonly agentName: string;
  readonly agentVersion: string;
  readonly origin?: EventOrigin;
  /** Events waiting to be written; more are dropped (and counted). */
  readonly maxPending?: number;
}

/** Messages are cut here so that one event stays well under the 64 512-byte request buffer. */
export const MAX_MESSAGE_CHARS = 16 * 1024;
const DEFAULT_MAX_PENDING = 200;

export class AgentEvents {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private lastMicros = 0;
  private droppedCount = 0;
  private writeErrors = 0;
  private readonly origin: EventOrigin;

  constructor(private readonly deps: AgentEventsDeps) {
    this.origin = deps.origin ?? { pid: process.pid, tid: 0, taskName: 'ExtHandler' };
  }

  /** Events not recorded because too many were waiting to be written. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** An operation event (provider 69B669B9…, id 1). Never throws; the file is written in the background. */
  add(e: OperationEvent): void {
    const params: TelemetryParam[] = [
      { name: 'Name', value: e.name ?? this.deps.agentName },
      { name: 'Version', value: e.version ?? this.deps.agentVersion },
      { name: 'Operation', value: e.op },
      { name: 'OperationSuccess', value: e.success ?? true },
      { name: 'Message', value: cleanMessage(e.message ?? '') },
      { name: 'Duration', value: Math.max(0, Math.round(e.durationMs ?? 0)) },
    ];
    this.record({ eventId: OPERATION_EVENT_ID, providerId: AGENT_PROVIDER_ID, parameters: params, fileType: '' });
  }

  /** A log event (provider FFF0196F…, id 7, EventName "Log"), as upstream's add_log_event. */
  addLog(level: LogLevel, message: string): void {
    const now = this.deps.clock.now();
    const params: TelemetryParam[] = [
      { name: 'EventName', value: 'Log' },
      { name: 'CapabilityUsed', value: level },
      { name: 'Context1', value: cleanMessage(message) },
      { name: 'Context2', value: utcTimestamp(now) },
      { name: 'Context3', value: '' },
    ];
    this.record({ eventId: LOG_EVENT_ID, providerId: LOG_PROVIDER_ID, parameters: params, fileType: '' }, now);
  }

  /** Resolves when every event recorded so far is on disk (or failed). */
  settled(): Promise<void> {
    return this.chain;
  }

  private record(specific: TelemetryEvent, now = this.deps.clock.now()): void {
    try {
      if (this.pending >= (this.deps.maxPending ?? DEFAULT_MAX_PENDING)) {
        if (this.droppedCount++ % 100 === 0) this.deps.logger.warn(`Dropped ${this.droppedCount} telemetry event(s): too many waiting to be written`);
        return;
      }
      const event: TelemetryEvent = { ...specific, parameters: [...specific.parameters, ...this.deps.common.for(specific, now, this.origin)] };
      // Unique, increasing names even for events recorded within the same microsecond.
      const micros = Math.max(Math.floor(now * 1000), this.lastMicros + 1);
      this.lastMicros = micros;
      const content = serializeEvent(event);
      this.pending++;
      this.chain = this.chain.then(async () => {
        try {
          const removed = await writeEventFile(this.deps.dir, micros, content);
          if (removed > 0) this.deps.logger.warn(`Too many files under ${this.deps.dir}: removed the ${removed} oldest event file(s)`);
        } catch (err) {
          if (this.writeErrors++ % 100 === 0) this.deps.logger.error(`Cannot write telemetry event as ${errorMessage(err)}`);
        } finally {
          this.pending--;
        }
      });
    } catch (err) {
      this.deps.logger.warn(`Cannot record a telemetry event as ${errorMessage(err)}`);
    }
  }
}

function cleanMessage(message: string): string {
  const text = redactSecrets(message);
  return text.length > MAX_MESSAGE_CHARS ? text.slice(0, MAX_MESSAGE_CHARS) : text;
}
