// The nftables alternative (used when iptables is absent) against a fake nft, and the real command runner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCommandRunner, type CommandResult, type CommandRunner } from '../../../src/platform/firewall-command.js';
import { createFirewall } from '../../../src/platform/firewall.js';
import { NftablesFirewall } from '../../../src/platform/nftables.js';

const IP = '168.63.129.16';
const res = (exitCode: number | null, stdout = '', stderr = '', notFound = false): CommandResult => ({ exitCode, stdout, stderr, notFound });

// nftables: one table of its own, applied in one transaction.

const nftRule = (over: { uid?: number; extra?: boolean } = {}) => ({
  rule: {
    family: 'ip', table: 'walinuxagent', chain: 'output', handle: 2,
    expr: [
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: IP } },
      { match: { op: '!=', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 53 } },
      { match: { op: '!=', left: { meta: { key: 'skuid' } }, right: over.uid ?? 0 } },
      { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['invalid', 'new'] } },
      { counter: { packets: 0, bytes: 0 } },
      { drop: null },
    ],
  },
});

function fakeNft(opts: { tables?: string[]; rules?: unknown[] } = {}) {
  const calls: Array<{ argv: string; input?: string }> = [];
  const run: CommandRunner = async (argv, o) => {
    calls.push({ argv: argv.join(' '), ...(o?.input === undefined ? {} : { input: o.input }) });
    if (argv[0] === 'iptables') return res(null, '', '', true);
    const line = argv.join(' ');
    if (line === 'nft --version') return res(0, 'nftables v1.0.6 (Lester Gooch #5)\n');
    if (line === 'nft --json list tables') {
      return res(0, JSON.stringify({ nftables: [{ metainfo: { version: '1.0.6' } }, ...(opts.tables ?? []).map((name) => ({ table: { family: 'ip', name, handle: 1 } }))] }));
    }
    if (line === 'nft --json list table ip walinuxagent') return res(0, JSON.stringify({ nftables: [{ table: { family: 'ip', name: 'walinuxagent' } }, ...(opts.rules ?? [])] }));
    return res(0);
  };
  return { run, calls };
}

test('nft when iptables is absent: set-up is one nft -f - transaction in the agent\'s own table', async () => {
  const fake = fakeNft();
  const created = await createFirewall({ run: fake.run, address: IP, uid: 0 });
  assert.ok(created?.firewall instanceof NftablesFirewall);
  assert.equal(created.firewall.version, 'nftables v1.0.6 (Lester Gooch #5)');
  await created.firewall.setup();
  assert.deepEqual(fake.calls.at(-1), {
    argv: 'nft -f -',
    input: [
      'add table ip walinuxagent',
      'add chain ip walinuxagent output { type filter hook output priority 0 ; policy accept ; }',
      `add rule ip walinuxagent output ip daddr ${IP} tcp dport != 53 skuid != 0 ct state invalid,new counter drop`,
      '',
    ].join('\n'),
  });
});

test('nft check: missing table, the exact rule, a wrong uid or an extra rule is inconsistent; remove deletes the table', async () => {
  const fw = async (o: Parameters<typeof fakeNft>[0]) => {
    const fake = fakeNft(o);
    return { fw: (await NftablesFirewall.create({ run: fake.run, address: IP, uid: 0 }))!, fake };
  };
  assert.deepEqual(await (await fw({ tables: ['filter'] })).fw.check(), { state: 'missing', missing: ['table'] });
  assert.deepEqual(await (await fw({ tables: ['walinuxagent'], rules: [nftRule()] })).fw.check(), { state: 'ok', missing: [] });
  assert.deepEqual(await (await fw({ tables: ['walinuxagent'], rules: [nftRule({ uid: 1000 })] })).fw.check(), { state: 'inconsistent', missing: ["the agent's uid exception"] });
  assert.equal((await (await fw({ tables: ['walinuxagent'], rules: [nftRule(), nftRule()] })).fw.check()).state, 'inconsistent');
  const { fw: present, fake } = await fw({ tables: ['walinuxagent'], rules: [nftRule()] });
  await present.remove();
  assert.equal(fake.calls.at(-1)?.argv, 'nft delete table ip walinuxagent');
  const { fw: absent, fake: f2 } = await fw({ tables: [] });
  await absent.remove();
  assert.ok(!f2.calls.some((c) => c.argv.includes('delete')), 'nothing to delete');
});

test('nft output that is not JSON is an error naming the command', async () => {
  const run: CommandRunner = async (argv) => (argv.join(' ') === 'nft --json list tables' ? res(0, 'table ip filter {') : res(0, 'v1'));
  const fw = new NftablesFirewall({ run, address: IP, uid: 0 }, 'v1');
  await assert.rejects(fw.check(), /Cannot parse the output of 'nft --json list tables'/);
});

// The real runner (ordinary commands, no firewall tool involved).

test('createCommandRunner: exit code and output, stdin, a missing tool, a prefix, a timeout', async () => {
  const run = createCommandRunner({ timeoutMs: 5000 });
  assert.deepEqual(await run(['sh', '-c', 'echo out; echo err >&2; exit 3']), res(3, 'out\n', 'err\n'));
  assert.equal((await run(['cat'], { input: 'add table ip x\n' })).stdout, 'add table ip x\n');
  const missing = await run(['/nonexistent/iptables', '--version']);
  assert.equal(missing.notFound, true);
  const prefixed = createCommandRunner({ prefix: ['env', 'A=1'] });
  assert.equal((await prefixed(['sh', '-c', 'echo $A'])).stdout, '1\n');
  const slow = await createCommandRunner({ timeoutMs: 100 })(['sleep', '10']);
  assert.equal(slow.exitCode, null);
  assert.match(slow.stderr, /killed after 100 ms/);
});
