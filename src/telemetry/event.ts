// The telemetry event model (wire-protocol.md §12): provider and event ids, ordered typed parameters.

/** Agent and extension operation events (id 1) and performance metrics (id 4). */
export const AGENT_PROVIDER_ID = '69B669B9-4AF8-4C50-BDC4-6006FA76E975';
/** Log events, including extension events collected through the Extension Telemetry Pipeline (id 7). */
export const LOG_PROVIDER_ID = 'FFF0196F-EE4C-4EAF-9AA5-776F622DEB4F';
export const OPERATION_EVENT_ID = 1;
export const METRIC_EVENT_ID = 4;
export const LOG_EVENT_ID = 7;

export type ParamValue = string | number | boolean;

export interface TelemetryParam {
  readonly name: string;
  readonly value: ParamValue;
  /** A number sent as mt:float64 even when it is integral (e.g. "1.0" read from a legacy XML file). */
  readonly float?: true;
}

/** How the event reached the agent: "" made by the agent, "json"/"xml" read from a file. */
export type FileType = '' | 'json' | 'xml';

export interface TelemetryEvent {
  readonly eventId: number;
  readonly providerId: string;
  readonly parameters: readonly TelemetryParam[];
  readonly fileType: FileType;
}

/** Operation names as upstream spells them (WALAEventOperation); note `UnInstall`. */
export const Op = {
  Install: 'Install',
  Enable: 'Enable',
  Disable: 'Disable',
  UnInstall: 'UnInstall',
  Update: 'Update',
  ExtensionProcessing: 'ExtensionProcessing',
  ExtensionTelemetryEventProcessing: 'ExtensionTelemetryEventProcessing',
  OSInfo: 'OSInfo',
  ReportEventErrors: 'ReportEventErrors',
  CollectEventErrors: 'CollectEventErrors',
  UnhandledError: 'UnhandledError',
  Unknown: 'Unknown',
} as const;

/** upstream logger.LogLevel.STRINGS */
export type LogLevel = 'VERBOSE' | 'INFO' | 'WARNING' | 'ERROR';

/** The value of the first parameter with that name. */
export function paramValue(event: Pick<TelemetryEvent, 'parameters'>, name: string): ParamValue | undefined {
  return event.parameters.find((p) => p.name === name)?.value;
}

export function isOperationEvent(event: Pick<TelemetryEvent, 'eventId' | 'providerId'>): boolean {
  return event.eventId === OPERATION_EVENT_ID && event.providerId.toUpperCase() === AGENT_PROVIDER_ID;
}
