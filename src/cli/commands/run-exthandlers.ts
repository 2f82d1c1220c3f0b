import { composeWorld } from '../../compose.js';
import { errorMessage } from '../../errors.js';
import { createExtHandlerAgent } from '../../agent/ext-handler.js';
import type { GlobalOptions } from '../main.js';

export async function runExtHandlers(opts: GlobalOptions): Promise<number> {
  let world;
  try {
    world = await composeWorld({ ...(opts.configurationPath ? { configurationPath: opts.configurationPath } : {}), thread: 'ExtHandler', prefix: 'ExtHandler', verbose: opts.verbose ?? false });
  } catch (err) {
    process.stderr.write(`Error: ${errorMessage(err)}\n`);
    return 1;
  }
  const { logger } = world;
  const ac = new AbortController();
  const stop = (sig: string) => {
    logger.info(`Received ${sig}; stopping the extension handler`);
    ac.abort();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => logger.reopen());
  try {
    await createExtHandlerAgent(world).run(ac.signal);
    return 0;
  } catch (err) {
    logger.error(`Extension handler failed: ${errorMessage(err)}`);
    return 1;
  } finally {
    logger.flush();
    await logger.close();
  }
}
