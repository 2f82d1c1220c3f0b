// Scrubs secrets from free text before it reaches logs, status messages or telemetry. Pure.
//
// What is replaced:
//  - SAS URLs: an http(s) URL whose query carries any SAS parameter keeps scheme, host and path,
//    the whole query becomes `<redacted>` (upstream: `https://host/path?<redacted>`).
//  - any other `sig=<value>` (a bare query string, a connection string, a command line).
//  - `AccountKey=<value>` (storage connection strings).
//  - PEM private key blocks, also when the END line is missing (output cut at 3200 characters).
//  - JSON `"protectedSettings": <value>` (string, object or array), also when the JSON is itself
//    escaped inside a string (`\"protectedSettings\": \"...\"`) or XML (`&quot;`).

export const REDACTED = '***REDACTED***';
export const SAS_REDACTED = '<redacted>';

// Upstream checks sv|st|se|sr|sp|sip|spr|sig; the others are the rest of the SAS parameter family.
const SAS_PARAMS = 'sv|ss|srt|st|se|sr|sp|sip|spr|sig|si|sdd|ses|skoid|sktid|skt|ske|sks|skv|saoid|suoid|scid';
const SAS_PARAM_RE = new RegExp(`(?:^|[?&;])(?:${SAS_PARAMS})=`, 'i');
// A URL ends at whitespace, quotes, angle brackets or a backslash (escaped JSON); the query has no `#`.
const URL_WITH_QUERY_RE = /\bhttps?:\/\/[^\s?#"'<>\\`]*\?[^\s"'<>\\`#]*/gi;
const SIG_RE = /(?<![A-Za-z0-9_])(sig=)[^&\s"'<>\\;]+/gi;
const ACCOUNT_KEY_RE = /(?<![A-Za-z0-9_])(AccountKey=)[^;\s"'<>\\]+/gi;
const PEM_RE =
  /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;

function redactSasUrls(text: string): string {
  return text.replace(URL_WITH_QUERY_RE, (url) => {
    const q = url.indexOf('?');
    return SAS_PARAM_RE.test(url.slice(q)) ? `${url.slice(0, q + 1)}${SAS_REDACTED}` : url;
  });
}

const QUOTES = ['\\"', '&quot;', '"'] as const;
const KEY = 'protectedsettings';

/** Index just past a JSON value starting at `i`, for values quoted with `quote`; -1 when it cannot tell. */
function endOfValue(text: string, i: number, quote: string): number {
  if (text.startsWith(quote, i)) {
    if (quote === '"') {
      for (let j = i + 1; j < text.length; j++) {
        if (text[j] === '\\') j++;
        else if (text[j] === '"') return j + 1;
      }
      return text.length; // unterminated (truncated output): hide the rest
    }
    const end = text.indexOf(quote, i + quote.length);
    return end < 0 ? text.length : end + quote.length;
  }
  const open = text[i];
  if (open !== '{' && open !== '[') return -1;
  // Balanced brackets, skipping quoted strings.
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    if (text.startsWith(quote, j)) {
      const end = endOfValue(text, j, quote);
      j = end - 1;
      continue;
    }
    const c = text[j];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return text.length;
}

function redactProtectedSettings(text: string): string {
  const lower = text.toLowerCase();
  let out = '';
  let from = 0;
  let search = 0;
  for (;;) {
    const k = lower.indexOf(KEY, search);
    if (k < 0) break;
    search = k + KEY.length;
    // The key must be a whole quoted key: <quote>protectedSettings<quote> then ':'.
    const quote = QUOTES.find((q) => text.endsWith(q, k) && text.startsWith(q, k + KEY.length));
    if (quote === undefined) continue;
    let i = k + KEY.length + quote.length;
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
    if (text[i] !== ':') continue;
    i++;
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
    const end = endOfValue(text, i, quote);
    if (end < 0) continue; // null, numbers: nothing secret to hide
    out += text.slice(from, i) + quote + REDACTED + quote;
    from = end;
    search = end;
  }
  return out + text.slice(from);
}

export function redactSecrets(text: string): string {
  let t = text.replace(PEM_RE, (_m, kind: string) => `-----BEGIN ${kind}PRIVATE KEY-----${REDACTED}-----END ${kind}PRIVATE KEY-----`);
  t = redactProtectedSettings(t);
  t = redactSasUrls(t);
  t = t.replace(SIG_RE, `$1${SAS_REDACTED}`);
  t = t.replace(ACCOUNT_KEY_RE, `$1${REDACTED}`);
  return t;
}

const SECRET_KEY_RE = /^(?:protectedSettings|privateKey|password|accountKey|sig)$/i;
const MAX_DEPTH = 6;

/** Structured log fields with secrets removed: strings scrubbed, secret-named keys masked, Errors flattened. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (value === null || typeof value !== 'object') return value;
  // Deeper data is dropped rather than passed on unscrubbed (also ends cycles).
  if (depth >= MAX_DEPTH) return '[Object]';
  if (value instanceof Error) {
    const out: Record<string, unknown> = { type: value.name, message: redactSecrets(value.message) };
    const code = (value as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') out.code = code;
    if (value.stack) out.stack = redactSecrets(value.stack);
    if (value.cause !== undefined) out.cause = redactValue(value.cause, depth + 1);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY_RE.test(k) ? REDACTED : redactValue(v, depth + 1);
  return out;
}

export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  return redactValue(fields) as Record<string, unknown>;
}
