// The WireServer firewall for real, in a private network namespace (root; CI=true makes it mandatory): the rules
// the agent's code applies refuse an unprivileged user, let root through and keep TCP/53 open, and the agent's
// keeper restores a rule deleted behind its back. Every iptables command runs inside the namespace, never on the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually, tempRoot } from '../helpers/agent.js';
import { createNetns, FABRIC_IP, isRoot, startAgentInNetns, startEmulatorInNetns, type Netns, type NetnsProcess } from '../helpers/netns.js';
import { handler } from '../helpers/status.js';
import type { Logger } from '../../src/deps.js';
import { systemClock } from '../../src/platform/clock.js';
import { createCommandRunner, type CommandRunner } from '../../src/platform/firewall-command.js';
import { createFirewall, type WireServerFirewall } from '../../src/platform/firewall.js';
import { FirewallKeeper } from '../../src/agent/firewall-keeper.js';

const execFileP = promisify(execFile);
const CI = process.env.CI === 'true';
const skip = !isRoot() && !CI ? 'needs root for network namespaces and iptables (runs under CI=true)' : false;
const NOBODY = '65534';
/** How long a probe waits for a connection: a DROPped SYN never answers, so this is how "refused" shows. */
const PROBE_MS = 1500;

/**
 * One connection attempt from inside the namespace, as root or (setpriv) as nobody. Prints JSON:
 * {ok, status?} for `http` (fetch), {ok} for `tcp` (connect only), or {ok:false, error}.
 */
const PROBE = `
const [mode, host, port, ms] = process.argv.slice(1);
// Exit at once: a connection whose SYN was dropped keeps retrying (and the process alive) long after the timeout.
const out = (o) => process.stdout.write(JSON.stringify(o), () => process.exit(0));
if (mode === 'http') {
  try {
    const r = await fetch('http://' + host + ':' + port + '/?comp=versions', { signal: AbortSignal.timeout(Number(ms)) });
    out({ ok: true, status: r.status });
  } catch (err) {
    out({ ok: false, error: String(err && err.cause ? (err.cause.code || err.cause) : (err.name || err)) });
  }
} else {
  const net = await import('node:net');
  const s = net.connect({ host, port: Number(port) });
  const t = setTimeout(() => { s.destroy(); out({ ok: false, error: 'timeout' }); }, Number(ms));
  s.once('connect', () => { clearTimeout(t); s.end(); out({ ok: true }); });
  s.once('error', (e) => { clearTimeout(t); out({ ok: false, error: e.code || String(e) }); });
}`;

async function probe(ns: Netns, as: 'root' | 'nobody', mode: 'http' | 'tcp', port: number): Promise<{ ok: boolean; status?: number; error?: string }> {
  const who = as === 'root' ? [] : ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
  const argv = ['netns', 'exec', ns.name, ...who, process.execPath, '--input-type=module', '-e', PROBE, '--', mode, FABRIC_IP, String(port), String(PROBE_MS)];
  try {
    const { stdout } = await execFileP('ip', argv, { timeout: PROBE_MS + 10_000, cwd: '/' });
    return JSON.parse(stdout) as { ok: boolean; status?: number; error?: string };
  } catch (err) {
    const e = err as { code?: unknown; signal?: unknown; stdout?: string; stderr?: string };
    throw new Error(`probe ${as} ${mode} :${port} failed (exit ${String(e.code)}, signal ${String(e.signal)}): ${e.stderr ?? ''} ${e.stdout ?? ''}`);
  }
}

/** A TCP listener on 168.63.129.16:53 inside the namespace (stands in for Azure DNS over TCP). */
async function startDnsListener(ns: Netns): Promise<NetnsProcess> {
  const p = ns.spawn(process.execPath, ['-e', `require('node:net').createServer((s) => s.end()).listen(53, '${FABRIC_IP}', () => console.log('listening'))`]);
  await p.waitForOutput(/listening/, 10_000);
  return p;
}

const quietLogger = (lines: string[]): Logger => {
  const l: Logger = {
    verbose: () => undefined,
    info: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARNING ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
    child: () => l,
  };
  return l;
};

/** The agent's firewall code, driving the real iptables inside the namespace. */
async function firewallIn(ns: Netns): Promise<{ run: CommandRunner; firewall: WireServerFirewall }> {
  const run = createCommandRunner({ prefix: ['ip', 'netns', 'exec', ns.name], timeoutMs: 15_000 });
  const created = await createFirewall({ run, address: FABRIC_IP, uid: 0 });
  assert.ok(created, 'iptables (or nft) is installed');
  return { run, firewall: created.firewall };
}

const DROP_RULE = ['-d', FABRIC_IP, '-p', 'tcp', '-m', 'conntrack', '--ctstate', 'INVALID,NEW', '-j', 'DROP'];

test('the rules refuse an unprivileged user, let root through and keep TCP/53 open', { skip, timeout: 90_000 }, async () => {
  assert.ok(isRoot(), 'CI=true: this end-to-end test must run as root (network namespaces, iptables)');
  let ns: Netns | undefined;
  const procs: NetnsProcess[] = [];
  try {
    ns = await createNetns();
    procs.push(await startEmulatorInNetns(ns), await startDnsListener(ns));
    // Without rules everyone gets through: the probe can tell success from refusal.
    assert.deepEqual(await probe(ns, 'nobody', 'http', 80), { ok: true, status: 200 });

    const { firewall } = await firewallIn(ns);
    assert.equal(firewall.tool, 'iptables');
    const lines: string[] = [];
    const keeper = new FirewallKeeper({ clock: systemClock, logger: quietLogger(lines), firewall, periodMs: 1000 });
    assert.equal(await keeper.initialize(), 'added', lines.join('\n'));
    assert.deepEqual(await firewall.check(), { state: 'ok', missing: [] });
    const listing = await firewall.listRules();
    assert.match(listing, /ACCEPT +(tcp|6) .* 168\.63\.129\.16 +tcp dpt:53/);
    assert.match(listing, /ACCEPT +(tcp|6) .* 168\.63\.129\.16 +owner UID match 0/);
    assert.match(listing, /DROP +(tcp|6) .* 168\.63\.129\.16 +ctstate INVALID,NEW/);

    const refused = await probe(ns, 'nobody', 'http', 80);
    assert.equal(refused.ok, false, `nobody reached the WireServer: ${JSON.stringify(refused)}`);
    assert.match(refused.error ?? '', /Timeout|timeout|abort/i, 'a dropped SYN: no answer at all');
    assert.equal((await probe(ns, 'nobody', 'tcp', 32526)).ok, false, 'the HostGAPlugin port is closed to nobody too');
    assert.deepEqual(await probe(ns, 'root', 'http', 80), { ok: true, status: 200 });
    assert.deepEqual(await probe(ns, 'root', 'tcp', 32526), { ok: true });
    assert.deepEqual(await probe(ns, 'nobody', 'tcp', 53), { ok: true }, 'DNS over TCP stays open to everyone');

    // Idempotent: a second start adds nothing; removal opens the address again.
    assert.equal(await keeper.initialize(), 'ok');
    assert.equal((await firewall.listRules()).match(/DROP +(tcp|6) /g)?.length, 1);
    await firewall.remove();
    assert.deepEqual(await firewall.check(), { state: 'missing', missing: ['ACCEPT DNS', 'ACCEPT', 'DROP'] });
    assert.deepEqual(await probe(ns, 'nobody', 'http', 80), { ok: true, status: 200 });
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await ns?.destroy();
  }
});

test('the agent sets the rules up, keeps working behind them, and restores a deleted rule', { skip, timeout: 120_000 }, async () => {
  assert.ok(isRoot(), 'CI=true: this end-to-end test must run as root (network namespaces, iptables)');
  const root = await tempRoot({ 'OS.EnableFirewall': 'y', 'OS.EnableFirewallPeriod': '1' });
  let ns: Netns | undefined;
  let emu: NetnsProcess | undefined;
  let agent: NetnsProcess | undefined;
  try {
    ns = await createNetns();
    emu = await startEmulatorInNetns(ns);
    agent = startAgentInNetns(ns, root);
    const { run, firewall } = await firewallIn(ns);
    const log = async (): Promise<string> => (await import('node:fs/promises')).readFile(root.logFile, 'utf8').catch(() => '');
    const diag = async (): Promise<string> => `agent log:\n${(await log()).slice(-4000)}`;

    // Set up, and the rules logged once set up.
    await eventually(async () => /Created firewall rules for the Azure Fabric:\n.*Chain OUTPUT/s.test(await log()) && (await firewall.check()).state === 'ok', 30_000, 'the agent to set up the firewall')
      .catch(async (e) => assert.fail(`${e}\n${await diag()}`));
    assert.equal((await probe(ns, 'nobody', 'http', 80)).ok, false);

    // The agent (root) is not locked out by its own rules: it completes the goal state and reports.
    await eventually(async () => {
      const r = await ns!.fetch(`http://${FABRIC_IP}/__emulator/status`, { timeoutMs: 3000 });
      return r.status === 200 && handler(JSON.parse(r.body), 'Emulator.SampleExtension')?.ext?.status === 'success';
    }, 40_000, 'the sample extension reported as success').catch(async (e) => assert.fail(`${e}\n${await diag()}`));

    // Delete one rule behind the agent's back: the keeper notices the partial set and resets it.
    const del = await run(['iptables', '-w', '-t', 'security', '-D', 'OUTPUT', ...DROP_RULE]);
    assert.equal(del.exitCode, 0, del.stderr);
    await eventually(async () => /inconsistent \(missing: DROP\); will reset them/.test(await log()) && (await firewall.check()).state === 'ok', 20_000, 'the DROP rule restored')
      .catch(async (e) => assert.fail(`${e}\n${await diag()}`));
    assert.equal((await probe(ns, 'nobody', 'http', 80)).ok, false, 'refused again');

    // Flush the whole chain: all three come back.
    const flush = await run(['iptables', '-w', '-t', 'security', '-F', 'OUTPUT']);
    assert.equal(flush.exitCode, 0, flush.stderr);
    await eventually(async () => (await log()).includes('Successfully added Azure fabric firewall rules') && (await firewall.check()).state === 'ok', 20_000, 'the flushed rules restored')
      .catch(async (e) => assert.fail(`${e}\n${await diag()}`));
    assert.equal((await firewall.listRules()).match(/DROP +(tcp|6) /g)?.length, 1, 'exactly one DROP rule, no duplicates');
    assert.equal(agent.proc.exitCode, null, 'the agent is still running');
  } finally {
    await Promise.all([agent?.stop(), emu?.stop()]);
    await ns?.destroy();
    await root.cleanup();
  }
});

test('waagent -setup-firewall=<IP> (boot-time command) applies the rules once, idempotently, and repairs a partial set', { skip, timeout: 120_000 }, async () => {
  assert.ok(isRoot(), 'CI=true: this end-to-end test must run as root (network namespaces, iptables)');
  const root = await tempRoot();
  let ns: Netns | undefined;
  const procs: NetnsProcess[] = [];
  const runCli = async (args: string[]): Promise<{ code: number | null; output: string }> => {
    const p = startAgentInNetns(ns!, root, args, { WAAGENT_TS_NO_CONSOLE: '1' });
    procs.push(p);
    const code = await new Promise<number | null>((resolve) => {
      if (p.proc.exitCode !== null) resolve(p.proc.exitCode);
      else p.proc.once('exit', (c) => resolve(c));
    });
    return { code, output: p.output() };
  };
  try {
    ns = await createNetns();
    procs.push(await startEmulatorInNetns(ns));
    const { run, firewall } = await firewallIn(ns);
    const log = async (): Promise<string> => (await import('node:fs/promises')).readFile(root.logFile, 'utf8').catch(() => '');

    const first = await runCli(['-setup-firewall=168.63.129.16']);
    assert.equal(first.code, 0, `${first.output}\n${await log()}`);
    assert.deepEqual(await firewall.check(), { state: 'ok', missing: [] });
    assert.equal((await probe(ns, 'nobody', 'http', 80)).ok, false, 'nobody is refused');
    assert.deepEqual(await probe(ns, 'root', 'http', 80), { ok: true, status: 200 });
    assert.match(await log(), /INFO Firewall Firewall Setting up firewall after boot\. Endpoint: 168\.63\.129\.16/);
    assert.match(await log(), /INFO Firewall Firewall Successfully set the firewall rules/);

    const again = await runCli(['-setup-firewall:168.63.129.16']);
    assert.equal(again.code, 0, again.output);
    assert.equal((await firewall.listRules()).match(/DROP +(tcp|6) /g)?.length, 1, 'no duplicate rules');

    // A partial set (DROP deleted) is repaired; the spelling of upstream agents before 2.13 works too.
    const del = await run(['iptables', '-w', '-t', 'security', '-D', 'OUTPUT', ...DROP_RULE]);
    assert.equal(del.exitCode, 0, del.stderr);
    const legacy = await runCli(['-setup-firewall', '-dst_ip=168.63.129.16', '-uid=0', '-w']);
    assert.equal(legacy.code, 0, legacy.output);
    assert.deepEqual(await firewall.check(), { state: 'ok', missing: [] });
    assert.equal((await probe(ns, 'nobody', 'http', 80)).ok, false, 'refused again');
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await ns?.destroy();
    await root.cleanup();
  }
});
