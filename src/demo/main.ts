// `npm start`: the fabric emulator with the bundled sample extension, the real agent process against it
// in a scratch root, progress as it goes, and the status the fabric received at the end.
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createEmulator } from '../emulator/server.js';
import { defaultScenario } from '../emulator/cli.js';

const ENTRY = fileURLToPath(new URL('../../../bin/waagent.js', import.meta.url));
const TIMEOUT_MS = 120_000;

/** Lines of the agent log worth showing a person watching the demo. */
const PROGRESS = /Fetching goal state|ProcessExtensionsGoalState|Downloading|Unpacked|Install extension|Enable extension|completed in|failed|Status blob uploaded|ERROR|WARNING/;

interface DemoStatus {
  aggregateStatus?: { handlerAggregateStatus?: Array<Record<string, any>> };
}

export async function demo(): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), 'waagent-ts-demo-'));
  const lib = join(root, 'var/lib/waagent');
  const logDir = join(root, 'var/log');
  await mkdir(lib, { recursive: true, mode: 0o700 });
  await mkdir(join(logDir, 'azure'), { recursive: true });
  const conf = join(root, 'waagent.conf');
  await writeFile(conf, [
    `Lib.Dir=${lib}`,
    `Extension.LogDir=${join(logDir, 'azure')}`,
    `Pid.File=${join(root, 'waagent.pid')}`,
    'Extensions.GoalStatePeriod=2',
    'OS.EnableFirewall=n',
    'Logs.Verbose=y',
    '',
  ].join('\n'));
  const emu = await createEmulator({ scenario: defaultScenario() });
  const say = (s: string) => process.stdout.write(`${s}\n`);
  say(`waagent-ts demo: fabric emulator at ${emu.wireUrl} (HostGAPlugin ${emu.hostPluginUrl}), scratch root ${root}`);
  const agentLog = join(logDir, 'waagent.log');
  const agent = spawn(process.execPath, [ENTRY, '-run-exthandlers', `-configuration-path:${conf}`], {
    env: { ...process.env, WAAGENT_TS_WIRESERVER: emu.wireUrl, WAAGENT_TS_HOSTPLUGIN: emu.hostPluginUrl, WAAGENT_TS_LOG_FILE: agentLog, WAAGENT_TS_RETRY_DELAY_MS: '200' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: agent.stdout! }).on('line', (line) => {
    if (PROGRESS.test(line)) say(`  agent | ${line.replace(/^\S+ /, '')}`);
  });
  let exitCode = 1;
  try {
    const rec = await emu.waitFor((s) => {
      const h = (s as DemoStatus)?.aggregateStatus?.handlerAggregateStatus?.[0];
      const st = h?.runtimeSettingsStatus?.settingsStatus?.status?.status;
      return st === 'success' || st === 'error' || h?.status === 'NotReady' && h?.code !== 0;
    }, TIMEOUT_MS);
    const status = rec.status as DemoStatus;
    const h = status.aggregateStatus!.handlerAggregateStatus![0]!;
    const ext = h.runtimeSettingsStatus?.settingsStatus?.status;
    say('');
    say(`Status received by the fabric (via ${rec.via}, ${rec.blobType}):`);
    say(`  handler   ${h.handlerName} ${h.handlerVersion}: ${h.status} (code ${h.code}) ${h.formattedMessage?.message ?? ''}`);
    if (ext) say(`  extension ${ext.name}: ${ext.status} (code ${ext.code}) ${ext.formattedMessage?.message ?? ''}`);
    say('');
    say(`Agent log:       ${agentLog}`);
    say(`Extension logs:  ${join(logDir, 'azure', String(h.handlerName))}/`);
    say(`Handler folder:  ${join(lib, `${h.handlerName}-${h.handlerVersion}`)}/`);
    exitCode = ext?.status === 'success' ? 0 : 1;
    if (exitCode !== 0) say('The extension did not report success.');
  } catch (err) {
    say(`Demo failed: ${err instanceof Error ? err.message : String(err)} (see ${agentLog})`);
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => (agent.exitCode !== null ? r(null) : agent.once('exit', r)));
    await emu.close();
  }
  return exitCode;
}

demo().then((code) => {
  process.exitCode = code;
});
