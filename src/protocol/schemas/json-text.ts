// JSON helpers for documents whose integers may exceed 2^53 and whose keys have inconsistent case.

/**
 * Wraps integer literals that are not exactly representable as a JS number (e.g. .NET tick counts such as
 * 637726657706205299) in quotes, so JSON.parse keeps their digits as a string. String literals are copied verbatim.
 */
export function quoteUnsafeIntegers(text: string): string {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      i++;
      while (i < n && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c /* \ */ ? 2 : 1;
      i++;
      continue;
    }
    if (ch === 0x2d /* - */ || (ch >= 0x30 && ch <= 0x39)) {
      let j = i + 1;
      while (j < n && /[0-9.eE+-]/.test(text.charAt(j))) j++;
      const token = text.slice(i, j);
      if (/^-?\d{16,}$/.test(token) && !Number.isSafeInteger(Number(token))) {
        out.push(text.slice(start, i), `"${token}"`);
        start = j;
      }
      i = j;
      continue;
    }
    i++;
  }
  out.push(text.slice(start));
  return out.join('');
}

/** Deep copy with every object key lower-cased (later duplicates win), so lookups are case-insensitive. */
export function lowerKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(lowerKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of Object.entries(value)) out[k.toLowerCase()] = lowerKeys(v);
    return out;
  }
  return value;
}

/**
 * Deepest array/object nesting accepted in JSON from outside. JSON.parse itself handles any depth, but the
 * recursive code after it (lowerKeys, deepFreeze, JSON.stringify, pyJsonDumps, String(array)) overflows the stack
 * on a few thousand levels; upstream's Python json stops near 1000. Real documents nest fewer than 20 levels.
 */
export const MAX_JSON_DEPTH = 128;

/** True when JSON text nests arrays/objects deeper than `max` (string contents skipped). Linear, no parsing. */
export function exceedsJsonDepth(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      i++;
      while (i < n && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c /* \ */ ? 2 : 1;
    } else if (ch === 0x5b /* [ */ || ch === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (ch === 0x5d /* ] */ || ch === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}
