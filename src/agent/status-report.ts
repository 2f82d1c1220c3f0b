// The aggregate VM status (status blob JSON, extension-handlers.md §13). Pure: the caller supplies the clock reading,
// the handler statuses it read from disk and the goal-state outcome. Key order follows upstream's wire.py.
import type { ExtensionStatusResult } from '../extensions/status-file.js';
import { redactSecrets } from '../log/redact.js';
import { AGENT_VERSION } from '../version.js';
import { PyFloat, pyJsonDumps } from '../util/py-json.js';

export interface HandlerStatusEntry {
  readonly name: string;
  readonly version: string;
  /** Ready | NotReady, or the heartbeat's status (Ready, NotReady, Installing, Unresponsive, or as written). */
  readonly status: string | null;
  readonly code: number;
  /** formattedMessage is emitted only when this is not null. */
  readonly message: string | null;
  /** Multi-config handler: adds runtimeSettingsStatus.extensionName. */
  readonly supportsMultiConfig: boolean;
  /** runtimeSettingsStatus is emitted only when present. */
  readonly extensionStatus: ExtensionStatusResult | null;
}

/** Present only in RSM update mode (agent-lifecycle.md §4). */
export interface GuestAgentUpdateStatus {
  readonly expectedVersion: string;
  readonly status: 'Success' | 'Error';
  readonly code: number;
  readonly message: string;
}

export interface GoalStateAggregateStatus {
  /** Incarnation (WireServer) or vmSettings inSvdSeqNo (Fast Track). */
  readonly inSvdSeqNo: string;
  readonly status: 'Success' | 'Failed';
  /** 0, 2001 (unsupported required features) or -1. */
  readonly code: number;
  readonly message: string;
  /** When the goal state was processed, ms since the epoch. */
  readonly processedAt: number;
}

export interface VmStatusInput {
  /** Report time, ms since the epoch. */
  readonly now: number;
  /** Running agent version; defaults to ours. */
  readonly agentVersion?: string;
  readonly updateStatus?: GuestAgentUpdateStatus | null;
  /** One entry per handler (per extension for multi-config handlers), in report order. */
  readonly handlers: readonly HandlerStatusEntry[];
  /** Null until a goal state has been processed. */
  readonly goalState?: GoalStateAggregateStatus | null;
  readonly osInfo: { readonly computerName: string; readonly osName: string; readonly osVersion: string };
  /** AutoUpdate.UpdateToLatestVersion and Debug.EnableGAVersioning both on. */
  readonly versioningGovernance: boolean;
  /** Fast Track enabled and the HostGAPlugin supports vmSettings. */
  readonly fastTrack: boolean;
}

/** The status blob as a JSON-ready object; serialize it with serializeVmStatus. */
export type VmStatusObject = Record<string, unknown>;

/** `%Y-%m-%dT%H:%M:%SZ` in UTC. */
export function formatStatusTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

function formattedMessage(message: string | null): { lang: string; message: string | null } {
  return { lang: 'en-US', message: message === null ? null : redactSecrets(message) };
}

function extensionStatusObject(s: ExtensionStatusResult, timestamp: string): Record<string, unknown> {
  const status: Record<string, unknown> = {
    name: s.name,
    configurationAppliedTime: s.configurationAppliedTime,
    operation: s.operation,
    status: s.status,
    code: s.code,
    formattedMessage: formattedMessage(s.message),
  };
  if (s.substatus.length > 0) {
    status.substatus = s.substatus.map((sub) => ({
      name: sub.name,
      status: sub.status,
      code: sub.code,
      formattedMessage: formattedMessage(sub.message),
    }));
  }
  return { status, version: new PyFloat(1), timestampUTC: timestamp };
}

function handlerObject(h: HandlerStatusEntry, timestamp: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    handlerVersion: h.version,
    handlerName: h.name,
    status: h.status,
    code: h.code,
    useExactVersion: true,
  };
  if (h.message !== null) out.formattedMessage = formattedMessage(h.message);
  if (h.extensionStatus !== null) {
    const rss: Record<string, unknown> = {
      settingsStatus: extensionStatusObject(h.extensionStatus, timestamp),
      sequenceNumber: h.extensionStatus.sequenceNumber,
    };
    if (h.supportsMultiConfig) rss.extensionName = h.extensionStatus.name;
    out.runtimeSettingsStatus = rss;
  }
  return out;
}

/** Builds the status blob object (upstream `vm_status_to_v1`). */
export function buildVmStatus(input: VmStatusInput): VmStatusObject {
  const timestamp = formatStatusTimestamp(input.now);
  const version = input.agentVersion ?? AGENT_VERSION;

  const guestAgentStatus: Record<string, unknown> = {
    version,
    status: 'Ready',
    formattedMessage: formattedMessage('Guest Agent is running'),
  };
  if (input.updateStatus) {
    const u = input.updateStatus;
    guestAgentStatus.updateStatus = {
      expectedVersion: u.expectedVersion,
      status: u.status,
      code: u.code,
      formattedMessage: formattedMessage(u.message),
    };
  }

  const aggregateStatus: Record<string, unknown> = {
    guestAgentStatus,
    handlerAggregateStatus: input.handlers.map((h) => handlerObject(h, timestamp)),
  };
  if (input.goalState) {
    const g = input.goalState;
    aggregateStatus.vmArtifactsAggregateStatus = {
      goalStateAggregateStatus: {
        formattedMessage: formattedMessage(g.message),
        timestampUTC: formatStatusTimestamp(g.processedAt),
        inSvdSeqNo: g.inSvdSeqNo,
        status: g.status,
        code: g.code,
      },
    };
  }

  const supportedFeatures = [{ Key: 'MultipleExtensionsPerHandler', Value: '1.0' }];
  if (input.versioningGovernance) supportedFeatures.push({ Key: 'VersioningGovernance', Value: '1.0' });
  if (input.fastTrack) supportedFeatures.push({ Key: 'FastTrack', Value: '1.0' });

  return {
    version: '1.1',
    timestampUTC: timestamp,
    aggregateStatus,
    guestOSInfo: {
      computerName: input.osInfo.computerName,
      osName: input.osInfo.osName,
      osVersion: input.osInfo.osVersion,
      version,
    },
    supportedFeatures,
  };
}

/** Python `json.dumps` of the blob: ASCII only, `", "` / `": "` separators. */
export function serializeVmStatus(obj: VmStatusObject): string {
  return pyJsonDumps(obj);
}
