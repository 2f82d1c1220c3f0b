// Version ordering and matching with WALinuxAgent's FlexibleVersion semantics (extension-handlers.md §2).
//
// Syntax: `N(.N)*` optionally followed by a pre-release `[.-]?(alpha|beta|rc)N*` (tags are case-sensitive).
// Ordering: numeric components compared left to right, missing trailing components count as 0 ('1.0' == '1.0.0');
//   a pre-release sorts before the release with the same numbers; alpha < beta < rc, then by number, where a
//   tag without a number sorts before the same tag with any number ('1.0rc' < '1.0rc0').
// Matching (FlexibleVersion.matches): a strict component-prefix test on the numbers only. The requested version
//   must have no more components than the candidate and equal them pairwise, so '2.1' matches 2.1, 2.1.0,
//   2.1.1.5 but '1.0' does NOT match '1' even though they compare equal. Pre-release suffixes are ignored by
//   matching (upstream quirk): '2.1' matches '2.1.0rc1'.
import type { ManifestPackage } from '../protocol/goal-state.js';

const TAGS = ['alpha', 'beta', 'rc'] as const;
const VERSION_RE = /^(\d+(?:\.\d+)*)(?:[.-]?(alpha|beta|rc)(\d*))?$/;

export interface ParsedVersion {
  /** Numeric components as canonical digit strings (no leading zeros), so any size compares exactly. */
  readonly parts: readonly string[];
  /** Tag index (alpha=0, beta=1, rc=2) and canonical number (null when the tag has none). */
  readonly pre: { readonly tag: number; readonly num: string | null } | null;
}

function canonical(digits: string): string {
  const s = digits.replace(/^0+/, '');
  return s === '' ? '0' : s;
}

function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function parseVersion(v: string): ParsedVersion | null {
  const m = VERSION_RE.exec(v);
  if (!m || m[1] === undefined) return null;
  const parts = m[1].split('.').map(canonical);
  const pre = m[2] === undefined ? null : { tag: TAGS.indexOf(m[2] as (typeof TAGS)[number]), num: m[3] ? canonical(m[3]) : null };
  return { parts, pre };
}

export function isValidVersion(v: string): boolean {
  return parseVersion(v) !== null;
}

function mustParse(v: string): ParsedVersion {
  const p = parseVersion(v);
  if (!p) throw new RangeError(`Invalid version number '${v}'`);
  return p;
}

export function compareParsed(a: ParsedVersion, b: ParsedVersion): number {
  const n = Math.max(a.parts.length, b.parts.length);
  for (let i = 0; i < n; i++) {
    const c = compareDigits(a.parts[i] ?? '0', b.parts[i] ?? '0');
    if (c !== 0) return c;
  }
  if (a.pre === null || b.pre === null) return a.pre === b.pre ? 0 : a.pre === null ? 1 : -1;
  if (a.pre.tag !== b.pre.tag) return a.pre.tag < b.pre.tag ? -1 : 1;
  if (a.pre.num === b.pre.num) return 0;
  if (a.pre.num === null) return -1;
  if (b.pre.num === null) return 1;
  return compareDigits(a.pre.num, b.pre.num);
}

/** Negative, zero or positive like a sort comparator. Throws RangeError on an invalid version: check first. */
export function compareVersions(a: string, b: string): number {
  return compareParsed(mustParse(a), mustParse(b));
}

/** True when `candidate` satisfies `requested` (component-prefix match, see the header). False if either is invalid. */
export function versionMatches(requested: string, candidate: string): boolean {
  const r = parseVersion(requested);
  const c = parseVersion(candidate);
  if (!r || !c || r.parts.length > c.parts.length) return false;
  return r.parts.every((p, i) => p === c.parts[i]);
}

/**
 * The highest package matching `requested`, or null. Packages with invalid versions are skipped. Among packages
 * that compare equal ('1.0' and '1.0.0') the later one in list order wins, as upstream's stable sort does.
 */
export function selectVersion<P extends ManifestPackage>(requested: string, packages: readonly P[]): P | null {
  let best: { pkg: P; v: ParsedVersion } | null = null;
  for (const pkg of packages) {
    const v = parseVersion(pkg.version);
    if (!v || !versionMatches(requested, pkg.version)) continue;
    if (best === null || compareParsed(v, best.v) >= 0) best = { pkg, v };
  }
  return best?.pkg ?? null;
}
