// Extension and agent manifests (parseManifest): generated documents come back as every package, sorted by version;
// mutated and random documents are parsed or refused with a ProtocolError naming the manifest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from '../../src/errors.js';
import { parseManifest } from '../../src/protocol/schemas/manifest.js';
import { compareVersions } from '../../src/extensions/version.js';
import { check, figures, parseOrReject, pick, randomText, URL_POOL } from './arbitraries.js';
import { el, mutateXml, xmlDoc } from './documents.js';

const SOURCE = 'manifest of Pub.Ext';
const TAGS = ['PluginVersionManifest', 'Plugins', 'InternalPlugins', 'Plugin', 'Version', 'Uris', 'Uri', 'DisallowMajorVersionUpgrade'];
const SUFFIXES = ['', '', '', 'rc1', '-beta2', '.alpha', 'rc'];

const versionOf = (n: number): string =>
  `${n % 4}.${(n >> 2) % 12}${n % 3 === 0 ? '' : `.${(n >> 5) % 20}`}${n % 11 === 0 ? '.0' : ''}${pick(SUFFIXES, n >> 9)}`;

const pkgArb = fc.tuple(fc.nat(), fc.nat(3), fc.boolean()).map(([n, uris, internal]) => ({
  version: versionOf(n),
  uris: Array.from({ length: uris }, (_, k) => `${pick(URL_POOL, n + k)}${n}-${k}`),
  isInternal: internal,
}));

const manifestArb = fc.array(pkgArb, { maxLength: 12 }).map((pkgs) => {
  const plugin = (p: (typeof pkgs)[number]) =>
    el('Plugin', {}, el('Version', {}, p.version), el('Uris', {}, ...p.uris.map((u) => el('Uri', {}, u))), el('DisallowMajorVersionUpgrade', {}, 'True'));
  const root = el(
    'PluginVersionManifest',
    { 'xmlns:i': 'http://www.w3.org/2001/XMLSchema-instance' },
    el('Plugins', {}, ...pkgs.filter((p) => !p.isInternal).map(plugin)),
    el('InternalPlugins', {}, ...pkgs.filter((p) => p.isInternal).map(plugin)),
  );
  // Public packages first, then internal ones; a stable sort keeps that order among equal versions.
  const expected = [...pkgs.filter((p) => !p.isInternal), ...pkgs.filter((p) => p.isInternal)].sort((a, b) => compareVersions(a.version, b.version));
  return { root, expected };
});

test('generated manifests list every package, sorted by version', (t) => {
  const ms = check(manifestArb, ({ root, expected }) => {
    assert.deepEqual(parseManifest(xmlDoc(root), SOURCE).packages, expected);
  });
  t.diagnostic(`valid: ${figures(ms)}`);
});

function refusedOrParsed(xml: string): void {
  const m = parseOrReject(() => parseManifest(xml, SOURCE), ProtocolError, SOURCE);
  if (m === undefined) return;
  for (let i = 1; i < m.packages.length; i++) assert.ok(compareVersions(m.packages[i - 1]!.version, m.packages[i]!.version) <= 0);
}

test('mutated manifests are parsed or refused with a ProtocolError naming the manifest', (t) => {
  t.diagnostic(`mutated: ${figures(check(mutateXml(manifestArb.map((m) => m.root), TAGS), refusedOrParsed))}`);
});

test('random text is parsed or refused with a ProtocolError naming the manifest', (t) => {
  t.diagnostic(`random: ${figures(check(randomText('<>/="\' &;!?[]-PluginVersUri0123456789.rcbeta\n'), refusedOrParsed))}`);
});
