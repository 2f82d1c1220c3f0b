// An in-memory Azure blob store holding the status blob. Validates what the agent sends like Azure Storage would.
import { createHash } from 'node:crypto';
import type { StatusBlobType } from '../protocol/goal-state.js';
import { HttpError } from './http-util.js';

export type UploadChannel = 'hostplugin' | 'direct';

export interface BlobWrite {
  /** Path of the blob, e.g. `/blob/system/vm.status`. */
  readonly pathname: string;
  readonly query: URLSearchParams;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
  readonly via: UploadChannel;
}

export interface StoredBlob {
  readonly type: StatusBlobType;
  content: Buffer;
  etag: string;
  lastModified: Date;
}

export const MAX_BLOB_BYTES = 16 * 1024 * 1024;
const MAX_BLOBS = 32;
const PAGE = 512;

/** Called when a write completes the status blob: a block PUT, or a page write reaching the end of the blob. */
export type StatusListener = (text: string, blobType: StatusBlobType, via: UploadChannel) => void;

export class BlobStore {
  private readonly blobs = new Map<string, StoredBlob>();

  constructor(
    private readonly sig: string,
    private readonly statusPath: string,
    private readonly onStatus: StatusListener,
  ) {}

  get(pathname: string): StoredBlob | undefined {
    return this.blobs.get(pathname);
  }

  /** Applies a PUT; returns the HTTP status (201) or throws HttpError with Azure's code. */
  put(w: BlobWrite): number {
    if (!/^\/blob\/[^/]+\/[^/]+$/.test(w.pathname)) throw new HttpError(400, `invalid blob path`, 'InvalidUri');
    this.checkAuth(w.query);
    this.checkCommonHeaders(w);
    const comp = w.query.get('comp');
    if (comp === 'page') return this.putPage(w);
    if (comp !== null) throw new HttpError(400, `unsupported comp=${comp}`, 'InvalidQueryParameterValue');
    return this.create(w);
  }

  private checkAuth(q: URLSearchParams): void {
    // A missing or different signature is what Azure answers when the agent mangles the SAS query.
    if (q.get('sig') !== this.sig || !(q.get('sp') ?? '').includes('w')) {
      throw new HttpError(403, 'Server failed to authenticate the request (SAS signature or permission)', 'AuthenticationFailed');
    }
  }

  private checkCommonHeaders(w: BlobWrite): void {
    const version = w.headers['x-ms-version'];
    if (!version) throw new HttpError(400, 'missing x-ms-version header', 'MissingRequiredHeader');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(version)) throw new HttpError(400, `invalid x-ms-version ${version}`, 'InvalidHeaderValue');
    const date = w.headers['x-ms-date'];
    if (!date) throw new HttpError(400, 'missing x-ms-date header', 'MissingRequiredHeader');
    if (Number.isNaN(Date.parse(date))) throw new HttpError(400, `invalid x-ms-date ${date}`, 'InvalidHeaderValue');
    const len = w.headers['content-length'];
    if (len === undefined) throw new HttpError(411, 'Content-Length header required', 'MissingContentLengthHeader');
    if (!/^\d+$/.test(len) || Number(len) !== w.body.length) {
      throw new HttpError(400, `Content-Length ${len} does not match body length ${w.body.length}`, 'InvalidHeaderValue');
    }
  }

  private store(pathname: string, type: StatusBlobType, content: Buffer): StoredBlob {
    if (!this.blobs.has(pathname) && this.blobs.size >= MAX_BLOBS) throw new HttpError(409, 'blob store full', 'AccountLimitExceeded');
    const blob: StoredBlob = { type, content, etag: '', lastModified: new Date() };
    this.touch(blob);
    this.blobs.set(pathname, blob);
    return blob;
  }

  private touch(blob: StoredBlob): void {
    blob.etag = `"0x${createHash('sha1').update(blob.content).digest('hex').slice(0, 16).toUpperCase()}"`;
    blob.lastModified = new Date();
  }

  private create(w: BlobWrite): number {
    const type = w.headers['x-ms-blob-type'];
    if (type === 'BlockBlob') {
      if (w.body.length > MAX_BLOB_BYTES) throw new HttpError(413, 'block blob too large', 'RequestBodyTooLarge');
      this.store(w.pathname, 'BlockBlob', Buffer.from(w.body));
      if (w.pathname === this.statusPath) this.onStatus(w.body.toString('utf8'), 'BlockBlob', w.via);
      return 201;
    }
    if (type === 'PageBlob') {
      if (w.body.length !== 0) throw new HttpError(400, 'a PageBlob create must have an empty body', 'InvalidHeaderValue');
      const sizeText = w.headers['x-ms-blob-content-length'];
      if (sizeText === undefined) throw new HttpError(400, 'missing x-ms-blob-content-length header', 'MissingRequiredHeader');
      const size = /^\d+$/.test(sizeText) ? Number(sizeText) : NaN;
      if (!Number.isSafeInteger(size) || size % PAGE !== 0 || size > MAX_BLOB_BYTES) {
        throw new HttpError(400, `x-ms-blob-content-length ${sizeText} must be a multiple of 512 up to ${MAX_BLOB_BYTES}`, 'InvalidHeaderValue');
      }
      this.store(w.pathname, 'PageBlob', Buffer.alloc(size));
      return 201;
    }
    throw new HttpError(400, type === undefined ? 'missing x-ms-blob-type header' : `invalid x-ms-blob-type ${type}`, type === undefined ? 'MissingRequiredHeader' : 'InvalidHeaderValue');
  }

  private putPage(w: BlobWrite): number {
    const blob = this.blobs.get(w.pathname);
    if (!blob) throw new HttpError(404, 'The specified blob does not exist.', 'BlobNotFound');
    if (blob.type !== 'PageBlob') throw new HttpError(409, 'The blob type is invalid for this operation.', 'InvalidBlobType');
    const mode = w.headers['x-ms-page-write'];
    if (mode !== 'update' && mode !== 'clear') throw new HttpError(400, `invalid x-ms-page-write ${String(mode)}`, mode === undefined ? 'MissingRequiredHeader' : 'InvalidHeaderValue');
    const rangeText = w.headers['x-ms-range'] ?? w.headers['range'];
    const m = rangeText === undefined ? null : /^bytes=(\d+)-(\d+)$/.exec(rangeText);
    if (!m) throw new HttpError(400, `missing or invalid x-ms-range ${String(rangeText)}`, 'InvalidHeaderValue');
    const start = Number(m[1]);
    const end = Number(m[2]);
    if (start % PAGE !== 0 || (end + 1) % PAGE !== 0 || end < start) {
      throw new HttpError(416, `range ${rangeText} is not 512-byte aligned`, 'InvalidPageRange');
    }
    if (end >= blob.content.length) throw new HttpError(416, `range ${rangeText} beyond blob size ${blob.content.length}`, 'InvalidPageRange');
    const len = end - start + 1;
    if (mode === 'update') {
      if (w.body.length !== len) throw new HttpError(400, `body length ${w.body.length} does not match range length ${len}`, 'InvalidHeaderValue');
      w.body.copy(blob.content, start);
    } else {
      if (w.body.length !== 0) throw new HttpError(400, 'a page clear must have an empty body', 'InvalidHeaderValue');
      blob.content.fill(0, start, end + 1);
    }
    this.touch(blob);
    // The agent sizes the blob to the padded JSON, so the write that reaches the end completes the upload.
    if (w.pathname === this.statusPath && mode === 'update' && end + 1 === blob.content.length) {
      this.onStatus(trimPadding(blob.content).toString('utf8'), 'PageBlob', w.via);
    }
    return 201;
  }
}

/** Page content without trailing NULs (direct upload padding) or spaces (HostGAPlugin padding). */
export function trimPadding(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0 || b[end - 1] === 0x20)) end--;
  return b.subarray(0, end);
}
