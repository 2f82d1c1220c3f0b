// zod schema of the vmSettings document after its keys were lower-cased (hostgaplugin.md §3.3).
// Optional values may also be JSON null. Rules that depend on other fields (single- vs multi-config) live in
// vm-settings.ts.
import { z } from 'zod';
import { isValidVersion } from '../../extensions/version.js';

const opt = <T extends z.ZodType>(t: T) => t.nullable().optional();
const version = z.string().refine(isValidVersion, { message: 'is not a valid version' });
const int = z.number().int();

const settingsSchema = z.object({
  publicsettings: opt(z.string()),
  protectedsettings: opt(z.string()),
  protectedsettingscertthumbprint: opt(z.string()),
  extensionname: opt(z.string()),
  seqno: opt(int),
  extensionstate: opt(z.string()),
});

const extensionSchema = z.object({
  name: z.string(),
  version: z.string(),
  state: z.enum(['enabled', 'disabled', 'uninstall']),
  location: opt(z.string()),
  failoverlocation: opt(z.string()),
  additionallocations: opt(z.array(z.string())),
  encodedsignature: opt(z.string()),
  ismulticonfig: opt(z.boolean()),
  settingsseqno: opt(int),
  settings: opt(z.array(settingsSchema)),
  dependson: opt(z.array(z.object({ name: opt(z.string()), dependencylevel: int }))),
});

export type VmSettingsExtension = z.output<typeof extensionSchema>;

export const vmSettingsSchema = z.object({
  hostgapluginversion: opt(version),
  vmsettingsschemaversion: opt(version),
  activityid: opt(z.string()),
  correlationid: opt(z.string()),
  insvdseqno: opt(z.union([int, z.string()])),
  extensionslastmodifiedtickcount: opt(z.union([z.number(), z.string()])),
  extensiongoalstatessource: opt(z.string()),
  onhold: opt(z.boolean()),
  statusuploadblob: opt(z.object({ value: z.string(), statusblobtype: opt(z.string()) })),
  requiredfeatures: opt(z.array(z.object({ name: z.string() }))),
  gafamilies: opt(
    z.array(
      z.object({
        name: z.string(),
        version: opt(z.string()),
        fromversion: opt(z.string()),
        isversionfromrsm: opt(z.boolean()),
        isvmenabledforrsmupgrades: opt(z.boolean()),
        uris: opt(z.array(z.string())),
      }),
    ),
  ),
  extensiongoalstates: opt(z.array(extensionSchema)),
});

/** Documented spellings of the keys, for error messages. */
export const VM_SETTINGS_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  [
    'hostGAPluginVersion', 'vmSettingsSchemaVersion', 'activityId', 'correlationId', 'inSvdSeqNo',
    'extensionsLastModifiedTickCount', 'extensionGoalStatesSource', 'onHold', 'statusUploadBlob', 'statusBlobType',
    'requiredFeatures', 'gaFamilies', 'fromVersion', 'isVersionFromRSM', 'isVMEnabledForRSMUpgrades',
    'extensionGoalStates', 'failoverLocation', 'additionalLocations', 'encodedSignature', 'isMultiConfig',
    'settingsSeqNo', 'publicSettings', 'protectedSettings', 'protectedSettingsCertThumbprint', 'extensionName',
    'seqNo', 'extensionState', 'dependsOn', 'dependencyLevel',
  ].map((k) => [k.toLowerCase(), k]),
);
