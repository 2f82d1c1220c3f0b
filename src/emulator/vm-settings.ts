// The HostGAPlugin vmSettings document (hostgaplugin.md §3.3) generated from a scenario, and its ETag state.
// No I/O. Independent of the agent's parser on purpose.
import { randomBytes, randomUUID } from 'node:crypto';
import { familyUris } from './agent-packages.js';
import { toDotNetTicks } from './documents.js';
import type { ResolvedScenario, ScenarioExtension } from './scenario.js';
import { manifestUrl } from './urls.js';

/** What the emulated plugin reports; ≥ 1.0.8.159, so encodedSignature would be meaningful. */
export const EMULATED_HGAP_VERSION = '1.0.8.159';

export interface VmSettingsContext {
  readonly base: string;
  readonly storageBase: string;
  readonly statusBlobUrl: string;
  readonly inSvdSeqNo: number;
  /** extensionsLastModifiedTickCount: .NET ticks as a decimal string (beyond 2^53, written as a bare JSON number). */
  readonly createdOnTicks: string;
  readonly activityId: string;
  readonly correlationId: string;
  /** Encrypted protectedSettings per extension name (the fabric prepares them; openssl is async). */
  readonly protectedSettings?: ReadonlyMap<string, { readonly data: string; readonly thumbprint: string }>;
}

const TICKS_PLACEHOLDER = '"@@extensionsLastModifiedTickCount@@"';

function extensionGoalState(e: ScenarioExtension, ctx: VmSettingsContext): Record<string, unknown> {
  const common = {
    name: e.name,
    version: e.version,
    location: manifestUrl(ctx.storageBase, e.name, 'primary'),
    failoverLocation: manifestUrl(ctx.storageBase, e.name, 'failover'),
    additionalLocations: [] as string[],
    state: e.state,
    autoUpgrade: false,
    runAsStartupTask: false,
    isJson: true,
    useExactVersion: true,
    settingsSeqNo: e.seqNo,
  };
  if (e.multiConfig) {
    return {
      ...common,
      isMultiConfig: true,
      settings: e.noSettings
        ? []
        : e.multiConfig.map((x) => ({
            ...(x.publicSettings === undefined ? {} : { publicSettings: JSON.stringify(x.publicSettings) }),
            seqNo: x.seqNo,
            extensionName: x.name,
            extensionState: x.state ?? 'enabled',
          })),
      dependsOn: e.multiConfig
        .filter((x) => x.dependencyLevel !== undefined)
        .map((x) => ({ name: x.name, dependencyLevel: x.dependencyLevel, dependsOnExtension: [] })),
    };
  }
  const prot = ctx.protectedSettings?.get(e.name);
  // publicSettings is a JSON-encoded string inside the JSON document, as the real plugin sends it.
  const settings = e.noSettings
    ? []
    : [{
        ...(prot ? { protectedSettingsCertThumbprint: prot.thumbprint, protectedSettings: prot.data } : {}),
        ...(e.publicSettings === undefined ? {} : { publicSettings: JSON.stringify(e.publicSettings) }),
      }];
  return {
    ...common,
    isMultiConfig: false,
    settings,
    ...(e.dependencyLevel === undefined ? {} : { dependsOn: [{ dependencyLevel: e.dependencyLevel, dependsOnExtension: [] }] }),
  };
}

export function vmSettingsJson(s: ResolvedScenario, ctx: VmSettingsContext): string {
  const doc = {
    hostGAPluginVersion: EMULATED_HGAP_VERSION,
    vmSettingsSchemaVersion: '0.0',
    activityId: ctx.activityId,
    correlationId: ctx.correlationId,
    inSvdSeqNo: ctx.inSvdSeqNo,
    extensionsLastModifiedTickCount: '@@extensionsLastModifiedTickCount@@',
    extensionGoalStatesSource: 'FastTrack',
    onHold: false,
    statusUploadBlob: { statusBlobType: s.statusBlobType, value: ctx.statusBlobUrl },
    inVMMetadata: {
      subscriptionId: '00000000-0000-0000-0000-000000000000',
      resourceGroupName: 'emulator-rg',
      vmName: s.vmName,
      location: 'emulator',
      vmId: s.containerId,
      vmSize: 'Standard_B2s',
      osType: 'Linux',
    },
    requiredFeatures: s.requiredFeatures.map((name) => ({ name })),
    gaFamilies: s.gaFamilies.map((f) => ({
      name: f.name,
      ...(f.version === undefined ? {} : { version: f.version }),
      ...(f.fromVersion === undefined ? {} : { fromVersion: f.fromVersion }),
      ...(f.isVersionFromRSM === undefined ? {} : { isVersionFromRSM: f.isVersionFromRSM }),
      ...(f.isVMEnabledForRSMUpgrades === undefined ? {} : { isVMEnabledForRSMUpgrades: f.isVMEnabledForRSMUpgrades }),
      uris: familyUris(ctx.storageBase, s, f),
    })),
    extensionGoalStates: s.extensions.map((e) => extensionGoalState(e, ctx)),
  };
  if (!/^\d+$/.test(ctx.createdOnTicks)) throw new Error(`vmSettings: createdOnTicks must be digits, got ${ctx.createdOnTicks}`);
  return JSON.stringify(doc, null, 2).replace(TICKS_PLACEHOLDER, ctx.createdOnTicks);
}

/** The vmSettings the emulated plugin serves: a new ETag, inSvdSeqNo and tick count at every change. */
export class VmSettingsState {
  etag = '';
  inSvdSeqNo = 0;
  createdOnTicks = '0';
  /** Creation time (ms) of the current document; later goal states are created after it. */
  createdAtMs = 0;
  activityId = '';
  correlationId = '';
  private text: Promise<string> | null = null;

  /**
   * A new document created at `createdAtMs`. One tick after that instant, so a vmSettings published together with an
   * ExtensionsConfig (same instant) is the newer of the two and the agent runs it as a Fast Track goal state.
   */
  bump(createdAtMs: number): void {
    this.etag = BigInt(`0x${randomBytes(8).toString('hex')}`).toString();
    this.inSvdSeqNo++;
    this.createdOnTicks = (BigInt(toDotNetTicks(createdAtMs)) + 1n).toString();
    this.createdAtMs = createdAtMs;
    this.activityId = randomUUID();
    this.correlationId = randomUUID();
    this.text = null;
  }

  /** The text for the current ETag, built once (encrypted settings differ at every build). */
  document(build: () => Promise<string>): Promise<string> {
    if (!this.text) {
      const p = build();
      p.catch(() => {
        if (this.text === p) this.text = null;
      });
      this.text = p;
    }
    return this.text;
  }
}
