// createEmulator: the fabric emulator (WireServer + HostGAPlugin + blob store + repository) on node:http.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { handleControl } from './control.js';
import { Fabric, type DocumentName, type GoalStateInfo } from './fabric.js';
import { deliverFault, classifyRequest } from './fault-delivery.js';
import { RandomFaults, type Fault, type FaultSpec, type RandomFaultConfig, type RandomFaultCounts } from './faults.js';
import { handleHostPlugin } from './host-plugin.js';
import { HttpError, errorXml, send, sendError } from './http-util.js';
import {
  RECORDED_HEADERS, type HealthReportRecord, type HealthServiceRecord, type RequestRecord, type ServerName,
  type StatusBlobRecord, type TelemetryRecord,
} from './recorder.js';
import type { Scenario } from './scenario.js';
import { CONTROL_PREFIX, httpBase, redactSas } from './urls.js';
import { handleWire, type RouteContext } from './wire-server.js';

export interface EmulatorOptions {
  /** Address both ports listen on (default 127.0.0.1). */
  host?: string;
  /** WireServer port: 0 = ephemeral (default), 80 inside a network namespace. */
  wirePort?: number;
  /** HostGAPlugin port: 0 = ephemeral (default) or 32526. */
  hostPluginPort?: number;
  /** Base URL written into documents when the agent reaches the emulator by another address (e.g. http://168.63.129.16). */
  publicBaseUrl?: string;
  /** Base URL written for storage (manifests, packages, status blob) when it must differ from the WireServer's,
   *  e.g. an unresolvable host that only a test's HTTP proxy forwards to the emulator. */
  storageBaseUrl?: string;
  scenario?: Scenario;
  /** Receives one line per request and lifecycle events. */
  log?: (line: string) => void;
}

export type StatusPredicate = (status: unknown, record: StatusBlobRecord) => boolean;

export interface EmulatorState {
  statusBlobs(): readonly StatusBlobRecord[];
  latestStatus(): StatusBlobRecord | undefined;
  healthReports(): readonly HealthReportRecord[];
  healthService(): readonly HealthServiceRecord[];
  telemetry(): readonly TelemetryRecord[];
  requests(filter?: { server?: ServerName; path?: string | RegExp; method?: string }): readonly RequestRecord[];
  /** Resolves with the newest status record (with seq > opts.after) matching; rejects after timeoutMs (max 10 min). */
  waitFor(predicate: StatusPredicate, timeoutMs: number, opts?: { after?: number }): Promise<StatusBlobRecord>;
  /** Resolves once check() is true, re-evaluated whenever anything is recorded. */
  waitUntil(check: () => boolean, timeoutMs: number, what?: string): Promise<void>;
}

export interface Emulator {
  readonly wireUrl: string;
  readonly hostPluginUrl: string;
  readonly state: EmulatorState;
  /** The published goal state (identity values, status blob URL, extensions). */
  goalState(): GoalStateInfo;
  /** Publishes a new goal state (fields given replace current ones); bumps the incarnation unless given. */
  publish(scenario?: Scenario): number;
  waitFor(predicate: StatusPredicate, timeoutMs: number, opts?: { after?: number }): Promise<StatusBlobRecord>;
  injectFault(spec: FaultSpec): Fault;
  clearFaults(): void;
  /** Turns seeded random faults on (replacing earlier ones and their counts), or off with null. */
  setRandomFaults(config: RandomFaultConfig | null): void;
  /** What the random faults did so far (zero counts while off). */
  randomFaultCounts(): RandomFaultCounts;
  /** Serve `text` as the goal state (null restores the generated one). */
  setGoalStateXmlOverride(text: string | null): void;
  setDocumentOverride(name: DocumentName, text: string | null): void;
  close(): Promise<void>;
}

/** Pieces a slow body is cut into. */
const SLOW_BODY_PIECES = 20;

/**
 * Makes the router's res.end(body) send the body in pieces spread over `ms` (the headers, Content-Length included,
 * go at once): a download that takes a while, for progress reporting.
 */
function slowBody(res: ServerResponse, ms: number, signal: AbortSignal): void {
  const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
  res.end = ((chunk?: unknown) => {
    if (!Buffer.isBuffer(chunk) && typeof chunk !== 'string') return end(chunk);
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const step = Math.max(1, Math.ceil(buf.length / SLOW_BODY_PIECES));
    void (async () => {
      for (let i = 0; i < buf.length; i += step) {
        if (res.destroyed) return;
        res.write(buf.subarray(i, i + step));
        const stopped = await sleep(ms / SLOW_BODY_PIECES, undefined, { signal }).then(() => false, () => true);
        if (stopped) {
          res.destroy();
          return;
        }
      }
      end();
    })();
    return res;
  }) as ServerResponse['end'];
}

type Router = (fabric: Fabric, req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => Promise<void>;

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function pickHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of RECORDED_HEADERS) {
    const v = req.headers[name];
    if (v !== undefined) out[name] = redactSas(Array.isArray(v) ? v.join(', ') : v);
  }
  return out;
}

export async function createEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? ((): void => undefined);
  const fabric = new Fabric(opts.scenario ?? {});
  const stopping = new AbortController();

  const serve = (name: ServerName, route: Router) => async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const control = name === 'wire' && path.startsWith(CONTROL_PREFIX);
    const ctx: RouteContext = {};
    let faultLabel: string | undefined;
    let status = 0;
    try {
      const hit = control ? null : fabric.faults.take(name, method, path);
      if (hit) faultLabel = hit.label;
      if (hit && hit.delayMs > 0) await sleep(hit.delayMs, undefined, { signal: stopping.signal });
      if (hit && hit.slowBodyMs > 0) slowBody(res, hit.slowBodyMs, stopping.signal);
      if (hit?.reset) {
        req.socket.destroy();
      } else if (hit?.status !== undefined) {
        req.resume();
        send(res, hit.status, hit.body ?? errorXml('InjectedFault', faultLabel ?? 'fault'), hit.body !== undefined ? 'text/xml; charset=utf-8' : 'application/xml');
      } else if (control) {
        await handleControl(fabric, req, res);
      } else {
        const random = fabric.randomFaults;
        const kind = random ? classifyRequest(name, method, path, req) : null;
        const cls = random && kind ? random.decide(kind) : null;
        if (cls) faultLabel = `random ${cls}`;
        const answered = random && kind && cls ? await deliverFault({ faults: random, kind, cls, stopping: stopping.signal }, req, res) : false;
        if (!answered) await route(fabric, req, res, ctx);
      }
    } catch (err) {
      if (err instanceof HttpError) sendError(res, err);
      else if (stopping.signal.aborted) req.socket.destroy();
      else {
        log(`emulator: internal error on ${method} ${redactSas(path)}: ${err instanceof Error ? err.message : String(err)}`);
        sendError(res, new HttpError(500, 'internal emulator error', 'InternalError'));
      }
    } finally {
      status = res.headersSent ? res.statusCode : 0;
      const durationMs = Math.round(performance.now() - started);
      if (!control) {
        fabric.recorder.addRequest({
          at: Date.now(), server: name, method, path: redactSas(path), headers: pickHeaders(req), status, durationMs,
          ...(faultLabel !== undefined ? { fault: faultLabel } : {}),
          ...(ctx.upstreamStatus !== undefined ? { upstreamStatus: ctx.upstreamStatus } : {}),
        });
      }
      const extra = `${faultLabel ? ` [${faultLabel}]` : ''}${ctx.upstreamStatus !== undefined ? ` upstream=${ctx.upstreamStatus}` : ''}`;
      log(`${name} ${method} ${redactSas(path)} -> ${status || 'reset'} ${durationMs}ms${extra}`);
    }
  };

  const makeServer = (name: ServerName, route: Router): Server => {
    const handler = serve(name, route);
    const s = createServer({ requestTimeout: 60_000, headersTimeout: 15_000, keepAliveTimeout: 1000, maxHeaderSize: 64 * 1024 }, (req, res) => {
      void handler(req, res);
    });
    s.maxRequestsPerSocket = 100;
    return s;
  };

  const wire = makeServer('wire', handleWire);
  const plugin = makeServer('hostplugin', handleHostPlugin);
  const wirePort = await listen(wire, host, opts.wirePort ?? 0);
  let pluginPort: number;
  try {
    pluginPort = await listen(plugin, host, opts.hostPluginPort ?? 0);
  } catch (err) {
    wire.close();
    throw err;
  }
  const wireUrl = httpBase(host, wirePort);
  const hostPluginUrl = httpBase(host, pluginPort);
  fabric.setBase(opts.publicBaseUrl ?? wireUrl);
  if (opts.storageBaseUrl) fabric.setStorageBase(opts.storageBaseUrl);
  log(`emulator: WireServer ${wireUrl}, HostGAPlugin ${hostPluginUrl}, incarnation ${fabric.scenario.incarnation}`);

  const rec = fabric.recorder;
  const matchesPath = (p: string, m: string | RegExp): boolean => (typeof m === 'string' ? p.startsWith(m) : ((m.lastIndex = 0), m.test(p)));
  const waitFor = async (predicate: StatusPredicate, timeoutMs: number, o: { after?: number } = {}): Promise<StatusBlobRecord> => {
    let found: StatusBlobRecord | undefined;
    const check = (): boolean => {
      for (let i = rec.statuses.length - 1; i >= 0; i--) {
        const r = rec.statuses[i] as StatusBlobRecord;
        if (o.after !== undefined && r.seq <= o.after) break;
        if (predicate(r.status, r)) {
          found = r;
          return true;
        }
      }
      return false;
    };
    const last = rec.statuses.at(-1);
    const lastText = last ? (last.parseError ? `unparsable status (${last.parseError})` : `status seq ${last.seq}`) : 'no status yet';
    await rec.waitUntil(check, timeoutMs, `a matching status blob (last: ${lastText})`);
    return found as StatusBlobRecord;
  };

  const state: EmulatorState = {
    statusBlobs: () => [...rec.statuses],
    latestStatus: () => rec.statuses.at(-1),
    healthReports: () => [...rec.health],
    healthService: () => [...rec.healthService],
    telemetry: () => [...rec.telemetry],
    requests: (f = {}) =>
      rec.requests.filter(
        (r) =>
          (f.server === undefined || r.server === f.server) &&
          (f.method === undefined || r.method === f.method.toUpperCase()) &&
          (f.path === undefined || matchesPath(r.path, f.path)),
      ),
    waitFor,
    waitUntil: (check, timeoutMs, what = 'condition') => rec.waitUntil(check, timeoutMs, what),
  };

  let closed: Promise<void> | undefined;
  const closeServer = (s: Server): Promise<void> =>
    new Promise((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });

  return {
    wireUrl,
    hostPluginUrl,
    state,
    goalState: () => fabric.info(),
    publish: (s) => {
      const n = fabric.publish(s);
      log(`emulator: published incarnation ${n}`);
      return n;
    },
    waitFor,
    injectFault: (spec) => fabric.faults.add(spec),
    clearFaults: () => fabric.faults.clear(),
    setRandomFaults: (config) => {
      fabric.randomFaults = config === null ? null : new RandomFaults(config);
    },
    randomFaultCounts: () => (fabric.randomFaults ?? new RandomFaults({ seed: 0, rates: {} })).counts(),
    setGoalStateXmlOverride: (text) => fabric.setOverride('goalState', text),
    setDocumentOverride: (name, text) => fabric.setOverride(name, text),
    close: () => {
      closed ??= (async () => {
        stopping.abort();
        rec.close();
        await Promise.all([closeServer(wire), closeServer(plugin)]);
      })();
      return closed;
    },
  };
}
