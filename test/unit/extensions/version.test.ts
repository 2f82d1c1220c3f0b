import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ManifestPackage } from '../../../src/protocol/goal-state.js';
import { compareVersions, isValidVersion, selectVersion, versionMatches } from '../../../src/extensions/version.js';

test('isValidVersion', () => {
  for (const v of ['1', '1.0', '2.1.6', '1.2.3.4.5', '007.1', '1.0rc1', '1.0.rc1', '1.0-beta2', '1.0alpha', '99999999999999999999.1']) {
    assert.equal(isValidVersion(v), true, v);
  }
  for (const v of ['', '1.', '.1', '1..2', 'v1.0', '1.0 ', ' 1.0', '1.0-rc-1', '1.0RC1', '1.0gamma1', '1,0', 'latest', '1.0rc1.2']) {
    assert.equal(isValidVersion(v), false, v);
  }
});

/** Math.sign without -0, so strict equality works. */
const sign = (n: number): number => Math.sign(n) + 0;

test('comparison table', () => {
  const table: [string, string, -1 | 0 | 1][] = [
    ['1.0', '1.0.0', 0],
    ['1', '1.0.0.0', 0],
    ['1.0.1', '1.0', 1],
    ['1.9', '1.10', -1],
    ['2.0', '10.0', -1],
    ['01.2', '1.2', 0],
    ['2.1.6', '2.1.6.0', 0],
    ['2.1.6.1', '2.1.6', 1],
    ['1.0alpha1', '1.0', -1],
    ['1.0rc9', '1.0', -1],
    ['1.0rc1', '1.0.1alpha1', -1],
    ['1.0alpha3', '1.0beta2', -1],
    ['1.0beta2', '1.0rc1', -1],
    ['1.0rc1', '1.0rc2', -1],
    ['1.0rc10', '1.0rc2', 1],
    ['1.0.rc1', '1.0-rc1', 0],
    ['1.0rc1', '1.0.0rc1', 0],
    ['1.0rc', '1.0rc0', -1],
    ['99999999999999999999', '99999999999999999998', 1],
  ];
  for (const [a, b, want] of table) {
    assert.equal(sign(compareVersions(a, b)), want, `${a} vs ${b}`);
    assert.equal(sign(compareVersions(b, a)), sign(-want), `${b} vs ${a}`);
  }
});

test('compareVersions rejects invalid versions', () => {
  assert.throws(() => compareVersions('1.0', 'abc'), RangeError);
});

test('compareVersions is a consistent total order (antisymmetric, transitive)', () => {
  const version = fc
    .tuple(fc.array(fc.nat(12), { minLength: 1, maxLength: 4 }), fc.option(fc.tuple(fc.constantFrom('alpha', 'beta', 'rc'), fc.option(fc.nat(3)))))
    .map(([parts, pre]) => parts.join('.') + (pre ? pre[0] + (pre[1] === null ? '' : String(pre[1])) : ''));
  fc.assert(
    fc.property(version, version, version, (a, b, c) => {
      assert.equal(sign(compareVersions(a, b)), sign(-compareVersions(b, a)));
      if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) assert.ok(compareVersions(a, c) <= 0);
    }),
    { numRuns: 300 },
  );
});

test('matching is a component-prefix test on the numbers', () => {
  const table: [string, string, boolean][] = [
    ['2.1', '2.1', true],
    ['2.1', '2.1.0', true],
    ['2.1', '2.1.1.5', true],
    ['2.1', '2.10', false],
    ['2.1', '2.2.0', false],
    ['2.1.6', '2.1.6.3', true],
    ['2.1.6', '2.1.7', false],
    ['2', '2.99.1', true],
    ['2', '3.0', false],
    ['1.0', '1.0.0', true],
    ['1.0', '1', false], // more requested components than the candidate: no match, though they compare equal
    ['1.0.0', '1.0', false],
    ['01.2', '1.2.3', true],
    ['2.1', '2.1.0rc1', true], // pre-release ignored by matching (upstream)
    ['2.1rc1', '2.1.0', true],
    ['bad', '1.0', false],
    ['1.0', 'bad', false],
  ];
  for (const [req, cand, want] of table) assert.equal(versionMatches(req, cand), want, `${req} ~ ${cand}`);
});

const pkg = (version: string, tag = ''): ManifestPackage => ({ version, uris: [`https://127.0.0.1/${version}${tag}`], isInternal: false });

test('selectVersion picks the highest match', () => {
  const pkgs = [pkg('1.0.0'), pkg('2.1.0'), pkg('2.1.1'), pkg('2.1.1.5'), pkg('2.2.0'), pkg('2.10.0'), pkg('3.0'), pkg('junk')];
  assert.equal(selectVersion('2.1', pkgs)?.version, '2.1.1.5');
  assert.equal(selectVersion('2', pkgs)?.version, '2.10.0');
  assert.equal(selectVersion('2.1.0', pkgs)?.version, '2.1.0');
  assert.equal(selectVersion('3.0', pkgs)?.version, '3.0');
  assert.equal(selectVersion('4.0', pkgs), null);
  assert.equal(selectVersion('2.1.6', pkgs), null);
  assert.equal(selectVersion('junk', pkgs), null);
  assert.equal(selectVersion('1.0', []), null);
});

test('selectVersion: among equal versions the later listed wins (stable sort)', () => {
  const pkgs = [pkg('1.0.0', '-a'), pkg('1.0.0.0', '-b')];
  assert.equal(selectVersion('1.0', pkgs)?.uris[0], 'https://127.0.0.1/1.0.0.0-b');
});
