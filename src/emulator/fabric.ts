// The emulated fabric's state: the published goal state, its documents, the blob store, the repository and records.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  certificatesXml, extensionsConfigXml, fullConfigXml, goalStateXml, hostingEnvironmentXml, sharedConfigXml, versionsXml,
  type DocumentContext,
} from './documents.js';
import { BlobStore } from './blob-store.js';
import { TenantCertificates, type CertificateCipher, type EncryptedSettings } from './certificates.js';
import { FaultTable, type RandomFaults } from './faults.js';
import { Recorder } from './recorder.js';
import { Repository } from './repository.js';
import { resolveInitial, resolveNext, type ResolvedScenario, type Scenario } from './scenario.js';
import { statusBlobUrl, type ConfigType } from './urls.js';
import { VmSettingsState, vmSettingsJson } from './vm-settings.js';

export type DocumentName = 'versions' | 'goalState' | 'certificates' | ConfigType;

export interface GoalStateInfo extends ResolvedScenario {
  readonly statusBlobUrl: string;
  readonly publishedAt: number;
  /** What /vmSettings serves (null while fastTrack is off); its extensions differ after a fastTrackOnly publish. */
  readonly vmSettings: { readonly etag: string; readonly inSvdSeqNo: number; readonly createdOnTicks: string; readonly extensions: ResolvedScenario['extensions'] } | null;
}

export class Fabric {
  readonly recorder = new Recorder();
  readonly faults = new FaultTable();
  /** Seeded random faults (fault-delivery.ts); null when off. Explicit faults in `faults` win over them. */
  randomFaults: RandomFaults | null = null;
  readonly repository = new Repository();
  /** The tenant certificate (generated on first use) protected settings are encrypted to. */
  readonly tenant = new TenantCertificates();
  readonly blobs: BlobStore;
  /** Path of the status blob in the blob store; fixed for the emulator's lifetime. */
  readonly statusPath = `/blob/system/vm.${randomBytes(6).toString('hex')}.status`;
  private readonly sig = randomBytes(32).toString('base64');
  private readonly overrides = new Map<DocumentName, string>();
  private current: ResolvedScenario;
  /** The newest published state: `current` plus fastTrackOnly changes, which reach the agent through vmSettings only. */
  private latest: ResolvedScenario;
  private readonly vm = new VmSettingsState();
  private ctx: Omit<DocumentContext, 'base' | 'storageBase' | 'statusBlobUrl'>;
  private base = 'http://127.0.0.1';
  private storage: string | null = null;

  constructor(initial: Scenario) {
    this.current = resolveInitial(initial);
    this.ctx = newContext();
    this.latest = this.current;
    this.vm.bump(this.ctx.createdAtMs);
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

  /** Storage (manifests, packages, status blob) on another origin, reached only through a proxy in proxy tests. */
  setStorageBase(base: string | null): void {
    this.storage = base === null ? null : base.replace(/\/+$/, '');
  }

  get storageBaseUrl(): string {
    return this.storage ?? this.base;
  }

  get scenario(): ResolvedScenario {
    return this.current;
  }

  info(): GoalStateInfo {
    const l = this.latest;
    const vmSettings = l.fastTrack ? { etag: this.vm.etag, inSvdSeqNo: this.vm.inSvdSeqNo, createdOnTicks: this.vm.createdOnTicks, extensions: l.extensions } : null;
    return { ...this.current, statusBlobUrl: this.statusBlobUrl(), publishedAt: this.ctx.createdAtMs, vmSettings };
  }

  statusBlobUrl(): string {
    return statusBlobUrl(this.storageBaseUrl, this.statusPath, this.sig);
  }

  /** Publishes a new goal state (with `fastTrackOnly`, through vmSettings alone); returns the incarnation. */
  publish(s: Scenario = {}): number {
    const lastMs = Math.max(this.ctx.createdAtMs, this.vm.createdAtMs);
    if (s.fastTrackOnly) {
      if (s.incarnation !== undefined || s.containerId !== undefined || s.roleInstanceId !== undefined || s.configName !== undefined) {
        throw new Error('scenario: a fastTrackOnly publish cannot change the incarnation, containerId, roleInstanceId or configName');
      }
      this.latest = resolveNext(this.latest, { ...s, incarnation: this.latest.incarnation });
      this.vm.bump(Math.max(Date.now(), lastMs + 1));
      this.repository.remember(this.latest);
      return this.current.incarnation;
    }
    const next = resolveNext(this.latest, s);
    this.current = next;
    this.latest = next;
    this.ctx = newContext(lastMs);
    this.vm.bump(this.ctx.createdAtMs);
    this.repository.remember(next);
    return next.incarnation;
  }

  /** The vmSettings JSON and its ETag; null while Fast Track is off (the plugin answers 404). */
  async vmSettingsDocument(): Promise<{ etag: string; text: string } | null> {
    const s = this.latest;
    if (!s.fastTrack) return null;
    const vm = this.vm;
    // Read before any await: a publish meanwhile must not mix two documents.
    const { etag, inSvdSeqNo, createdOnTicks, activityId, correlationId } = vm;
    const text = await vm.document(async () => {
      const prot = new Map<string, EncryptedSettings>();
      for (const e of s.extensions) {
        if (e.protectedSettings !== undefined) prot.set(e.name, await this.tenant.encryptSettings(JSON.stringify(e.protectedSettings)));
      }
      return vmSettingsJson(s, { base: this.base, storageBase: this.storageBaseUrl, statusBlobUrl: this.statusBlobUrl(), inSvdSeqNo, createdOnTicks, activityId, correlationId, protectedSettings: prot });
    });
    return { etag, text };
  }

  /** ExtensionsConfig with protectedSettings encrypted to the tenant certificate (document() leaves them out). */
  async extensionsConfigDocument(): Promise<string> {
    const o = this.overrides.get('extensionsConfig');
    if (o !== undefined) return o;
    const s = this.current;
    const ctx: DocumentContext = { ...this.ctx, base: this.base, storageBase: this.storageBaseUrl, statusBlobUrl: this.statusBlobUrl() };
    const prot = new Map<string, EncryptedSettings>();
    for (const e of s.extensions) {
      if (e.protectedSettings !== undefined) prot.set(e.name, await this.tenant.encryptSettings(JSON.stringify(e.protectedSettings)));
    }
    return extensionsConfigXml(s, { ...ctx, protectedSettings: prot });
  }

  /** Certificates: the tenant certificate, encrypted to the agent's transport certificate, when protected settings use it. */
  async certificatesDocument(transportCertHeader: string, cipher: CertificateCipher): Promise<string> {
    const o = this.overrides.get('certificates');
    if (o !== undefined) return o;
    const s = this.current;
    if (!s.extensions.some((e) => e.protectedSettings !== undefined)) return certificatesXml(s);
    return certificatesXml(s, await this.tenant.certificatesData(transportCertHeader, cipher));
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
    const ctx: DocumentContext = { ...this.ctx, base: this.base, storageBase: this.storageBaseUrl, statusBlobUrl: this.statusBlobUrl() };
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
function newContext(previousMs = 0): Omit<DocumentContext, 'base' | 'storageBase' | 'statusBlobUrl'> {
  return { createdAtMs: Math.max(Date.now(), previousMs + 1), activityId: randomUUID(), correlationId: randomUUID() };
}
