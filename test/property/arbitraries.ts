// Shared pieces of the property suite: the fixed-seed runner, the checks every rejection must pass, hostile text and
// byte-level mutations, and the extension-handler model behind ExtensionsConfig and vmSettings (documents.ts has the
// XML and JSON document models).
import assert from 'node:assert/strict';
import fc from 'fast-check';

export const SEED = 42;
export const RUNS = 10_000;
/** Sanity cap per case (catastrophic backtracking, accidental quadratic work); not a performance assertion. */
const CASE_CAP_MS = 2_000;

export interface Timing {
  wallMs: number;
  /** CPU time of this process (user + system): what the suite costs, whatever else loads the machine. */
  cpuMs: number;
}

function timed<T>(run: () => T): () => Timing {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  run();
  return () => {
    const used = process.cpuUsage(cpu);
    return { wallMs: Math.round(performance.now() - wall), cpuMs: Math.round((used.user + used.system) / 1000) };
  };
}

const capped = (t0: number): void => {
  assert.ok(performance.now() - t0 < CASE_CAP_MS, `one case took over ${CASE_CAP_MS} ms`);
};

/** Runs `predicate` over RUNS cases with the fixed seed; returns the time taken for the report. */
export function check<T>(arb: fc.Arbitrary<T>, predicate: (v: T) => void): Timing {
  const prop = fc.property(arb, (v) => {
    const t0 = performance.now();
    predicate(v);
    capped(t0);
  });
  return timed(() => fc.assert(prop, { seed: SEED, numRuns: RUNS, includeErrorInReport: true }))();
}

export async function checkAsync<T>(arb: fc.Arbitrary<T>, predicate: (v: T) => Promise<void>): Promise<Timing> {
  const prop = fc.asyncProperty(arb, async (v) => {
    const t0 = performance.now();
    await predicate(v);
    capped(t0);
  });
  let pending: Promise<void> = Promise.resolve();
  const done = timed(() => {
    pending = fc.assert(prop, { seed: SEED, numRuns: RUNS, includeErrorInReport: true });
  });
  await pending;
  return done();
}

/** What a run prints (node --test shows diagnostics), e.g. `10000 cases (seed 42) in 812 ms (cpu 640 ms)`. */
export const figures = (t: Timing): string => `${RUNS} cases (seed ${SEED}) in ${t.wallMs} ms (cpu ${t.cpuMs} ms)`;

// ---- cheap generators -------------------------------------------------------------------------------------------
// fast-check's string generators cost 10-70 µs a value; documents need dozens of values and 10,000 runs each, so
// most values here are drawn from pools and made distinct with a number.

export const pick = <T>(pool: readonly T[], n: number): T => pool[n % pool.length]!;

/** `<word from pool><n in base 36>`: distinct, cheap, and as hostile as the pool. */
export const tokenFrom = (pool: readonly string[]): fc.Arbitrary<string> =>
  fc.nat().map((n) => pick(pool, n) + Math.floor(n / pool.length).toString(36));

export const NAME_POOL = ['Microsoft.Azure.Ext', 'Pub.Type', 'A', 'x-y_z', 'Ünïcödé.名前', 'Emoji💥', 'sp ace', 'q"uote', "ap'os", 'amp&lt', '<tag>'];
export const URL_POOL = ['http://127.0.0.1:8080/machine/a?comp=config&type=x&incarnation=', 'https://127.0.0.1/blob/p?sv=2018&sr=b&sig=', 'http://[::1]/x/'];

// ---- rejections -------------------------------------------------------------------------------------------------

type ErrorClass = abstract new (...args: never[]) => Error;

/** Every message in an error's cause chain (a secret must not hide in a cause either). */
function messages(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err, i = 0; e instanceof Error && i < 10; e = e.cause, i++) out.push(e.message);
  return out;
}

/** The error is of the parser's class, its message non-empty and naming the document, no secret anywhere in it. */
export function assertCleanRejection(err: unknown, cls: ErrorClass, doc: string | RegExp, secrets: readonly string[] = []): void {
  if (!(err instanceof cls)) {
    assert.fail(`expected a ${cls.name}, got ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  assert.ok(err.message.trim().length > 0, 'empty error message');
  if (typeof doc === 'string') assert.ok(err.message.includes(doc), `message does not name ${doc}: ${err.message}`);
  else assert.match(err.message, doc);
  assertNoSecret(messages(err).join('\n'), secrets);
}

export function assertNoSecret(text: string, secrets: readonly string[]): void {
  for (const s of secrets) assert.ok(!text.includes(s), `a secret leaked into: ${text.slice(0, 300)}`);
}

/** Calls `parse`; a throw must be a clean rejection. Returns the result or undefined when rejected. */
export function parseOrReject<T>(parse: () => T, cls: ErrorClass, doc: string | RegExp, secrets: readonly string[] = []): T | undefined {
  try {
    return parse();
  } catch (err) {
    assertCleanRejection(err, cls, doc, secrets);
    return undefined;
  }
}

// ---- hostile text -----------------------------------------------------------------------------------------------

export const DEEP = 5_000;
/** Tokens that break parsers: markup, entities, DOCTYPE tricks, BOMs, surrogates, JSON edge numbers. */
export const HOSTILE_TOKENS: readonly string[] = [
  '<', '>', '&', '"', "'", '</', '/>', '<!--', '-->', '<![CDATA[', ']]>', '<?xml version="1.0"?>', '<?pi x?>',
  '<!DOCTYPE r [<!ENTITY x "expanded">]>', '&x;', '&lol9;', '&amp;', '&#0;', '&#x110000;', '&#xD800;', '&#13;',
  '&nbsp;', '&unknown;', '<!DOCTYPE r SYSTEM "http://127.0.0.1:9/x.dtd">', '<!ENTITY e SYSTEM "file:///etc/passwd">',
  '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>',
  '\uFEFF', '\u0000', '\uD800', '\uDFFF', '\u202E', '\u2028', '\uFFFF', '💥', 'é', '中', '\r\n', '\r', '\t', ' ',
  '{', '}', '[', ']', ':', ',', '\\', '\\u0000', '\\ud800', '\\"', '1e400', '-1e400', '-0', '1.5', 'NaN', 'Infinity',
  '9007199254740993', '123456789012345678901234567890', 'null', 'true', 'false', '__proto__', 'constructor',
  'toString', '#', '=', 'None', '"None"', 'y', 'n', '/', '..', '%00',
];
/** Huge values and deep nesting: rarer, since every case that carries one costs more to parse. */
export const HUGE_TOKENS: readonly string[] = ['a'.repeat(70_000), '['.repeat(DEEP), '{"a":'.repeat(DEEP), '<a>'.repeat(DEEP)];

/**
 * Any code point, lone surrogates included. Not `unit: 'binary'`: for that unit fast-check builds a reverse map of
 * all 1.1 million code points per string arbitrary (~1 s each, most of a file's run time).
 */
const anyChar = fc.nat({ max: 0x10ffff }).map((cp) => String.fromCodePoint(cp));

export const hostileToken = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom(...HOSTILE_TOKENS) },
  { weight: 1, arbitrary: fc.constantFrom(...HUGE_TOKENS) },
);
/** Short strings of anything: full unicode (lone surrogates included) or hostile tokens. */
export const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: anyChar, maxLength: 24 }) },
  { weight: 3, arbitrary: hostileToken },
  { weight: 1, arbitrary: fc.array(hostileToken, { maxLength: 4 }).map((a) => a.join('')) },
);

/** Random text: arbitrary unicode, or strings over an XML/JSON-ish alphabet that get further into parsers. */
export function randomText(alphabet: string): fc.Arbitrary<string> {
  const chars = fc.constantFrom(...Array.from(alphabet));
  return fc.oneof(
    fc.string({ unit: anyChar, maxLength: 200 }),
    fc.string({ unit: chars, maxLength: 300 }),
    fc.array(fc.oneof(hostileToken, fc.string({ unit: chars, maxLength: 8 })), { maxLength: 30 }).map((a) => a.join('')),
  );
}

type TextOp = { op: 'flip' | 'insert' | 'delete' | 'dup' | 'truncate' | 'bom' | 'repeat'; a: number; b: number; s: string };
const textOp: fc.Arbitrary<TextOp> = fc.record({
  op: fc.constantFrom('flip', 'insert', 'delete', 'dup', 'truncate', 'bom', 'repeat'),
  a: fc.nat(),
  b: fc.nat(),
  s: hostileString,
});

function applyTextOp(text: string, { op, a, b, s }: TextOp): string {
  const n = text.length;
  const i = n === 0 ? 0 : a % n;
  const j = Math.min(n, i + 1 + (b % 64));
  switch (op) {
    case 'flip':
      return text.slice(0, i) + (s.slice(0, 1) || '\u0000') + text.slice(i + 1);
    case 'insert':
      return text.slice(0, i) + s + text.slice(i);
    case 'delete':
      return text.slice(0, i) + text.slice(j);
    case 'dup':
      return text.slice(0, j) + text.slice(i, j) + text.slice(j);
    case 'truncate':
      return text.slice(0, i);
    case 'bom':
      return '\uFEFF' + text;
    case 'repeat': // a long run of one slice (bounded so the suite stays fast)
      return text.slice(0, j) + text.slice(i, j).repeat(1 + (b % 300)) + text.slice(j);
  }
}

/** 1-4 byte-level mutations (flips, truncation, deletion, duplication, BOMs, hostile insertions) of `base`. */
export function mutateText(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(base, fc.array(textOp, { minLength: 1, maxLength: 4 })).map(([t, ops]) => ops.reduce(applyTextOp, t));
}

// ---- extension handlers (the model behind ExtensionsConfig and vmSettings) ---------------------------------------

/** protectedSettings values: none may ever appear in an error message or an invalidReason. */
export const SECRETS: readonly string[] = Array.from({ length: 8 }, (_, i) => `MIIB${i}PROTECTED-SETTINGS-PLAINTEXT-${i}x${'q'.repeat(i)}`);

const PUBLIC_POOL: readonly unknown[] = [
  null, 'plain string', { script: 'echo hi' }, { nested: { list: [1, 'two', true, null, 2.5] } }, [], {}, 12,
  { 'quote"key': '<xml attr="x">&amp;</xml>' }, { ünï: '💥 中文 \u2028' }, { fileUris: ['https://127.0.0.1/a?sv=1&sig=abc'] },
];

export interface GenSettings {
  name: string;
  seq: number;
  state: 'enabled' | 'disabled';
  /** undefined: the key is left out. */
  pub: unknown;
  prot: string | null;
  thumb: string | null;
  level: number;
}

export interface GenHandler {
  name: string;
  version: string;
  state: 'enabled' | 'disabled' | 'uninstall';
  uris: string[];
  multi: boolean;
  signature: string | null;
  settings: GenSettings[];
}

const settingsTuple = fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat(), fc.nat(5));

function buildHandler(i: number, [n, v, u, multi, sigN, sets]: [number, number, number, boolean, number, [number, number, number, number, number][]]): GenHandler {
  const name = `${pick(NAME_POOL, n)}.H${i}`;
  const state = pick(['enabled', 'disabled', 'uninstall'] as const, n >> 4);
  const version = `${v % 10}.${v % 7}${v % 3 === 0 ? '' : `.${v % 100}`}`;
  const uris = Array.from({ length: 1 + (u % 3) }, (_, k) => `${pick(URL_POOL, u + k)}${i}m${k}`);
  const settings = (multi ? sets : sets.slice(0, 1)).map(([e, seq, pubN, protN, level], k): GenSettings => {
    const prot = protN % 3 === 0 ? null : pick(SECRETS, protN);
    return {
      name: multi ? `ext${k}-${e % 100}` : name,
      seq: seq % 2 ** 31,
      state: multi && e % 4 === 0 ? 'disabled' : 'enabled',
      pub: pubN % 5 === 0 ? undefined : pick(PUBLIC_POOL, pubN),
      prot,
      thumb: prot === null && protN % 2 === 0 ? null : `THUMB${protN.toString(16).toUpperCase()}`,
      level,
    };
  });
  return { name, version, state, uris, multi, signature: sigN % 2 === 0 ? null : `U0lH${sigN.toString(36)}`, settings };
}

export const handlersArb: fc.Arbitrary<GenHandler[]> = fc
  .array(fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.boolean(), fc.nat(), fc.array(settingsTuple, { maxLength: 3 })), { maxLength: 3 })
  .map((hs) => hs.map((h, i) => buildHandler(i, h)));

/** The HandlerSpec each parser must produce for a generated handler. */
export function expectedHandler(h: GenHandler): unknown {
  return {
    name: h.name,
    version: h.version,
    state: h.state,
    manifestUris: h.uris,
    encodedSignature: h.signature,
    isMultiConfig: h.multi,
    settings: h.settings.map((s) => ({
      name: s.name,
      sequenceNumber: s.seq,
      state: s.state,
      dependencyLevel: s.level,
      publicSettings: s.pub ?? null,
      protectedSettings: s.prot,
      certificateThumbprint: s.thumb,
    })),
    invalidReason: null,
  };
}
