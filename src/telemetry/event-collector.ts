// Collects *.tld event files from <lib>/events: the agent's own (sent as written) and legacy ones dropped by
// extensions (completed with the agent's common params), deleting each (wire-protocol.md §12).
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, Logger } from '../deps.js';
import { errorMessage } from '../errors.js';
import { redactSecrets } from '../log/redact.js';
import type { AgentEvents } from './agent-events.js';
import type { CommonParams, EventOrigin } from './common-params.js';
import { EVENT_FILE_RE, MAX_EVENT_FILE_BYTES, parseEventFile, readParsedFile } from './event-file.js';
import { Op, type TelemetryEvent, type TelemetryParam } from './event.js';

export interface EventCollectorDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** <lib>/events */
  readonly dir: string;
  readonly common: CommonParams;
  readonly enqueue: (e: TelemetryEvent) => void;
  /** Collection errors are reported as a CollectEventErrors event. */
  readonly events?: AgentEvents;
  /** Names that mark an event as the agent's (upstream: Name == "WALinuxAgent"). */
  readonly agentNames: readonly string[];
  readonly origin?: EventOrigin;
  readonly fileRetryDelayMs?: number;
  readonly signal?: AbortSignal;
}

export interface CollectResult {
  readonly collected: number;
  readonly errors: number;
}

/** The parameters an extension owns in a legacy event; the agent supplies the rest. */
const EXTENSION_PARAMS = new Set(['Name', 'Version', 'Operation', 'OperationSuccess', 'Message', 'Duration']);
const MAX_ERRORS_TO_REPORT = 5;

/** One scan; never throws. */
export async function collectAgentEvents(deps: EventCollectorDeps): Promise<CollectResult> {
  let files: string[];
  try {
    files = (await readdir(deps.dir)).filter((f) => EVENT_FILE_RE.test(f)).sort();
  } catch {
    return { collected: 0, errors: 0 };
  }
  const errors: string[] = [];
  let errorCount = 0;
  let collected = 0;
  for (const f of files) {
    if (deps.signal?.aborted) break;
    const path = join(deps.dir, f);
    try {
      const st = await lstat(path);
      if (!st.isFile()) continue;
      const event = await readParsedFile(path, MAX_EVENT_FILE_BYTES, (t) => parseEventFile(t, f), deps.clock, {
        delayMs: deps.fileRetryDelayMs ?? 1000, ...(deps.signal ? { signal: deps.signal } : {}),
      });
      const isLegacy = EVENT_FILE_RE.exec(f)?.[1] === undefined;
      deps.enqueue(isLegacy ? completeLegacyEvent(deps, event, st.mtimeMs) : redactMessage(event));
      collected++;
    } catch (err) {
      if (deps.signal?.aborted) break;
      errorCount++;
      if (errors.length < MAX_ERRORS_TO_REPORT) errors.push(errorMessage(err));
    } finally {
      if (!deps.signal?.aborted) await rm(path, { force: true, recursive: true }).catch(() => undefined);
    }
  }
  if (errorCount > 0) {
    deps.logger.warn(`Dropped ${errorCount} event file(s) from ${deps.dir}; first: ${errors[0]}`);
    deps.events?.add({
      op: Op.CollectEventErrors, success: false,
      message: `DroppedEventsCount: ${errorCount}\nReasons (first ${MAX_ERRORS_TO_REPORT} errors): ${errors.join(', ')}`,
    });
  }
  if (collected > 0) deps.logger.verbose(`Collected ${collected} event file(s) from ${deps.dir}`);
  return { collected, errors: errorCount };
}

function redactMessage(e: TelemetryEvent): TelemetryEvent {
  return {
    ...e,
    parameters: e.parameters.map((p) => (p.name === 'Message' && typeof p.value === 'string' ? { name: p.name, value: redactSecrets(p.value) } : p)),
  };
}

/**
 * A legacy file: an extension's event keeps only the extension's own params, then gets the common params;
 * an agent event (Name is the agent's) gets the common params it lacks.
 */
export function completeLegacyEvent(deps: Pick<EventCollectorDeps, 'common' | 'agentNames' | 'origin'>, event: TelemetryEvent, fileTimeMs: number): TelemetryEvent {
  const e = redactMessage(event);
  const origin = deps.origin ?? { pid: process.pid, tid: 0, taskName: 'TelemetryEventsCollector' };
  const name = e.parameters.find((p) => p.name === 'Name')?.value;
  const fromExtension = name !== undefined && !deps.agentNames.includes(String(name));
  if (fromExtension) {
    const own = e.parameters.filter((p) => EXTENSION_PARAMS.has(p.name));
    return { ...e, parameters: [...own, ...deps.common.for(e, fileTimeMs, origin)] };
  }
  const have = new Set(e.parameters.map((p) => p.name));
  // upstream computes these without event/provider ids, so ExtensionType/IsInternal are not added here.
  const missing: TelemetryParam[] = deps.common.for({ eventId: -1, providerId: '', fileType: e.fileType }, fileTimeMs, origin).filter((p) => !have.has(p.name));
  return { ...e, parameters: [...e.parameters, ...missing] };
}
