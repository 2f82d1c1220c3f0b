// The openssl CLI (CMS, PKCS#12, key generation), as upstream and the extensions use it: execFile, a deadline,
// bounded output, secrets passed through stdin or 0600 files and never as arguments.
import { execFile } from 'node:child_process';
import { AgentError } from '../errors.js';
import { redactSecrets } from '../log/redact.js';

export const DEFAULT_OPENSSL_PATH = '/usr/bin/openssl';
export const DEFAULT_OPENSSL_TIMEOUT_MS = 30_000;
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const MAX_STDERR_IN_ERROR = 300;

export interface Openssl {
  /**
   * Runs `openssl <args>` with `input` (if any) on stdin and resolves with stdout. Failure (exit code, timeout,
   * missing binary) rejects with an AgentError naming the subcommand and the start of its stderr (redacted).
   */
  run(args: readonly string[], input?: Uint8Array | string): Promise<Buffer>;
}

export interface OpensslOptions {
  /** `OS.OpensslPath` */
  readonly path?: string;
  readonly timeoutMs?: number;
}

function failure(sub: string, detail: string, cause?: unknown): AgentError {
  return new AgentError('WAA_STATE', `Cannot run openssl ${sub} as ${detail}`, cause === undefined ? {} : { cause });
}

/** First lines of openssl's stderr, which names the failing step; scrubbed in case a PEM block slipped in. */
function stderrSummary(stderr: Buffer | string): string {
  const text = redactSecrets(String(stderr)).replace(/\s+/g, ' ').trim();
  return text.length > MAX_STDERR_IN_ERROR ? `${text.slice(0, MAX_STDERR_IN_ERROR)}...` : text;
}

export function createOpenssl(opts: OpensslOptions = {}): Openssl {
  const path = opts.path ?? DEFAULT_OPENSSL_PATH;
  const timeout = opts.timeoutMs ?? DEFAULT_OPENSSL_TIMEOUT_MS;
  return {
    run(args, input) {
      const sub = args[0] ?? '';
      return new Promise<Buffer>((resolve, reject) => {
        const child = execFile(
          path,
          [...args],
          { encoding: 'buffer', timeout, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, windowsHide: true },
          (err, stdout, stderr) => {
            if (!err) return resolve(stdout);
            const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
            if (e.code === 'ENOENT') return reject(failure(sub, `${path} was not found`, err));
            if (e.killed) return reject(failure(sub, `it did not finish within ${timeout} ms`));
            const detail = stderrSummary(stderr);
            reject(failure(sub, `it exited with code ${String(e.code)}${detail ? `: ${detail}` : ''}`));
          },
        );
        // openssl may exit before reading all of stdin (e.g. bad arguments); the exit code reports that.
        child.stdin?.on('error', () => undefined);
        child.stdin?.end(input ?? '');
      });
    },
  };
}
