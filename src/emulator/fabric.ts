// The emulated fabric's state: the published goal state, its documents, the blob store, the repository and records.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  certificatesXml, extensionsConfigXml, fullConfigXml, goalStateXml, hostingEnvironmentXml, sharedConfigXml, versionsXml,
  type DocumentContext,
} from './documents.js';
import { BlobStore } from './blob-store.js';
import { FaultTable } from './faults.js';
import { Recorder } from './recorder.js';
import { Repository } from './repository.js';
import { resolveInitial, resolveNext, type ResolvedScenario, type Scenario } from './scenario.js';
import { statusBlobUrl, type ConfigType } from './urls.js';

export type DocumentName = 'versions' | 'goalState' | 'certificates' | ConfigType;

export interface GoalStateInfo extends ResolvedScenario {
  readonly statusBlobUrl: string;
  readonly publishedAt: number;
}

export class Fabric {
  readonly recorder = new Recorder();
  readonly faults = new FaultTable();
  readonly repository = new Repository();
  readonly blobs: BlobStore;
  /** Path of the status blob in the blob store; fixed for the emulator's lifetime. */
  readonly statusPath = `/blob/system/vm.${randomBytes(6).toString('hex')}.status`;
  private readonly sig = randomBytes(32).toString('base64');
  private readonly overrides = new Map<DocumentName, string>();
  private current: ResolvedScenario;
  private ctx: Omit<DocumentContext, 'base' | 'statusBlobUrl'>;
  private base = 'http://127.0.0.1';

  constructor(initial: Scenario) {
    this.current = resolveInitial(initial);
    this.ctx = newContext();
    this.repository.remember(this.current);
    this.blobs = new BlobStore(this.sig, this.statusPath, (text, blobType, via) =>
      this.recorder.addStatus({ at: Date.now(), via, blobType, incarnation: this.current.incarnation, text }),
    );
  }

  /** Base URL written into documents (publicBaseUrl or the WireServer URL), set once the port is known. */
  setBase(base: string): void {
    this.base = base.replace(/\/+$/, '');
  }

  get baseUrl(): string {
    return this.base;
  }

  get scenario(): ResolvedScenario {
    return this.current;
  }

  info(): GoalStateInfo {
    return { ...this.current, statusBlobUrl: this.statusBlobUrl(), publishedAt: this.ctx.createdAtMs };
  }

  statusBlobUrl(): string {
    return statusBlobUrl(this.base, this.statusPath, this.sig);
  }

  /** Publishes a new goal state; returns its incarnation. */
  publish(s: Scenario = {}): number {
    const next = resolveNext(this.current, s);
    this.current = next;
    this.ctx = newContext(this.ctx.createdAtMs);
    this.repository.remember(next);
    return next.incarnation;
  }

  /** Serve `text` instead of the generated document (null restores it); for malformed-document tests. */
  setOverride(name: DocumentName, text: string | null): void {
    if (text === null) this.overrides.delete(name);
    else this.overrides.set(name, text);
  }

  document(name: DocumentName): string {
    const o = this.overrides.get(name);
    if (o !== undefined) return o;
    const s = this.current;
    const ctx: DocumentContext = { ...this.ctx, base: this.base, statusBlobUrl: this.statusBlobUrl() };
    switch (name) {
      case 'versions': return versionsXml();
      case 'goalState': return goalStateXml(s, ctx);
      case 'hostingEnvironmentConfig': return hostingEnvironmentXml(s);
      case 'sharedConfig': return sharedConfigXml(s);
      case 'extensionsConfig': return extensionsConfigXml(s, ctx);
      case 'fullConfig': return fullConfigXml(s);
      case 'certificates': return certificatesXml(s);
    }
  }
}

/** Creation time strictly increases across publishes, since the agent orders goal states by it. */
function newContext(previousMs = 0): Omit<DocumentContext, 'base' | 'statusBlobUrl'> {
  return { createdAtMs: Math.max(Date.now(), previousMs + 1), activityId: randomUUID(), correlationId: randomUUID() };
}
