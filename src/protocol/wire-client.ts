// WireServer client: version check, goal state and its documents, health report, telemetry.
import type { Clock, Logger } from '../deps.js';
import { ProtocolError } from '../errors.js';
import { WIRE_AGENT_NAME, WIRE_PROTOCOL_VERSION, AGENT_VERSION } from '../version.js';
import { bodyText, expectOk, requestWithRetry, type HttpClient, type RetryPolicy, DEFAULT_RETRY } from './http.js';
import type { ExtensionsGoalState, HostingEnvironment, WireGoalState } from './goal-state.js';
import { parseVersions, isProtocolSupported } from './schemas/versions.js';
import { parseGoalState, MissingRoleInstanceError } from './schemas/goal-state.js';
import { parseHostingEnvironment } from './schemas/hosting-env.js';
import { parseExtensionsConfig } from './schemas/extensions-config.js';
import { buildHealthReport } from './health-xml.js';

export interface WireClientDeps {
  readonly http: HttpClient;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Base URL of the WireServer, e.g. http://168.63.129.16 */
  readonly baseUrl: string;
  readonly retry?: RetryPolicy;
}

export interface FetchedDocument<T> {
  readonly value: T;
  readonly text: string;
}

export function basicHeaders(): Record<string, string> {
  return {
    'x-ms-agent-name': WIRE_AGENT_NAME,
    'x-ms-version': WIRE_PROTOCOL_VERSION,
    'user-agent': `${WIRE_AGENT_NAME}/${AGENT_VERSION}`,
    connection: 'close',
  };
}

/**
 * The last text and value of one kind of document. A poll every 6 s mostly sees the same goal state: comparing
 * strings is far cheaper than XML validation, parsing and zod, and the parsed value is readonly, so it is reused.
 */
class LastParsed<T> {
  private text: string | null = null;
  private key = '';
  private value: T | undefined;

  parse(text: string, key: string, parse: () => T): T {
    if (this.text === text && this.key === key) return this.value as T;
    const value = parse();
    this.text = text;
    this.key = key;
    this.value = value;
    return value;
  }
}

export class WireClient {
  readonly baseUrl: string;
  private readonly lastGoalState = new LastParsed<WireGoalState>();
  private readonly lastHostingEnv = new LastParsed<HostingEnvironment>();
  private readonly lastExtensionsConfig = new LastParsed<ExtensionsGoalState>();
  /** The goal-state GET in flight: a second caller (health report, identity refresh) shares it instead of sending another. */
  private goalStateInFlight: Promise<FetchedDocument<WireGoalState>> | null = null;

  constructor(private readonly deps: WireClientDeps) {
    this.baseUrl = deps.baseUrl.replace(/\/+$/, '');
  }

  private get retry(): RetryPolicy {
    return this.deps.retry ?? DEFAULT_RETRY;
  }

  private async getText(url: string, what: string, headers: Record<string, string>, signal?: AbortSignal): Promise<string> {
    const res = await requestWithRetry(this.deps.http, this.deps.clock, { method: 'GET', url, headers, ...(signal ? { signal } : {}) }, this.retry);
    return bodyText(expectOk(res, what, url));
  }

  /** GET /?comp=versions (no x-ms-* headers) and check that 2012-11-30 is advised. */
  async checkVersion(signal?: AbortSignal): Promise<void> {
    const text = await this.getText(`${this.baseUrl}/?comp=versions`, 'Wireserver', { 'user-agent': `${WIRE_AGENT_NAME}/${AGENT_VERSION}`, connection: 'close' }, signal);
    const v = parseVersions(text);
    if (!isProtocolSupported(v, WIRE_PROTOCOL_VERSION)) {
      throw new ProtocolError(`Agent supported wire protocol version: ${WIRE_PROTOCOL_VERSION} was not advised by Fabric.`);
    }
  }

  /**
   * GET /machine/?comp=goalstate; repeats up to 6 times 0.5 s apart when RoleInstance is missing. Callers that ask
   * while a GET is in flight get its result (at start-up the health report and the first poll ask 2 ms apart); they
   * all share one process-wide abort signal, so sharing the request never cancels a caller that wanted to go on.
   */
  getGoalState(signal?: AbortSignal): Promise<FetchedDocument<WireGoalState>> {
    if (this.goalStateInFlight) return this.goalStateInFlight;
    const p = this.fetchGoalState(signal).finally(() => {
      if (this.goalStateInFlight === p) this.goalStateInFlight = null;
    });
    this.goalStateInFlight = p;
    return p;
  }

  private async fetchGoalState(signal?: AbortSignal): Promise<FetchedDocument<WireGoalState>> {
    const url = `${this.baseUrl}/machine/?comp=goalstate`;
    for (let attempt = 1; ; attempt++) {
      const text = await this.getText(url, 'Wireserver', basicHeaders(), signal);
      try {
        return { value: this.lastGoalState.parse(text, '', () => parseGoalState(text)), text };
      } catch (err) {
        if (!(err instanceof MissingRoleInstanceError) || attempt >= 6) throw err;
        await this.deps.clock.sleep(500, signal);
      }
    }
  }

  async getHostingEnvironment(url: string, signal?: AbortSignal): Promise<FetchedDocument<HostingEnvironment>> {
    const text = await this.getText(url, 'Wireserver', basicHeaders(), signal);
    return { value: this.lastHostingEnv.parse(text, '', () => parseHostingEnvironment(text)), text };
  }

  async getSharedConfig(url: string, signal?: AbortSignal): Promise<string> {
    return this.getText(url, 'Wireserver', basicHeaders(), signal);
  }

  async getExtensionsConfig(url: string, incarnation: string, signal?: AbortSignal): Promise<FetchedDocument<ExtensionsGoalState>> {
    const text = await this.getText(url, 'Wireserver', basicHeaders(), signal);
    return { value: this.lastExtensionsConfig.parse(text, incarnation, () => parseExtensionsConfig(text, incarnation)), text };
  }

  /** GET with the "encrypted" header set (certificates, remote access). */
  async getEncrypted(url: string, certBase64: string, cipher: string, signal?: AbortSignal): Promise<string> {
    const headers = { ...basicHeaders(), 'x-ms-guest-agent-public-x509-cert': certBase64, 'x-ms-cipher-name': cipher };
    return this.getText(url, 'Wireserver', headers, signal);
  }

  /** POST /machine?comp=health (provisioning status; upstream: 30 attempts, 15 s base delay). */
  async reportHealth(args: Parameters<typeof buildHealthReport>[0], signal?: AbortSignal): Promise<void> {
    const url = `${this.baseUrl}/machine?comp=health`;
    const body = buildHealthReport(args);
    const policy: RetryPolicy = { ...this.retry, maxAttempts: 30, retryDelayMs: this.retry.retryDelayMs * 15 };
    const res = await requestWithRetry(this.deps.http, this.deps.clock, { method: 'POST', url, body, headers: { ...basicHeaders(), 'content-type': 'text/xml;charset=utf-8' }, ...(signal ? { signal } : {}) }, policy);
    expectOk(res, 'Health report', url);
  }

  /** POST /machine?comp=telemetrydata: at most 3 attempts, 8 s throttle delay, no 25-attempt rule. */
  async sendTelemetry(body: string, signal?: AbortSignal): Promise<void> {
    const url = `${this.baseUrl}/machine?comp=telemetrydata`;
    const policy: RetryPolicy = { ...this.retry, maxAttempts: 3, throttleDelayMs: this.retry.throttleDelayMs * 8, throttledMinAttempts: 3 };
    const res = await requestWithRetry(this.deps.http, this.deps.clock, { method: 'POST', url, body, headers: { ...basicHeaders(), 'content-type': 'text/xml;charset=utf-8' }, ...(signal ? { signal } : {}) }, policy);
    expectOk(res, 'Telemetry', url);
  }
}
