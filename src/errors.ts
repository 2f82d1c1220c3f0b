// One catalogue of error codes. Every code is listed in docs/errors.md (a unit test checks).

export const ERROR_CODES = [
  'WAA_CONFIG',
  'WAA_PROTOCOL_HTTP',
  'WAA_PROTOCOL_GONE',
  'WAA_PROTOCOL_PARSE',
  'WAA_PROTOCOL_TIMEOUT',
  'WAA_EXT',
  'WAA_EXT_DOWNLOAD',
  'WAA_EXT_MANIFEST',
  'WAA_EXT_UNPACK',
  'WAA_EXT_COMMAND',
  'WAA_EXT_TIMEOUT',
  'WAA_STATE',
  'WAA_USAGE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class AgentError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AgentError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
  }
}

export class ConfigError extends AgentError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('WAA_CONFIG', message, opts);
    this.name = 'ConfigError';
  }
}

export class ProtocolError extends AgentError {
  readonly status?: number;
  constructor(message: string, opts: { status?: number; retryable?: boolean; cause?: unknown; code?: ErrorCode } = {}) {
    super(opts.code ?? 'WAA_PROTOCOL_HTTP', message, opts);
    this.name = 'ProtocolError';
    if (opts.status !== undefined) this.status = opts.status;
  }
}

/** 410 Gone (upstream ResourceGoneError): the goal state must be refetched. */
export class GoneError extends ProtocolError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { ...opts, status: 410, code: 'WAA_PROTOCOL_GONE' });
    this.name = 'GoneError';
  }
}

/** WALinuxAgent's ExtensionErrorCodes, reported in handler and extension status. */
export const ExtCode = {
  PluginUnknownFailure: -1,
  PluginSuccess: 0,
  PluginProcessingError: 1000,
  PluginManifestDownloadError: 1001,
  PluginHandlerManifestNotFound: 1002,
  PluginHandlerManifestDeserializationError: 1003,
  PluginPackageDownloadFailed: 1004,
  PluginPackageExtractionFailed: 1005,
  PluginInstallProcessingFailed: 1007,
  PluginUpdateProcessingFailed: 1008,
  PluginEnableProcessingFailed: 1009,
  PluginDisableProcessingFailed: 1010,
  PluginHandlerScriptTimedout: 1011,
  PluginSettingsStatusInvalid: 1012,
} as const;

export class ExtensionError extends AgentError {
  /** Numeric WALinuxAgent code reported to the fabric. */
  readonly extCode: number;
  constructor(message: string, extCode: number, opts: { code?: ErrorCode; cause?: unknown } = {}) {
    super(opts.code ?? 'WAA_EXT', message, opts);
    this.name = 'ExtensionError';
    this.extCode = extCode;
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
