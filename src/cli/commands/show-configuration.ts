import { loadConfig, DEFAULT_CONF_PATH } from '../../config/load.js';
import { showConfiguration } from '../../config/show.js';
import { errorMessage } from '../../errors.js';
import type { GlobalOptions } from '../main.js';

export async function runShowConfiguration(opts: GlobalOptions): Promise<number> {
  try {
    const { config, warnings } = await loadConfig(opts.configurationPath ?? DEFAULT_CONF_PATH);
    for (const w of warnings) process.stderr.write(`WARNING: ${w}\n`);
    process.stdout.write(showConfiguration(config));
    return 0;
  } catch (err) {
    process.stderr.write(`Error: ${errorMessage(err)}\n`);
    return 1;
  }
}
