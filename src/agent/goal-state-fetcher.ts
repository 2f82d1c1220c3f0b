// Fetches the goal state each poll and the sub-documents when the incarnation changes.
import type { Logger } from '../deps.js';
import type { ExtensionsGoalState, HostingEnvironment, WireGoalState } from '../protocol/goal-state.js';
import type { WireClient } from '../protocol/wire-client.js';
import type { HostPluginClient } from '../protocol/host-plugin.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import { libFile, type Paths } from '../state/paths.js';
import { ZERO_GUID } from '../protocol/goal-state.js';

export interface FullGoalState {
  readonly wire: WireGoalState;
  readonly hostingEnv: HostingEnvironment | null;
  readonly extensions: ExtensionsGoalState;
}

export function emptyExtensionsGoalState(incarnation: string): ExtensionsGoalState {
  return {
    id: `incarnation_${incarnation}`, source: 'Fabric', channel: 'WireServer', inSvdSeqNo: incarnation, createdOnTicks: '0',
    activityId: ZERO_GUID, correlationId: ZERO_GUID, statusUploadBlob: null, artifactsProfileUrl: null, onHold: null,
    requiredFeatures: [], gaFamilies: [], handlers: [],
  };
}

export class GoalStateFetcher {
  private current: FullGoalState | null = null;

  constructor(private readonly deps: { wire: WireClient; hostPlugin: HostPluginClient; logger: Logger; paths: Paths }) {}

  get latest(): FullGoalState | null {
    return this.current;
  }

  /**
   * One poll: GET the goal state (identity headers refreshed every time); on a new incarnation, or when
   * forced, fetch ExtensionsConfig, HostingEnvironmentConfig and SharedConfig. Any failure aborts the
   * update and leaves the previous goal state in place, so the next poll retries.
   */
  async update(opts: { force?: boolean; signal?: AbortSignal } = {}): Promise<{ goalState: FullGoalState; changed: boolean }> {
    const { wire: client, hostPlugin, logger, paths } = this.deps;
    const { value: wire } = await client.getGoalState(opts.signal);
    hostPlugin.setIdentity(wire.containerId, wire.roleConfigName);
    if (!opts.force && this.current && this.current.wire.incarnation === wire.incarnation) {
      this.current = { ...this.current, wire };
      return { goalState: this.current, changed: false };
    }
    logger.info(`Fetching goal state [incarnation ${wire.incarnation}]`);
    const extensions = wire.extensionsConfigUrl
      ? (await client.getExtensionsConfig(wire.extensionsConfigUrl, wire.incarnation, opts.signal)).value
      : emptyExtensionsGoalState(wire.incarnation);
    const hostingEnv = (await client.getHostingEnvironment(wire.hostingEnvironmentConfigUrl, opts.signal)).value;
    const shared = await client.getSharedConfig(wire.sharedConfigUrl, opts.signal);
    // Other software on the VM reads SharedConfig.xml, so it is kept verbatim as upstream does.
    await writeFileAtomic(libFile(paths, 'SharedConfig.xml'), shared, { mode: 0o644 });
    this.current = { wire, hostingEnv, extensions };
    return { goalState: this.current, changed: true };
  }
}
