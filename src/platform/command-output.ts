// Output of extension commands as upstream reports it (extension-handlers.md §7.2;
// WALinuxAgent `extensionprocessutil.read_output` / `format_stdout_stderr`). Pure.
import { redactSecrets } from '../log/redact.js';

/** Upstream's TELEMETRY_MESSAGE_MAX_LEN: bytes read from each stream and the budget of the formatted text. */
export const COMMAND_OUTPUT_MAX = 3200;

const TEMPLATE_OVERHEAD = '[stdout]\n\n\n[stderr]\n'.length; // 20
/** Per-stream share when both are long: floor((3200 - 20) / 2) = 1590. */
export const COMMAND_OUTPUT_MAX_EACH = Math.floor((COMMAND_OUTPUT_MAX - TEMPLATE_OVERHEAD) / 2);

// Lengths and cuts count code points, as Python's len() and slicing do (a JS string counts UTF-16 units).
function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function lastCodePoints(s: string, n: number): string {
  const total = codePoints(s);
  if (total <= n) return s;
  // Walk forward past the first (total - n) code points.
  let skip = total - n;
  let i = 0;
  while (skip > 0) {
    const cp = s.codePointAt(i) ?? 0;
    i += cp > 0xffff ? 2 : 1;
    skip--;
  }
  return s.slice(i);
}

/**
 * `[stdout]\n<out>\n\n[stderr]\n<err>`. Each stream is first scrubbed with redactSecrets (upstream's
 * read_output redacts SAS query strings before formatting), so callers may log or report the result.
 * Interpretation of upstream's rule:
 *  - total (stdout + stderr) below 3200: both kept whole;
 *  - otherwise each stream keeps its last 1590 code points, except that when one stream is shorter than
 *    1590 it is kept whole and the other may keep its last (1590 + unused share) code points.
 * The result is therefore at most 20 + 3180 = 3200 characters. "Total" counts the two streams only,
 * not the template, exactly as upstream does.
 */
export function formatCommandOutput(stdout: string, stderr: string): string {
  stdout = redactSecrets(stdout);
  stderr = redactSecrets(stderr);
  const each = COMMAND_OUTPUT_MAX_EACH;
  const outLen = codePoints(stdout);
  const errLen = codePoints(stderr);
  let out = stdout;
  let err = stderr;
  if (outLen + errLen >= COMMAND_OUTPUT_MAX) {
    if (outLen < each) {
      err = lastCodePoints(stderr, each + (each - outLen));
    } else if (errLen < each) {
      out = lastCodePoints(stdout, each + (each - errLen));
    } else {
      out = lastCodePoints(stdout, each);
      err = lastCodePoints(stderr, each);
    }
  }
  return `[stdout]\n${out}\n\n[stderr]\n${err}`;
}

/** Length of the valid UTF-8 sequence starting at b[i], or 0 when none (Python's strict decoder rules). */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i] ?? 0;
  if (c < 0x80) return 1;
  let len: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) len = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c === 0xe0) lo = 0xa0; // overlong
    if (c === 0xed) hi = 0x9f; // surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c === 0xf0) lo = 0x90; // overlong
    if (c === 0xf4) hi = 0x8f; // above U+10FFFF
  } else return 0;
  if (i + len > b.length) return 0;
  const second = b[i + 1] ?? 0;
  if (second < lo || second > hi) return 0;
  for (let k = 2; k < len; k++) {
    const cont = b[i + k] ?? 0;
    if (cont < 0x80 || cont > 0xbf) return 0;
  }
  return len;
}

/**
 * Python's `bytes.decode('utf-8', errors='backslashreplace')`: each byte that is not part of a valid
 * sequence becomes `\xNN`. Escaping byte by byte gives the same text as Python's maximal-subpart rule,
 * because a continuation byte can never start a valid sequence.
 */
export function decodeUtf8BackslashReplace(bytes: Uint8Array): string {
  // ignoreBOM: Python's 'utf-8' codec keeps a leading U+FEFF.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let out = '';
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const len = utf8SequenceLength(bytes, i);
    if (len > 0) {
      i += len;
      continue;
    }
    out += decoder.decode(bytes.subarray(runStart, i));
    out += `\\x${(bytes[i] ?? 0).toString(16).padStart(2, '0')}`;
    i++;
    runStart = i;
  }
  return out + decoder.decode(bytes.subarray(runStart, i));
}
