// Generates the WireServer documents from a scenario. Pure: no I/O. Independent of the agent's parsers on purpose.
import type { ResolvedScenario, ScenarioExtension, ScenarioPackage } from './scenario.js';
import { certificatesUrl, configUrl, manifestUrl, packageUrl } from './urls.js';
import { familyUris } from './agent-packages.js';

export interface DocumentContext {
  /** Base URL the agent uses to reach the emulator's WireServer port (no trailing slash). */
  readonly base: string;
  /** Base URL of the emulated storage (manifests, packages, status blob); the WireServer's unless set apart. */
  readonly storageBase: string;
  readonly statusBlobUrl: string;
  /** Creation time of this goal state, ms since the epoch. */
  readonly createdAtMs: number;
  readonly activityId: string;
  readonly correlationId: string;
  /** Encrypted protectedSettings per extension name (prepared by the fabric; openssl is async). */
  readonly protectedSettings?: ReadonlyMap<string, { readonly data: string; readonly thumbprint: string }>;
}

const XML_DECL = '<?xml version="1.0" encoding="utf-8"?>\n';

export function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** .NET ticks (100 ns since 0001-01-01 UTC) as a decimal string; exceeds 2^53, hence BigInt. */
export function toDotNetTicks(ms: number): string {
  return ((BigInt(Math.floor(ms)) + 62135596800000n) * 10000n).toString();
}

export function versionsXml(): string {
  return (
    XML_DECL +
    '<Versions>\n  <Preferred>\n    <Version>2012-11-30</Version>\n  </Preferred>\n' +
    '  <Supported>\n    <Version>2010-12-15</Version>\n    <Version>2010-28-10</Version>\n  </Supported>\n</Versions>\n'
  );
}

export function goalStateXml(s: ResolvedScenario, ctx: DocumentContext): string {
  const t = (tag: string, v: string): string => `<${tag}>${escapeText(v)}</${tag}>`;
  return (
    XML_DECL +
    '<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="goalstate10.xsd">\n' +
    `  ${t('Version', '2010-12-15')}\n  ${t('Incarnation', String(s.incarnation))}\n` +
    '  <Machine><ExpectedState>Started</ExpectedState><LBProbePorts><Port>16001</Port></LBProbePorts></Machine>\n' +
    `  <Container>\n    ${t('ContainerId', s.containerId)}\n    <RoleInstanceList>\n      <RoleInstance>\n` +
    `        ${t('InstanceId', s.roleInstanceId)}\n        <State>Started</State>\n        <Configuration>\n` +
    `          ${t('HostingEnvironmentConfig', configUrl(ctx.base, s, 'hostingEnvironmentConfig'))}\n` +
    `          ${t('SharedConfig', configUrl(ctx.base, s, 'sharedConfig'))}\n` +
    `          ${t('ExtensionsConfig', configUrl(ctx.base, s, 'extensionsConfig'))}\n` +
    `          ${t('FullConfig', configUrl(ctx.base, s, 'fullConfig'))}\n` +
    `          ${t('Certificates', certificatesUrl(ctx.base, s))}\n` +
    `          ${t('ConfigName', s.configName)}\n` +
    '        </Configuration>\n      </RoleInstance>\n    </RoleInstanceList>\n  </Container>\n</GoalState>\n'
  );
}

function deploymentXml(s: ResolvedScenario): string {
  return (
    `  <Deployment name="${escapeAttr(s.deploymentName)}" guid="{${escapeAttr(s.containerId)}}" incarnation="${s.incarnation}">\n` +
    `    <Service name="${escapeAttr(s.vmName)}Service" guid="{00000000-0000-0000-0000-000000000000}" />\n  </Deployment>\n` +
    `  <Incarnation number="${s.incarnation}" instance="${escapeAttr(s.vmName)}" guid="{${escapeAttr(s.containerId)}}" />\n` +
    `  <Role guid="{${escapeAttr(s.containerId)}}" name="${escapeAttr(s.roleName)}" settleTimeSeconds="10" />\n`
  );
}

export function hostingEnvironmentXml(s: ResolvedScenario): string {
  return (
    XML_DECL +
    `<HostingEnvironmentConfig version="1.0.0.0" goalStateIncarnation="${s.incarnation}">\n` +
    '  <StoredCertificates />\n' +
    deploymentXml(s) +
    '  <HostingEnvironmentSettings name="full" runtime="emulator"><CAS mode="full" /><PrivilegeLevel mode="max" /></HostingEnvironmentSettings>\n' +
    '  <ApplicationSettings />\n  <ResourceReferences />\n</HostingEnvironmentConfig>\n'
  );
}

export function sharedConfigXml(s: ResolvedScenario): string {
  return (
    XML_DECL +
    `<SharedConfig version="1.0.0.0" goalStateIncarnation="${s.incarnation}">\n` +
    deploymentXml(s) +
    '  <LoadBalancerSettings timeoutSeconds="0" waitLoadBalancerProbeCount="8"><Probes /></LoadBalancerSettings>\n' +
    `  <Instances>\n    <Instance id="${escapeAttr(s.vmName)}" address="127.0.0.1"><FaultDomains randomId="0" updateId="0" updateCount="0" /></Instance>\n  </Instances>\n` +
    '</SharedConfig>\n'
  );
}

/** FullConfig is advertised but never fetched by the agent; serve a minimal document anyway. */
export function fullConfigXml(s: ResolvedScenario): string {
  return XML_DECL + `<FullConfig version="1.0.0.0" goalStateIncarnation="${s.incarnation}" />\n`;
}

/** A CertificateFile; without `data` (base64 CMS of the PKCS#12) it means "no certificates". */
export function certificatesXml(s: ResolvedScenario, data?: string): string {
  return (
    XML_DECL +
    '<CertificateFile xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="certificates10.xsd">\n' +
    `  <Version>2012-11-30</Version>\n  <Incarnation>${s.incarnation}</Incarnation>\n  <Format>Pkcs7BlobWithPfxContents</Format>\n` +
    (data === undefined ? '' : `  <Data>${escapeText(data)}</Data>\n`) +
    '</CertificateFile>\n'
  );
}

/** The RuntimeSettings text: `{"runtimeSettings":[{"handlerSettings":{...}}]}`. */
export function settingsJson(e: ScenarioExtension, prot?: { readonly data: string; readonly thumbprint: string }): string {
  const handlerSettings = {
    ...(prot ? { protectedSettingsCertThumbprint: prot.thumbprint, protectedSettings: prot.data } : {}),
    ...(e.publicSettings === undefined ? {} : { publicSettings: e.publicSettings }),
  };
  return JSON.stringify({ runtimeSettings: [{ handlerSettings }] });
}

function pluginXml(e: ScenarioExtension, ctx: DocumentContext): string {
  const a = (k: string, v: string): string => ` ${k}="${escapeAttr(v)}"`;
  // With failPrimaryManifest the repository answers 404 on the primary location (see repository.ts).
  const primary = manifestUrl(ctx.storageBase, e.name, 'primary');
  const failover = manifestUrl(ctx.storageBase, e.name, 'failover');
  return (
    '    <Plugin' +
    a('name', e.name) + a('version', e.version) + a('location', primary) + a('config', '') + a('state', e.state) +
    a('autoUpgrade', 'false') + a('failoverlocation', failover) + a('runAsStartupTask', 'false') + a('isJson', 'true') +
    a('useExactVersion', 'true') + ' />\n'
  );
}

function pluginSettingsXml(e: ScenarioExtension, ctx: DocumentContext): string {
  if (e.noSettings) return '';
  if (e.multiConfig) return multiConfigSettingsXml(e, e.multiConfig);
  const dependsOn = e.dependencyLevel === undefined ? '' : `      <DependsOn dependencyLevel="${e.dependencyLevel}" />\n`;
  return (
    `    <Plugin name="${escapeAttr(e.name)}" version="${escapeAttr(e.version)}">\n` +
    dependsOn +
    `      <RuntimeSettings seqNo="${e.seqNo}">${escapeText(settingsJson(e, ctx.protectedSettings?.get(e.name)))}</RuntimeSettings>\n    </Plugin>\n`
  );
}

function multiConfigSettingsXml(e: ScenarioExtension, exts: NonNullable<ScenarioExtension['multiConfig']>): string {
  const body = exts
    .map((x) => {
      const dependsOn = x.dependencyLevel === undefined ? '' : `      <DependsOn name="${escapeAttr(x.name)}" dependencyLevel="${x.dependencyLevel}" />\n`;
      const json = settingsJson({ ...e, publicSettings: x.publicSettings });
      return dependsOn + `      <ExtensionRuntimeSettings seqNo="${x.seqNo}" name="${escapeAttr(x.name)}" state="${x.state ?? 'enabled'}">${escapeText(json)}</ExtensionRuntimeSettings>\n`;
    })
    .join('');
  return `    <Plugin name="${escapeAttr(e.name)}" version="${escapeAttr(e.version)}">\n${body}    </Plugin>\n`;
}

export function extensionsConfigXml(s: ResolvedScenario, ctx: DocumentContext): string {
  const families = s.gaFamilies
    .map((f) => {
      const opt = (tag: string, v: string | boolean | undefined): string => (v === undefined ? '' : `<${tag}>${v === true ? 'True' : v === false ? 'False' : escapeText(v)}</${tag}>`);
      const version = opt('Version', f.version) + opt('FromVersion', f.fromVersion) + opt('IsVersionFromRSM', f.isVersionFromRSM) + opt('IsVMEnabledForRSMUpgrades', f.isVMEnabledForRSMUpgrades);
      const uris = familyUris(ctx.storageBase, s, f).map((u) => `<Uri>${escapeText(u)}</Uri>`).join('');
      return `      <GAFamily><Name>${escapeText(f.name)}</Name>${version}<Uris>${uris}</Uris></GAFamily>\n`;
    })
    .join('');
  const features = s.requiredFeatures.length
    ? '  <RequiredFeatures>\n' +
      s.requiredFeatures.map((f) => `    <RequiredFeature><Name>${escapeText(f)}</Name><Value>1.0</Value></RequiredFeature>\n`).join('') +
      '  </RequiredFeatures>\n'
    : '';
  return (
    XML_DECL +
    `<Extensions version="1.0.0.0" goalStateIncarnation="${s.incarnation}">\n` +
    '  <GuestAgentExtension xmlns:i="http://www.w3.org/2001/XMLSchema-instance">\n    <GAFamilies>\n' +
    families +
    '    </GAFamilies>\n    <Location>emulator</Location>\n  </GuestAgentExtension>\n' +
    features +
    '  <Plugins>\n' + s.extensions.map((e) => pluginXml(e, ctx)).join('') + '  </Plugins>\n' +
    '  <PluginSettings>\n' + s.extensions.map((e) => pluginSettingsXml(e, ctx)).join('') + '  </PluginSettings>\n' +
    `  <StatusUploadBlob statusBlobType="${s.statusBlobType}">${escapeText(ctx.statusBlobUrl)}</StatusUploadBlob>\n` +
    `  <InVMGoalStateMetaData inSvdSeqNo="${s.incarnation}" createdOnTicks="${toDotNetTicks(ctx.createdAtMs)}"` +
    ` activityId="${escapeAttr(ctx.activityId)}" correlationId="${escapeAttr(ctx.correlationId)}" />\n` +
    '</Extensions>\n'
  );
}

/** Every version the repository offers for a handler: availableVersions plus the requested one. */
export function packagesOf(e: ScenarioExtension): ScenarioPackage[] {
  const list: ScenarioPackage[] = [...(e.availableVersions ?? [])];
  if (!list.some((p) => p.version === e.version)) list.push(e);
  return list;
}

export function manifestXml(base: string, e: ScenarioExtension): string {
  const plugins = packagesOf(e)
    .map((p) => `    <Plugin>\n      <Version>${escapeText(p.version)}</Version>\n      <Uris><Uri>${escapeText(packageUrl(base, e.name, p.version))}</Uri></Uris>\n    </Plugin>\n`)
    .join('');
  return (
    XML_DECL +
    '<PluginVersionManifest xmlns:i="http://www.w3.org/2001/XMLSchema-instance">\n  <Plugins>\n' +
    plugins +
    '  </Plugins>\n  <InternalPlugins />\n</PluginVersionManifest>\n'
  );
}
