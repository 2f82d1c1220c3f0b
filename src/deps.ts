// The seams every subsystem receives. Only compose.ts builds the real ones.

export interface Clock {
  /** Milliseconds since the epoch (may carry a fraction). */
  now(): number;
  /** Resolves after ms, or rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export type LogFields = Record<string, unknown>;

export interface Logger {
  verbose(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines carry another prefix (e.g. `[Pub.Type-1.0]`) and/or thread name. */
  child(bindings: { prefix?: string; thread?: string }): Logger;
}

export interface RunOptions {
  cwd: string;
  /** Complete environment of the child. */
  env: Record<string, string>;
  timeoutMs: number;
  /** Files that receive the child's stdout and stderr (never pipes: handlers leave background jobs holding them). */
  stdoutPath: string;
  stderrPath: string;
  signal?: AbortSignal;
}

export interface RunResult {
  /** Exit code of the main process, null when killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
  /** First 3200 characters of each stream, as upstream reads them. */
  stdout: string;
  stderr: string;
  /** Set when the command could not be started at all. */
  launchError?: string;
}

export interface Runner {
  /** Runs `command` through /bin/sh -c in its own process group; waits for the main process only. */
  run(command: string, opts: RunOptions): Promise<RunResult>;
}

export interface Random {
  random(): number;
}
