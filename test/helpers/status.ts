// Reading the status blob the emulator received.
/* eslint-disable @typescript-eslint/no-explicit-any */

export interface HandlerView {
  readonly handlerName: string;
  readonly handlerVersion: string;
  readonly status: string;
  readonly code: number;
  readonly message: string | undefined;
  readonly ext: { status: string; code: unknown; message: string | undefined; sequenceNumber: number } | undefined;
}

export function handlers(status: unknown): HandlerView[] {
  const list = (status as any)?.aggregateStatus?.handlerAggregateStatus;
  if (!Array.isArray(list)) return [];
  return list.map((h: any) => {
    const s = h.runtimeSettingsStatus?.settingsStatus?.status;
    return {
      handlerName: h.handlerName,
      handlerVersion: h.handlerVersion,
      status: h.status,
      code: h.code,
      message: h.formattedMessage?.message,
      ext: s ? { status: s.status, code: s.code, message: s.formattedMessage?.message, sequenceNumber: h.runtimeSettingsStatus.sequenceNumber } : undefined,
    };
  });
}

export function handler(status: unknown, name: string): HandlerView | undefined {
  return handlers(status).find((h) => h.handlerName === name);
}

export function goalStateStatus(status: unknown): { inSvdSeqNo: string; status: string; code: number } | undefined {
  return (status as any)?.aggregateStatus?.vmArtifactsAggregateStatus?.goalStateAggregateStatus;
}
