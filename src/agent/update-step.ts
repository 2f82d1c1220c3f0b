// The loop's per-iteration agent step: exit when the daemon that started us is gone, else the agent update.
import type { World } from '../compose.js';
import { DAEMON_VERSION_ENV } from '../daemon/spawn-agent.js';
import { ArtifactDownloader } from '../extensions/download.js';
import type { HostPluginClient } from '../protocol/host-plugin.js';
import { runningVersion } from '../version.js';
import { AgentUpdater } from './agent-update.js';
import type { AgentUpdateStep } from './loop.js';
import { orphanCheck } from './orphan-check.js';

export function createUpdateStep(world: World, channels: { hostPlugin: HostPluginClient; refreshIdentity: () => Promise<void> }, env: NodeJS.ProcessEnv = process.env): AgentUpdateStep {
  const current = runningVersion();
  const isOrphan = orphanCheck(env);
  const downloader = new ArtifactDownloader({
    http: world.http, clock: world.clock, random: world.random, logger: world.logger, retry: world.retry, progress: world.progress, ...channels,
  });
  const updater = new AgentUpdater({
    config: world.config, paths: world.paths, clock: world.clock, random: world.random, logger: world.logger, downloader,
    currentVersion: current, daemonVersion: env[DAEMON_VERSION_ENV] || null,
  });
  return {
    async check(gs, signal) {
      if (isOrphan()) {
        world.logger.info(`Agent waagent-ts-${current} is an orphan -- exiting`);
        return true;
      }
      return updater.check(gs, signal);
    },
    updateStatus: () => updater.updateStatus(),
  };
}
