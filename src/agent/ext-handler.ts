// Wires the extension-handler process together from a composed World.
import { mkdir } from 'node:fs/promises';
import type { World } from '../compose.js';
import { errorMessage } from '../errors.js';
import { WireClient } from '../protocol/wire-client.js';
import { HostPluginClient } from '../protocol/host-plugin.js';
import { Certificates } from '../protocol/certificates.js';
import { createOpenssl } from '../platform/openssl.js';
import { ArtifactDownloader } from '../extensions/download.js';
import { HandlerProcessor } from '../extensions/handler-processor.js';
import { refreshHandlerEnvironments } from '../extensions/installed.js';
import { reportProvisioningHealth } from './provisioning.js';
import { readOsInfo } from '../platform/os-info.js';
import { libFile } from '../state/paths.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import { createWriteHealth } from '../state/write-health.js';
import { GoalStateHistory } from '../state/goal-state-history.js';
import { startFirewallKeeper } from './firewall-keeper.js';
import { AGENT_NAME, AGENT_VERSION } from '../version.js';
import { GoalStateFetcher } from './goal-state-fetcher.js';
import { VmSettingsFetcher } from './vm-settings-fetcher.js';
import { AgentLoop } from './loop.js';
import { UploadingStatusReporter } from './status-reporter.js';
import { createUpdateStep } from './update-step.js';
import { createAgentTelemetry } from '../telemetry/agent-telemetry.js';

export interface ExtHandlerAgent {
  readonly loop: AgentLoop;
  readonly reporter: UploadingStatusReporter;
  /** Version check (retried every period until it passes), then the goal-state loop until aborted. */
  run(signal: AbortSignal): Promise<void>;
}

export function createExtHandlerAgent(world: World): ExtHandlerAgent {
  const { clock, logger, http, retry, paths, config } = world;
  // Failed state writes, remembered for the status and the loop (one tracker for this agent).
  const writeHealth = createWriteHealth({ clock });
  const wire = new WireClient({ http, clock, logger, baseUrl: world.wireServerUrl, retry });
  const hostPlugin = new HostPluginClient({ http, clock, logger, baseUrl: world.hostPluginUrl, retry });
  const certificates = new Certificates({ wire, openssl: createOpenssl({ path: config['OS.OpensslPath'] }), paths, logger, clock, writeHealth });
  const vmSettings = new VmSettingsFetcher({
    hostPlugin, clock, logger, paths, enabled: config['Debug.EnableFastTrack'], refreshIdentity: () => refreshIdentity(), writeHealth,
  });
  const fetcher = new GoalStateFetcher({
    wire, hostPlugin, logger, paths, certificates, vmSettings, writeHealth, history: new GoalStateHistory({ libDir: paths.libDir, clock, logger }),
  });
  // Event files, collector and sender on their own timers (src/telemetry/README.md).
  const telemetry = createAgentTelemetry(world, wire, () => fetcher.latest);
  const refreshIdentity = async () => {
    const { value } = await wire.getGoalState();
    hostPlugin.setIdentity(value.containerId, value.roleConfigName);
  };
  const { progress } = world;
  const downloader = new ArtifactDownloader({ http, clock, random: world.random, logger, hostPlugin, refreshIdentity, retry, progress });
  const processor = new HandlerProcessor({
    paths, clock, logger, runner: world.runner, downloader, wireServerAddress: world.wireServerAddress, progress,
    commandTimeoutMs: config['Extensions.CommandTimeout'] * 1000,
    longCommandTimeoutMs: config['Extensions.LongCommandTimeout'] * 1000,
    agentEnv: process.env,
    onOperationResult: telemetry.onOperationResult,
    writeHealth,
  });
  const updater = createUpdateStep(world, { hostPlugin, refreshIdentity });
  const reporter = new UploadingStatusReporter({
    clock, logger, paths, osInfo: readOsInfo(), resolvedVersions: processor.resolved, inProgress: processor.inProgress, refreshIdentity,
    upload: { http, clock, logger, hostPlugin, retry }, fastTrack: () => vmSettings.advertised, writeHealth,
    versioningGovernance: config['AutoUpdate.UpdateToLatestVersion'] && config['Debug.EnableGAVersioning'],
    updateStatus: () => updater.updateStatus?.() ?? null,
  });
  const periodMs = (config['Extensions.Enabled'] ? config['Extensions.GoalStatePeriod'] : 300) * 1000;
  const loop = new AgentLoop({ clock, logger, fetcher, processor: telemetry.wrapProcessor(processor), reporter, periodMs, updater, writeHealth });

  return {
    loop,
    reporter,
    async run(signal) {
      const os = readOsInfo();
      logger.info(`${AGENT_NAME}-${AGENT_VERSION} running as the goal state agent`);
      logger.info(`OS: ${os.id} ${os.version}, Node.js: ${process.version}`);
      for (const w of world.configWarnings) logger.warn(w);
      // A lib dir that cannot be created is logged, not thrown: exiting would only make the daemon restart us in a loop.
      await mkdir(paths.libDir, { recursive: true, mode: 0o700 }).catch((err) => logger.error(`Cannot create the lib dir ${paths.libDir}: ${errorMessage(err)}`));
      const envs = await refreshHandlerEnvironments(paths, (dir, err) => logger.warn(`Cannot rewrite ${dir}/HandlerEnvironment.json: ${errorMessage(err)}`), writeHealth);
      if (envs > 0) logger.info(`Rewrote HandlerEnvironment.json of ${envs} installed handler(s)`);
      // In the background, re-checked every period (agent-lifecycle.md §7); refuses a loopback address (emulator).
      const firewall = config['OS.EnableFirewall']
        ? startFirewallKeeper({ clock, logger, address: world.wireServerAddress, periodMs: config['OS.EnableFirewallPeriod'] * 1000, logPeriodMs: config['Debug.FirewallRulesLogPeriod'] * 1000 }, signal)
        : undefined;
      for (let attempt = 1; !signal.aborted; attempt++) {
        try {
          await wire.checkVersion(signal);
          // Best effort: a full or read-only lib dir is logged and shown in the status, never a reason to stop here.
          // Rewritten at every start: not durable (atomic-write.ts).
          for (const [name, text] of [['WireServerEndpoint', world.wireServerAddress], ['Protocol', 'WireProtocol']] as const) {
            await writeFileAtomic(libFile(paths, name), text, { durable: false, health: writeHealth }).catch((err) => logger.error(errorMessage(err)));
          }
          logger.info(`Wire protocol version negotiated with ${world.wireServerUrl}`);
          telemetry.start();
          // In the background: its retries (up to 30, 15 s apart) must never delay extension handling.
          void wire.getGoalState(signal)
            .then(({ value }) => reportProvisioningHealth(config['Provisioning.Agent'], wire, value, logger, signal))
            .catch((err) => logger.warn(`Cannot report health to the fabric: ${errorMessage(err)}`));
          break;
        } catch (err) {
          if (signal.aborted) return;
          if (attempt <= 3 || attempt % 60 === 0) logger.error(`Cannot negotiate the wire protocol version as ${errorMessage(err)}`);
          await clock.sleep(periodMs, signal).catch(() => undefined);
        }
      }
      await loop.run(signal);
      await fetcher.historySettled();
      await telemetry.stop();
      await firewall?.stop();
    },
  };
}
