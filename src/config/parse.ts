// Parse waagent.conf text into a frozen Config (agent-lifecycle.md §9). Pure: no I/O.
// Line rules are upstream's (ConfigurationProvider.load); unlike upstream, a bad value is an error, not a silent default.
import { ConfigError } from '../errors.js';
import { buildConfig, CONFIG_KEYS, isConfigKey, type Config, type ConfigKey, type KeySpec } from './schema.js';

export interface ParsedConfig {
  readonly config: Config;
  readonly warnings: readonly string[];
}

/** Python's str.strip(chars): remove any of `chars` from both ends. */
function stripChars(s: string, chars: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && chars.includes(s[start]!)) start++;
  while (end > start && chars.includes(s[end - 1]!)) end--;
  return s.slice(start, end);
}

/** One line as upstream reads it, or undefined when it is skipped. Value null = `None` (unset). */
export function parseLine(line: string): { key: string; value: string | null } | undefined {
  if (line.startsWith('#')) return undefined;
  const eq = line.indexOf('=');
  if (eq < 0) return undefined;
  const key = line.slice(0, eq).trim();
  const value = stripChars(line.slice(eq + 1).split('#')[0]!, '" ').trim();
  return { key, value: value === 'None' ? null : value };
}

/** Convert a raw value to the key's type; undefined when it is not of that type. */
function convert(spec: KeySpec<unknown>, raw: string): unknown {
  switch (spec.kind) {
    case 'switch': {
      const v = raw.toLowerCase();
      return v === 'y' ? true : v === 'n' ? false : undefined;
    }
    case 'int':
      // Python int(): optional sign, decimal digits (underscores between digits allowed).
      return /^[+-]?\d+(_\d+)*$/.test(raw) ? Number(raw.replaceAll('_', '')) : undefined;
    case 'string':
      return raw;
  }
}

export function parseConfig(text: string, source: string): ParsedConfig {
  if (text.length === 0) throw new ConfigError(`Cannot load configuration as ${source} is empty`);
  const set: Partial<Record<ConfigKey, unknown>> = {};
  const warnings: string[] = [];
  // Upstream splits on '\n' only, so `Key="y"\r\n` reads as `y"` there; we drop the '\r' of CRLF files first
  // (a file edited on Windows must not fail to load).
  text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)).forEach((line, i) => {
    const entry = parseLine(line);
    if (entry === undefined) return;
    const where = `${source}:${i + 1}`;
    if (!isConfigKey(entry.key)) {
      warnings.push(`Unknown configuration key ${entry.key} at ${where}; ignored`);
      return;
    }
    const spec: KeySpec<unknown> = CONFIG_KEYS[entry.key];
    // `None` resets to the default, as upstream; so does an empty value where the default is None.
    if (entry.value === null || (entry.value === '' && spec.default === null)) {
      delete set[entry.key];
      return;
    }
    const value = convert(spec, entry.value);
    if (value === undefined || !spec.schema.safeParse(value).success) {
      throw new ConfigError(
        `Cannot load configuration as ${where} has an invalid value for ${entry.key}: ` +
          `expected ${spec.expected}, got '${entry.value}'`,
      );
    }
    set[entry.key] = value;
  });
  const config = buildConfig(set as Parameters<typeof buildConfig>[0]);
  return Object.freeze({ config, warnings: Object.freeze(warnings) });
}
