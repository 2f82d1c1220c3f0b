// VmSettingsFetcher against a scripted HTTP client: request headers, ETag cache, support state machine, fast_track.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock, Logger } from '../../../src/deps.js';
import { GoneError, ProtocolError } from '../../../src/errors.js';
import { HostPluginClient } from '../../../src/protocol/host-plugin.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../../../src/protocol/http.js';
import { VmSettingsError } from '../../../src/protocol/vm-settings-client.js';
import type { Paths } from '../../../src/state/paths.js';
import { FAST_TRACK_FILE, VmSettingsFetcher } from '../../../src/agent/vm-settings-fetcher.js';

const H = 3600_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function vmDoc(o: Record<string, unknown> = {}): string {
  return JSON.stringify({
    hostGAPluginVersion: '1.0.8.159', inSvdSeqNo: 4, extensionsLastModifiedTickCount: '638512345678901299',
    extensionGoalStatesSource: 'FastTrack', extensionGoalStates: [], ...o,
  });
}

const ok = (text: string, etag: string | null = 'E1'): HttpResponse => ({ status: 200, headers: etag === null ? {} : { etag }, body: Buffer.from(text) });
const status = (code: number, body = ''): HttpResponse => ({ status: code, headers: {}, body: Buffer.from(body) });

interface Rig {
  fetcher: VmSettingsFetcher;
  requests: HttpRequest[];
  script: Array<HttpResponse | Error>;
  lines: string[];
  clock: { t: number } & Clock;
  libDir: string;
  refreshes: number;
}

async function rig(t: { after(fn: () => Promise<void>): void }, opts: { enabled?: boolean; fastTrackFile?: string } = {}): Promise<Rig> {
  const libDir = await mkdtemp(join(tmpdir(), 'vmsettings-test-'));
  t.after(() => rm(libDir, { recursive: true, force: true }));
  if (opts.fastTrackFile !== undefined) await writeFile(join(libDir, FAST_TRACK_FILE), opts.fastTrackFile);
  const r = { requests: [] as HttpRequest[], script: [] as Array<HttpResponse | Error>, lines: [] as string[], refreshes: 0, libDir } as Rig;
  const http: HttpClient = {
    send: async (req) => {
      r.requests.push(req);
      const next = r.script.shift();
      if (next === undefined) throw new Error(`unexpected request ${req.url}`);
      if (next instanceof Error) throw next;
      return next;
    },
    sendToFile: async () => {
      throw new Error('not used');
    },
  };
  const clock = { t: 1000, now: () => clock.t, sleep: async () => undefined };
  r.clock = clock;
  const log = (level: string) => (m: string) => void r.lines.push(`${level} ${m}`);
  const logger = { verbose: log('VERBOSE'), info: log('INFO'), warn: log('WARN'), error: log('ERROR') } as unknown as Logger;
  const hostPlugin = new HostPluginClient({ http, clock, logger, baseUrl: 'http://127.0.0.1:9' });
  hostPlugin.setIdentity('container-1', 'config-1');
  const paths: Paths = { libDir, extLogDir: libDir, agentLogFile: join(libDir, 'log'), confPath: join(libDir, 'conf'), pidFile: join(libDir, 'pid') };
  r.fetcher = new VmSettingsFetcher({
    hostPlugin, clock, logger, paths, enabled: opts.enabled ?? true,
    refreshIdentity: async () => {
      r.refreshes++;
      hostPlugin.setIdentity('container-2', 'config-2');
    },
  });
  return r;
}

const exists = (p: string) => stat(p).then(() => true, () => false);

test('first request: identity headers, a new correlation id, 10 s, no If-None-Match; then If-None-Match and 304', async (t) => {
  const r = await rig(t);
  r.script.push(ok(vmDoc(), 'E1'), status(304), status(304));
  const first = await r.fetcher.fetch();
  assert.equal(first.updated, true);
  assert.equal(first.goalState?.id, 'etag_E1');
  assert.equal(first.goalState?.source, 'FastTrack');
  assert.equal(first.goalState?.inSvdSeqNo, '4');
  const req = r.requests[0]!;
  assert.equal(req.method, 'GET');
  assert.equal(req.url, 'http://127.0.0.1:9/vmSettings');
  assert.equal(req.timeoutMs, 10_000);
  assert.equal(req.headers?.['x-ms-version'], '2015-09-01');
  assert.equal(req.headers?.['x-ms-containerid'], 'container-1');
  assert.equal(req.headers?.['x-ms-host-config-name'], 'config-1');
  assert.match(req.headers?.['x-ms-client-correlationid'] ?? '', UUID);
  assert.equal(req.headers?.['if-none-match'], undefined);
  assert.equal(r.fetcher.advertised, true);
  assert.equal(await readFile(join(r.libDir, FAST_TRACK_FILE), 'utf8'), '{"timestamp": "2024-05-13T22:02:47.890129Z"}');

  const second = await r.fetcher.fetch();
  assert.equal(second.updated, false);
  assert.equal(second.goalState, first.goalState, 'the cached document');
  assert.equal(r.requests[1]!.headers?.['if-none-match'], 'E1');
  assert.notEqual(r.requests[1]!.headers?.['x-ms-client-correlationid'], req.headers?.['x-ms-client-correlationid']);
  // A forced refresh asks without If-None-Match.
  await r.fetcher.fetch({ force: true });
  assert.equal(r.requests[2]!.headers?.['if-none-match'], undefined);
  assert.match(r.lines.join('\n'), /INFO Fetched new vmSettings \[HostGAPlugin correlation ID: [0-9a-f-]{36} eTag: E1 source: FastTrack\]/);
  assert.match(r.lines.join('\n'), /INFO HostGAPlugin version: 1\.0\.8\.159/);
});

test('404 from a plugin of unknown support: not supported, logged once, asked again only after 6 hours', async (t) => {
  const r = await rig(t);
  r.script.push(status(404));
  assert.deepEqual(await r.fetcher.fetch(), { goalState: null, updated: false, supportStopped: false });
  assert.equal(r.fetcher.advertised, false);
  r.clock.t += 6 * H - 1;
  await r.fetcher.fetch();
  assert.equal(r.requests.length, 1, 'no request within 6 hours');
  r.clock.t += 1;
  r.script.push(ok(vmDoc()));
  assert.equal((await r.fetcher.fetch()).updated, true);
  assert.equal(r.requests.length, 2);
  assert.equal(r.lines.filter((l) => l.includes('does not support the vmSettings API. Will not use FastTrack.')).length, 1);
  assert.match(r.lines.join('\n'), /INFO HostGAPlugin 0\.0\.0\.0 does not support the vmSettings API/);
});

test('fast_track.json at start means supported: a 404 then means support stopped', async (t) => {
  const r = await rig(t, { fastTrackFile: '{"timestamp": "2024-05-13T22:02:47.890129Z"}' });
  assert.equal(await r.fetcher.lastFastTrackTimestamp(), '2024-05-13T22:02:47.890129Z');
  r.script.push(status(404));
  assert.deepEqual(await r.fetcher.fetch(), { goalState: null, updated: false, supportStopped: true });
  assert.match(r.lines.join('\n'), /WARN The HostGAPlugin stopped supporting the vmSettings API/);
  assert.equal(r.fetcher.advertised, false);
  await r.fetcher.clearFastTrackState();
  assert.equal(await exists(join(r.libDir, FAST_TRACK_FILE)), false);
});

test('a plugin older than 1.0.8.133 does not support vmSettings', async (t) => {
  const r = await rig(t);
  r.script.push(ok(vmDoc({ hostGAPluginVersion: '1.0.8.132' })));
  assert.deepEqual(await r.fetcher.fetch(), { goalState: null, updated: false, supportStopped: false });
  assert.match(r.lines.join('\n'), /HostGAPlugin 1\.0\.8\.132 does not support the vmSettings API/);
  assert.equal(r.fetcher.support?.support, 'unsupported');
});

test('Fabric-sourced vmSettings are ignored, yet count as support, and clear fast_track.json', async (t) => {
  const r = await rig(t, { fastTrackFile: '{"timestamp": "2024-05-13T22:02:47.890129Z"}' });
  r.script.push(ok(vmDoc({ extensionGoalStatesSource: 'Fabric' }), 'F1'), status(304));
  assert.deepEqual(await r.fetcher.fetch(), { goalState: null, updated: false, supportStopped: false });
  assert.equal(r.fetcher.advertised, true);
  assert.equal(await exists(join(r.libDir, FAST_TRACK_FILE)), false);
  assert.match(r.lines.join('\n'), /The vmSettings originated via Fabric; will ignore them\./);
  assert.deepEqual(await r.fetcher.fetch(), { goalState: null, updated: false, supportStopped: false }, 'cached Fabric ones too');
  assert.equal(r.requests[1]!.headers?.['if-none-match'], 'F1');
});

test('410: the identity is refreshed and the request repeated once', async (t) => {
  const r = await rig(t);
  r.script.push(status(410), ok(vmDoc()));
  assert.equal((await r.fetcher.fetch()).updated, true);
  assert.equal(r.refreshes, 1);
  assert.equal(r.requests[1]!.headers?.['x-ms-containerid'], 'container-2');
  r.script.push(status(410), status(410));
  await assert.rejects(r.fetcher.fetch(), GoneError);
  assert.equal(r.requests.length, 4, 'only one repeat');
});

test('errors fail the update with upstream messages; the last good ETag stays', async (t) => {
  const r = await rig(t);
  r.script.push(ok(vmDoc(), 'GOOD'));
  await r.fetcher.fetch();
  const cases: Array<[HttpResponse | Error, RegExp, string]> = [
    [ok(vmDoc(), null), /: The vmSettings response does not include an Etag header$/, 'HttpError'],
    [status(502, 'boom'), /\[Internal error in HostGAPlugin\] \[HTTP Failed\] \[502\] boom/, 'ServerError'],
    [status(500), /\[HTTP Failed\] \[500\]/, 'ServerError'],
    [status(400, 'bad'), /\[HTTP Failed\] \[400\] bad/, 'ClientError'],
    [new ProtocolError('[HTTP Failed] GET x -- timed out after 10000 ms', { retryable: true, code: 'WAA_PROTOCOL_TIMEOUT' }), /timed out/, 'Timeout'],
    [new ProtocolError('[HTTP Failed] GET x -- ECONNREFUSED', { retryable: true }), /ECONNREFUSED/, 'RequestFailed'],
  ];
  for (const [answer, message, kind] of cases) {
    r.script.push(answer);
    await assert.rejects(r.fetcher.fetch(), (e: unknown) => {
      assert.ok(e instanceof VmSettingsError, String(e));
      assert.match(e.message, /^GET vmSettings \[correlation ID: [0-9a-f-]{36} eTag: GOOD\]: /);
      assert.match(e.message, message);
      assert.equal(e.kind, kind);
      return true;
    });
  }
  // A parse error (here: state not enabled/disabled/uninstall) fails too; the next request still sends the good ETag.
  r.script.push(ok(vmDoc({ extensionGoalStates: [{ name: 'A.B', version: '1.0', state: 'bogus' }] }), 'BAD'), status(304));
  await assert.rejects(r.fetcher.fetch(), (e: unknown) => e instanceof ProtocolError && e.code === 'WAA_PROTOCOL_PARSE' && /etag BAD/.test(e.message));
  const again = await r.fetcher.fetch();
  assert.equal(again.goalState?.id, 'etag_GOOD');
  assert.equal(r.requests.at(-1)!.headers?.['if-none-match'], 'GOOD');
});

test('disabled by Debug.EnableFastTrack=n: never asks, never advertises', async (t) => {
  const r = await rig(t, { enabled: false, fastTrackFile: '{"timestamp": "2024-05-13T22:02:47.890129Z"}' });
  assert.deepEqual(await r.fetcher.fetch(), { goalState: null, updated: false, supportStopped: false });
  assert.equal(r.requests.length, 0);
  assert.equal(r.fetcher.advertised, false);
  assert.equal(await r.fetcher.lastFastTrackTimestamp(), '2024-05-13T22:02:47.890129Z');
});
