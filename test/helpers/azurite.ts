// Azurite (the Azure Storage emulator) for tests: a real blob service on 127.0.0.1, plus SAS and read-back helpers.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  BlobSASPermissions, BlobServiceClient, StorageSharedKeyCredential, generateBlobSASQueryParameters,
} from '@azure/storage-blob';

/** Azurite's well-known development account (public, documented; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** node_modules/.bin/azurite-blob, found from this compiled file (dist/test/helpers or .tmp/<name>/test/helpers). */
function azuriteBin(): string {
  for (const up of ['../../../node_modules/.bin/azurite-blob', '../../../../node_modules/.bin/azurite-blob']) {
    const p = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('azurite-blob not found');
}

export interface Azurite {
  /** Blob endpoint, e.g. http://127.0.0.1:43210/devstoreaccount1 */
  readonly url: string;
  readonly service: BlobServiceClient;
  /** Creates the container when missing and returns a blob SAS URL (sp=rcw, 1 h). */
  blobSasUrl(container: string, blob: string): Promise<string>;
  readBlob(container: string, blob: string): Promise<{ content: Buffer; blobType: string | undefined; contentLength: number | undefined }>;
  close(): Promise<void>;
}

export interface AzuriteOptions {
  /** Extra command-line flags (e.g. --loose). */
  readonly flags?: readonly string[];
  /** Bound on the wait for "successfully listens on" (default 20 s). */
  readonly startTimeoutMs?: number;
}

/**
 * Starts azurite-blob in memory on an ephemeral loopback port. --disableTelemetry matters: Azurite otherwise
 * sends usage telemetry to the internet. Starting it leaves nothing on disk (cwd is the temp dir).
 */
export async function startAzurite(opts: AzuriteOptions = {}): Promise<Azurite> {
  const args = [
    '--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--extentMemoryLimit', '256',
    '--silent', '--disableTelemetry', ...(opts.flags ?? []),
  ];
  const proc = spawn(azuriteBin(), args, { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let out = '';
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`Azurite did not start within ${opts.startTimeoutMs ?? 20_000} ms: ${out}`)), opts.startTimeoutMs ?? 20_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /successfully listens on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    const fail = (err: Error): void => {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(err);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => fail(new Error(`Azurite exited with ${code}: ${out}`)));
    proc.once('error', fail);
  });
  const url = `${base}/${AZURITE_ACCOUNT}`;
  const cred = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
  const service = new BlobServiceClient(url, cred, { retryOptions: { maxTries: 1 } });

  return {
    url,
    service,
    async blobSasUrl(container, blob) {
      await service.getContainerClient(container).createIfNotExists();
      const sas = generateBlobSASQueryParameters({
        containerName: container,
        blobName: blob,
        permissions: BlobSASPermissions.parse('rcw'),
        startsOn: new Date(Date.now() - 5 * 60_000),
        expiresOn: new Date(Date.now() + 60 * 60_000),
      }, cred);
      return `${url}/${container}/${blob}?${sas.toString()}`;
    },
    async readBlob(container, blob) {
      const client = service.getContainerClient(container).getBlobClient(blob);
      const [content, props] = await Promise.all([client.downloadToBuffer(), client.getProperties()]);
      return { content, blobType: props.blobType, contentLength: props.contentLength };
    },
    async close() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
