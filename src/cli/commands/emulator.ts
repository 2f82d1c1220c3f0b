import { runEmulatorCli } from '../../emulator/cli.js';

export async function runEmulatorCommand(opts: { listen: string; hostPluginPort: string; scenario?: string; publicBaseUrl?: string }): Promise<number> {
  const port = Number(opts.hostPluginPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`Error: --host-plugin-port must be a port number, got ${opts.hostPluginPort}\n`);
    return 1;
  }
  try {
    return await runEmulatorCli({
      listen: opts.listen,
      hostPluginPort: port,
      ...(opts.scenario ? { scenarioFile: opts.scenario } : {}),
      ...(opts.publicBaseUrl ? { publicBaseUrl: opts.publicBaseUrl } : {}),
    });
  } catch (err) {
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
