// Fetches the goal state each poll and the sub-documents when the incarnation changes.
import type { Logger } from '../deps.js';
import { errorMessage } from '../errors.js';
import type { ExtensionsGoalState, HostingEnvironment, WireGoalState } from '../protocol/goal-state.js';
import type { WireClient } from '../protocol/wire-client.js';
import type { HostPluginClient } from '../protocol/host-plugin.js';
import type { CertificateSummary, Certificates } from '../protocol/certificates.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import type { WriteHealth } from '../state/write-health.js';
import { goalStateSecrets, historyTag, type GoalStateHistory, type HistoryDocument } from '../state/goal-state-history.js';
import { libFile, type Paths } from '../state/paths.js';
import { ZERO_GUID } from '../protocol/goal-state.js';
import { isOlderThanFastTrack, selectExtensionsGoalState, ticksToTimestamp } from './fast-track.js';
import type { VmSettingsFetcher } from './vm-settings-fetcher.js';

export interface FullGoalState {
  readonly wire: WireGoalState;
  readonly hostingEnv: HostingEnvironment | null;
  readonly extensions: ExtensionsGoalState;
  /** Older than the most recent Fast Track goal state: reported on but never executed (hostgaplugin.md §3.5). */
  readonly extensionsOutdated?: boolean;
}

export function emptyExtensionsGoalState(incarnation: string): ExtensionsGoalState {
  return {
    id: `incarnation_${incarnation}`, source: 'Fabric', channel: 'WireServer', inSvdSeqNo: incarnation, createdOnTicks: '0',
    activityId: ZERO_GUID, correlationId: ZERO_GUID, statusUploadBlob: null, artifactsProfileUrl: null, onHold: null,
    requiredFeatures: [], gaFamilies: [], handlers: [],
  };
}

/** True when a handler of this goal state has protected settings: it decrypts them with a tenant certificate. */
export function needsCertificates(egs: ExtensionsGoalState): boolean {
  return egs.handlers.some((h) => h.settings.some((s) => s.protectedSettings !== null || s.certificateThumbprint !== null));
}

export class GoalStateFetcher {
  private current: FullGoalState | null = null;
  /**
   * The certificate downloads, chained so that two never overlap. Off the critical path: the transport key
   * generation (openssl, ~0.3 s) and the decryption only matter to handlers with protected settings, so update()
   * waits for them only when the chosen goal state has such a handler.
   */
  private certificatesDone: Promise<unknown> = Promise.resolve();
  /** History saves, one after the other, off the goal-state path (they fsync). */
  private historyQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: { wire: WireClient; hostPlugin: HostPluginClient; logger: Logger; paths: Paths; certificates?: Pick<Certificates, 'update'>; vmSettings?: VmSettingsFetcher; writeHealth?: WriteHealth; history?: GoalStateHistory }) {}

  get latest(): FullGoalState | null {
    return this.current;
  }

  /**
   * One poll (wire-protocol.md §5.2): GET the goal state (identity headers refreshed every time) and the vmSettings;
   * on a new incarnation, or when forced, fetch ExtensionsConfig, HostingEnvironmentConfig and SharedConfig; then
   * choose the extensions goal state (fast-track.ts). Any failure, a vmSettings one included, aborts the update and
   * leaves the previous goal state in place, so the next poll retries.
   */
  async update(opts: { force?: boolean; signal?: AbortSignal } = {}): Promise<{ goalState: FullGoalState; changed: boolean }> {
    const { wire: client, hostPlugin, vmSettings } = this.deps;
    const { value: wire, text: wireText } = await client.getGoalState(opts.signal);
    hostPlugin.setIdentity(wire.containerId, wire.roleConfigName);
    const previous = this.current;
    const wireChanged = opts.force === true || previous === null || previous.wire.incarnation !== wire.incarnation;
    const vm = vmSettings ? await vmSettings.fetch(opts) : null;
    if (vm?.supportStopped) return this.restoreWireServerGoalState(wire, wireText, opts.signal);
    if (!wireChanged && !vm?.updated && previous) {
      this.current = { ...previous, wire };
      return { goalState: this.current, changed: false };
    }
    const fetched = wireChanged ? await this.fetchWireDocuments(wire, opts.signal) : null;
    const extensions =
      selectExtensionsGoalState({
        current: previous?.extensions ?? null,
        extensionsConfig: fetched?.extensions ?? null,
        vmSettings: vm?.goalState ?? null,
        vmSettingsUpdated: vm?.updated ?? false,
      }) ?? fetched?.extensions ?? emptyExtensionsGoalState(wire.incarnation);
    let outdated = extensions === previous?.extensions ? (previous.extensionsOutdated ?? false) : false;
    // With Fast Track turned off, the first goal state may be older than a Fast Track one run before the restart.
    if (previous === null && vmSettings && !vmSettings.enabled) {
      outdated = await this.markIfOutdated(extensions, 'The current Fabric goal state is older than the most recent FastTrack goal state; will skip it.');
    }
    if (needsCertificates(extensions)) await this.certificatesDone;
    this.current = { wire, hostingEnv: fetched?.hostingEnv ?? previous?.hostingEnv ?? null, extensions, extensionsOutdated: outdated };
    const vmDocs = vm?.updated && vm.text !== undefined ? [{ name: 'VmSettings.json', text: vm.text }] : [];
    this.record(wireText, [...(fetched?.docs ?? []), ...vmDocs], fetched?.certificates ?? null);
    return { goalState: this.current, changed: true };
  }

  /** The plugin stopped supporting vmSettings (e.g. the VM moved to an older host): back to the WireServer goal state. */
  private async restoreWireServerGoalState(wire: WireGoalState, wireText: string, signal?: AbortSignal): Promise<{ goalState: FullGoalState; changed: boolean }> {
    this.deps.logger.info('The HGAP stopped supporting vmSettings; will fetched the goal state from the WireServer.');
    const fetched = await this.fetchWireDocuments(wire, signal);
    const outdated = await this.markIfOutdated(fetched.extensions, 'Fetched a Fabric goal state older than the most recent FastTrack goal state; will skip it.');
    if (needsCertificates(fetched.extensions)) await this.certificatesDone;
    this.current = { wire, hostingEnv: fetched.hostingEnv, extensions: fetched.extensions, extensionsOutdated: outdated };
    this.record(wireText, fetched.docs, fetched.certificates);
    return { goalState: this.current, changed: true };
  }

  /**
   * Queues the new goal state's documents (redacted) for the bounded history. Not awaited: debugging data must not
   * delay the goal state; a save cut short by a stop leaves only a temp folder, swept by the next save.
   */
  private record(wireText: string, docs: readonly HistoryDocument[], certificates: Promise<readonly CertificateSummary[]> | null): void {
    const history = this.deps.history;
    const gs = this.current;
    if (!history || !gs) return;
    const tag = historyTag(gs.wire.incarnation, gs.extensions);
    const secrets = goalStateSecrets(gs.extensions);
    this.historyQueue = this.historyQueue.then(async () => {
      // Thumbprints only (upstream's Certificates.json): never the certificates or keys themselves.
      const summary = certificates ? await certificates.catch(() => null) : null;
      const certDoc = summary ? [{ name: 'Certificates.json', text: JSON.stringify(summary.map((c) => ({ thumbprint: c.thumbprint, hasPrivateKey: c.hasPrivateKey }))) }] : [];
      await history.save(tag, [{ name: 'GoalState.xml', text: wireText }, ...docs, ...certDoc], secrets);
    });
  }

  /** Resolves once every queued history save finished (tests, shutdown). */
  historySettled(): Promise<void> {
    return this.historyQueue.then(() => undefined);
  }

  private async markIfOutdated(egs: ExtensionsGoalState, message: string): Promise<boolean> {
    const vmSettings = this.deps.vmSettings;
    const fastTrack = vmSettings ? await vmSettings.lastFastTrackTimestamp() : null;
    if (!vmSettings || !isOlderThanFastTrack(egs, fastTrack)) return false;
    this.deps.logger.info(`${message}\nFabric:    ${ticksToTimestamp(egs.createdOnTicks)}\nFastTrack: ${fastTrack}`);
    // Upstream deletes it once status was reported for the outdated goal state; here it goes a moment earlier.
    await vmSettings.clearFastTrackState();
    return true;
  }

  private async fetchWireDocuments(wire: WireGoalState, signal?: AbortSignal): Promise<{ hostingEnv: HostingEnvironment; extensions: ExtensionsGoalState; docs: HistoryDocument[]; certificates: Promise<readonly CertificateSummary[]> | null }> {
    const { wire: client, logger, paths } = this.deps;
    const opts = { signal };
    logger.info(`Fetching goal state [incarnation ${wire.incarnation}]`);
    const docs: HistoryDocument[] = [];
    const extConf = wire.extensionsConfigUrl ? await client.getExtensionsConfig(wire.extensionsConfigUrl, wire.incarnation, opts.signal) : null;
    const extensions = extConf?.value ?? emptyExtensionsGoalState(wire.incarnation);
    if (extConf) docs.push({ name: 'ExtensionsConfig.xml', text: extConf.text });
    const hostingEnvDoc = await client.getHostingEnvironment(wire.hostingEnvironmentConfigUrl, opts.signal);
    const hostingEnv = hostingEnvDoc.value;
    docs.push({ name: 'HostingEnvironmentConfig.xml', text: hostingEnvDoc.text });
    const shared = await client.getSharedConfig(wire.sharedConfigUrl, opts.signal);
    docs.push({ name: 'SharedConfig.xml', text: shared });
    // Other software on the VM reads SharedConfig.xml, so it is kept verbatim as upstream does. A full or
    // read-only lib dir must not stop goal-state processing: the failure is logged (and shows in status).
    // Both rewritten for every new goal state: not durable (atomic-write.ts).
    await writeFileAtomic(libFile(paths, 'SharedConfig.xml'), shared, { mode: 0o644, durable: false, health: this.deps.writeHealth })
      .catch((err) => this.deps.logger.warn(`Cannot save SharedConfig.xml: ${errorMessage(err)}`));
    // The incarnation on disk, for `waagent status` and tools that read upstream's file.
    await writeFileAtomic(libFile(paths, 'Incarnation'), wire.incarnation, { mode: 0o644, durable: false, health: this.deps.writeHealth })
      .catch((err) => this.deps.logger.warn(`Cannot save Incarnation: ${errorMessage(err)}`));
    // Logs its own errors and never throws: a certificate failure must not fail the goal state. Chained so that two
    // downloads never overlap, and off the critical path (see certificatesDone).
    const { certificates } = this.deps;
    const certificatesUrl = wire.certificatesUrl;
    let summary: Promise<readonly CertificateSummary[]> | null = null;
    if (certificatesUrl && certificates) {
      summary = this.certificatesDone.then(() => certificates.update(certificatesUrl, opts.signal));
      this.certificatesDone = summary.catch(() => undefined);
    }
    return { hostingEnv, extensions, docs, certificates: summary };
  }
}
