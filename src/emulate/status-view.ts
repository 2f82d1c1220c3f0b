// What the fabric received about one handler, read from a status blob the emulator recorded. Pure.
import { z } from 'zod';

export interface ExtensionView {
  readonly sequenceNumber: number | null;
  readonly status: string;
  readonly code: number | null;
  readonly message: string | null;
}

export interface HandlerView {
  readonly version: string;
  /** Ready, NotReady, Unresponsive... */
  readonly status: string;
  readonly code: number;
  readonly message: string | null;
  readonly ext: ExtensionView | null;
}

export const TERMINAL_EXT_STATUSES: ReadonlySet<string> = new Set(['success', 'warning', 'error']);
/** The agent's placeholder when enable exited but the handler wrote no status file (status-file.ts). */
export const AGENT_NO_STATUS_PREFIX = 'This status is being reported by the Guest Agent since no status file was reported';
/** PluginSettingsStatusInvalid: the status file was not valid JSON or not shaped as a status. */
export const STATUS_INVALID_CODE = 1012;

const num = z.number().nullable().optional().catch(null);
const text = z.string().nullable().optional().catch(null);
const message = z.object({ message: text }).nullable().optional().catch(null);

const handlerSchema = z.object({
  handlerName: z.string(),
  handlerVersion: z.string(),
  status: z.string().catch('?'),
  code: num,
  formattedMessage: message,
  runtimeSettingsStatus: z.object({
    sequenceNumber: num,
    settingsStatus: z.object({
      status: z.object({ status: z.string().catch('?'), code: z.unknown(), formattedMessage: message }).nullable().optional().catch(null),
    }).nullable().optional().catch(null),
  }).nullable().optional().catch(null),
});

const blobSchema = z.object({
  aggregateStatus: z.object({
    handlerAggregateStatus: z.array(z.unknown()).catch([]),
    vmArtifactsAggregateStatus: z.object({ goalStateAggregateStatus: z.object({ inSvdSeqNo: z.unknown() }).nullable().optional().catch(null) }).nullable().optional().catch(null),
  }),
});

/** Every entry of `handlerName` in the blob (one per version, normally one). */
export function handlerViews(status: unknown, handlerName: string): HandlerView[] {
  const blob = blobSchema.safeParse(status);
  if (!blob.success) return [];
  const out: HandlerView[] = [];
  for (const item of blob.data.aggregateStatus.handlerAggregateStatus) {
    const h = handlerSchema.safeParse(item);
    if (!h.success || h.data.handlerName !== handlerName) continue;
    const rs = h.data.runtimeSettingsStatus;
    const st = rs?.settingsStatus?.status;
    out.push({
      version: h.data.handlerVersion,
      status: h.data.status,
      code: h.data.code ?? 0,
      message: h.data.formattedMessage?.message ?? null,
      ext: st ? { sequenceNumber: rs?.sequenceNumber ?? null, status: st.status, code: typeof st.code === 'number' ? st.code : null, message: st.formattedMessage?.message ?? null } : null,
    });
  }
  return out;
}

/** The incarnation whose processing this blob reports (goalStateAggregateStatus.inSvdSeqNo), if any. */
export function processedIncarnation(status: unknown): number | null {
  const blob = blobSchema.safeParse(status);
  const v = blob.success ? blob.data.aggregateStatus.vmArtifactsAggregateStatus?.goalStateAggregateStatus?.inSvdSeqNo : undefined;
  const n = typeof v === 'string' || typeof v === 'number' ? Number(v) : NaN;
  return Number.isInteger(n) ? n : null;
}

/** One line: `Ready (0) "Plugin enabled" · success (0) "Enable succeeded" seq 1`. */
export function describeHandler(v: HandlerView | null, withVersion = false): string {
  if (!v) return 'no entry for the handler';
  const q = (s: string | null): string => (s ? ` "${oneLine(s, 160)}"` : '');
  const head = `${withVersion ? `${v.version} ` : ''}${v.status} (${v.code})${q(v.message)}`;
  if (!v.ext) return head;
  // The agent's long placeholder says one thing: the handler has not written its status file yet.
  const extMessage = v.ext.message?.startsWith(AGENT_NO_STATUS_PREFIX) ? ' [agent: no status file yet]' : q(v.ext.message);
  return `${head} · ${v.ext.status} (${v.ext.code ?? '?'})${extMessage}${v.ext.sequenceNumber !== null ? ` seq ${v.ext.sequenceNumber}` : ''}`;
}

export function oneLine(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
