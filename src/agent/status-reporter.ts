// Collects handler and extension statuses, builds the status blob, and uploads it when it changed
// (or when the keep-alive is due) instead of on every poll.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, Logger } from '../deps.js';
import type { HandlerSpec } from '../protocol/goal-state.js';
import { uploadStatus, type StatusUploadDeps } from '../protocol/status-upload.js';
import { handlerDir, type Paths } from '../state/paths.js';
import { readHandlerState, readHandlerStatus } from '../extensions/handler-state.js';
import { installedVersion } from '../extensions/installed.js';
import { statusFileName } from '../extensions/settings.js';
import { readExtensionStatus, readHeartbeat } from '../extensions/status-file.js';
import { loadHandlerManifest } from '../extensions/package.js';
import { buildVmStatus, serializeVmStatus, type GuestAgentUpdateStatus, type HandlerStatusEntry, type VmStatusObject } from './status-report.js';
import type { FullGoalState } from './goal-state-fetcher.js';
import type { ProcessedGoalState, StatusReporter } from './loop.js';
import type { OsInfo } from '../platform/os-info.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import type { WriteHealth } from '../state/write-health.js';

export interface StatusReporterDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly paths: Paths;
  readonly upload: StatusUploadDeps;
  readonly osInfo: OsInfo;
  /** Versions the processor chose for the current goal state. */
  readonly resolvedVersions: ReadonlyMap<string, string>;
  /** Commands running now, by handler name: shown as transitioning. */
  readonly inProgress?: ReadonlyMap<string, { readonly version: string; readonly op: string }>;
  readonly refreshIdentity: () => Promise<void>;
  readonly keepAliveMs?: number;
  /** Whether supportedFeatures lists FastTrack (enabled in config and supported by the HostGAPlugin). */
  readonly fastTrack?: () => boolean;
  /** Failed state writes, shown in guestAgentStatus. */
  readonly writeHealth?: WriteHealth;
  /** AutoUpdate.UpdateToLatestVersion and Debug.EnableGAVersioning: supportedFeatures lists VersioningGovernance. */
  readonly versioningGovernance?: boolean;
  /** guestAgentStatus.updateStatus (RSM mode), from the agent-update step. */
  readonly updateStatus?: () => GuestAgentUpdateStatus | null;
}

/** Upstream uploads every 6 s; we upload on change plus this keep-alive (fabric sees a live agent). */
export const STATUS_KEEPALIVE_MS = 60_000;

/** A failed state write (full disk, read-only lib dir) shown in guestAgentStatus: the agent runs but cannot persist state. */
function withWriteProblem(status: VmStatusObject, problem: string | null): VmStatusObject {
  const ga = (status.aggregateStatus as { guestAgentStatus?: { formattedMessage?: { message: string | null } } } | undefined)?.guestAgentStatus;
  if (problem && ga?.formattedMessage) ga.formattedMessage.message = `Guest Agent is running, but cannot persist its state: ${problem}`;
  return status;
}

export class UploadingStatusReporter implements StatusReporter {
  private lastKey = '';
  private lastUploadMs = -Infinity;
  private missingUriLogged = false;
  /** reportHeartbeat per handler folder (the manifest does not change once unpacked). */
  private readonly heartbeatFlags = new Map<string, boolean>();
  private lastBuild: (() => string) | null = null;
  /** The goal-state outcome of the previous process (waagent_status.json); undefined until read. */
  private restored: ProcessedGoalState | null | undefined;

  constructor(private readonly deps: StatusReporterDeps) {}

  /** The status JSON of the latest report() (what `waagent status` and the history show), built on demand. */
  get lastJson(): string {
    return this.lastBuild?.() ?? '';
  }

  async collect(gs: FullGoalState | null): Promise<HandlerStatusEntry[]> {
    const out: HandlerStatusEntry[] = [];
    for (const spec of gs?.extensions.handlers ?? []) {
      if (spec.state === 'uninstall') continue;
      out.push(...(await this.collectHandler(spec)));
    }
    return out;
  }

  private async collectHandler(spec: HandlerSpec): Promise<HandlerStatusEntry[]> {
    const { paths, resolvedVersions } = this.deps;
    const version = resolvedVersions.get(spec.name) ?? (await installedVersion(paths, spec.name))?.version ?? spec.version;
    const base = handlerDir(paths, spec.name, version);
    const configDir = join(base, 'config');
    const hs = await readHandlerStatus(configDir);
    if (hs.problem) this.deps.logger.warn(hs.problem);
    const running = this.deps.inProgress?.get(spec.name);
    if (!hs.value && !running) return [];
    const state = (await readHandlerState(configDir)).value;
    const installed = state === 'Installed' || state === 'Enabled';
    let entry = hs.value
      ? { name: spec.name, version, status: hs.value.status as string, code: hs.value.code, message: hs.value.message, supportsMultiConfig: spec.isMultiConfig }
      : { name: spec.name, version: running!.version, status: 'NotReady', code: 0, message: `${running!.op[0]!.toUpperCase()}${running!.op.slice(1)} in progress`, supportsMultiConfig: spec.isMultiConfig };
    if (installed && hs.value) entry = { ...entry, ...(await this.heartbeat(base, entry)) };
    if ((!installed && !running) || spec.settings.length === 0) return [{ ...entry, extensionStatus: null }];
    const out: HandlerStatusEntry[] = [];
    for (const s of spec.settings) {
      if (spec.isMultiConfig && s.state !== 'enabled') continue;
      const extFull = spec.isMultiConfig ? `${spec.name}.${s.name}` : spec.name;
      const ext = await readExtensionStatus({
        statusDir: join(base, 'status'),
        fileName: statusFileName(s, spec.isMultiConfig),
        extensionName: s.name,
        extensionFullName: extFull,
        fullName: `${extFull}-${version}`,
        seq: s.sequenceNumber,
      });
      if (ext.problem && ext.outcome !== 'missing') this.deps.logger.warn(ext.problem);
      out.push({ ...entry, extensionStatus: ext });
    }
    return out;
  }

  /** For reportHeartbeat handlers, heartbeat.log replaces the handler status and message (§12). */
  private async heartbeat(base: string, entry: { status: string; code: number; message: string | null }): Promise<{ status: string; code: number; message: string | null }> {
    let reports = this.heartbeatFlags.get(base);
    if (reports === undefined) {
      reports = await loadHandlerManifest(base).then((m) => m.reportHeartbeat, () => false);
      this.heartbeatFlags.set(base, reports);
    }
    if (!reports) return entry;
    const hb = await readHeartbeat(join(base, 'heartbeat.log'), this.deps.clock.now());
    if (hb.kind === 'ok') return { status: hb.status ?? entry.status, code: entry.code, message: hb.message === undefined ? entry.message : hb.message };
    if (hb.kind === 'unresponsive') return { status: hb.status, code: hb.code, message: hb.message };
    return { status: 'NotReady', code: hb.code, message: hb.message };
  }

  /**
   * A restarted agent reports before it has processed anything (agent-lifecycle: no status gap longer than the
   * restart): until then, the outcome the previous process reported for the same goal state is shown again.
   */
  private async restoredFor(gs: FullGoalState | null): Promise<ProcessedGoalState | null> {
    if (this.restored === undefined) {
      this.restored = null;
      try {
        const last = JSON.parse(await readFile(join(this.deps.paths.libDir, 'waagent_status.json'), 'utf8')) as {
          aggregateStatus?: { vmArtifactsAggregateStatus?: { goalStateAggregateStatus?: { inSvdSeqNo?: unknown; status?: unknown; code?: unknown; timestampUTC?: unknown; formattedMessage?: { message?: unknown } } } };
        };
        const g = last.aggregateStatus?.vmArtifactsAggregateStatus?.goalStateAggregateStatus;
        const at = typeof g?.timestampUTC === 'string' ? Date.parse(g.timestampUTC) : NaN;
        if (g && typeof g.inSvdSeqNo === 'string' && (g.status === 'Success' || g.status === 'Failed') && typeof g.code === 'number' && Number.isFinite(at)) {
          const message = typeof g.formattedMessage?.message === 'string' ? g.formattedMessage.message : '';
          this.restored = { id: '', inSvdSeqNo: g.inSvdSeqNo, status: g.status, code: g.code, message, timestampMs: at };
        }
      } catch {
        // No previous status (first start) or an unreadable one: nothing to show again.
      }
    }
    return this.restored !== null && gs !== null && this.restored.inSvdSeqNo === gs.extensions.inSvdSeqNo ? this.restored : null;
  }

  async report(gs: FullGoalState | null, current: ProcessedGoalState | null, opts: { force?: boolean } = {}): Promise<void> {
    const { clock, logger, osInfo } = this.deps;
    const processed = current ?? (await this.restoredFor(gs));
    const handlers = await this.collect(gs);
    const input = {
      handlers,
      goalState: processed ? { inSvdSeqNo: processed.inSvdSeqNo, status: processed.status, code: processed.code, message: processed.message, processedAt: processed.timestampMs } : null,
      osInfo: { computerName: osInfo.hostname, osName: osInfo.id, osVersion: osInfo.version },
      versioningGovernance: this.deps.versioningGovernance ?? false,
      fastTrack: this.deps.fastTrack?.() ?? false,
      updateStatus: this.deps.updateStatus?.() ?? null,
    };
    const now = clock.now();
    const problem = this.deps.writeHealth?.problem() ?? null;
    const build = () => serializeVmStatus(withWriteProblem(buildVmStatus({ ...input, now }), problem));
    this.lastBuild = build;
    // Compare without the report timestamps, which change every time; the blob itself is built only to be uploaded.
    const key = serializeVmStatus(withWriteProblem(buildVmStatus({ ...input, now: 0 }), problem));
    const keepAlive = this.deps.keepAliveMs ?? STATUS_KEEPALIVE_MS;
    if (!opts.force && key === this.lastKey && now - this.lastUploadMs < keepAlive) return;
    const json = build();
    const blob = gs?.extensions.statusUploadBlob;
    if (!blob) {
      if (!this.missingUriLogged) logger.warn('Status upload uri is missing');
      this.missingUriLogged = true;
      return;
    }
    const how = await uploadStatus(this.deps.upload, json, blob, this.deps.refreshIdentity);
    if (how === 'skipped-gone') return;
    this.lastKey = key;
    this.lastUploadMs = now;
    logger.verbose(`Status blob uploaded via ${how} (${json.length} bytes)`);
    await writeFileAtomic(join(this.deps.paths.libDir, 'waagent_status.json'), json, { mode: 0o600, durable: false, health: this.deps.writeHealth }).catch(() => undefined);
  }
}
