// Python `json.dumps(value)` byte-for-byte: handlers and the fabric read files the Python agent wrote this way.
// Default separators (", " and ": "), ensure_ascii, insertion key order, Python float repr.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A number that Python holds as a float: integral values print as `1.0`, large ones as `1e+16`. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/**
 * Serializes like Python's `json.dumps(value)`.
 * - Plain numbers: integral => Python int digits (never exponent), otherwise Python float repr.
 * - `PyFloat` => Python float repr (`1.0`).
 * - `Map` => object in the Map's insertion order (plain objects list integer-like keys first, a JS rule).
 * - `undefined` properties are skipped; `undefined` array items become `null` (as JSON.stringify).
 */
export function pyJsonDumps(value: unknown): string {
  const out: string[] = [];
  write(value, out, new Set());
  return out.join('');
}

function write(value: unknown, out: string[], seen: Set<object>): void {
  if (value === null || value === undefined) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      out.push(Number.isInteger(value) ? BigInt(value).toString() : pyFloatRepr(value));
      return;
    case 'bigint':
      out.push(value.toString());
      return;
    case 'string':
      out.push(pyJsonString(value));
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`Object of type ${typeof value} is not JSON serializable`);
  }
  if (value instanceof PyFloat) {
    out.push(pyFloatRepr(value.value));
    return;
  }
  if (seen.has(value)) throw new TypeError('Circular reference detected');
  seen.add(value);
  if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, i) => {
      if (i > 0) out.push(', ');
      write(item, out, seen);
    });
    out.push(']');
  } else {
    const entries: Iterable<[unknown, unknown]> = value instanceof Map ? value.entries() : Object.entries(value);
    out.push('{');
    let first = true;
    for (const [k, v] of entries) {
      if (v === undefined) continue;
      if (!first) out.push(', ');
      first = false;
      out.push(pyJsonString(String(k)), ': ');
      write(v, out, seen);
    }
    out.push('}');
  }
  seen.delete(value);
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** A JSON string literal with Python's ensure_ascii escaping (lower-case hex, one escape per UTF-16 unit). */
export function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i] as string;
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) out += short;
    else if (c < 0x20 || c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

/** Python's `repr(float)`: shortest round-trip digits, fixed notation for exponents -4..15, else `d.dde+XX`. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // toExponential() without an argument yields the shortest digits that round-trip, as Python's repr does.
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(x.toExponential());
  if (!m) throw new Error(`Cannot format float ${x}`);
  const sign = m[1] ?? '';
  const digits = (m[2] ?? '') + (m[3] ?? '');
  const exp = Number(m[4]);
  if (exp < -4 || exp >= 16) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intLen = exp + 1;
  if (digits.length <= intLen) return `${sign}${digits.padEnd(intLen, '0')}.0`;
  return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
}
