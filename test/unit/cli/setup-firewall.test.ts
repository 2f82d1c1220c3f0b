// `waagent -setup-firewall=<IP>`: argument checking (both spellings) and, through the CLI, the errors it reports.
// The real rules are tested in a network namespace (test/e2e/firewall.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSetupFirewallArgs } from '../../../src/cli/commands/setup-firewall.js';
import { runWaagent } from '../../helpers/cli.js';

const waagent = (args: string[]) => runWaagent(args, { env: { WAAGENT_TS_LOG_FILE: '/nonexistent-dir-never-written/waagent.log' } });

test('parseSetupFirewallArgs: the address, and the own uid unless the legacy -uid gives one', () => {
  assert.deepEqual(parseSetupFirewallArgs({ setupFirewall: '168.63.129.16' }, 0), { address: '168.63.129.16', uid: 0 });
  assert.deepEqual(parseSetupFirewallArgs({ setupFirewall: true, dstIp: '168.63.129.16', uid: '1000' }, 0), { address: '168.63.129.16', uid: 1000 });
  assert.deepEqual(parseSetupFirewallArgs({ setupFirewall: '10.0.0.1', dstIp: '10.0.0.1' }, 5), { address: '10.0.0.1', uid: 5 });
});

for (const [opts, re] of [
  [{ setupFirewall: true }, /needs the WireServer address/],
  [{ setupFirewall: 'abc' }, /abc is not an IPv4 address/],
  [{ setupFirewall: '1.2.3' }, /1\.2\.3 is not an IPv4 address/],
  [{ setupFirewall: '999.1.1.1' }, /not an IPv4 address/],
  [{ setupFirewall: '127.0.0.1' }, /loopback/],
  [{ setupFirewall: true, dstIp: '10.0.0.1', uid: 'root' }, /-uid: root is not a user id/],
  [{ setupFirewall: '10.0.0.1', dstIp: '10.0.0.2' }, /disagree/],
] as const) {
  test(`parseSetupFirewallArgs refuses ${JSON.stringify(opts)}`, () => {
    const r = parseSetupFirewallArgs(opts, 0);
    assert.ok('error' in r, JSON.stringify(r));
    assert.match(r.error, re);
  });
}


// Each of these fails before any firewall tool runs (and before the log file is opened).
for (const [args, re] of [
  [['-setup-firewall'], /Error: -setup-firewall needs the WireServer address: -setup-firewall=<IP>/],
  [['-setup-firewall=bogus'], /Error: -setup-firewall: bogus is not an IPv4 address/],
  [['-setup-firewall:127.0.0.1'], /Error: -setup-firewall: 127\.0\.0\.1 is a loopback or unspecified address/],
  [['-setup-firewall', '-dst_ip=10.0.0.1', '-uid=x'], /Error: -uid: x is not a user id/],
] as const) {
  test(`waagent ${args.join(' ')} exits 1 with an error`, async () => {
    const r = await waagent([...args]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /not supported/);
  });
}
