// Keeps the WireServer firewall in place (upstream's EnableFirewall periodic operation of the env thread):
// set up at start, re-checked every OS.EnableFirewallPeriod, repaired when a rule was removed, logged daily.
import type { Clock, Logger } from '../deps.js';
import { errorMessage } from '../errors.js';
import { createCommandRunner, type CommandRunner } from '../platform/firewall-command.js';
import { createFirewall, type WireServerFirewall } from '../platform/firewall.js';

export type KeeperOutcome = 'ok' | 'added' | 'repaired' | 'inconsistent' | 'failed';

export interface FirewallKeeperDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly firewall: WireServerFirewall;
  /** OS.EnableFirewallPeriod in ms. */
  readonly periodMs: number;
  /** Debug.FirewallRulesLogPeriod in ms: the rules are logged at start and then this often. */
  readonly logPeriodMs?: number;
}

/** Repeated failures (e.g. a broken iptables) are logged the first 3 times, then hourly. */
const ERROR_LOG_INTERVAL_MS = 3600_000;

export class FirewallKeeper {
  private failures = 0;
  private lastErrorLogMs = -Infinity;
  private lastRulesLogMs = -Infinity;

  constructor(private readonly deps: FirewallKeeperDeps) {}

  /**
   * Start-up (upstream's _initialize_firewall): removes the legacy rule, then sets the rules up when none exist.
   * Some-but-not-all is only a warning here; the first checkOnce() resets them.
   */
  async initialize(): Promise<KeeperOutcome> {
    const { firewall, logger } = this.deps;
    try {
      logger.info(`Using ${firewall.tool} [version ${firewall.version}] to manage firewall rules`);
      if (await firewall.removeLegacyRule()) logger.info('Removed the legacy firewall rule (ACCEPT of new connections to the WireServer)');
      const { state, missing } = await firewall.check();
      if (state === 'ok') {
        logger.info('The firewall rules for the Azure Fabric are already set up');
        await this.logRules('Current Firewall rules');
        return 'ok';
      }
      if (state === 'inconsistent') {
        logger.warn(`The firewall rules for the Azure Fabric are not set up correctly (missing: ${missing.join(', ')}); they will be reset`);
        return 'inconsistent';
      }
      await this.setupAndVerify();
      await this.logRules('Created firewall rules for the Azure Fabric');
      return 'added';
    } catch (err) {
      this.logFailure(err);
      return 'failed';
    }
  }

  /** One periodic check: missing rules are added, a partial set is deleted and added again. Never throws. */
  async checkOnce(): Promise<KeeperOutcome> {
    const { firewall, logger, clock } = this.deps;
    try {
      const { state, missing } = await firewall.check();
      let outcome: KeeperOutcome = 'ok';
      if (state === 'inconsistent') {
        logger.warn(`The firewall rules for the WireServer are inconsistent (missing: ${missing.join(', ')}); will reset them`);
        await firewall.remove();
        await this.setupAndVerify();
        outcome = 'repaired';
      } else if (state === 'missing') {
        await this.setupAndVerify();
        outcome = 'added';
      }
      if (this.failures > 0) logger.info(`The firewall check recovered after ${this.failures} failure(s)`);
      this.failures = 0;
      if (outcome !== 'ok') await this.logRules('Successfully added Azure fabric firewall rules. Current Firewall rules');
      else if (this.deps.logPeriodMs !== undefined && clock.now() - this.lastRulesLogMs >= this.deps.logPeriodMs) await this.logRules('Current Firewall rules');
      return outcome;
    } catch (err) {
      this.logFailure(err);
      return 'failed';
    }
  }

  /** initialize(), then checkOnce() every period until the signal aborts. Never throws. */
  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    await this.initialize();
    while (!signal.aborted) {
      await this.checkOnce();
      try {
        await this.deps.clock.sleep(this.deps.periodMs, signal);
      } catch {
        return;
      }
    }
  }

  /** Self-test after applying: the rules must read back complete, else the setup did not take. */
  private async setupAndVerify(): Promise<void> {
    await this.deps.firewall.setup();
    const after = await this.deps.firewall.check();
    if (after.state !== 'ok') throw new Error(`the rules are not in place after the setup (missing: ${after.missing.join(', ')})`);
  }

  private async logRules(title: string): Promise<void> {
    this.lastRulesLogMs = this.deps.clock.now();
    this.deps.logger.info(`${title}:\n${(await this.deps.firewall.listRules()).trimEnd()}`);
  }

  private logFailure(err: unknown): void {
    this.failures++;
    const now = this.deps.clock.now();
    if (this.failures <= 3 || now - this.lastErrorLogMs >= ERROR_LOG_INTERVAL_MS) {
      this.lastErrorLogMs = now;
      this.deps.logger.error(`Cannot set up the firewall for the WireServer (failure ${this.failures}): ${errorMessage(err)}`);
    }
  }
}

export interface StartFirewallOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** The WireServer address (IPv4; loopback is refused). */
  readonly address: string;
  readonly periodMs: number;
  readonly logPeriodMs?: number;
  /** Defaults to the process's uid. */
  readonly uid?: number;
  /** Defaults to running the tools directly. */
  readonly run?: CommandRunner;
}

export interface RunningKeeper {
  /** Aborts the periodic check and waits for the current one to finish. */
  stop(): Promise<void>;
}

/**
 * Starts the keeper in the background (tool detection, set-up and checks never hold up the goal-state loop).
 * Tied to `signal`; stop() ends it earlier (e.g. when the loop exits for an agent update).
 */
export function startFirewallKeeper(opts: StartFirewallOptions, signal: AbortSignal): RunningKeeper {
  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  const logger = opts.logger.child({ thread: 'EnvHandler' });
  const done = (async () => {
    try {
      const uid = opts.uid ?? process.getuid?.() ?? 0;
      const created = await createFirewall({ run: opts.run ?? createCommandRunner(), address: opts.address, uid });
      if (!created) {
        logger.warn('Cannot set up the firewall for the WireServer: neither iptables nor nft is installed');
        return;
      }
      for (const w of created.warnings) logger.warn(w);
      const keeper = new FirewallKeeper({ clock: opts.clock, logger, firewall: created.firewall, periodMs: opts.periodMs, ...(opts.logPeriodMs === undefined ? {} : { logPeriodMs: opts.logPeriodMs }) });
      await keeper.run(ac.signal);
    } catch (err) {
      logger.warn(errorMessage(err));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  })();
  return {
    async stop() {
      ac.abort();
      await done;
    },
  };
}

/**
 * `waagent -setup-firewall=<ip>` (run at boot by the network-setup service): apply the rules once, repairing a partial
 * set, and exit 0 when they are in place, 1 otherwise. Wired as src/cli/commands/setup-firewall.ts.
 */
export async function setupFirewallOnce(opts: Omit<StartFirewallOptions, 'periodMs' | 'logPeriodMs'>): Promise<number> {
  try {
    const created = await createFirewall({ run: opts.run ?? createCommandRunner(), address: opts.address, uid: opts.uid ?? process.getuid?.() ?? 0 });
    if (!created) {
      opts.logger.error('Unable to setup firewall rules: neither iptables nor nft is installed');
      return 1;
    }
    for (const w of created.warnings) opts.logger.warn(w);
    const keeper = new FirewallKeeper({ clock: opts.clock, logger: opts.logger, firewall: created.firewall, periodMs: 0 });
    let outcome = await keeper.initialize();
    if (outcome === 'inconsistent') outcome = await keeper.checkOnce();
    return outcome === 'failed' ? 1 : 0;
  } catch (err) {
    opts.logger.error(`Unable to setup firewall rules: ${errorMessage(err)}`);
    return 1;
  }
}
