// The control API under /__emulator/ on the WireServer port, so a standalone emulator can be driven with curl.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { Fabric } from './fabric.js';
import { FAULT_CLASSES, MAX_DELAY_MS, MAX_FAULT_TIMEOUT_MS, RandomFaults, REQUEST_KINDS } from './faults.js';
import { HttpError, readBody, sendJson } from './http-util.js';
import { parseScenario, type Scenario } from './scenario.js';
import { CONTROL_PREFIX } from './urls.js';

const MAX_CONTROL_BODY = 1024 * 1024;

const faultSchema = z.object({
  path: z.string().min(1).max(2000).optional(),
  pathRegex: z.string().min(1).max(500).optional(),
  method: z.string().max(10).optional(),
  server: z.enum(['wire', 'hostplugin']).optional(),
  status: z.number().int().min(100).max(599).optional(),
  body: z.string().max(1024 * 1024).optional(),
  count: z.number().int().min(1).max(100_000),
  delayMs: z.number().int().min(0).max(MAX_DELAY_MS).optional(),
  reset: z.boolean().optional(),
  slowBodyMs: z.number().int().min(0).max(MAX_DELAY_MS).optional(),
});

const randomFaultsSchema = z.strictObject({
  seed: z.number().int().min(0).max(2 ** 32 - 1),
  rates: z.partialRecord(z.enum(REQUEST_KINDS), z.number().min(0).max(1)),
  weights: z.partialRecord(z.enum(FAULT_CLASSES), z.number().min(0).max(1000)).optional(),
  timeoutMs: z.number().int().min(0).max(MAX_FAULT_TIMEOUT_MS).optional(),
  slowBodyMs: z.number().int().min(0).max(MAX_FAULT_TIMEOUT_MS).optional(),
});

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = (await readBody(req, MAX_CONTROL_BODY)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'control API: body is not JSON', 'InvalidInput');
  }
}

/** Relative package paths in a published scenario are taken relative to the emulator's working directory. */
function absolutize(s: Scenario): Scenario {
  const abs = (p: string | undefined): string | undefined => (p === undefined || isAbsolute(p) ? p : resolve(p));
  if (!s.extensions) return s;
  return {
    ...s,
    extensions: s.extensions.map((e) => ({
      ...e,
      ...(e.packageDir !== undefined ? { packageDir: abs(e.packageDir) } : {}),
      ...(e.packageZip !== undefined ? { packageZip: abs(e.packageZip) } : {}),
    })),
  };
}

export async function handleControl(fabric: Fabric, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://emulator');
  const route = `${req.method ?? ''} ${url.pathname.slice(CONTROL_PREFIX.length)}`;
  const rec = fabric.recorder;
  switch (route) {
    case 'GET status': {
      const latest = rec.statuses.at(-1);
      if (!latest) throw new HttpError(404, 'no status blob uploaded yet', 'BlobNotFound');
      return sendJson(res, 200, latest.status ?? { parseError: latest.parseError, text: latest.text });
    }
    case 'GET statuses': {
      const list = rec.statuses.map(({ text: _text, status: _status, ...meta }) => meta);
      return sendJson(res, 200, list);
    }
    case 'GET requests': {
      const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 100) || 100, 1), 5000);
      return sendJson(res, 200, rec.requests.slice(-limit));
    }
    case 'GET health':
      return sendJson(res, 200, { reports: rec.health, healthService: rec.healthService });
    case 'GET telemetry':
      return sendJson(res, 200, rec.telemetry);
    case 'GET goalstate': {
      const { statusBlobUrl: _url, ...info } = fabric.info();
      return sendJson(res, 200, info);
    }
    case 'GET faults':
      return sendJson(res, 200, fabric.faults.list());
    case 'POST publish': {
      let scenario: Scenario;
      try {
        scenario = absolutize(parseScenario(await readJson(req), 'control API publish'));
        return sendJson(res, 200, { incarnation: fabric.publish(scenario) });
      } catch (err) {
        if (err instanceof HttpError) throw err;
        throw new HttpError(400, err instanceof Error ? err.message : String(err), 'InvalidInput');
      }
    }
    case 'POST fault': {
      const r = faultSchema.safeParse(await readJson(req));
      if (!r.success) throw new HttpError(400, `control API fault: ${r.error.issues[0]?.message ?? 'invalid'}`, 'InvalidInput');
      const { path, pathRegex, ...rest } = r.data;
      if ((path === undefined) === (pathRegex === undefined)) throw new HttpError(400, 'control API fault: give exactly one of path, pathRegex', 'InvalidInput');
      let matcher: string | RegExp;
      try {
        matcher = path ?? new RegExp(pathRegex as string);
      } catch {
        throw new HttpError(400, 'control API fault: invalid pathRegex', 'InvalidInput');
      }
      try {
        return sendJson(res, 200, { id: fabric.faults.add({ ...rest, path: matcher }).id });
      } catch (err) {
        throw new HttpError(400, `control API fault: ${err instanceof Error ? err.message : String(err)}`, 'InvalidInput');
      }
    }
    case 'GET randomFaults': {
      const rf = fabric.randomFaults;
      return sendJson(res, 200, rf ? { config: rf.config, counts: rf.counts() } : { config: null });
    }
    case 'POST randomFaults': {
      const r = randomFaultsSchema.safeParse(await readJson(req));
      if (!r.success) throw new HttpError(400, `control API randomFaults: ${r.error.issues[0]?.path.join('.') ?? ''} ${r.error.issues[0]?.message ?? 'invalid'}`, 'InvalidInput');
      fabric.randomFaults = new RandomFaults(r.data);
      return sendJson(res, 200, { config: fabric.randomFaults.config });
    }
    case 'DELETE randomFaults':
      fabric.randomFaults = null;
      return sendJson(res, 200, { cleared: true });
    case 'DELETE faults':
      fabric.faults.clear();
      return sendJson(res, 200, { cleared: true });
    default:
      throw new HttpError(404, `unknown control route ${route}`, 'ResourceNotFound');
  }
}
