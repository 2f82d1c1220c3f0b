// The agent-update step of every loop iteration (agent-lifecycle.md §4): find the GAFamily, pick a target version
// (self-update: the manifest's highest, after a random delay; RSM: the version the goal state requests, downgrade
// included), download and install that waagent-ts package, and ask the process to exit so that the daemon starts it.
// Never throws: failures are logged as warnings prefixed with the mode, and the next check retries.
import { access, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Clock, Logger, Random } from '../deps.js';
import { errorMessage } from '../errors.js';
import { compareVersions } from '../extensions/version.js';
import type { GAFamily } from '../protocol/goal-state.js';
import type { Paths } from '../state/paths.js';
import { clearAgentFailure, isBlacklisted, readAgentFailure, recordAgentFailure } from '../daemon/agent-error.js';
import { isRunnable, listDownloadedAgents } from '../daemon/agent-versions.js';
import { PACKAGE_VERSION_RE, agentDirName, versionOfAgentDir } from '../daemon/package-manifest.js';
import { findAgentPackage, highestAgentPackage, parseAgentManifest, type AgentPackageRef } from './agent-manifest.js';
import type { FullGoalState } from './goal-state-fetcher.js';
import type { GuestAgentUpdateStatus } from './status-report.js';
import { nextUpdateMode, rsmDecision, selfUpdateDelayMs, type UpdateMode } from './update-policy.js';

export const INITIAL_UPDATE_FILE = 'waagent_initial_update';
export const RSM_UPDATE_FILE = 'waagent_rsm_update';
export const UPDATE_ATTEMPT_FILE = 'update_attempt.json';
export const MAX_UPDATE_ATTEMPTS = 3;

export interface AgentDownloader {
  fetchText(uris: readonly string[], what: string, opts?: { signal?: AbortSignal }): Promise<{ text: string }>;
  fetchToFile(uris: readonly string[], path: string, what: string, opts?: { signal?: AbortSignal }): Promise<string>;
}

export interface AgentUpdaterDeps {
  readonly config: Config;
  readonly paths: Paths;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly downloader: AgentDownloader;
  /** The version this process runs as (version.ts runningVersion). */
  readonly currentVersion: string;
  /** The supervising daemon's version; null when no daemon started this process (then nothing is updated). */
  readonly daemonVersion: string | null;
}

interface Plan {
  readonly version: string;
  readonly pkg: AgentPackageRef;
  readonly downgrade: boolean;
}

export class AgentUpdater {
  private lastGsId: string | null = null;
  private lastCheckMs = -Infinity;
  private mode: UpdateMode | null = null;
  private readonly notBefore = new Map<string, number>();
  private readonly logged = new Set<string>();
  /** The mode of the last check (the first update is always a self-update), for the reported update status. */
  private lastMode: UpdateMode | null = null;
  /** Why the last attempt in this goal state failed; '' when it did not (upstream _last_attempted_update_error_msg). */
  private lastError = '';

  constructor(private readonly deps: AgentUpdaterDeps) {}

  /**
   * guestAgentStatus.updateStatus (upstream get_vmagent_update_status): only in RSM mode; the version running now,
   * Success/0, or Error/1 with the message of the last failed attempt in the current goal state.
   */
  updateStatus(): GuestAgentUpdateStatus | null {
    if (this.lastMode !== 'RSM') return null;
    return this.lastError === ''
      ? { expectedVersion: this.deps.currentVersion, status: 'Success', code: 0, message: '' }
      : { expectedVersion: this.deps.currentVersion, status: 'Error', code: 1, message: this.lastError };
  }

  /** True when the process should exit so that the daemon starts the version just installed. */
  async check(gs: FullGoalState | null, signal: AbortSignal): Promise<boolean> {
    const { config, logger } = this.deps;
    if (!config['AutoUpdate.UpdateToLatestVersion']) {
      this.lastError = 'Auto update is disabled, skipping agent update';
      return this.once('disabled', this.lastError);
    }
    if (this.deps.daemonVersion === null) return this.once('unsupervised', 'Not started by the daemon, skipping agent update');
    if (!gs) return false;
    const egs = gs.extensions;
    const newGs = egs.id !== this.lastGsId;
    this.lastGsId = egs.id;
    // A new goal state starts without an error; otherwise the last one is reported until the next attempt.
    if (newGs) this.lastError = '';
    const initial = !(await this.exists(INITIAL_UPDATE_FILE));
    this.mode ??= (await this.exists(RSM_UPDATE_FILE)) ? 'RSM' : 'SelfUpdate';
    const familyName = config['AutoUpdate.GAFamily'];
    const family = egs.gaFamilies.find((f) => f.name === familyName && f.uris.length > 0);
    if (!family) {
      // Reported as the update error in RSM mode, as upstream (AgentFamilyMissingError), logged once per goal state.
      this.lastMode = initial ? 'SelfUpdate' : this.mode;
      this.lastError = `Agent family: ${familyName} not found in the goal state: ${egs.id}, skipping agent update`;
      if (newGs) logger.info(this.lastError);
      return false;
    }
    if (newGs) await this.switchMode(family);
    // The very first attempt is always a self-update (to the newest version), as upstream.
    const mode: UpdateMode = initial ? 'SelfUpdate' : this.mode;
    this.lastMode = mode;
    try {
      const plan = mode === 'RSM' ? await this.planRsm(family, egs.id, newGs, signal) : await this.planSelfUpdate(family, egs.id, initial, signal);
      if (!plan) return false;
      await this.apply(plan, mode, egs.id, signal);
      return true;
    } catch (err) {
      if (!signal.aborted) {
        this.lastError = `[${mode}] ${errorMessage(err)}`;
        logger.warn(this.lastError);
      }
      return false;
    }
  }

  private once(key: string, msg: string): false {
    if (!this.logged.has(key)) this.deps.logger.info(msg);
    this.logged.add(key);
    return false;
  }

  private lib(name: string): string {
    return join(this.deps.paths.libDir, name);
  }

  private exists(name: string): Promise<boolean> {
    return access(this.lib(name)).then(() => true, () => false);
  }

  private async switchMode(family: GAFamily): Promise<void> {
    const next = nextUpdateMode(this.mode ?? 'SelfUpdate', family, this.deps.config['Debug.EnableGAVersioning']);
    if (next === this.mode) return;
    this.deps.logger.info(`Agent update mode changed from ${this.mode ?? 'SelfUpdate'} to ${next}`);
    this.mode = next;
    if (next === 'RSM') await writeFile(this.lib(RSM_UPDATE_FILE), '');
    else await rm(this.lib(RSM_UPDATE_FILE), { force: true });
  }

  private async fetchManifest(family: GAFamily, signal: AbortSignal): Promise<AgentPackageRef[]> {
    const { text } = await this.deps.downloader.fetchText(family.uris, `agent manifest of family ${family.name}`, { signal });
    return parseAgentManifest(text, `agent manifest of family ${family.name}`);
  }

  private async planSelfUpdate(family: GAFamily, gsId: string, initial: boolean, signal: AbortSignal): Promise<Plan | null> {
    const { clock, config, logger, currentVersion } = this.deps;
    const now = clock.now();
    if (now - this.lastCheckMs < config['Autoupdate.Frequency'] * 1000) return null;
    this.lastCheckMs = now;
    const pkgs = await this.fetchManifest(family, signal);
    if (initial) await writeFile(this.lib(INITIAL_UPDATE_FILE), '');
    const top = highestAgentPackage(pkgs);
    if (!top || compareVersions(top.version, currentVersion) <= 0) {
      logger.verbose(`No agent version newer than ${currentVersion} in the manifest of family ${family.name}`);
      return null;
    }
    const v = top.version;
    if (!PACKAGE_VERSION_RE.test(v)) throw new Error(`Agent version ${v} in the manifest is not a waagent-ts package version`);
    const failure = readAgentFailure(this.lib(agentDirName(v)));
    // A version the daemon blacklisted is not tried again by self-update: only a newer one (or RSM) moves on.
    if (isBlacklisted(failure)) {
      this.once(`blacklisted ${v}`, `Agent ${agentDirName(v)} is blacklisted (${failure!.reason}), skipping agent update`);
      return null;
    }
    if (!initial) {
      let at = this.notBefore.get(v);
      if (at === undefined) {
        at = now + selfUpdateDelayMs(v, currentVersion, this.deps.random.random(), {
          hotfixSec: config['Debug.SelfUpdateHotfixFrequency'], regularSec: config['Debug.SelfUpdateRegularFrequency'],
        });
        this.notBefore.set(v, at);
        logger.info(`Self-update discovered new agent version ${v}; it will be installed after ${new Date(at).toISOString()}`);
      }
      if (now < at) return null;
    }
    logger.info(`Self-update is ready to upgrade the new agent: ${v} now before processing the goal state: ${gsId}`);
    return { version: v, pkg: top, downgrade: false };
  }

  private async planRsm(family: GAFamily, gsId: string, newGs: boolean, signal: AbortSignal): Promise<Plan | null> {
    if (!newGs) return null;
    const d = rsmDecision(family, this.deps.currentVersion, this.deps.daemonVersion!);
    if (d.kind === 'none') {
      this.deps.logger.verbose(`No agent update requested by RSM in goal state ${gsId}: ${d.why}`);
      return null;
    }
    if (d.kind === 'error') throw new Error(d.message);
    if (!PACKAGE_VERSION_RE.test(d.target)) throw new Error(`Requested version ${d.target} is not a waagent-ts package version`);
    const pkg = findAgentPackage(await this.fetchManifest(family, signal), d.target);
    if (!pkg) throw new Error(`No matching package found in the agent manifest for version: ${d.target}`);
    this.deps.logger.info(`New agent version:${d.target} requested by RSM in Goal state ${gsId}, will update the agent before processing the goal state.`);
    return { version: d.target, pkg, downgrade: d.downgrade };
  }

  private async apply(plan: Plan, mode: UpdateMode, gsId: string, signal: AbortSignal): Promise<void> {
    const { logger, currentVersion, paths, downloader } = this.deps;
    const { version: v } = plan;
    const dir = this.lib(agentDirName(v));
    const present = listDownloadedAgents(paths.libDir).find((a) => a.version === v);
    if (!present || present.entry === null) {
      const archive = `${dir}.tar.gz`;
      try {
        await downloader.fetchToFile(plan.pkg.uris, archive, `agent package ${agentDirName(v)}`, { signal });
        // tar is loaded on first use: it is not needed on the way to the first status upload.
        const { installAgentPackage } = await import('./agent-package.js');
        await installAgentPackage({ archive, libDir: paths.libDir, version: v, sha256: plan.pkg.sha256 });
      } finally {
        await rm(archive, { force: true });
      }
      logger.info(`Agent ${agentDirName(v)} downloaded and verified`);
    }
    const attempts = await this.readAttempts(dir);
    if (attempts >= MAX_UPDATE_ATTEMPTS) {
      throw new Error(`Attempted enough update retries for version: ${v} but still agent not recovered from bad state. So, we stop updating to this version`);
    }
    // An explicit RSM request gives a blacklisted version another (bounded) chance; self-update never picks one.
    if (mode === 'RSM') clearAgentFailure(dir);
    await writeFile(join(dir, UPDATE_ATTEMPT_FILE), JSON.stringify({ count: attempts + 1 }));
    const installed = listDownloadedAgents(paths.libDir).find((a) => a.version === v);
    if (!installed || !isRunnable(installed)) throw new Error(`Agent ${agentDirName(v)} is not runnable after installation`);
    await this.removeOtherVersions([currentVersion, v]);
    const currentDir = this.lib(agentDirName(currentVersion));
    if (plan.downgrade && (await access(currentDir).then(() => true, () => false))) {
      recordAgentFailure(currentDir, `Agent ${agentDirName(currentVersion)} replaced by a downgrade to ${v} requested by RSM in goal state ${gsId}`, true, this.deps.clock.now());
    }
    logger.info(`Current Agent ${currentVersion} completed all update checks, exiting current process to ${plan.downgrade ? 'downgrade' : 'upgrade'} to the new Agent version ${v}`);
  }

  private async readAttempts(dir: string): Promise<number> {
    try {
      const v = JSON.parse(await readFile(join(dir, UPDATE_ATTEMPT_FILE), 'utf8')) as { count?: unknown };
      return typeof v.count === 'number' && Number.isFinite(v.count) ? v.count : 0;
    } catch {
      return 0;
    }
  }

  /** Every downloaded agent folder and archive except the current and the target version, as upstream. */
  private async removeOtherVersions(keep: readonly string[]): Promise<void> {
    for (const name of await readdir(this.deps.paths.libDir)) {
      const version = versionOfAgentDir(name.replace(/\.tar\.gz$/, ''));
      if (version === null || keep.some((k) => compareVersions(k, version) === 0)) continue;
      await rm(this.lib(name), { recursive: true, force: true });
      this.deps.logger.info(`Removed agent ${name}`);
    }
  }
}
