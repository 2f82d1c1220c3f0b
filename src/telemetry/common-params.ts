// The parameters the agent appends to every event (wire-protocol.md §12), in upstream's order.
import { arch, cpus, machine, release, totalmem } from 'node:os';
import type { OsInfo } from '../platform/os-info.js';
import { isOperationEvent, type TelemetryEvent, type TelemetryParam } from './event.js';

/** Facts about the machine, read once at start. */
export interface SystemFacts {
  /** `Linux:<distro>-<version>-<codename>:<kernel release>` */
  readonly osVersion: string;
  readonly ramMb: number;
  readonly processors: number;
  readonly cpuArchitecture: string;
}

/** What the goal state tells about the VM; null or missing fields keep upstream's placeholders. */
export interface VmIdentity {
  readonly containerId?: string;
  readonly tenantName?: string;
  readonly roleName?: string;
  readonly roleInstanceName?: string;
}

/** Who produced the event: upstream records the thread id and name (TaskName). */
export interface EventOrigin {
  readonly pid: number;
  readonly tid: number;
  readonly taskName: string;
}

export function readSystemFacts(os: OsInfo): SystemFacts {
  let cpuArchitecture: string;
  try {
    cpuArchitecture = machine();
  } catch {
    cpuArchitecture = arch();
  }
  return {
    osVersion: `Linux:${os.id}-${os.version}-${os.codename}:${release()}`,
    ramMb: Math.floor(totalmem() / (1024 * 1024)),
    processors: cpus().length,
    cpuArchitecture,
  };
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ` from epoch milliseconds (the fraction carries the microseconds). */
export function utcTimestamp(ms: number): string {
  const wholeMs = Math.floor(ms);
  const seconds = Math.floor(wholeMs / 1000);
  const micros = Math.min(999_999, Math.round((ms - seconds * 1000) * 1000));
  return `${new Date(wholeMs).toISOString().slice(0, 19)}.${String(micros).padStart(6, '0')}Z`;
}

export class CommonParams {
  /**
   * @param gaVersion sent as GAVersion (e.g. `waagent-ts-0.1.0`)
   * @param identity read at each event, so values learnt from a later goal state show up in later events
   */
  constructor(
    readonly gaVersion: string,
    private readonly facts: SystemFacts,
    private readonly identity: () => VmIdentity | null = () => null,
  ) {}

  /** Common params for an event of this kind made at `timeMs`. */
  for(event: Pick<TelemetryEvent, 'eventId' | 'providerId' | 'fileType'>, timeMs: number, origin: EventOrigin): TelemetryParam[] {
    let id: VmIdentity | null = null;
    try {
      id = this.identity();
    } catch {
      // Identity is best effort: placeholders are what upstream sends before the goal state is known.
    }
    const f = this.facts;
    const params: TelemetryParam[] = [
      { name: 'GAVersion', value: this.gaVersion },
      { name: 'ContainerId', value: id?.containerId ?? 'UNINITIALIZED' },
      { name: 'OpcodeName', value: utcTimestamp(timeMs) },
      { name: 'EventTid', value: origin.tid },
      { name: 'EventPid', value: origin.pid },
      { name: 'TaskName', value: origin.taskName },
    ];
    if (isOperationEvent(event)) {
      params.push({ name: 'ExtensionType', value: event.fileType }, { name: 'IsInternal', value: false });
    }
    params.push(
      { name: 'OSVersion', value: f.osVersion },
      { name: 'ExecutionMode', value: 'IAAS' },
      { name: 'RAM', value: f.ramMb },
      { name: 'Processors', value: f.processors },
      // Python's json.dumps spacing.
      { name: 'KeywordName', value: `{"CpuArchitecture": ${JSON.stringify(f.cpuArchitecture)}}` },
      { name: 'TenantName', value: id?.tenantName ?? 'TenantName_UNINITIALIZED' },
      { name: 'RoleName', value: id?.roleName ?? 'RoleName_UNINITIALIZED' },
      { name: 'RoleInstanceName', value: id?.roleInstanceName ?? 'RoleInstanceName_UNINITIALIZED' },
      // IMDS values: the agent does not query IMDS, so they keep upstream's placeholders.
      { name: 'Location', value: 'Location_UNINITIALIZED' },
      { name: 'SubscriptionId', value: 'SubscriptionId_UNINITIALIZED' },
      { name: 'ResourceGroupName', value: 'ResourceGroupName_UNINITIALIZED' },
      { name: 'VMId', value: 'VMId_UNINITIALIZED' },
      { name: 'ImageOrigin', value: 0 },
    );
    return params;
  }
}
