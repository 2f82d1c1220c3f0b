// The WireServer firewall against a fake iptables/nft: the exact command lines for set-up, check, repair of an
// inconsistent state and the legacy rule, and the keeper's periodic behaviour on a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock, Logger } from '../../../src/deps.js';
import type { CommandResult, CommandRunner } from '../../../src/platform/firewall-command.js';
import { createFirewall, FirewallError, IptablesFirewall, supportsWait, unsuitableAddress } from '../../../src/platform/firewall.js';
import { FirewallKeeper, setupFirewallOnce, startFirewallKeeper } from '../../../src/agent/firewall-keeper.js';

const IP = '168.63.129.16';
const W = ['iptables', '-w', '-t', 'security'];
const DNS = ['OUTPUT', '-d', IP, '-p', 'tcp', '--destination-port', '53', '-j', 'ACCEPT'];
const OWNER = ['OUTPUT', '-d', IP, '-p', 'tcp', '-m', 'owner', '--uid-owner', '0', '-j', 'ACCEPT'];
const DROP = ['OUTPUT', '-d', IP, '-p', 'tcp', '-m', 'conntrack', '--ctstate', 'INVALID,NEW', '-j', 'DROP'];
const LEGACY = ['OUTPUT', '-d', IP, '-p', 'tcp', '-m', 'conntrack', '--ctstate', 'INVALID,NEW', '-j', 'ACCEPT'];
const cmd = (op: string, rule: string[]) => [...W, op, ...rule].join(' ');

const res = (exitCode: number | null, stdout = '', stderr = '', notFound = false): CommandResult => ({ exitCode, stdout, stderr, notFound });

/** A stateful iptables: one chain (security OUTPUT) as a list of rule strings; every call is recorded. */
function fakeIptables(opts: { version?: string; rules?: string[][]; fail?: (line: string) => CommandResult | undefined } = {}) {
  const chain = (opts.rules ?? []).map((r) => r.join(' '));
  const calls: string[] = [];
  const run: CommandRunner = async (argv) => {
    const line = argv.join(' ');
    calls.push(line);
    const forced = opts.fail?.(line);
    if (forced) return forced;
    if (argv[0] === 'nft') return res(null, '', 'not found', true);
    if (argv[1] === '--version') return res(0, `iptables v${opts.version ?? '1.8.9'} (nf_tables)\n`);
    const at = argv.findIndex((a) => a === '-A' || a === '-C' || a === '-D' || a === '-L');
    const op = argv[at];
    const rule = argv.slice(at + 2).join(' '); // after the chain name
    if (op === '-L') return res(0, `Chain OUTPUT (policy ACCEPT)\n${chain.join('\n')}\n`);
    const i = chain.indexOf(rule);
    if (op === '-A') chain.push(rule);
    else if (op === '-C') return res(i >= 0 ? 0 : 1, '', i >= 0 ? '' : 'iptables: Bad rule (does a matching rule exist in that chain?).');
    else if (op === '-D') {
      if (i < 0) return res(1, '', 'iptables: Bad rule (does a matching rule exist in that chain?).');
      chain.splice(i, 1);
    }
    return res(0);
  };
  return { run, calls, chain };
}

function fakeLogger() {
  const lines: string[] = [];
  const make = (): Logger => ({
    verbose: (m) => lines.push(`VERBOSE ${m}`),
    info: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARNING ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
    child: () => make(),
  });
  return { logger: make(), lines };
}

/** now() advances only through sleep(); sleep resolves at once (or rejects when aborted). */
function fakeClock(onSleep?: (ms: number) => void) {
  let t = 1_000_000;
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => t,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      sleeps.push(ms);
      t += ms;
      onSleep?.(ms);
      await new Promise((r) => setImmediate(r));
      signal?.throwIfAborted();
    },
  };
  return { clock, sleeps, advance: (ms: number) => (t += ms) };
}

async function iptables(fake: ReturnType<typeof fakeIptables>, uid = 0): Promise<IptablesFirewall> {
  const created = await IptablesFirewall.create({ run: fake.run, address: IP, uid });
  assert.ok(created);
  return created.firewall;
}

test('-w is used from iptables 1.4.21 on', () => {
  assert.equal(supportsWait('1.4.21'), true);
  assert.equal(supportsWait('1.8.9'), true);
  assert.equal(supportsWait('1.4.20'), false);
  assert.equal(supportsWait('1.4'), false);
  assert.equal(supportsWait('2'), true);
});

test('an old iptables gets no -w; an unreadable version gets no -w and a warning', async () => {
  const old = fakeIptables({ version: '1.4.20' });
  await (await iptables(old)).check();
  assert.equal(old.calls[1], ['iptables', '-t', 'security', '-C', ...DNS].join(' '));
  const odd = fakeIptables({ fail: (l) => (l === 'iptables --version' ? res(0, 'something else') : undefined) });
  const created = await IptablesFirewall.create({ run: odd.run, address: IP, uid: 0 });
  assert.match(created?.warning ?? '', /Unable to determine version of iptables; will not use -w option/);
  assert.equal(created?.firewall.version, 'unknown');
});

test('start-up on a clean system: legacy check, check, append the three rules in order, verify, log the rules', async () => {
  const fake = fakeIptables();
  const { logger, lines } = fakeLogger();
  const keeper = new FirewallKeeper({ clock: fakeClock().clock, logger, firewall: await iptables(fake), periodMs: 30_000 });
  assert.equal(await keeper.initialize(), 'added');
  assert.deepEqual(fake.calls, [
    'iptables --version',
    cmd('-C', LEGACY),
    cmd('-C', DNS), cmd('-C', OWNER), cmd('-C', DROP),
    cmd('-A', DNS), cmd('-A', OWNER), cmd('-A', DROP),
    cmd('-C', DNS), cmd('-C', OWNER), cmd('-C', DROP),
    [...W, '-t', 'security', '-L', '-nxv'].join(' '),
  ]);
  assert.deepEqual(fake.chain, [DNS, OWNER, DROP].map((r) => r.slice(1).join(' ')));
  assert.ok(lines.some((l) => l.startsWith('INFO Created firewall rules for the Azure Fabric:\nChain OUTPUT')), lines.join('\n'));
  // Idempotent: a second start finds them and adds nothing.
  fake.calls.length = 0;
  assert.equal(await keeper.initialize(), 'ok');
  assert.equal(fake.calls.filter((c) => c.includes(' -A ')).length, 0);
  assert.equal(fake.chain.length, 3);
});

test('the uid in the ACCEPT rule is the agent\'s own', async () => {
  const fake = fakeIptables();
  await (await iptables(fake, 1234)).setup();
  assert.ok(fake.calls.includes(cmd('-A', OWNER).replace('--uid-owner 0', '--uid-owner 1234')), fake.calls.join('\n'));
});

test('check: all present ok, none missing, some inconsistent (naming the missing ones)', async () => {
  assert.deepEqual(await (await iptables(fakeIptables({ rules: [DNS, OWNER, DROP].map((r) => r.slice(1)) }))).check(), { state: 'ok', missing: [] });
  assert.deepEqual(await (await iptables(fakeIptables())).check(), { state: 'missing', missing: ['ACCEPT DNS', 'ACCEPT', 'DROP'] });
  assert.deepEqual(await (await iptables(fakeIptables({ rules: [DNS.slice(1), DROP.slice(1)] }))).check(), { state: 'inconsistent', missing: ['ACCEPT'] });
});

test('start-up with a partial set only warns; the periodic check deletes what is there (repeating -D) and adds all three', async () => {
  // DROP twice (a duplicate), ACCEPT DNS missing.
  const fake = fakeIptables({ rules: [OWNER.slice(1), DROP.slice(1), DROP.slice(1)] });
  const { logger, lines } = fakeLogger();
  const keeper = new FirewallKeeper({ clock: fakeClock().clock, logger, firewall: await iptables(fake), periodMs: 30_000 });
  assert.equal(await keeper.initialize(), 'inconsistent');
  assert.equal(fake.calls.filter((c) => c.includes(' -A ') || c.includes(' -D ')).length, 0, 'start-up changes nothing');
  assert.ok(lines.some((l) => /^WARNING The firewall rules for the Azure Fabric are not set up correctly \(missing: ACCEPT DNS\)/.test(l)));
  fake.calls.length = 0;
  assert.equal(await keeper.checkOnce(), 'repaired');
  assert.deepEqual(fake.calls, [
    cmd('-C', DNS), cmd('-C', OWNER), cmd('-C', DROP),
    // remove(): check each, then -D each present one until iptables answers 1
    cmd('-C', DNS), cmd('-C', OWNER), cmd('-C', DROP),
    cmd('-D', OWNER), cmd('-D', OWNER),
    cmd('-D', DROP), cmd('-D', DROP), cmd('-D', DROP),
    cmd('-A', DNS), cmd('-A', OWNER), cmd('-A', DROP),
    cmd('-C', DNS), cmd('-C', OWNER), cmd('-C', DROP),
    [...W, '-t', 'security', '-L', '-nxv'].join(' '),
  ]);
  assert.deepEqual(fake.chain, [DNS, OWNER, DROP].map((r) => r.slice(1).join(' ')));
  assert.ok(lines.some((l) => l === 'WARNING The firewall rules for the WireServer are inconsistent (missing: ACCEPT DNS); will reset them'));
  fake.calls.length = 0;
  assert.equal(await keeper.checkOnce(), 'ok');
  assert.deepEqual(fake.calls, [cmd('-C', DNS), cmd('-C', OWNER), cmd('-C', DROP)]);
});

test('a rule deleted from outside is restored by the next periodic check', async () => {
  const fake = fakeIptables();
  const keeper = new FirewallKeeper({ clock: fakeClock().clock, logger: fakeLogger().logger, firewall: await iptables(fake), periodMs: 30_000 });
  await keeper.initialize();
  fake.chain.splice(fake.chain.indexOf(DROP.slice(1).join(' ')), 1);
  assert.equal(await keeper.checkOnce(), 'repaired');
  assert.deepEqual(fake.chain, [DNS, OWNER, DROP].map((r) => r.slice(1).join(' ')));
  fake.chain.length = 0;
  assert.equal(await keeper.checkOnce(), 'added');
  assert.equal(fake.chain.length, 3);
});

test('the legacy ACCEPT rule is deleted (all copies) at start-up', async () => {
  const fake = fakeIptables({ rules: [LEGACY.slice(1), LEGACY.slice(1)] });
  const { logger, lines } = fakeLogger();
  await new FirewallKeeper({ clock: fakeClock().clock, logger, firewall: await iptables(fake), periodMs: 1 }).initialize();
  assert.deepEqual(fake.calls.slice(1, 5), [cmd('-C', LEGACY), cmd('-D', LEGACY), cmd('-D', LEGACY), cmd('-D', LEGACY)]);
  assert.ok(!fake.chain.includes(LEGACY.slice(1).join(' ')));
  assert.ok(lines.some((l) => l.startsWith('INFO Removed the legacy firewall rule')));
});

test('-D gives up after 99 attempts when iptables keeps answering 0', async () => {
  const fake = fakeIptables({ rules: [DROP.slice(1)], fail: (l) => (l === cmd('-D', DROP) ? res(0) : undefined) });
  await (await iptables(fake)).remove();
  assert.equal(fake.calls.filter((c) => c === cmd('-D', DROP)).length, 99);
});

test('a tool failure (exit 2, 4, killed) is an error naming the command; the keeper logs it, throttled, and recovers', async () => {
  let broken = true;
  const fake = fakeIptables({ fail: (l) => (broken && l.includes(' -C ') ? res(4, '', 'Another app is currently holding the xtables lock.') : undefined) });
  const fw = await iptables(fake);
  await assert.rejects(fw.check(), (err: Error) => {
    assert.ok(err instanceof FirewallError);
    assert.equal(err.message, `${cmd('-C', DNS)} exited with 4: Another app is currently holding the xtables lock.`);
    return true;
  });
  const { clock, advance } = fakeClock();
  const { logger, lines } = fakeLogger();
  const keeper = new FirewallKeeper({ clock, logger, firewall: fw, periodMs: 1000 });
  for (let i = 0; i < 10; i++) {
    assert.equal(await keeper.checkOnce(), 'failed');
    advance(60_000);
  }
  assert.equal(lines.filter((l) => l.startsWith('ERROR Cannot set up the firewall for the WireServer')).length, 3, 'first 3, then hourly');
  advance(3600_000);
  await keeper.checkOnce();
  assert.equal(lines.filter((l) => l.startsWith('ERROR')).length, 4);
  broken = false;
  assert.equal(await keeper.checkOnce(), 'added');
  assert.ok(lines.some((l) => l === 'INFO The firewall check recovered after 11 failure(s)'), lines.join('\n'));
});

test('a failing -A or a setup that does not read back is reported as a failure, not as success', async () => {
  const failing = fakeIptables({ fail: (l) => (l === cmd('-A', OWNER) ? res(2, '', "iptables v1.8.9 (nf_tables): Couldn't load match `owner'") : undefined) });
  const { logger, lines } = fakeLogger();
  assert.equal(await new FirewallKeeper({ clock: fakeClock().clock, logger, firewall: await iptables(failing), periodMs: 1 }).checkOnce(), 'failed');
  assert.match(lines.at(-1)!, /^ERROR .*-A OUTPUT .* exited with 2: .*Couldn't load match `owner'/);
  // -A "succeeds" but nothing is there afterwards (e.g. another tool flushing the chain at once).
  const lying = fakeIptables({ fail: (l) => (l.includes(' -A ') ? res(0) : undefined) });
  const l2 = fakeLogger();
  assert.equal(await new FirewallKeeper({ clock: fakeClock().clock, logger: l2.logger, firewall: await iptables(lying), periodMs: 1 }).checkOnce(), 'failed');
  assert.match(l2.lines.at(-1)!, /the rules are not in place after the setup \(missing: ACCEPT DNS, ACCEPT, DROP\)/);
});

test('run(): checks every OS.EnableFirewallPeriod until aborted', async () => {
  const fake = fakeIptables();
  const ac = new AbortController();
  let n = 0;
  const { clock, sleeps } = fakeClock(() => {
    if (++n === 3) fake.chain.length = 0; // someone flushes the chain
    if (n === 5) ac.abort();
  });
  const { logger } = fakeLogger();
  await new FirewallKeeper({ clock, logger, firewall: await iptables(fake), periodMs: 30_000 }).run(ac.signal);
  assert.deepEqual(sleeps, [30_000, 30_000, 30_000, 30_000, 30_000]);
  assert.equal(fake.calls.filter((c) => c === cmd('-A', DROP)).length, 2, 'set up at start and again after the flush');
  assert.equal(fake.chain.length, 3);
});

test('the rules are logged again after Debug.FirewallRulesLogPeriod', async () => {
  const fake = fakeIptables();
  const { clock, advance } = fakeClock();
  const { logger, lines } = fakeLogger();
  const keeper = new FirewallKeeper({ clock, logger, firewall: await iptables(fake), periodMs: 1000, logPeriodMs: 86_400_000 });
  await keeper.initialize();
  await keeper.checkOnce();
  const logged = () => lines.filter((l) => /^INFO (Created firewall rules|Current Firewall rules)[^\n]*:\n/.test(l)).length;
  assert.equal(logged(), 1);
  advance(86_400_000);
  await keeper.checkOnce();
  assert.equal(logged(), 2);
});

test('addresses: IPv4 only, never loopback (an emulator on 127.0.0.1 must not lock other users out of it)', async () => {
  assert.equal(unsuitableAddress(IP), null);
  assert.match(unsuitableAddress('127.0.0.1')!, /loopback/);
  assert.match(unsuitableAddress('::1')!, /not an IPv4 address/);
  assert.match(unsuitableAddress('wireserver.local')!, /not an IPv4 address/);
  assert.match(unsuitableAddress('168.63.129.256')!, /not an IPv4 address/);
  const fake = fakeIptables();
  await assert.rejects(createFirewall({ run: fake.run, address: '127.0.0.1', uid: 0 }), /loopback/);
  assert.deepEqual(fake.calls, [], 'no command at all');
  const { logger, lines } = fakeLogger();
  await startFirewallKeeper({ clock: fakeClock().clock, logger, address: '127.0.0.1', periodMs: 1000, run: fake.run }, new AbortController().signal).stop();
  assert.deepEqual(fake.calls, []);
  assert.match(lines.join('\n'), /WARNING Cannot set up the firewall for the WireServer: 127\.0\.0\.1 is a loopback/);
});

test('neither iptables nor nft: a warning, no keeper', async () => {
  const calls: string[] = [];
  const run: CommandRunner = async (argv) => (calls.push(argv.join(' ')), res(null, '', 'ENOENT', true));
  assert.equal(await createFirewall({ run, address: IP, uid: 0 }), null);
  assert.deepEqual(calls, ['iptables --version', 'nft --version']);
  const { logger, lines } = fakeLogger();
  await startFirewallKeeper({ clock: fakeClock().clock, logger, address: IP, periodMs: 1000, run }, new AbortController().signal).stop();
  assert.match(lines.join('\n'), /neither iptables nor nft is installed/);
});

test('startFirewallKeeper runs the keeper in the background and stop() ends it', async () => {
  const fake = fakeIptables();
  const { logger, lines } = fakeLogger();
  const clock: Clock = { now: () => 0, sleep: (_ms, signal) => new Promise((_r, reject) => signal?.addEventListener('abort', () => reject(signal.reason))) };
  const keeper = startFirewallKeeper({ clock, logger, address: IP, periodMs: 300_000, run: fake.run }, new AbortController().signal);
  for (let i = 0; i < 100 && fake.chain.length < 3; i++) await new Promise((r) => setImmediate(r));
  assert.equal(fake.chain.length, 3);
  await keeper.stop();
  assert.ok(lines.includes('INFO Using iptables [version 1.8.9] to manage firewall rules'));
});

test('setupFirewallOnce (-setup-firewall): 0 once the rules are in place (a partial set repaired), 1 on failure', async () => {
  const clean = fakeIptables();
  const { logger, lines } = fakeLogger();
  const clock = fakeClock().clock;
  assert.equal(await setupFirewallOnce({ clock, logger, address: IP, uid: 0, run: clean.run }), 0);
  assert.equal(clean.chain.length, 3);
  const partial = fakeIptables({ rules: [DNS.slice(1)] });
  assert.equal(await setupFirewallOnce({ clock, logger, address: IP, uid: 0, run: partial.run }), 0);
  assert.deepEqual(partial.chain, [DNS, OWNER, DROP].map((r) => r.slice(1).join(' ')));
  const broken = fakeIptables({ fail: (l) => (l.includes(' -A ') ? res(4, '', 'lock') : undefined) });
  assert.equal(await setupFirewallOnce({ clock, logger, address: IP, uid: 0, run: broken.run }), 1);
  assert.equal(await setupFirewallOnce({ clock, logger, address: '127.0.0.1', uid: 0, run: clean.run }), 1);
  assert.match(lines.at(-1)!, /^ERROR Unable to setup firewall rules: .*loopback/);
});
