// What the agent sent to the emulator, kept in bounded histories, plus bounded waits on it.
import type { StatusBlobType } from '../protocol/goal-state.js';
import type { UploadChannel } from './blob-store.js';

export type ServerName = 'wire' | 'hostplugin';

export interface StatusBlobRecord {
  readonly seq: number;
  readonly at: number;
  readonly via: UploadChannel;
  readonly blobType: StatusBlobType;
  /** Incarnation published when the upload arrived. */
  readonly incarnation: number;
  readonly text: string;
  /** Parsed JSON, or null when the text is not JSON (see parseError). */
  readonly status: unknown;
  readonly parseError: string | null;
}

export interface HealthReportRecord {
  readonly at: number;
  readonly incarnation: string | null;
  readonly containerId: string | null;
  readonly instanceId: string | null;
  readonly state: string | null;
  readonly substatus: string | null;
  readonly description: string | null;
  readonly raw: string;
}

export interface TelemetryParamRecord {
  readonly name: string;
  /** Attribute value with XML entities decoded. */
  readonly value: string;
  /** mt:wstr, mt:uint64, mt:bool, mt:float64 */
  readonly type: string;
}

export interface TelemetryEventRecord {
  readonly providerId: string;
  readonly eventId: string;
  /** In the order sent. */
  readonly params: readonly TelemetryParamRecord[];
}

export interface TelemetryRecord {
  readonly at: number;
  readonly raw: string;
  readonly providerIds: readonly string[];
  readonly eventCount: number;
  /** Every event of the post, parsed from its CDATA Param list. */
  readonly events: readonly TelemetryEventRecord[];
}

export interface HealthServiceRecord {
  readonly at: number;
  readonly body: unknown;
}

export interface RequestRecord {
  readonly at: number;
  readonly server: ServerName;
  readonly method: string;
  /** Path and query, SAS signature redacted. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly status: number;
  readonly durationMs: number;
  /** Set when a fault was injected into this request. */
  readonly fault?: string;
  /** HostGAPlugin /status and /extensionArtifact: the status the upstream (blob store/repository) answered. */
  readonly upstreamStatus?: number;
}

/** Headers kept in request records (never certificates, bodies or signatures). */
export const RECORDED_HEADERS = [
  'user-agent', 'content-type', 'content-length', 'x-ms-version', 'x-ms-agent-name', 'x-ms-cipher-name', 'x-ms-containerid',
  'x-ms-host-config-name', 'x-ms-artifact-location', 'x-ms-artifact-manifest-location', 'x-ms-verify-from-artifacts-blob',
  'x-ms-blob-type', 'x-ms-blob-content-length', 'x-ms-range', 'x-ms-page-write', 'x-ms-date', 'if-none-match',
];

const LIMITS = { requests: 5000, statuses: 1000, health: 1000, telemetry: 1000, healthService: 1000 } as const;
export const MAX_WAIT_MS = 10 * 60 * 1000;

function push<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

interface Waiter {
  check: () => boolean;
  done: (err?: Error) => void;
}

export class Recorder {
  readonly statuses: StatusBlobRecord[] = [];
  readonly health: HealthReportRecord[] = [];
  readonly telemetry: TelemetryRecord[] = [];
  readonly healthService: HealthServiceRecord[] = [];
  readonly requests: RequestRecord[] = [];
  private seq = 0;
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  addStatus(r: Omit<StatusBlobRecord, 'seq' | 'status' | 'parseError'>): StatusBlobRecord {
    let status: unknown = null;
    let parseError: string | null = null;
    try {
      status = JSON.parse(r.text);
    } catch (err) {
      parseError = err instanceof Error ? err.message : String(err);
    }
    const rec: StatusBlobRecord = { ...r, seq: ++this.seq, status, parseError };
    push(this.statuses, rec, LIMITS.statuses);
    this.notify();
    return rec;
  }

  addHealth(r: HealthReportRecord): void {
    push(this.health, r, LIMITS.health);
    this.notify();
  }

  addTelemetry(r: TelemetryRecord): void {
    push(this.telemetry, r, LIMITS.telemetry);
    this.notify();
  }

  addHealthService(r: HealthServiceRecord): void {
    push(this.healthService, r, LIMITS.healthService);
    this.notify();
  }

  addRequest(r: RequestRecord): void {
    push(this.requests, r, LIMITS.requests);
    this.notify();
  }

  /** Resolves once `check` returns true (evaluated now and after every new record); rejects after timeoutMs or on close. */
  waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`emulator closed while waiting for ${what}`));
    const ms = Math.min(Math.max(0, timeoutMs), MAX_WAIT_MS);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        check,
        done: (err) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          if (err) reject(err);
          else resolve();
        },
      };
      const timer = setTimeout(() => waiter.done(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      this.waiters.add(waiter);
      this.evaluate(waiter);
    });
  }

  close(): void {
    this.closed = true;
    for (const w of [...this.waiters]) w.done(new Error('emulator closed'));
  }

  private evaluate(w: Waiter): void {
    try {
      if (w.check()) w.done();
    } catch (err) {
      w.done(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private notify(): void {
    for (const w of [...this.waiters]) this.evaluate(w);
  }
}
