// One normalized, readonly goal-state model, built from WireServer XML or HostGAPlugin vmSettings JSON.

export type HandlerRequestedState = 'enabled' | 'disabled' | 'uninstall';
export type StatusBlobType = 'BlockBlob' | 'PageBlob';

/** The WireServer goal-state document (`/machine/?comp=goalstate`). */
export interface WireGoalState {
  readonly incarnation: string;
  readonly containerId: string;
  readonly roleInstanceId: string;
  /** RoleInstance/Configuration/ConfigName; sent to the HostGAPlugin as x-ms-host-config-name. */
  readonly roleConfigName: string;
  readonly hostingEnvironmentConfigUrl: string;
  readonly sharedConfigUrl: string;
  readonly extensionsConfigUrl: string | null;
  readonly certificatesUrl: string | null;
  readonly remoteAccessInfoUrl: string | null;
}

export interface HostingEnvironment {
  readonly vmName: string;
  readonly roleName: string;
  readonly deploymentName: string;
}

export interface GAFamily {
  readonly name: string;
  readonly version: string | null;
  readonly fromVersion: string | null;
  readonly isVersionFromRSM: boolean | null;
  readonly isVMEnabledForRSMUpgrades: boolean | null;
  readonly uris: readonly string[];
}

/** One settings instance of a handler (single-config: exactly one, named after the handler). */
export interface ExtensionSettings {
  /** Handler name for single-config, the extension name for multi-config. */
  readonly name: string;
  readonly sequenceNumber: number;
  /** Extension state; always 'enabled' for single-config. */
  readonly state: 'enabled' | 'disabled';
  readonly publicSettings: unknown;
  /** Base64 CMS blob exactly as received, never decrypted by the agent. */
  readonly protectedSettings: string | null;
  readonly certificateThumbprint: string | null;
  readonly dependencyLevel: number;
}

export interface HandlerSpec {
  /** `<Publisher>.<Type>` */
  readonly name: string;
  readonly version: string;
  readonly state: HandlerRequestedState;
  /** Manifest URLs: location, failoverlocation, additionalLocations (empty values dropped). */
  readonly manifestUris: readonly string[];
  readonly encodedSignature: string | null;
  readonly isMultiConfig: boolean;
  readonly settings: readonly ExtensionSettings[];
  /** Set when the goal state for this handler is invalid; processing fails with this reason. */
  readonly invalidReason: string | null;
}

export interface ExtensionsGoalState {
  /** `incarnation_<n>` or `etag_<etag>` */
  readonly id: string;
  readonly source: 'Fabric' | 'FastTrack';
  readonly channel: 'WireServer' | 'HostGAPlugin';
  /** inSvdSeqNo echoed in the status blob: the incarnation for WireServer goal states. */
  readonly inSvdSeqNo: string;
  /** .NET ticks as a decimal string (may exceed 2^53). */
  readonly createdOnTicks: string;
  readonly activityId: string;
  readonly correlationId: string;
  readonly statusUploadBlob: { readonly url: string; readonly type: StatusBlobType } | null;
  readonly artifactsProfileUrl: string | null;
  readonly onHold: boolean | null;
  readonly requiredFeatures: readonly string[];
  readonly gaFamilies: readonly GAFamily[];
  readonly handlers: readonly HandlerSpec[];
}

export interface ManifestPackage {
  readonly version: string;
  readonly uris: readonly string[];
  readonly isInternal: boolean;
}

export interface PluginVersionManifest {
  readonly packages: readonly ManifestPackage[];
}

export const ZERO_GUID = '00000000-0000-0000-0000-000000000000';
