// `waagent emulator --listen ADDR[:PORT]`: runs the fabric emulator standalone until SIGINT/SIGTERM.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScenario, resolveScenarioPaths, type Scenario } from './scenario.js';
import { createEmulator, type Emulator } from './server.js';

export interface EmulatorCliArgs {
  /** `ADDR` or `ADDR:PORT` (`[v6]:PORT` for IPv6); PORT is the WireServer port. */
  listen: string;
  wirePort?: number;
  hostPluginPort?: number;
  /** JSON scenario; relative package paths are relative to the file. */
  scenarioFile?: string;
  /** Base URL written into documents, needed when listening on 0.0.0.0 (e.g. http://168.63.129.16). */
  publicBaseUrl?: string;
}

export interface EmulatorCliIo {
  /** Output lines (default: stdout). */
  out?: (line: string) => void;
  /** Stops the emulator when aborted (in addition to SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Called once the emulator is listening. */
  onReady?: (emulator: Emulator) => void;
}

const MAX_SCENARIO_BYTES = 1024 * 1024;

/** Splits `ADDR`, `ADDR:PORT`, `[V6]` or `[V6]:PORT`. */
export function parseListen(listen: string): { host: string; port?: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(listen) ?? /^([^:]+)(?::(\d+))?$/.exec(listen);
  if (!m || !m[1]) {
    if (listen.includes(':') && !listen.startsWith('[')) return { host: listen };
    throw new Error(`--listen: expected ADDR or ADDR:PORT, got ${listen}`);
  }
  if (m[2] === undefined) return { host: m[1] };
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port > 65535) throw new Error(`--listen: invalid port ${m[2]}`);
  return { host: m[1], port };
}

/** The bundled sample handler folder (fixtures/extensions/sample), found above this module. */
export function sampleHandlerDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'fixtures', 'extensions', 'sample');
    if (existsSync(join(candidate, 'HandlerManifest.json'))) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error('sample handler fixtures/extensions/sample not found above the emulator module');
}

/** One enabled sample extension: what the standalone emulator and the demo publish by default. */
export function defaultScenario(): Scenario {
  return {
    extensions: [
      {
        name: 'Emulator.SampleExtension',
        version: '1.0.0',
        state: 'enabled',
        seqNo: 0,
        publicSettings: { message: 'hello from the fabric emulator' },
        packageDir: sampleHandlerDir(),
      },
    ],
  };
}

export async function loadScenarioFile(file: string): Promise<Scenario> {
  const st = await stat(file);
  if (st.size > MAX_SCENARIO_BYTES) throw new Error(`${file}: scenario larger than ${MAX_SCENARIO_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  return resolveScenarioPaths(parseScenario(json, file), file);
}

/** Starts the emulator, prints its URLs and one line per request, and resolves with exit code 0 once stopped. */
export async function runEmulatorCli(argv: EmulatorCliArgs, io: EmulatorCliIo = {}): Promise<number> {
  const out = io.out ?? ((line: string): void => void process.stdout.write(`${line}\n`));
  const { host, port } = parseListen(argv.listen);
  const scenario = argv.scenarioFile !== undefined ? await loadScenarioFile(argv.scenarioFile) : defaultScenario();
  const emulator = await createEmulator({
    host,
    wirePort: argv.wirePort ?? port ?? 80,
    hostPluginPort: argv.hostPluginPort ?? 32526,
    scenario,
    log: out,
    ...(argv.publicBaseUrl !== undefined ? { publicBaseUrl: argv.publicBaseUrl } : {}),
  });
  out(`WireServer:   ${emulator.wireUrl}`);
  out(`HostGAPlugin: ${emulator.hostPluginUrl}`);
  out(`Control API:  ${emulator.wireUrl}/__emulator/ (see src/emulator/README.md)`);
  io.onReady?.(emulator);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener('abort', stop, { once: true });
  });
  out('emulator: stopping');
  await emulator.close();
  return 0;
}
