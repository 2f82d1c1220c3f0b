// Bounded goal-state history: `<lib>/history/<timestamp>__<tag>/` holds the documents of each new goal state, for
// debugging, as upstream does. Upstream bounds it by count only and users filled disks and inodes with it, so here:
//  - every document is redacted before it is written (no protectedSettings, SAS query strings or key material), and
//    a document that still carries a known secret after redaction is left out rather than written;
//  - an entry appears whole or not at all: it is written in a hidden temp folder, synced, then renamed;
//  - the oldest entries are pruned by count and by total size after each save (and stale temp folders removed).
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, Logger } from '../deps.js';
import { errorMessage } from '../errors.js';
import { redactSecrets } from '../log/redact.js';
import type { ExtensionsGoalState } from '../protocol/goal-state.js';
import { isAlive } from '../platform/process-alive.js';

export const HISTORY_DIR = 'history';

export interface HistoryLimits {
  /** Entries kept (upstream's _MAX_ARCHIVED_STATES). */
  readonly maxEntries: number;
  /** Total bytes of all entries; upstream has no size bound. */
  readonly maxBytes: number;
}

export const DEFAULT_HISTORY_LIMITS: HistoryLimits = { maxEntries: 50, maxBytes: 16 * 1024 * 1024 };

export interface HistoryDocument {
  /** File name inside the entry, e.g. `ExtensionsConfig.xml`. */
  readonly name: string;
  readonly text: string;
}

export interface GoalStateHistoryDeps {
  readonly libDir: string;
  readonly clock: Pick<Clock, 'now'>;
  readonly logger: Logger;
  readonly limits?: Partial<HistoryLimits>;
}

/** `YYYY-MM-DDTHH-MM-SS` (upstream's create_history_timestamp), UTC. */
export function historyTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace(/:/g, '-');
}

/** Entry folder names: ours (`<timestamp>__<tag>`) and upstream's legacy ones, so a takeover prunes those too. */
const ENTRY_RE = /^\d{4}-\d{2}-\d{2}T\d{2}[:-]\d{2}[:-]\d{2}(?:\.\d+)?(?:(?:_incarnation)?_+[^/]+)?(?:\.zip)?$/;
const TEMP_RE = /^\.tmp-.+\.(\d+)\.[0-9a-f]{12}$/;
const SAFE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** The tag of a goal state: its incarnation, plus the extensions goal state id when that comes from Fast Track. */
export function historyTag(incarnation: string, egs: Pick<ExtensionsGoalState, 'id' | 'source'> | null): string {
  const raw = egs && egs.source === 'FastTrack' ? `${incarnation}-${egs.id}` : incarnation;
  return raw.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80) || 'unknown';
}

/** Values that must never reach the history: protected-settings blobs and SAS signatures of the goal state's URLs. */
export function goalStateSecrets(egs: ExtensionsGoalState | null): string[] {
  if (!egs) return [];
  const out: string[] = [];
  for (const h of egs.handlers) for (const s of h.settings) if (s.protectedSettings) out.push(s.protectedSettings);
  const urls = [egs.statusUploadBlob?.url, egs.artifactsProfileUrl, ...egs.handlers.flatMap((h) => h.manifestUris), ...egs.gaFamilies.flatMap((f) => f.uris)];
  for (const u of urls) {
    const sig = u ? /[?&;]sig=([^&#\s]+)/i.exec(u)?.[1] : undefined;
    if (sig) {
      out.push(sig);
      try {
        out.push(decodeURIComponent(sig));
      } catch {
        // not URL-encoded
      }
    }
  }
  // Short values could match by chance and prove nothing.
  return [...new Set(out)].filter((s) => s.length >= 8);
}

const PRIVATE_KEY_RE = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?!\*\*\*REDACTED\*\*\*)/;

/** The document with secrets redacted, or null when a secret is still in it (the document is then not kept). */
export function redactDocument(text: string, secrets: readonly string[]): string | null {
  const out = redactSecrets(text);
  if (PRIVATE_KEY_RE.test(out)) return null;
  for (const s of secrets) if (out.includes(s)) return null;
  return out;
}

interface Entry {
  readonly name: string;
  readonly bytes: number;
}

async function entryBytes(path: string): Promise<number> {
  const s = await stat(path);
  if (!s.isDirectory()) return s.size;
  let total = 0;
  for (const f of await readdir(path)) total += (await stat(join(path, f)).catch(() => ({ size: 0 }))).size;
  return total;
}


export class GoalStateHistory {
  readonly dir: string;
  private readonly limits: HistoryLimits;
  private errorsLogged = 0;

  constructor(private readonly deps: GoalStateHistoryDeps) {
    this.dir = join(deps.libDir, HISTORY_DIR);
    this.limits = { ...DEFAULT_HISTORY_LIMITS, ...deps.limits };
  }

  /**
   * Saves one goal state's documents (redacted) as a new entry, then prunes. Never throws: history is for debugging
   * and must not fail a goal state. Returns the entry's folder, or null when nothing was saved.
   */
  async save(tag: string, docs: readonly HistoryDocument[], secrets: readonly string[] = []): Promise<string | null> {
    try {
      const entry = await this.write(tag, docs, secrets);
      await this.prune();
      return entry;
    } catch (err) {
      // Bounded: a full disk would otherwise log this on every goal state.
      if (this.errorsLogged++ < 5) this.deps.logger.warn(`Cannot save the goal state to the history: ${errorMessage(err)}`);
      return null;
    }
  }

  private async write(tag: string, docs: readonly HistoryDocument[], secrets: readonly string[]): Promise<string | null> {
    const name = `${historyTimestamp(this.deps.clock.now())}__${tag.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80)}`;
    const final = join(this.dir, name);
    if (await stat(final).then(() => true, () => false)) return null; // the same goal state, already kept this second
    const files: HistoryDocument[] = [];
    const omitted: string[] = [];
    for (const d of docs) {
      if (!SAFE_NAME_RE.test(d.name)) throw new Error(`invalid history document name ${JSON.stringify(d.name)}`);
      const text = redactDocument(d.text, secrets);
      if (text === null) omitted.push(d.name);
      else files.push({ name: d.name, text });
    }
    if (omitted.length > 0) {
      files.push({ name: 'omitted.txt', text: `Left out: a secret remained after redaction in ${omitted.join(', ')}\n` });
    }
    const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
    if (bytes > this.limits.maxBytes) {
      this.deps.logger.warn(`Goal state ${tag} not saved to the history: ${bytes} bytes exceed the ${this.limits.maxBytes}-byte limit`);
      return null;
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.tmp-${name}.${process.pid}.${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(tmp, { mode: 0o700 });
      for (const f of files) {
        const fh = await open(join(tmp, f.name), 'wx', 0o600);
        try {
          await fh.writeFile(f.text);
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
    const dh = await open(this.dir, 'r');
    await dh.sync().catch(() => undefined).finally(() => dh.close());
    return final;
  }

  /** Keeps the newest entries within both limits; removes temp folders of processes that are gone. */
  async prune(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const entries: Entry[] = [];
    for (const n of names) {
      const pid = TEMP_RE.exec(n)?.[1];
      if (pid !== undefined) {
        if (Number(pid) !== process.pid && !isAlive(Number(pid))) await rm(join(this.dir, n), { recursive: true, force: true });
        continue;
      }
      if (!ENTRY_RE.test(n)) continue;
      const bytes = await entryBytes(join(this.dir, n)).catch(() => -1);
      if (bytes >= 0) entries.push({ name: n, bytes });
    }
    // Names start with the UTC timestamp: newest first by name.
    entries.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
    let total = 0;
    for (const [i, e] of entries.entries()) {
      total += e.bytes;
      if (i >= this.limits.maxEntries || total > this.limits.maxBytes) {
        await rm(join(this.dir, e.name), { recursive: true, force: true });
      }
    }
  }
}
