// The loop's per-iteration agent step: exit when the daemon that started us is gone, else the agent update.
import { writeFile } from 'node:fs/promises';
import type { World } from '../compose.js';
import { DAEMON_VERSION_ENV } from '../daemon/spawn-agent.js';
import { ProtocolError } from '../errors.js';
import { ArtifactDownloader } from '../extensions/download.js';
import type { HostPluginClient } from '../protocol/host-plugin.js';
import type { HttpClient } from '../protocol/http.js';
import { runningVersion } from '../version.js';
import { AgentUpdater } from './agent-update.js';
import type { AgentUpdateStep } from './loop.js';
import { orphanCheck } from './orphan-check.js';

/**
 * Agent packages (about 1 MiB) are read into memory, then written: streaming a body to a file lets undici pause its
 * parser under back-pressure, and a server that closes the connection then crashes the process with an uncatchable
 * assert(!this.paused) (nodejs/undici#5360, undici 7.30). Remove once the shared HTTP client no longer hits it.
 */
export function bufferedFileClient(http: HttpClient): HttpClient {
  return {
    send: (req) => http.send(req),
    async sendToFile(req, path, maxBytes) {
      const res = await http.send(req);
      if (res.status < 200 || res.status >= 300) return res;
      if (res.body.length > maxBytes) throw new ProtocolError(`Cannot download ${req.url.split('?')[0]} as it exceeds ${maxBytes} bytes`);
      await writeFile(path, res.body, { mode: 0o600 });
      return { ...res, body: Buffer.alloc(0) };
    },
  };
}

export function createUpdateStep(world: World, channels: { hostPlugin: HostPluginClient; refreshIdentity: () => Promise<void> }, env: NodeJS.ProcessEnv = process.env): AgentUpdateStep {
  const current = runningVersion();
  const isOrphan = orphanCheck(env);
  const downloader = new ArtifactDownloader({
    http: bufferedFileClient(world.http), clock: world.clock, random: world.random, logger: world.logger, retry: world.retry, ...channels,
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
  };
}
