// A fabric scenario is plain data: what the emulated WireServer publishes as the goal state.
import { randomUUID } from 'node:crypto';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { HandlerRequestedState, StatusBlobType } from '../protocol/goal-state.js';

export interface ScenarioPackage {
  readonly version: string;
  /** Handler folder zipped on the fly. */
  readonly packageDir?: string;
  /** A zip file served byte-for-byte (hostile-zip tests). Wins over packageDir. */
  readonly packageZip?: string;
}

export interface ScenarioExtension extends ScenarioPackage {
  /** `<Publisher>.<Type>` */
  readonly name: string;
  readonly state: HandlerRequestedState;
  readonly seqNo: number;
  readonly publicSettings?: unknown;
  /** A JSON object sent as protectedSettings: CMS-encrypted to the emulator's tenant certificate. */
  readonly protectedSettings?: unknown;
  /** Omit the PluginSettings entry entirely (a handler without settings). */
  readonly noSettings?: boolean;
  readonly dependencyLevel?: number;
  /** Versions listed in the manifest; the requested version is always added. */
  readonly availableVersions?: readonly ScenarioPackage[];
  /** The primary manifest location answers 404; only failoverlocation works. */
  readonly failPrimaryManifest?: boolean;
  /** Multi-config handler: one ExtensionRuntimeSettings per named extension (seqNo/publicSettings above unused). */
  readonly multiConfig?: readonly ScenarioMcExtension[];
}

export interface ScenarioMcExtension {
  readonly name: string;
  readonly seqNo: number;
  readonly state?: 'enabled' | 'disabled';
  readonly publicSettings?: unknown;
  readonly dependencyLevel?: number;
}

export interface ScenarioGAFamily {
  readonly name: string;
  /** RSM: the requested agent version (with isVersionFromRSM), and the version a downgrade starts from. */
  readonly version?: string;
  readonly fromVersion?: string;
  readonly isVersionFromRSM?: boolean;
  readonly isVMEnabledForRSMUpgrades?: boolean;
  /** Agent manifest URLs; when absent and agentPackages are published, the emulator's own agent manifest. */
  readonly uris?: readonly string[];
}

/** An agent package the emulator's agent manifest lists (agent-packages.ts). */
export interface ScenarioAgentPackage {
  readonly version: string;
  /** Served byte-for-byte: a waagent-ts package (`npm run package`), or anything else for refusal tests. */
  readonly packageFile: string;
  /** The manifest's Sha256: computed from the file by default; a string replaces it; false leaves it out. */
  readonly sha256?: string | false;
}

export interface Scenario {
  readonly incarnation?: number;
  readonly containerId?: string;
  readonly roleInstanceId?: string;
  /** RoleInstance/Configuration/ConfigName; the HostGAPlugin requires it in x-ms-host-config-name. */
  readonly configName?: string;
  readonly vmName?: string;
  readonly roleName?: string;
  readonly statusBlobType?: StatusBlobType;
  readonly gaFamilies?: readonly ScenarioGAFamily[];
  readonly requiredFeatures?: readonly string[];
  readonly extensions?: readonly ScenarioExtension[];
  readonly agentPackages?: readonly ScenarioAgentPackage[];
  /** The HostGAPlugin serves the goal state as Fast Track vmSettings (default false: /vmSettings answers 404). */
  readonly fastTrack?: boolean;
  /**
   * publish() only: deliver this change through vmSettings alone (new ETag, same incarnation and ExtensionsConfig),
   * as a Fast Track operation does. Cannot change the incarnation or the identity values.
   */
  readonly fastTrackOnly?: boolean;
}

/** A scenario with every default filled in; what the document generators consume. */
export interface ResolvedScenario {
  readonly incarnation: number;
  readonly containerId: string;
  readonly roleInstanceId: string;
  readonly configName: string;
  readonly deploymentName: string;
  readonly vmName: string;
  readonly roleName: string;
  readonly statusBlobType: StatusBlobType;
  readonly gaFamilies: readonly ScenarioGAFamily[];
  readonly requiredFeatures: readonly string[];
  readonly extensions: readonly ScenarioExtension[];
  readonly fastTrack: boolean;
  readonly agentPackages: readonly ScenarioAgentPackage[];
}

export const MAX_EXTENSIONS = 128;

const nameRe = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;
const versionRe = /^[0-9A-Za-z.+_-]{1,64}$/;
const idRe = /^[A-Za-z0-9._-]{1,200}$/;

const packageSchema = z.object({
  version: z.string().regex(versionRe),
  packageDir: z.string().min(1).optional(),
  packageZip: z.string().min(1).optional(),
});

const extensionSchema = packageSchema.extend({
  name: z.string().regex(nameRe, 'must be <Publisher>.<Type>'),
  state: z.enum(['enabled', 'disabled', 'uninstall']),
  seqNo: z.number().int().min(0),
  publicSettings: z.unknown().optional(),
  protectedSettings: z.record(z.string(), z.unknown()).optional(),
  noSettings: z.boolean().optional(),
  dependencyLevel: z.number().int().min(0).max(1000).optional(),
  availableVersions: z.array(packageSchema).max(50).optional(),
  failPrimaryManifest: z.boolean().optional(),
  multiConfig: z
    .array(z.object({
      name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
      seqNo: z.number().int().min(0),
      state: z.enum(['enabled', 'disabled']).optional(),
      publicSettings: z.unknown().optional(),
      dependencyLevel: z.number().int().min(0).max(1000).optional(),
    }))
    .max(20)
    .optional(),
});

export const scenarioSchema = z.object({
  incarnation: z.number().int().min(1).optional(),
  containerId: z.string().regex(idRe).optional(),
  roleInstanceId: z.string().regex(idRe).optional(),
  configName: z.string().regex(idRe).optional(),
  vmName: z.string().regex(idRe).optional(),
  roleName: z.string().regex(idRe).optional(),
  statusBlobType: z.enum(['BlockBlob', 'PageBlob']).optional(),
  gaFamilies: z
    .array(z.object({
      name: z.string().min(1).max(64), version: z.string().regex(versionRe).optional(), fromVersion: z.string().regex(versionRe).optional(),
      isVersionFromRSM: z.boolean().optional(), isVMEnabledForRSMUpgrades: z.boolean().optional(), uris: z.array(z.string().max(2000)).max(20).optional(),
    }))
    .max(10)
    .optional(),
  agentPackages: z
    .array(z.object({ version: z.string().regex(versionRe), packageFile: z.string().min(1), sha256: z.union([z.string().regex(/^[0-9a-fA-F]{64}$/), z.literal(false)]).optional() }))
    .max(20)
    .optional(),
  requiredFeatures: z.array(z.string().min(1).max(100)).max(20).optional(),
  extensions: z.array(extensionSchema).max(MAX_EXTENSIONS).optional(),
  fastTrack: z.boolean().optional(),
  fastTrackOnly: z.boolean().optional(),
});

/** Validates outside input (scenario file, control API); errors name the source and the field. */
export function parseScenario(input: unknown, source: string): Scenario {
  const r = scenarioSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue ? issue.path.join('.') || '(root)' : '(root)';
    throw new Error(`${source}: invalid scenario field ${field}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data as Scenario;
}

/** Makes relative packageDir/packageZip paths relative to the scenario file's folder. */
export function resolveScenarioPaths(s: Scenario, scenarioFile: string): Scenario {
  const base = dirname(resolve(scenarioFile));
  const fix = <T extends ScenarioPackage>(p: T): T => ({
    ...p,
    ...(p.packageDir !== undefined ? { packageDir: isAbsolute(p.packageDir) ? p.packageDir : resolve(base, p.packageDir) } : {}),
    ...(p.packageZip !== undefined ? { packageZip: isAbsolute(p.packageZip) ? p.packageZip : resolve(base, p.packageZip) } : {}),
  });
  if (s.agentPackages) s = { ...s, agentPackages: s.agentPackages.map((p) => ({ ...p, packageFile: resolve(base, p.packageFile) })) };
  if (!s.extensions) return s;
  return { ...s, extensions: s.extensions.map((e) => ({ ...fix(e), ...(e.availableVersions ? { availableVersions: e.availableVersions.map(fix) } : {}) })) };
}

function checkExtensions(exts: readonly ScenarioExtension[]): void {
  if (exts.length > MAX_EXTENSIONS) throw new Error(`scenario: at most ${MAX_EXTENSIONS} extensions`);
  const seen = new Set<string>();
  for (const e of exts) {
    const key = e.name.toLowerCase();
    if (seen.has(key)) throw new Error(`scenario: duplicate extension ${e.name}`);
    seen.add(key);
    for (const p of [e, ...(e.availableVersions ?? [])]) {
      if (p.packageDir === undefined && p.packageZip === undefined) {
        throw new Error(`scenario: extension ${e.name} version ${p.version} needs packageDir or packageZip`);
      }
    }
  }
}

/** Fills defaults for the first goal state. Identity values are random unless given. */
export function resolveInitial(s: Scenario): ResolvedScenario {
  const deployment = randomUUID();
  const exts = s.extensions ?? [];
  checkExtensions(exts);
  return {
    incarnation: s.incarnation ?? 1,
    containerId: s.containerId ?? randomUUID(),
    roleInstanceId: s.roleInstanceId ?? `${randomUUID()}.MachineRole_IN_0`,
    configName: s.configName ?? `${deployment}.0.${deployment}.0._emulator.1.xml`,
    deploymentName: deployment.replace(/-/g, ''),
    vmName: s.vmName ?? 'emulator-vm',
    roleName: s.roleName ?? 'MachineRole',
    statusBlobType: s.statusBlobType ?? 'BlockBlob',
    gaFamilies: s.gaFamilies ?? [{ name: 'Prod', uris: [] }],
    requiredFeatures: s.requiredFeatures ?? [],
    extensions: exts,
    fastTrack: s.fastTrack ?? false,
    agentPackages: s.agentPackages ?? [],
  };
}

/** The next goal state: given fields replace the current ones; the incarnation goes up unless given. */
export function resolveNext(cur: ResolvedScenario, s: Scenario): ResolvedScenario {
  const exts = s.extensions ?? cur.extensions;
  checkExtensions(exts);
  return {
    ...cur,
    incarnation: s.incarnation ?? cur.incarnation + 1,
    containerId: s.containerId ?? cur.containerId,
    roleInstanceId: s.roleInstanceId ?? cur.roleInstanceId,
    configName: s.configName ?? cur.configName,
    vmName: s.vmName ?? cur.vmName,
    roleName: s.roleName ?? cur.roleName,
    statusBlobType: s.statusBlobType ?? cur.statusBlobType,
    gaFamilies: s.gaFamilies ?? cur.gaFamilies,
    requiredFeatures: s.requiredFeatures ?? cur.requiredFeatures,
    extensions: exts,
    fastTrack: s.fastTrack ?? cur.fastTrack,
    agentPackages: s.agentPackages ?? cur.agentPackages,
  };
}
