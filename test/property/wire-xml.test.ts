// Small WireServer XML documents: GoalState, HostingEnvironmentConfig, Versions, Certificates. Generated documents
// parse and round-trip; structurally mutated, byte-mutated and random documents are parsed or refused with a
// ProtocolError naming the document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from '../../src/errors.js';
import { parseGoalState } from '../../src/protocol/schemas/goal-state.js';
import { parseHostingEnvironment } from '../../src/protocol/schemas/hosting-env.js';
import { parseVersions } from '../../src/protocol/schemas/versions.js';
import { parseCertificatesXml } from '../../src/protocol/schemas/certificates.js';
import { check, figures, parseOrReject, pick, randomText, tokenFrom, NAME_POOL, URL_POOL } from './arbitraries.js';
import { el, mutateXml, xmlDoc, type XEl } from './documents.js';

const XML_ALPHABET = '<>/="\' &;!?[]-abcdefGHIJxyz0123456789\n\t';
const text = tokenFrom(NAME_POOL);
const url = tokenFrom(URL_POOL);
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { nil: null });

/** Reorders children deterministically from a number (element order is not significant in these documents). */
const shuffled = (children: XEl[], n: number): XEl[] => children.map((c, i) => ({ c, k: (n * (i + 7)) % 31 })).sort((a, b) => a.k - b.k).map((x) => x.c);

/** The three properties of one document: generated ones round-trip, mutated and random ones parse or are refused. */
function runAll<V extends { root: XEl }, P>(
  name: string,
  valid: fc.Arbitrary<V>,
  tags: string[],
  parse: (xml: string) => P,
  doc: RegExp,
  roundTrip: (v: V, parsed: P) => void,
): void {
  test(`${name}: generated documents parse and round-trip`, (t) => {
    t.diagnostic(`valid: ${figures(check(valid, (v) => roundTrip(v, parse(xmlDoc(v.root)))))}`);
  });
  const refusedOrParsed = (xml: string): void => void parseOrReject(() => parse(xml), ProtocolError, doc);
  test(`${name}: mutated documents are parsed or refused with a ProtocolError naming it`, (t) => {
    t.diagnostic(`mutated: ${figures(check(mutateXml(valid.map((v) => v.root), tags), refusedOrParsed))}`);
  });
  test(`${name}: random text is parsed or refused with a ProtocolError naming it`, (t) => {
    t.diagnostic(`random: ${figures(check(randomText(XML_ALPHABET), refusedOrParsed))}`);
  });
}

// ---- GoalState ----

const goalState = fc
  .record({
    incarnation: fc.nat().map(String),
    containerId: text,
    instanceId: text,
    configName: text,
    hosting: url,
    shared: url,
    ext: optional(url),
    certs: optional(url),
    rai: optional(url),
    order: fc.nat(),
  })
  .map((g) => {
    const config = shuffled(
      [
        el('HostingEnvironmentConfig', {}, g.hosting),
        el('SharedConfig', {}, g.shared),
        g.ext === null ? el('FullConfig', {}, 'x') : el('ExtensionsConfig', {}, g.ext),
        el('FullConfig', {}, 'http://127.0.0.1/full'),
        g.certs === null ? el('Unknown') : el('Certificates', {}, g.certs),
        el('ConfigName', {}, g.configName),
      ],
      g.order,
    );
    const root = el(
      'GoalState',
      { 'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance' },
      el('Version', {}, '2010-12-15'),
      el('Incarnation', {}, g.incarnation),
      el('Machine', {}, el('ExpectedState', {}, 'Started')),
      el(
        'Container',
        {},
        el('ContainerId', {}, g.containerId),
        g.rai === null ? null : el('RemoteAccessInfo', {}, g.rai),
        el('RoleInstanceList', {}, el('RoleInstance', {}, el('InstanceId', {}, g.instanceId), el('State', {}, 'Started'), el('Configuration', {}, ...config))),
      ),
    );
    return { ...g, root };
  });

runAll(
  'GoalState',
  goalState,
  ['GoalState', 'Incarnation', 'Container', 'ContainerId', 'RoleInstance', 'InstanceId', 'Configuration', 'ConfigName', 'SharedConfig', 'HostingEnvironmentConfig', 'ExtensionsConfig', 'Certificates', 'RemoteAccessInfo'],
  parseGoalState,
  /GoalState|goal state/,
  (g: { incarnation: string; containerId: string; instanceId: string; configName: string; hosting: string; shared: string; ext: string | null; certs: string | null; rai: string | null }, p: ReturnType<typeof parseGoalState>) => {
    assert.deepEqual(p, {
      incarnation: g.incarnation,
      containerId: g.containerId,
      roleInstanceId: g.instanceId,
      roleConfigName: g.configName,
      hostingEnvironmentConfigUrl: g.hosting,
      sharedConfigUrl: g.shared,
      extensionsConfigUrl: g.ext,
      certificatesUrl: g.certs,
      remoteAccessInfoUrl: g.rai,
    });
  },
);

// ---- HostingEnvironmentConfig ----

const attrValue = fc.oneof(text, fc.constant(''));
const hostingEnv = fc.record({ vm: attrValue, role: attrValue, deployment: attrValue, order: fc.nat() }).map((h) => ({
  ...h,
  root: el(
    'HostingEnvironmentConfig',
    { version: '1.0.0.0', goalStateIncarnation: '1' },
    ...shuffled(
      [
        el('StoredCertificates', {}, el('StoredCertificate', { name: 'Stored0', storeName: 'My' })),
        el('Deployment', { name: h.deployment, incarnation: '3' }, el('Service', { name: 'svc' })),
        el('Incarnation', { number: '1', instance: h.vm }),
        el('Role', { guid: '{0}', name: h.role, software: '' }),
      ],
      h.order,
    ),
  ),
}));

runAll(
  'HostingEnvironmentConfig',
  hostingEnv,
  ['HostingEnvironmentConfig', 'Deployment', 'Incarnation', 'Role', 'Service'],
  parseHostingEnvironment,
  /HostingEnvironmentConfig/,
  (h: { vm: string; role: string; deployment: string }, p: ReturnType<typeof parseHostingEnvironment>) => {
    assert.deepEqual(p, { vmName: h.vm, roleName: h.role, deploymentName: h.deployment });
  },
);

// ---- Versions ----

const version = fc.tuple(fc.nat(9999), fc.nat(12), fc.nat(31)).map(([y, m, d]) => `${y}-${m}-${d}`);
const versions = fc
  .record({ preferred: optional(version), supported: fc.array(version, { maxLength: 6 }) })
  .filter((v) => v.preferred !== null || v.supported.length > 0)
  .map((v) => ({
    ...v,
    root: el(
      'Versions',
      {},
      v.preferred === null ? null : el('Preferred', {}, el('Version', {}, v.preferred)),
      el('Supported', {}, ...v.supported.map((s) => el('Version', {}, s))),
    ),
  }));

runAll(
  'Versions',
  versions,
  ['Versions', 'Preferred', 'Supported', 'Version'],
  parseVersions,
  /Versions/,
  (v: { preferred: string | null; supported: string[] }, p: ReturnType<typeof parseVersions>) => {
    assert.deepEqual(p, { preferred: v.preferred, supported: v.supported });
  },
);

// ---- Certificates ----

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const base64Lines = fc.array(fc.nat(), { minLength: 1, maxLength: 8 }).map((ns) => ns.map((n) => Array.from({ length: 1 + (n % 64) }, (_, i) => pick(Array.from(BASE64), n + i * 7)).join('')).join('\n'));
const certificates = fc.record({ format: optional(fc.constantFrom('Pkcs7BlobWithPfxContents', 'Other')), data: optional(base64Lines) }).map((c) => ({
  ...c,
  root: el(
    'CertificateFile',
    {},
    el('Version', {}, '2012-11-30'),
    el('Incarnation', {}, '7'),
    c.format === null ? null : el('Format', {}, c.format),
    c.data === null ? null : el('Data', {}, `\n${c.data}\n`),
  ),
}));

runAll(
  'Certificates',
  certificates,
  ['CertificateFile', 'Format', 'Data', 'Version'],
  parseCertificatesXml,
  /Certificates/,
  (c: { format: string | null; data: string | null }, p: ReturnType<typeof parseCertificatesXml>) => {
    assert.deepEqual(p, { format: c.format, data: c.data });
  },
);
