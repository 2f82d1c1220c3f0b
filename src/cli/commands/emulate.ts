// `waagent emulate PACKAGE`: run a handler through the real agent and the fabric emulator, report contract breaches.
import { resolveOptions, type EmulateArgs } from '../../emulate/options.js';
import { exitCodeOf, renderReport } from '../../emulate/report.js';
import { runEmulate } from '../../emulate/run.js';
import type { TimelineOutput } from '../../emulate/timeline.js';

export interface EmulateCommandOptions extends Omit<EmulateArgs, 'package'> {
  readonly json?: boolean;
}

function outputFor(stream: NodeJS.WriteStream): TimelineOutput {
  const isTTY = stream.isTTY === true;
  return {
    write: (s) => void stream.write(s), isTTY, color: isTTY && process.env.NO_COLOR === undefined,
    get columns() {
      return stream.columns;
    },
  };
}

export async function runEmulateCommand(pkg: string, opts: EmulateCommandOptions): Promise<number> {
  let options;
  try {
    options = await resolveOptions({ ...opts, package: pkg });
  } catch (err) {
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  // --json: stdout carries the one JSON document; the timeline goes to stderr.
  const out = outputFor(opts.json ? process.stderr : process.stdout);
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const report = await runEmulate(options, out, abort.signal);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const plain = (s: string): string => s;
      const color = out.color;
      const style = {
        bold: color ? (s: string) => `\x1b[1m${s}\x1b[0m` : plain,
        red: color ? (s: string) => `\x1b[31m${s}\x1b[0m` : plain,
        green: color ? (s: string) => `\x1b[32m${s}\x1b[0m` : plain,
      };
      out.write(renderReport(report, style));
    }
    return exitCodeOf(report);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
