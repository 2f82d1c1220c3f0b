// Fault injection: the next `count` matching requests get a status, a body, a delay or a connection reset.
import type { ServerName } from './recorder.js';

export interface FaultSpec {
  /** A string matches when the request's path+query starts with it; a RegExp is tested against path+query. */
  path: string | RegExp;
  /** Only requests with this method (default: any). */
  method?: string;
  /** Only requests on this port (default: both). */
  server?: ServerName;
  /** Respond with this status instead of the real answer (default 200 when only `body` is given). */
  status?: number;
  /** Response body for `status`/`body` faults (e.g. malformed XML). */
  body?: string;
  /** How many matching requests to affect. */
  count: number;
  /** Wait this long first; alone it delays the real answer. */
  delayMs?: number;
  /** Destroy the connection without answering. */
  reset?: boolean;
  /** Send the real answer's body in pieces spread over this long (a slow download; headers go at once). */
  slowBodyMs?: number;
}

export interface Fault {
  readonly id: number;
  readonly spec: Readonly<FaultSpec>;
  /** Requests still to be affected. */
  remaining(): number;
  cancel(): void;
}

export interface FaultHit {
  readonly id: number;
  readonly status?: number;
  readonly body?: string;
  readonly delayMs: number;
  readonly reset: boolean;
  readonly slowBodyMs: number;
  readonly label: string;
}

const MAX_FAULTS = 100;
const MAX_COUNT = 100_000;
export const MAX_DELAY_MS = 120_000;

interface Entry {
  id: number;
  spec: FaultSpec;
  left: number;
}

export class FaultTable {
  private readonly entries: Entry[] = [];
  private nextId = 1;

  add(spec: FaultSpec): Fault {
    if (!Number.isInteger(spec.count) || spec.count < 1 || spec.count > MAX_COUNT) throw new Error(`fault count must be 1..${MAX_COUNT}`);
    if (spec.delayMs !== undefined && !(spec.delayMs >= 0 && spec.delayMs <= MAX_DELAY_MS)) throw new Error(`fault delayMs must be 0..${MAX_DELAY_MS}`);
    if (spec.slowBodyMs !== undefined && !(spec.slowBodyMs >= 0 && spec.slowBodyMs <= MAX_DELAY_MS)) throw new Error(`fault slowBodyMs must be 0..${MAX_DELAY_MS}`);
    if (spec.status !== undefined && !(Number.isInteger(spec.status) && spec.status >= 100 && spec.status <= 599)) throw new Error('fault status must be an HTTP status');
    if (spec.status === undefined && spec.body === undefined && spec.delayMs === undefined && !spec.reset && spec.slowBodyMs === undefined) {
      throw new Error('fault needs status, body, delayMs, slowBodyMs or reset');
    }
    if (this.entries.length >= MAX_FAULTS) throw new Error(`at most ${MAX_FAULTS} active faults`);
    const entry: Entry = { id: this.nextId++, spec: { ...spec }, left: spec.count };
    this.entries.push(entry);
    return {
      id: entry.id,
      spec: entry.spec,
      remaining: () => entry.left,
      cancel: () => this.remove(entry),
    };
  }

  clear(): void {
    this.entries.length = 0;
  }

  list(): Array<{ id: number; path: string; remaining: number }> {
    return this.entries.map((e) => ({ id: e.id, path: String(e.spec.path), remaining: e.left }));
  }

  /** Consumes one use of the first fault matching the request, if any. */
  take(server: ServerName, method: string, pathAndQuery: string): FaultHit | null {
    for (const e of this.entries) {
      const s = e.spec;
      if (s.server !== undefined && s.server !== server) continue;
      if (s.method !== undefined && s.method.toUpperCase() !== method.toUpperCase()) continue;
      const hit = typeof s.path === 'string' ? pathAndQuery.startsWith(s.path) : (s.path.lastIndex = 0, s.path.test(pathAndQuery));
      if (!hit) continue;
      e.left--;
      if (e.left <= 0) this.remove(e);
      const status = s.status ?? (s.body !== undefined ? 200 : undefined);
      const label = s.reset ? 'reset' : status !== undefined ? `status ${status}`
        : s.slowBodyMs !== undefined ? `slow body ${s.slowBodyMs}ms` : `delay ${s.delayMs ?? 0}ms`;
      return {
        id: e.id,
        ...(status !== undefined ? { status } : {}),
        ...(s.body !== undefined ? { body: s.body } : {}),
        delayMs: s.delayMs ?? 0,
        reset: s.reset ?? false,
        slowBodyMs: s.slowBodyMs ?? 0,
        label: `fault#${e.id} ${label}`,
      };
    }
    return null;
  }

  private remove(e: Entry): void {
    const i = this.entries.indexOf(e);
    if (i >= 0) this.entries.splice(i, 1);
  }
}
