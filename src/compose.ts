// The only place that builds the real world (clock, filesystem roots, HTTP, runner, logger) into Deps.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from './config/schema.js';
import { loadConfig, DEFAULT_CONF_PATH } from './config/load.js';
import type { Clock, Logger, Random, Runner } from './deps.js';
import { liveLineFor, type LiveStream } from './log/live-line.js';
import { createLogger } from './log/logger.js';
import { Progress, progressEvery } from './log/progress.js';
import { systemClock } from './platform/clock.js';
import { createRunner } from './platform/runner.js';
import { createHttpClient, DEFAULT_RETRY, type HttpClient, type RetryPolicy } from './protocol/http.js';
import { createProxyRoutingClient, describeProxy } from './protocol/proxy.js';
import type { Paths } from './state/paths.js';

export const KNOWN_WIRESERVER_IP = '168.63.129.16';
export const DEFAULT_AGENT_LOG = '/var/log/waagent.log';

/**
 * Overrides for running against an emulator or in a scratch root. Read from the environment here and
 * nowhere else: WAAGENT_TS_WIRESERVER / WAAGENT_TS_HOSTPLUGIN (base URLs), WAAGENT_TS_LOG_FILE,
 * WAAGENT_TS_RETRY_DELAY_MS (base back-off), WAAGENT_TS_HTTP_TIMEOUT_MS (per-attempt deadline of requests that do
 * not set their own; fault-injection tests make a hanging server cost seconds, not 10 s), WAAGENT_TS_NO_CONSOLE=1,
 * WAAGENT_TS_PROGRESS_MS (`MS` or `DOWNLOAD_MS,COMMAND_MS`: progress intervals instead of 10 s per download line and
 * 30 s per command line).
 */
export interface Overrides {
  readonly wireServerUrl?: string;
  readonly hostPluginUrl?: string;
  readonly agentLogFile?: string;
  readonly retryDelayMs?: number;
  readonly httpTimeoutMs?: number;
  readonly console?: boolean;
  readonly progressMs?: { readonly downloadMs: number; readonly commandMs: number };
}

export function overridesFromEnv(env: NodeJS.ProcessEnv): Overrides {
  const o: { -readonly [K in keyof Overrides]: Overrides[K] } = {};
  if (env.WAAGENT_TS_WIRESERVER) o.wireServerUrl = env.WAAGENT_TS_WIRESERVER;
  if (env.WAAGENT_TS_HOSTPLUGIN) o.hostPluginUrl = env.WAAGENT_TS_HOSTPLUGIN;
  if (env.WAAGENT_TS_LOG_FILE) o.agentLogFile = env.WAAGENT_TS_LOG_FILE;
  const d = Number(env.WAAGENT_TS_RETRY_DELAY_MS);
  if (env.WAAGENT_TS_RETRY_DELAY_MS && Number.isFinite(d) && d >= 0) o.retryDelayMs = d;
  const t = Number(env.WAAGENT_TS_HTTP_TIMEOUT_MS);
  if (env.WAAGENT_TS_HTTP_TIMEOUT_MS && Number.isInteger(t) && t > 0) o.httpTimeoutMs = t;
  if (env.WAAGENT_TS_NO_CONSOLE === '1') o.console = false;
  const p = (env.WAAGENT_TS_PROGRESS_MS ?? '').split(',').map((v) => (v.trim() === '' ? NaN : Number(v)));
  if (p.length <= 2 && p.every((v) => Number.isFinite(v) && v >= 1)) o.progressMs = { downloadMs: p[0]!, commandMs: p[1] ?? p[0]! };
  return o;
}

/** An HTTP client whose requests without their own deadline get `timeoutMs` instead of the default. */
export function withDefaultTimeout(http: HttpClient, timeoutMs: number): HttpClient {
  return {
    send: (r) => http.send(r.timeoutMs === undefined ? { ...r, timeoutMs } : r),
    sendToFile: (r, path, max, onProgress) => http.sendToFile(r.timeoutMs === undefined ? { ...r, timeoutMs } : r, path, max, onProgress),
  };
}

export interface World {
  readonly config: Config;
  readonly configWarnings: readonly string[];
  readonly paths: Paths;
  readonly clock: Clock;
  readonly random: Random;
  readonly runner: Runner;
  readonly http: HttpClient;
  readonly retry: RetryPolicy;
  readonly logger: Logger & { reopen(): void; flush(): void; close(): Promise<void> };
  /** Download and command progress: log lines, and a live line when stderr is a terminal. */
  readonly progress: Progress;
  readonly wireServerUrl: string;
  readonly hostPluginUrl: string;
  /** The WireServer IP/host given to handlers as AZURE_GUEST_AGENT_WIRE_PROTOCOL_ADDRESS. */
  readonly wireServerAddress: string;
}

/** The WireServerEndpoint file in the lib dir, else the well-known address. */
async function discoverEndpoint(libDir: string): Promise<string> {
  try {
    const text = (await readFile(join(libDir, 'WireServerEndpoint'), 'utf8')).trim();
    if (/^[0-9a-fA-F.:]+$/.test(text)) return text;
  } catch {
    // Missing or unreadable: upstream falls back to the hard-coded address too.
  }
  return KNOWN_WIRESERVER_IP;
}

export async function composeWorld(opts: {
  configurationPath?: string; thread: string; prefix: string; verbose?: boolean; env?: NodeJS.ProcessEnv;
  /** Where the live progress line goes when it is a terminal (default process.stderr). */
  stderr?: LiveStream;
}): Promise<World> {
  const env = opts.env ?? process.env;
  const over = overridesFromEnv(env);
  const { config, warnings } = await loadConfig(opts.configurationPath ?? DEFAULT_CONF_PATH);
  const paths: Paths = {
    libDir: config['Lib.Dir'],
    extLogDir: config['Extension.LogDir'],
    agentLogFile: over.agentLogFile ?? DEFAULT_AGENT_LOG,
    confPath: opts.configurationPath ?? DEFAULT_CONF_PATH,
    pidFile: config['Pid.File'],
  };
  // Only by hand in a terminal: under systemd stderr is the journal, under `waagent emulate` and in tests a pipe.
  const live = liveLineFor(opts.stderr ?? process.stderr);
  const logger = createLogger({
    file: paths.agentLogFile,
    console: over.console ?? true,
    verbose: opts.verbose || config['Logs.Verbose'],
    thread: opts.thread,
    prefix: opts.prefix,
    live,
  });
  const progress = new Progress({ clock: systemClock, live, ...(over.progressMs !== undefined ? { options: progressEvery(over.progressMs.downloadMs, over.progressMs.commandMs) } : {}) });
  const ep = over.wireServerUrl ? new URL(over.wireServerUrl).hostname : await discoverEndpoint(paths.libDir);
  const wireServerUrl = over.wireServerUrl ?? `http://${ep}`;
  const hostPluginUrl = over.hostPluginUrl ?? `http://${ep}:32526`;
  const http = createProxyRoutingClient({
    direct: createHttpClient(),
    settings: { host: config['HttpProxy.Host'] ?? null, port: config['HttpProxy.Port'], env },
    fabricOrigins: [wireServerUrl, hostPluginUrl],
    onProxy: onceEach((proxy) => logger.info(`Using HTTP proxy ${describeProxy(proxy)} for storage requests (WireServer and HostGAPlugin are never proxied)`)),
  });
  const retry: RetryPolicy = over.retryDelayMs === undefined ? DEFAULT_RETRY : { ...DEFAULT_RETRY, retryDelayMs: over.retryDelayMs, throttleDelayMs: over.retryDelayMs };
  return {
    config, configWarnings: warnings, paths, clock: systemClock, random: { random: Math.random }, runner: createRunner(),
    http: over.httpTimeoutMs === undefined ? http : withDefaultTimeout(http, over.httpTimeoutMs), retry, logger, progress, wireServerUrl, hostPluginUrl, wireServerAddress: ep,
  };
}

/** Calls `fn` the first time each distinct key is seen (a log line per proxy, not per request). */
function onceEach(fn: (key: string) => void): (key: string) => void {
  const seen = new Set<string>();
  return (key) => {
    if (seen.has(key)) return;
    seen.add(key);
    fn(key);
  };
}
