// Wires the extension-handler process together from a composed World.
import { writeFile, mkdir } from 'node:fs/promises';
import type { World } from '../compose.js';
import { errorMessage } from '../errors.js';
import { WireClient } from '../protocol/wire-client.js';
import { HostPluginClient } from '../protocol/host-plugin.js';
import { ArtifactDownloader } from '../extensions/download.js';
import { HandlerProcessor } from '../extensions/handler-processor.js';
import { refreshHandlerEnvironments } from '../extensions/installed.js';
import { readOsInfo } from '../platform/os-info.js';
import { libFile } from '../state/paths.js';
import { AGENT_NAME, AGENT_VERSION } from '../version.js';
import { GoalStateFetcher } from './goal-state-fetcher.js';
import { AgentLoop } from './loop.js';
import { UploadingStatusReporter } from './status-reporter.js';

export interface ExtHandlerAgent {
  readonly loop: AgentLoop;
  readonly reporter: UploadingStatusReporter;
  /** Version check (retried every period until it passes), then the goal-state loop until aborted. */
  run(signal: AbortSignal): Promise<void>;
}

export function createExtHandlerAgent(world: World): ExtHandlerAgent {
  const { clock, logger, http, retry, paths, config } = world;
  const wire = new WireClient({ http, clock, logger, baseUrl: world.wireServerUrl, retry });
  const hostPlugin = new HostPluginClient({ http, clock, logger, baseUrl: world.hostPluginUrl, retry });
  const fetcher = new GoalStateFetcher({ wire, hostPlugin, logger, paths });
  const refreshIdentity = async () => {
    const { value } = await wire.getGoalState();
    hostPlugin.setIdentity(value.containerId, value.roleConfigName);
  };
  const downloader = new ArtifactDownloader({ http, clock, random: world.random, logger, hostPlugin, refreshIdentity, retry });
  const processor = new HandlerProcessor({
    paths, clock, logger, runner: world.runner, downloader, wireServerAddress: world.wireServerAddress,
    commandTimeoutMs: config['Extensions.CommandTimeout'] * 1000,
    longCommandTimeoutMs: config['Extensions.LongCommandTimeout'] * 1000,
    agentEnv: process.env,
  });
  const reporter = new UploadingStatusReporter({
    clock, logger, paths, osInfo: readOsInfo(), resolvedVersions: processor.resolved, inProgress: processor.inProgress, refreshIdentity,
    upload: { http, clock, logger, hostPlugin, retry },
  });
  const periodMs = (config['Extensions.Enabled'] ? config['Extensions.GoalStatePeriod'] : 300) * 1000;
  const loop = new AgentLoop({ clock, logger, fetcher, processor, reporter, periodMs });

  return {
    loop,
    reporter,
    async run(signal) {
      const os = readOsInfo();
      logger.info(`${AGENT_NAME}-${AGENT_VERSION} running as the goal state agent`);
      logger.info(`OS: ${os.id} ${os.version}, Node.js: ${process.version}`);
      for (const w of world.configWarnings) logger.warn(w);
      await mkdir(paths.libDir, { recursive: true, mode: 0o700 });
      const envs = await refreshHandlerEnvironments(paths, (dir, err) => logger.warn(`Cannot rewrite ${dir}/HandlerEnvironment.json: ${errorMessage(err)}`));
      if (envs > 0) logger.info(`Rewrote HandlerEnvironment.json of ${envs} installed handler(s)`);
      for (let attempt = 1; !signal.aborted; attempt++) {
        try {
          await wire.checkVersion(signal);
          await writeFile(libFile(paths, 'WireServerEndpoint'), world.wireServerAddress);
          await writeFile(libFile(paths, 'Protocol'), 'WireProtocol');
          logger.info(`Wire protocol version negotiated with ${world.wireServerUrl}`);
          break;
        } catch (err) {
          if (signal.aborted) return;
          if (attempt <= 3 || attempt % 60 === 0) logger.error(`Cannot negotiate the wire protocol version as ${errorMessage(err)}`);
          await clock.sleep(periodMs, signal).catch(() => undefined);
        }
      }
      await loop.run(signal);
    },
  };
}
