// waagent.conf (parseConfig): generated files parse and round-trip; mutated and random text is either parsed or
// refused with a ConfigError naming the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError } from '../../src/errors.js';
import { parseConfig } from '../../src/config/parse.js';
import { ALL_KEYS, CONFIG_KEYS, type ConfigKey } from '../../src/config/schema.js';
import { check, figures, mutateText, parseOrReject, pick, randomText } from './arbitraries.js';

const SOURCE = '/etc/waagent.conf';

interface Entry {
  key: ConfigKey;
  raw: string;
  value: unknown;
}

const digitsWithUnderscores = (n: number, cut: number): string => {
  const d = String(n);
  const at = cut % d.length;
  return at === 0 ? d : `${d.slice(0, at)}_${d.slice(at)}`;
};

const STRINGS = ['/var/lib/waagent', 'auto', 'rsa', '/usr/bin/openssl', 'ext4', 'Prod', 'a b c', 'x:y@z', '.', '-'];

/** One valid entry as a pure function of three numbers (cheap to generate, see arbitraries.ts). */
function entry(k: number, n: number, style: number): Entry {
  const key = pick(ALL_KEYS, k);
  const spec = CONFIG_KEYS[key];
  switch (spec.kind) {
    case 'switch': {
      const raw = pick(['y', 'n', 'Y', 'N'], n);
      return { key, raw, value: raw.toLowerCase() === 'y' };
    }
    case 'int': {
      const value = 1 + (n % (key === 'HttpProxy.Port' ? 65535 : 2 ** 31));
      const raw = style % 3 === 0 ? `+${value}` : style % 3 === 1 ? digitsWithUnderscores(value, style) : String(value);
      return { key, raw, value };
    }
    case 'string': {
      const raw = pick(STRINGS, n) + (n % 7 === 0 ? '' : String(n));
      return { key, raw, value: raw };
    }
  }
}

const unknownKey = fc.nat().map((n) => `Custom.Key${n}`);

type Line = { kind: 'entry'; e: Entry } | { kind: 'unknown'; text: string } | { kind: 'noise'; text: string };

const lineArb: fc.Arbitrary<Line> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.nat(), fc.nat(), fc.nat()).map(([k, n, s]): Line => ({ kind: 'entry', e: entry(k, n, s) })) },
  { weight: 1, arbitrary: unknownKey.map((k): Line => ({ kind: 'unknown', text: `${k}=x` })) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', '# comment', '#Logs.Verbose=y', '   ', 'no equals sign here').map((text): Line => ({ kind: 'noise', text })),
  },
);

const renderEntry = ([e, quote, pad, comment]: [Entry, boolean, string, boolean]): string =>
  `${pad}${e.key}${pad}=${pad}${quote ? `"${e.raw}"` : e.raw}${comment ? ' # a comment' : ''}`;

const configFile = fc
  .tuple(
    fc.array(fc.tuple(lineArb, fc.boolean(), fc.constantFrom('', ' ', '  '), fc.boolean()), { minLength: 1, maxLength: 40 }),
    fc.constantFrom('\n', '\r\n'),
  )
  .map(([lines, eol]) => {
    const expected = new Map<ConfigKey, unknown>();
    let unknown = 0;
    const text = lines
      .map(([l, quote, pad, comment]) => {
        if (l.kind === 'noise') return l.text;
        if (l.kind === 'unknown') {
          unknown++;
          return l.text;
        }
        expected.set(l.e.key, l.e.value); // later lines win
        // No quotes with CRLF: like upstream, strip('" ') leaves `"y"\r` as `y"`, an invalid switch.
        return renderEntry([l.e, quote && eol === '\n', pad, comment]);
      })
      .join(eol);
    return { text: `# waagent.conf${eol}${text}${eol}`, expected, unknown };
  });

test('generated waagent.conf files parse and every key set reads back', (t) => {
  const ms = check(configFile, ({ text, expected, unknown }) => {
    const { config, warnings } = parseConfig(text, SOURCE);
    for (const [key, value] of expected) assert.deepEqual(config[key], value, key);
    assert.equal(warnings.length, unknown);
  });
  t.diagnostic(`valid: ${figures(ms)}`);
});

function refusedOrParsed(text: string): void {
  const r = parseOrReject(() => parseConfig(text, SOURCE), ConfigError, SOURCE);
  if (r === undefined) return;
  assert.ok(Object.isFrozen(r.config));
  for (const w of r.warnings) assert.ok(w.includes(SOURCE), w);
}

test('mutated waagent.conf files are parsed or refused with a ConfigError naming the file', (t) => {
  t.diagnostic(`mutated: ${figures(check(mutateText(configFile.map((c) => c.text)), refusedOrParsed))}`);
});

test('random text is parsed or refused with a ConfigError naming the file', (t) => {
  t.diagnostic(`random: ${figures(check(randomText('ab.=#" \n\r\tyn0123456789-+_ElgsDir'), refusedOrParsed))}`);
});
