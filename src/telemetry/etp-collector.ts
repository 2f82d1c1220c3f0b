// Collects extension events from <extlogdir>/<Handler>/events/<digits>.json (extension-handlers.md §16).
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, Logger } from '../deps.js';
import { errorMessage } from '../errors.js';
import type { AgentEvents } from './agent-events.js';
import type { CommonParams } from './common-params.js';
import { EVENTS_DIR, readParsedFile } from './event-file.js';
import type { TelemetryEvent } from './event.js';
import { ETP_LIMITS, extensionTelemetryEvent, validateExtensionEvent } from './etp-event.js';

export interface EtpCollectorDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly extLogDir: string;
  readonly common: CommonParams;
  readonly enqueue: (e: TelemetryEvent) => void;
  /** Warnings are also sent as log events, as upstream does. */
  readonly events?: AgentEvents;
  /** Delay between read attempts of a file that does not parse yet (upstream: 1 s, 3 attempts). */
  readonly fileRetryDelayMs?: number;
  readonly signal?: AbortSignal;
}

export interface EtpScanResult {
  readonly handlers: number;
  readonly collected: number;
  /** Events that failed validation. */
  readonly dropped: number;
  /** Files that could not be read or parsed, or were too large. */
  readonly badFiles: number;
}

const FILE_RE = /^(\d+)\.json$/i;
// upstream HANDLER_NAME_PATTERN: a name that does not start with '-'.
const HANDLER_RE = /^[^-]/;

/** One scan of every handler's events folder; every file seen is deleted. Never throws. */
export async function collectExtensionEvents(deps: EtpCollectorDeps): Promise<EtpScanResult> {
  const total = { handlers: 0, collected: 0, dropped: 0, badFiles: 0 };
  let names: string[];
  try {
    names = await readdir(deps.extLogDir);
  } catch {
    return total;
  }
  for (const handler of names.sort()) {
    if (deps.signal?.aborted) break;
    const dir = join(deps.extLogDir, handler, EVENTS_DIR);
    if (!HANDLER_RE.test(handler) || !(await isDirectory(dir))) continue;
    total.handlers++;
    try {
      const r = await collectHandler(deps, handler, dir);
      total.collected += r.collected;
      total.dropped += r.dropped;
      total.badFiles += r.badFiles;
    } catch (err) {
      warn(deps, `Unknown error occurred when trying to collect extension events for ${handler}: ${errorMessage(err)}`);
    } finally {
      // When stopping, files not yet read stay for the next start.
      if (!deps.signal?.aborted) await emptyFolder(deps, dir);
    }
  }
  return total;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

function warn(deps: EtpCollectorDeps, msg: string): void {
  deps.logger.warn(msg);
  deps.events?.addLog('WARNING', msg);
}

async function collectHandler(deps: EtpCollectorDeps, handler: string, dir: string): Promise<{ collected: number; dropped: number; badFiles: number }> {
  // Newest name first, by name as upstream sorts (string order).
  const files = (await readdir(dir)).filter((f) => FILE_RE.test(f)).sort().reverse();
  const max = ETP_LIMITS.maxEventsPerHandler;
  const dropped = new Map<string, number>();
  const badFiles: string[] = [];
  let collected = 0;
  for (const f of files) {
    const path = join(dir, f);
    try {
      const st = await lstat(path);
      if (!st.isFile()) continue;
      if (st.size > ETP_LIMITS.maxFileBytes) {
        badFiles.push(`${f}: size ${st.size} bytes > max allowed ${ETP_LIMITS.maxFileBytes}`);
        continue;
      }
      const data = await readParsedFile(path, ETP_LIMITS.maxFileBytes, (t) => JSON.parse(t) as unknown, deps.clock, {
        delayMs: deps.fileRetryDelayMs ?? 1000, ...(deps.signal ? { signal: deps.signal } : {}),
      });
      for (const raw of Array.isArray(data) ? data : [data]) {
        if (collected >= max) break;
        const r = validateExtensionEvent(raw);
        if (!r.ok) {
          dropped.set(r.reason, (dropped.get(r.reason) ?? 0) + 1);
          continue;
        }
        deps.enqueue(extensionTelemetryEvent(handler, r.event, st.mtimeMs, deps.common));
        collected++;
      }
    } catch (err) {
      if (deps.signal?.aborted) break;
      badFiles.push(`${f}: ${errorMessage(err)}`);
    } finally {
      if (!deps.signal?.aborted) await rm(path, { force: true }).catch(() => undefined);
    }
    if (collected >= max) {
      warn(deps, `Reached max count for the extension: ${handler}; Max Limit: ${max}. Skipping the rest.`);
      break;
    }
  }
  // One line per kind of problem per scan, however many files or events had it.
  if (badFiles.length > 0) {
    warn(deps, `Failed to process ${badFiles.length} event file(s) of extension ${handler}; first: ${badFiles[0]!.slice(0, 512)}`);
  }
  let droppedCount = 0;
  if (dropped.size > 0) {
    const details = [...dropped].map(([reason, n]) => `Reason: ${reason}; Dropped Count: ${n}`);
    droppedCount = [...dropped.values()].reduce((a, b) => a + b, 0);
    warn(deps, `Dropped events for Extension: ${handler}; Details:\n\t${details.join('\n\t')}`);
  }
  if (collected > 0) deps.logger.info(`Collected ${collected} events for extension: ${handler}`);
  return { collected, dropped: droppedCount, badFiles: badFiles.length };
}

/** Whatever is left in the folder (unprocessed, skipped or foreign files) is deleted at the end of a scan. */
async function emptyFolder(deps: EtpCollectorDeps, dir: string): Promise<void> {
  let logged = false;
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, f);
    try {
      if ((await lstat(path)).isDirectory()) continue;
      await rm(path, { force: true });
    } catch (err) {
      if (!logged) deps.logger.error(`Failed to completely clear the ${dir} directory. Exception: ${errorMessage(err)}`);
      logged = true;
    }
  }
}
