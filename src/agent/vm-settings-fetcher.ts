// The vmSettings half of a goal-state poll (hostgaplugin.md §3): ETag cache, support state machine, fast_track.json.
import { readFile, rm } from 'node:fs/promises';
import type { Clock, Logger } from '../deps.js';
import { GoneError, errorMessage } from '../errors.js';
import type { ExtensionsGoalState } from '../protocol/goal-state.js';
import type { HostPluginClient } from '../protocol/host-plugin.js';
import { parseVmSettings, type ParsedVmSettings } from '../protocol/schemas/vm-settings.js';
import { requestVmSettings, type VmSettingsResponse } from '../protocol/vm-settings-client.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import type { WriteHealth } from '../state/write-health.js';
import { libFile, type Paths } from '../state/paths.js';
import {
  advertisesFastTrack, dispositionOf, initialSupportState, onVmSettingsUnsupported, shouldRequestVmSettings, SUPPORTED_STATE,
  ticksToTimestamp, type SupportState,
} from './fast-track.js';

export const FAST_TRACK_FILE = 'fast_track.json';

export interface VmSettingsFetcherDeps {
  readonly hostPlugin: HostPluginClient;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly paths: Paths;
  /** Debug.EnableFastTrack */
  readonly enabled: boolean;
  /** Re-reads the WireServer goal state so the plugin gets current identity headers (after a 410). */
  readonly refreshIdentity: () => Promise<void>;
  readonly writeHealth?: WriteHealth;
}

export interface VmSettingsResult {
  /** Usable vmSettings (new, or cached on 304); null when disabled, unsupported or Fabric-sourced. */
  readonly goalState: ExtensionsGoalState | null;
  /** True only for a new document (200) that is used. */
  readonly updated: boolean;
  /** The plugin supported vmSettings until this poll: the WireServer goal state must be restored. */
  readonly supportStopped: boolean;
  /** The new document as received (with `updated`), for the goal-state history. */
  readonly text?: string;
}

const NONE: VmSettingsResult = { goalState: null, updated: false, supportStopped: false };

export class VmSettingsFetcher {
  private state: SupportState | null = null;
  private cached: { readonly etag: string; readonly parsed: ParsedVmSettings } | null = null;
  private fastTrackTimestamp: string | null = null;
  private pluginVersion = '0.0.0.0';

  constructor(private readonly deps: VmSettingsFetcherDeps) {}

  get enabled(): boolean {
    return this.deps.enabled;
  }

  /** Whether the status blob advertises the FastTrack feature. */
  get advertised(): boolean {
    return this.state !== null && advertisesFastTrack(this.deps.enabled, this.state);
  }

  get support(): SupportState | null {
    return this.state;
  }

  /** Creation time of the most recent Fast Track goal state (from fast_track.json at start), null if none. */
  async lastFastTrackTimestamp(): Promise<string | null> {
    await this.init();
    return this.fastTrackTimestamp;
  }

  /**
   * One vmSettings request unless disabled or a "not supported" answer is under 6 h old. Errors (HTTP, timeouts,
   * parse errors, missing ETag) are thrown: the goal-state update fails and the next poll retries.
   */
  async fetch(opts: { force?: boolean; signal?: AbortSignal } = {}): Promise<VmSettingsResult> {
    const state = await this.init();
    const { hostPlugin, clock } = this.deps;
    if (!shouldRequestVmSettings(this.deps.enabled, state, clock.now())) return NONE;
    const etag = opts.force ? null : (this.cached?.etag ?? null);
    let res: VmSettingsResponse = await requestVmSettings(hostPlugin, etag, opts.signal);
    if (res.kind === 'gone') {
      await this.deps.refreshIdentity();
      res = await requestVmSettings(hostPlugin, etag, opts.signal);
      if (res.kind === 'gone') throw new GoneError(`GET vmSettings [correlation ID: ${res.correlationId}]: 410 Gone after refreshing the container id`);
    }
    switch (res.kind) {
      case 'not-modified':
        return { goalState: this.usableCached(), updated: false, supportStopped: false };
      case 'not-found':
        return this.unsupported();
      case 'ok':
        return this.accept(res.etag, res.text, res.correlationId);
    }
  }

  /** Deletes fast_track.json (after an outdated goal state, or when the vmSettings come from Fabric). */
  async clearFastTrackState(): Promise<void> {
    try {
      await rm(libFile(this.deps.paths, FAST_TRACK_FILE), { force: true });
    } catch (err) {
      this.deps.logger.warn(`Error clearing the current state for Fast Track (${FAST_TRACK_FILE}): ${errorMessage(err)}`);
    }
  }

  private async accept(etag: string, text: string, correlationId: string): Promise<VmSettingsResult> {
    const { logger } = this.deps;
    const parsed = parseVmSettings(text, etag);
    if (parsed.hostGAPluginVersion !== this.pluginVersion) {
      this.pluginVersion = parsed.hostGAPluginVersion;
      logger.info(`HostGAPlugin version: ${parsed.hostGAPluginVersion}`);
    }
    const disposition = dispositionOf(parsed.hostGAPluginVersion, parsed.source);
    if (disposition === 'unsupported') return this.unsupported();
    this.state = SUPPORTED_STATE;
    this.cached = { etag, parsed };
    logger.info(`Fetched new vmSettings [HostGAPlugin correlation ID: ${correlationId} eTag: ${etag} source: ${parsed.source}]`);
    if (disposition === 'use-fast-track') await this.saveFastTrackState(ticksToTimestamp(parsed.goalState.createdOnTicks));
    else await this.clearFastTrackState();
    if (disposition === 'ignore-fabric') {
      logger.info('The vmSettings originated via Fabric; will ignore them.');
      return NONE;
    }
    return { goalState: parsed.goalState, updated: true, supportStopped: false, text };
  }

  private unsupported(): VmSettingsResult {
    const { state, event } = onVmSettingsUnsupported(this.state ?? initialSupportState(false), this.deps.clock.now());
    this.state = state;
    if (event === 'not-supported') {
      this.deps.logger.info(`HostGAPlugin ${this.pluginVersion} does not support the vmSettings API. Will not use FastTrack.`);
      return NONE;
    }
    this.deps.logger.warn('The HostGAPlugin stopped supporting the vmSettings API. If there is a pending FastTrack goal state, it will not be executed.');
    return { goalState: null, updated: false, supportStopped: true };
  }

  private usableCached(): ExtensionsGoalState | null {
    if (!this.cached) return null;
    return dispositionOf(this.cached.parsed.hostGAPluginVersion, this.cached.parsed.source) === 'ignore-fabric' ? null : this.cached.parsed.goalState;
  }

  private async init(): Promise<SupportState> {
    if (this.state) return this.state;
    let exists = false;
    try {
      const text = await readFile(libFile(this.deps.paths, FAST_TRACK_FILE), 'utf8');
      exists = true;
      const ts = (JSON.parse(text) as { timestamp?: unknown } | null)?.timestamp;
      this.fastTrackTimestamp = typeof ts === 'string' ? ts : null;
    } catch (err) {
      if (exists) this.deps.logger.warn(`Cannot read ${FAST_TRACK_FILE} as ${errorMessage(err)}`);
    }
    this.state = initialSupportState(exists);
    return this.state;
  }

  private async saveFastTrackState(timestamp: string): Promise<void> {
    this.fastTrackTimestamp = timestamp;
    try {
      await writeFileAtomic(libFile(this.deps.paths, FAST_TRACK_FILE), JSON.stringify({ timestamp }).replace('":"', '": "'), { mode: 0o644, health: this.deps.writeHealth });
    } catch (err) {
      this.deps.logger.warn(`Error updating the Fast Track state (${FAST_TRACK_FILE}): ${errorMessage(err)}`);
    }
  }
}
