// Read waagent.conf from disk and parse it (agent-lifecycle.md §9).
import { readFile } from 'node:fs/promises';
import { ConfigError, errorMessage } from '../errors.js';
import { parseConfig, type ParsedConfig } from './parse.js';

export const DEFAULT_CONF_PATH = '/etc/waagent.conf';

export async function loadConfig(path: string): Promise<ParsedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Upstream checks os.path.isfile: a missing path and a directory both read as "missing".
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new ConfigError(`Missing configuration in ${path}`, { cause: err });
    }
    throw new ConfigError(`Failed to load conf file:${path}, ${errorMessage(err)}`, { cause: err });
  }
  return parseConfig(text, path);
}
