// Sends queued events to the WireServer on its own async loop: waits for a first event, batches until 30
// events or 5 s, then POSTs one request per provider (ga/send_telemetry_events.py). Failures are counted and
// reported as a ReportEventErrors event; the events themselves are not retried.
import type { Clock, Logger } from '../deps.js';
import { errorMessage } from '../errors.js';
import type { AgentEvents } from './agent-events.js';
import { buildRequests, MAX_EVENT_BUFFER_BYTES } from './encoder.js';
import { Op, paramValue, type TelemetryEvent } from './event.js';

export interface SenderDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** One POST of a TelemetryData body (WireClient.sendTelemetry: 3 attempts, throttle delay). */
  readonly send: (body: string, signal?: AbortSignal) => Promise<void>;
  readonly events?: AgentEvents;
  /** Queue bound; the oldest events are dropped (and counted) beyond it. */
  readonly maxQueue?: number;
  readonly batchSize?: number;
  readonly batchWaitMs?: number;
  readonly bufferLimit?: number;
}

export interface FlushResult {
  readonly events: number;
  readonly requests: number;
  readonly failedRequests: number;
  readonly oversized: number;
}

export const SENDER_DEFAULTS = { maxQueue: 1000, batchSize: 30, batchWaitMs: 5000 } as const;
const MAX_ERRORS_TO_REPORT = 5;

export class TelemetrySender {
  private queue: TelemetryEvent[] = [];
  private wake: (() => void) | null = null;
  private droppedSinceLog = 0;
  private totals = { sent: 0, failedRequests: 0, dropped: 0, oversized: 0 };

  constructor(private readonly deps: SenderDeps) {}

  get queued(): number {
    return this.queue.length;
  }

  /** Counters since start: events sent, failed requests, events dropped (queue full), oversized events. */
  get stats(): Readonly<{ sent: number; failedRequests: number; dropped: number; oversized: number }> {
    return { ...this.totals };
  }

  enqueue(event: TelemetryEvent): void {
    const max = this.deps.maxQueue ?? SENDER_DEFAULTS.maxQueue;
    this.queue.push(event);
    if (this.queue.length > max) {
      const n = this.queue.length - max;
      this.queue.splice(0, n);
      this.totals.dropped += n;
      this.droppedSinceLog += n;
    }
    this.wake?.();
  }

  /** Sends everything queued now. Never throws. */
  async flush(signal?: AbortSignal): Promise<FlushResult> {
    const batch = this.queue;
    this.queue = [];
    if (this.droppedSinceLog > 0) {
      this.deps.logger.warn(`Dropped ${this.droppedSinceLog} telemetry event(s): the send queue is full (max ${this.deps.maxQueue ?? SENDER_DEFAULTS.maxQueue})`);
      this.droppedSinceLog = 0;
    }
    if (batch.length === 0) return { events: 0, requests: 0, failedRequests: 0, oversized: 0 };
    const { requests, oversized } = buildRequests(batch, this.deps.bufferLimit ?? MAX_EVENT_BUFFER_BYTES);
    if (oversized.length > 0) {
      this.totals.oversized += oversized.length;
      const first = oversized[0]!;
      const details = ['Name', 'Version', 'Operation', 'OperationSuccess'].map((n) => `${n}:${String(paramValue(first.event, n) ?? '')}`);
      this.deps.logger.warn(`Dropped ${oversized.length} telemetry event(s) too large to send; first: [${details.join(', ')}], with the length: ${first.bytes} more than the limit(${this.deps.bufferLimit ?? MAX_EVENT_BUFFER_BYTES})`);
    }
    const errors: string[] = [];
    let failed = 0;
    for (const r of requests) {
      try {
        await this.deps.send(r.body, signal);
        this.totals.sent += r.events;
      } catch (err) {
        failed++;
        if (errors.length < MAX_ERRORS_TO_REPORT) errors.push(errorMessage(err));
      }
    }
    this.totals.failedRequests += failed;
    if (failed > 0) {
      this.deps.logger.warn(`Cannot send ${failed} of ${requests.length} telemetry request(s); first error: ${errors[0]}`);
      this.deps.events?.add({
        op: Op.ReportEventErrors, success: false,
        message: `DroppedEventsCount: ${failed}\nReasons (first ${MAX_ERRORS_TO_REPORT} errors): ${errors.join(', ')}`,
      });
    }
    return { events: batch.length, requests: requests.length, failedRequests: failed, oversized: oversized.length };
  }

  /** The loop; returns when the signal aborts (events still queued stay queued). */
  async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.deps;
    const batchSize = this.deps.batchSize ?? SENDER_DEFAULTS.batchSize;
    const batchWaitMs = this.deps.batchWaitMs ?? SENDER_DEFAULTS.batchWaitMs;
    while (!signal.aborted) {
      if (this.queue.length === 0) await this.waitForEvent(signal);
      if (signal.aborted) break;
      if (this.queue.length === 0) continue;
      const start = clock.now();
      // Batch: until enough events are queued or the batch wait has passed, checking every second.
      while (!signal.aborted && this.queue.length < batchSize && clock.now() - start < batchWaitMs) {
        const left = batchWaitMs - (clock.now() - start);
        await sleepUnlessAborted(clock, Math.min(1000, Math.max(1, left)), signal);
      }
      if (signal.aborted) break;
      await this.flush(signal);
    }
  }

  /**
   * Until an event is queued (enqueue() resolves `wake`) or the signal aborts. No timer: an idle agent must not wake
   * up every few seconds for an empty queue (it costs CPU on a VM that does nothing).
   */
  private async waitForEvent(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    let onAbort: (() => void) | undefined;
    const woken = new Promise<void>((resolve) => {
      this.wake = resolve;
      onAbort = resolve;
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await woken;
    } finally {
      this.wake = null;
      signal.removeEventListener('abort', onAbort!);
    }
  }
}

/** Resolves early when the signal aborts; any other failure of the clock propagates (no spinning loop). */
export async function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  try {
    await clock.sleep(ms, signal);
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}
