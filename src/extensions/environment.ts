// HandlerEnvironment.json (extension-handlers.md §5). Shims grep this file, so key order and spacing are a contract.
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic-write.js';
import type { WriteHealth } from '../state/write-health.js';
import { handlerDir, handlerLogDir, type Paths } from '../state/paths.js';
import { PyFloat, pyJsonDumps } from '../util/py-json.js';

export const HANDLER_ENVIRONMENT_FILE = 'HandlerEnvironment.json';

export interface HandlerEnvironment {
  /** `<Publisher>.<Type>` */
  readonly name: string;
  readonly logFolder: string;
  readonly configFolder: string;
  readonly statusFolder: string;
  readonly heartbeatFile: string;
  readonly eventsFolder: string;
}

/** The folders of handler `name` at `version`, as §1 lays them out. */
export function handlerEnvironmentFor(paths: Paths, name: string, version: string): HandlerEnvironment {
  const base = handlerDir(paths, name, version);
  const logFolder = handlerLogDir(paths, name);
  return {
    name,
    logFolder,
    configFolder: join(base, 'config'),
    statusFolder: join(base, 'status'),
    heartbeatFile: join(base, 'heartbeat.log'),
    eventsFolder: join(logFolder, 'events'),
  };
}

/** Exact file content: Python `json.dumps` of the one-element array, `version` the float 1.0. */
export function handlerEnvironmentJson(env: HandlerEnvironment): string {
  return pyJsonDumps([
    {
      name: env.name,
      version: new PyFloat(1),
      handlerEnvironment: {
        logFolder: env.logFolder,
        configFolder: env.configFolder,
        statusFolder: env.statusFolder,
        heartbeatFile: env.heartbeatFile,
        // The Extension Telemetry Pipeline is always supported; the preview key stays for older extensions.
        eventsFolder: env.eventsFolder,
        eventsFolder_preview: env.eventsFolder,
      },
    },
  ]);
}

/** Writes `<baseDir>/HandlerEnvironment.json` atomically; returns its path. */
export async function writeHandlerEnvironment(baseDir: string, env: HandlerEnvironment, health?: WriteHealth): Promise<string> {
  const file = join(baseDir, HANDLER_ENVIRONMENT_FILE);
  // Rewritten at every start of the agent and every install: not durable (atomic-write.ts).
  await writeFileAtomic(file, handlerEnvironmentJson(env), { durable: false, health: health });
  return file;
}
