// What the agent-update step may do, as pure decisions (agent-lifecycle.md §4): the update mode after a new goal
// state, the RSM target, and the random delay of a self-update. No I/O, no clock.
import { compareVersions, isValidVersion, parseVersion } from '../extensions/version.js';
import type { GAFamily } from '../protocol/goal-state.js';

export type UpdateMode = 'SelfUpdate' | 'RSM';

/** The mode after a new goal state: RSM when versioning governance is on and the VM is enabled for it. */
export function nextUpdateMode(current: UpdateMode, family: GAFamily, enableGAVersioning: boolean): UpdateMode {
  if (!enableGAVersioning || family.isVMEnabledForRSMUpgrades === false) return 'SelfUpdate';
  if (family.isVMEnabledForRSMUpgrades === true) return 'RSM';
  return current;
}

export type RsmDecision =
  | { readonly kind: 'none'; readonly why: string }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'update'; readonly target: string; readonly downgrade: boolean };

/** The version RSM requests in the family, checked against the running and daemon versions. */
export function rsmDecision(family: GAFamily, current: string, daemonVersion: string): RsmDecision {
  if (family.isVersionFromRSM !== true) return { kind: 'none', why: 'the requested version is not from RSM' };
  const target = family.version;
  if (target === null) return { kind: 'error', message: `Missing requested version in agent family: ${family.name}` };
  if (!isValidVersion(target)) return { kind: 'error', message: `Invalid requested version ${target} in agent family: ${family.name}` };
  const vsCurrent = compareVersions(target, current);
  if (vsCurrent === 0) return { kind: 'none', why: `the requested version ${target} is already running` };
  if (compareVersions(target, daemonVersion) < 0) {
    return { kind: 'error', message: `Cannot update to the requested version ${target} as it is below the daemon version ${daemonVersion}` };
  }
  if (vsCurrent < 0 && (family.fromVersion === null || compareVersions(family.fromVersion, current) !== 0)) {
    return { kind: 'error', message: `Cannot downgrade to ${target} as the requested FromVersion ${family.fromVersion ?? '(none)'} is not the current version ${current}` };
  }
  return { kind: 'update', target, downgrade: vsCurrent < 0 };
}

/** A hotfix changes only what follows major.minor.patch. */
export function isHotfix(target: string, current: string): boolean {
  const a = parseVersion(target)?.parts ?? [];
  const b = parseVersion(current)?.parts ?? [];
  return [0, 1, 2].every((i) => (a[i] ?? '0') === (b[i] ?? '0'));
}

/** Delay before installing a newly discovered version: uniform in [0, hotfix or regular period). */
export function selfUpdateDelayMs(target: string, current: string, random: number, periods: { hotfixSec: number; regularSec: number }): number {
  return Math.floor(random * (isHotfix(target, current) ? periods.hotfixSec : periods.regularSec) * 1000);
}
