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

// ---------------------------------------------------------------------------------------------------------------
// Random faults: every request of a kind gets, with probability `rates[kind]`, one fault class drawn by weight.
// Each kind draws from its own PRNG stream (seeded from the seed and the kind), so the n-th goal-state request gets
// the same decision whatever other requests interleave with it: a seed reproduces the decisions, and timing only
// changes how many requests of each kind a run makes.

/** What a request asks for, derived from its method and path (and, for the artifact proxy, its target). */
export const REQUEST_KINDS = [
  'versions', 'goalState', 'extensionsConfig', 'config', 'certificates', 'manifest', 'package', 'vmSettings',
  'statusUpload', 'health', 'telemetry', 'other',
] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export const FAULT_CLASSES = [
  'http500', 'http503', 'http429', 'http410', 'reset', 'timeout', 'slowBody', 'truncated', 'malformed', 'wrongContent',
] as const;
export type FaultClass = (typeof FAULT_CLASSES)[number];

/** Kinds whose answer is a document or package the agent parses: body faults apply to them. */
const BODY_KINDS: ReadonlySet<RequestKind> = new Set(['versions', 'goalState', 'extensionsConfig', 'config', 'certificates', 'manifest', 'package', 'vmSettings']);
/** Kinds for which another valid-looking document exists: wrong content applies to them. */
const WRONG_CONTENT_KINDS: ReadonlySet<RequestKind> = new Set(['manifest', 'package']);
const BODY_CLASSES: ReadonlySet<FaultClass> = new Set(['slowBody', 'truncated', 'malformed']);

export function faultApplies(cls: FaultClass, kind: RequestKind): boolean {
  if (cls === 'wrongContent') return WRONG_CONTENT_KINDS.has(kind);
  if (BODY_CLASSES.has(cls)) return BODY_KINDS.has(kind);
  return true;
}

export interface RandomFaultConfig {
  readonly seed: number;
  /** Probability (0..1) that a request of the kind gets a fault; kinds not listed get none. */
  readonly rates: Partial<Record<RequestKind, number>>;
  /** Relative weights of the classes (default 1 each; 0 turns one off). Classes that do not apply to a kind are skipped. */
  readonly weights?: Partial<Record<FaultClass, number>>;
  /** How long a `timeout` fault holds the request before dropping the connection, unless the client gives up first (default 30 s). */
  readonly timeoutMs?: number;
  /** How long a `slowBody` answer takes to trickle out (default 2 s). */
  readonly slowBodyMs?: number;
}

export interface RandomFaultCounts {
  /** Faults applied, per class. */
  readonly byClass: Record<FaultClass, number>;
  /** Faults applied, per request kind and class. */
  readonly byKind: Partial<Record<RequestKind, Partial<Record<FaultClass, number>>>>;
  /** Requests seen (eligible for a fault), per kind. */
  readonly requests: Partial<Record<RequestKind, number>>;
  readonly total: number;
}

/** mulberry32: small, fast, good enough for test decisions; deterministic for a seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export const MAX_FAULT_TIMEOUT_MS = 120_000;

export class RandomFaults {
  readonly config: Required<Omit<RandomFaultConfig, 'weights'>> & { weights: Record<FaultClass, number> };
  private readonly streams = new Map<RequestKind, () => number>();
  private readonly byClass = Object.fromEntries(FAULT_CLASSES.map((c) => [c, 0])) as Record<FaultClass, number>;
  private readonly byKind: Partial<Record<RequestKind, Partial<Record<FaultClass, number>>>> = {};
  private readonly requests: Partial<Record<RequestKind, number>> = {};
  private total = 0;

  constructor(config: RandomFaultConfig) {
    if (!Number.isSafeInteger(config.seed)) throw new Error('random faults: seed must be an integer');
    for (const [k, r] of Object.entries(config.rates)) {
      if (!REQUEST_KINDS.includes(k as RequestKind)) throw new Error(`random faults: unknown request kind ${k}`);
      if (!(typeof r === 'number' && r >= 0 && r <= 1)) throw new Error(`random faults: rate of ${k} must be 0..1`);
    }
    const weights = Object.fromEntries(FAULT_CLASSES.map((c) => [c, config.weights?.[c] ?? 1])) as Record<FaultClass, number>;
    for (const [c, w] of Object.entries(config.weights ?? {})) {
      if (!FAULT_CLASSES.includes(c as FaultClass)) throw new Error(`random faults: unknown fault class ${c}`);
      if (!(typeof w === 'number' && w >= 0 && Number.isFinite(w))) throw new Error(`random faults: weight of ${c} must be >= 0`);
    }
    const timeoutMs = config.timeoutMs ?? 30_000;
    const slowBodyMs = config.slowBodyMs ?? 2000;
    if (!(timeoutMs >= 0 && timeoutMs <= MAX_FAULT_TIMEOUT_MS) || !(slowBodyMs >= 0 && slowBodyMs <= MAX_FAULT_TIMEOUT_MS)) {
      throw new Error(`random faults: timeoutMs and slowBodyMs must be 0..${MAX_FAULT_TIMEOUT_MS}`);
    }
    this.config = { seed: config.seed, rates: { ...config.rates }, weights, timeoutMs, slowBodyMs };
  }

  private stream(kind: RequestKind): () => number {
    let s = this.streams.get(kind);
    if (!s) {
      s = mulberry32((this.config.seed ^ hashString(kind)) >>> 0);
      this.streams.set(kind, s);
    }
    return s;
  }

  /** Draws the fault (or none) for the next request of `kind`. Always consumes two numbers, to keep the stream aligned. */
  decide(kind: RequestKind): FaultClass | null {
    this.requests[kind] = (this.requests[kind] ?? 0) + 1;
    const next = this.stream(kind);
    const hit = next() < (this.config.rates[kind] ?? 0);
    const pick = next();
    if (!hit) return null;
    const choices = FAULT_CLASSES.filter((c) => faultApplies(c, kind) && this.config.weights[c] > 0);
    const sum = choices.reduce((n, c) => n + this.config.weights[c], 0);
    if (sum <= 0) return null;
    let x = pick * sum;
    for (const c of choices) {
      x -= this.config.weights[c];
      if (x < 0) return c;
    }
    return choices.at(-1) ?? null;
  }

  /** Counts a fault that was actually delivered (a body fault on an error answer is not). */
  applied(kind: RequestKind, cls: FaultClass): void {
    this.byClass[cls]++;
    const k = (this.byKind[kind] ??= {});
    k[cls] = (k[cls] ?? 0) + 1;
    this.total++;
  }

  counts(): RandomFaultCounts {
    const byKind: RandomFaultCounts['byKind'] = {};
    for (const [k, v] of Object.entries(this.byKind)) byKind[k as RequestKind] = { ...v };
    return { byClass: { ...this.byClass }, byKind, requests: { ...this.requests }, total: this.total };
  }
}
