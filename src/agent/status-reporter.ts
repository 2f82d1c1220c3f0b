// Collects handler and extension statuses, builds the status blob, and uploads it when it changed
// (or when the keep-alive is due) instead of on every poll.
import { join } from 'node:path';
import type { Clock, Logger } from '../deps.js';
import type { HandlerSpec } from '../protocol/goal-state.js';
import { uploadStatus, type StatusUploadDeps } from '../protocol/status-upload.js';
import { handlerDir, type Paths } from '../state/paths.js';
import { readHandlerState, readHandlerStatus } from '../extensions/handler-state.js';
import { installedVersion } from '../extensions/installed.js';
import { statusFileName } from '../extensions/settings.js';
import { readExtensionStatus } from '../extensions/status-file.js';
import { buildVmStatus, serializeVmStatus, type HandlerStatusEntry } from './status-report.js';
import type { FullGoalState } from './goal-state-fetcher.js';
import type { ProcessedGoalState, StatusReporter } from './loop.js';
import type { OsInfo } from '../platform/os-info.js';
import { writeFileAtomic } from '../state/atomic-write.js';

export interface StatusReporterDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly paths: Paths;
  readonly upload: StatusUploadDeps;
  readonly osInfo: OsInfo;
  /** Versions the processor chose for the current goal state. */
  readonly resolvedVersions: ReadonlyMap<string, string>;
  readonly refreshIdentity: () => Promise<void>;
  readonly keepAliveMs?: number;
}

/** Upstream uploads every 6 s; we upload on change plus this keep-alive (fabric sees a live agent). */
export const STATUS_KEEPALIVE_MS = 60_000;

export class UploadingStatusReporter implements StatusReporter {
  private lastKey = '';
  private lastUploadMs = -Infinity;
  private missingUriLogged = false;
  /** The latest status JSON built (what `waagent status` and the history show). */
  lastJson = '';

  constructor(private readonly deps: StatusReporterDeps) {}

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
    if (!hs.value) return [];
    const state = (await readHandlerState(configDir)).value;
    const installed = state === 'Installed' || state === 'Enabled';
    const entry = { name: spec.name, version, status: hs.value.status, code: hs.value.code, message: hs.value.message, supportsMultiConfig: spec.isMultiConfig };
    if (!installed || spec.settings.length === 0) return [{ ...entry, extensionStatus: null }];
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

  async report(gs: FullGoalState | null, processed: ProcessedGoalState | null): Promise<void> {
    const { clock, logger, osInfo } = this.deps;
    const handlers = await this.collect(gs);
    const input = {
      handlers,
      goalState: processed ? { inSvdSeqNo: processed.inSvdSeqNo, status: processed.status, code: processed.code, message: processed.message, processedAt: processed.timestampMs } : null,
      osInfo: { computerName: osInfo.hostname, osName: osInfo.id, osVersion: osInfo.version },
      versioningGovernance: false,
      fastTrack: false,
    };
    const now = clock.now();
    const json = serializeVmStatus(buildVmStatus({ ...input, now }));
    this.lastJson = json;
    // Compare without the report timestamps, which change every time.
    const key = serializeVmStatus(buildVmStatus({ ...input, now: 0 }));
    const keepAlive = this.deps.keepAliveMs ?? STATUS_KEEPALIVE_MS;
    if (key === this.lastKey && now - this.lastUploadMs < keepAlive) return;
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
    await writeFileAtomic(join(this.deps.paths.libDir, 'waagent_status.json'), json, { mode: 0o600 }).catch(() => undefined);
  }
}
