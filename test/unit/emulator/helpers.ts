// Shared helpers for the emulator tests: start/stop on 127.0.0.1:0 and build the agent's requests by hand.
import { XMLParser } from 'fast-xml-parser';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmulator, type Emulator } from '../../../src/emulator/server.js';
import { sampleHandlerDir } from '../../../src/emulator/cli.js';
import type { Scenario } from '../../../src/emulator/scenario.js';

export const BASIC = { 'x-ms-agent-name': 'WALinuxAgent', 'x-ms-version': '2012-11-30' } as const;
export const HGAP_VERSION = '2015-09-01';

export function sampleScenario(extra: Partial<Scenario> = {}): Scenario {
  return {
    extensions: [
      { name: 'Test.Sample', version: '1.0.0', state: 'enabled', seqNo: 3, publicSettings: { message: 'hi & <bye>' }, packageDir: sampleHandlerDir() },
    ],
    ...extra,
  };
}

export async function withEmulator(scenario: Scenario, fn: (emu: Emulator) => Promise<void>): Promise<void> {
  const emu = await createEmulator({ host: '127.0.0.1', wirePort: 0, hostPluginPort: 0, scenario });
  try {
    await fn(emu);
  } finally {
    await emu.close();
  }
}

export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'emu-test-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, ignoreDeclaration: true });

export function parseXml(text: string): Record<string, any> {
  return parser.parse(text) as Record<string, any>;
}

export async function getText(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { headers });
  return { status: res.status, text: await res.text() };
}

/** The four documents an agent fetches for a goal state, by URL taken from the goal state itself. */
export async function goalStateUrls(emu: Emulator): Promise<Record<string, string>> {
  const gs = await getText(`${emu.wireUrl}/machine/?comp=goalstate`, BASIC);
  const cfg = parseXml(gs.text).GoalState.Container.RoleInstanceList.RoleInstance.Configuration;
  return cfg as Record<string, string>;
}

export function xmsDate(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Direct status upload as upstream does it (wire-protocol.md §11): BlockBlob, or PageBlob create + zero-padded pages. */
export async function uploadDirect(sasUrl: string, json: string, type: 'BlockBlob' | 'PageBlob'): Promise<number[]> {
  const data = Buffer.from(json, 'utf8');
  const common = { 'x-ms-date': xmsDate(), 'x-ms-version': '2014-02-14' };
  if (type === 'BlockBlob') {
    const r = await fetch(sasUrl, { method: 'PUT', body: data, headers: { ...common, 'x-ms-blob-type': 'BlockBlob' } });
    return [r.status];
  }
  const size = Math.ceil(data.length / 512) * 512;
  const statuses: number[] = [];
  const create = await fetch(sasUrl, {
    method: 'PUT', body: Buffer.alloc(0),
    headers: { ...common, 'x-ms-blob-type': 'PageBlob', 'x-ms-blob-content-length': String(size) },
  });
  statuses.push(create.status);
  const page = Buffer.alloc(size);
  data.copy(page);
  const w = await fetch(`${sasUrl}&comp=page`, {
    method: 'PUT', body: page,
    headers: { ...common, 'x-ms-range': `bytes=0-${size - 1}`, 'x-ms-page-write': 'update' },
  });
  statuses.push(w.status);
  return statuses;
}

/** HostGAPlugin /status envelope (hostgaplugin.md §4), sorted keys like upstream. */
export function statusEnvelope(requestUri: string, headers: Array<[string, string]>, content?: Buffer): string {
  return JSON.stringify({
    ...(content !== undefined ? { content: content.toString('base64') } : {}),
    headers: headers.map(([headerName, headerValue]) => ({ headerName, headerValue })),
    requestUri,
  });
}

export function hgapHeaders(emu: Emulator, extra: Record<string, string> = {}): Record<string, string> {
  const gs = emu.goalState();
  return { 'x-ms-version': HGAP_VERSION, 'x-ms-containerid': gs.containerId, 'x-ms-host-config-name': gs.configName, ...extra };
}
