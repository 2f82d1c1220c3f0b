// Status files the agent writes for an extension itself (multi-config failures, blocked dependents).
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic-write.js';
import type { WriteHealth } from '../state/write-health.js';
import { PyFloat, pyJsonDumps } from '../util/py-json.js';
import { redactSecrets } from '../log/redact.js';

export function placeholderStatusJson(fullName: string, operation: string, code: number, message: string, nowMs: number): string {
  return pyJsonDumps([{
    version: new PyFloat(1),
    timestampUTC: new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    status: {
      name: fullName,
      operation,
      status: 'error',
      code,
      formattedMessage: { lang: 'en-US', message: redactSecrets(message) },
    },
  }]);
}

/** Writes an `error` status for the extension unless the extension already wrote one for this sequence number. */
export async function ensureErrorStatusFile(statusDir: string, fileName: string, fullName: string, operation: string, code: number, message: string, nowMs: number, health?: WriteHealth): Promise<void> {
  const file = join(statusDir, fileName);
  try {
    await access(file);
    return;
  } catch {
    // Missing: write ours.
  }
  await mkdir(statusDir, { recursive: true, mode: 0o700 });
  // A status report only, written again while the failure lasts: not durable (atomic-write.ts).
  await writeFileAtomic(file, placeholderStatusJson(fullName, operation, code, message, nowMs), { mode: 0o600, durable: false, health: health });
}
