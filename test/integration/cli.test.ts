// Golden checks of the compiled CLI's output and exit codes (agent-lifecycle.md §11), run as a real process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_MAIN, repoRoot } from '../helpers/agent.js';
import { HELP_COMMANDS, HELP_OPTIONS } from '../../src/cli/usage.js';
import { AGENT_VERSION } from '../../src/version.js';

interface CliResult { readonly code: number | null; readonly stdout: string; readonly stderr: string; readonly ms: number }

/** Runs `waagent <args>` from the compiled main.js; no fabric URLs are set, and no command here contacts one. */
function waagent(...args: string[]): Promise<CliResult> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [
      '--input-type=module', '-e',
      `const m = await import(${JSON.stringify(AGENT_MAIN)}); process.exitCode = await m.main(process.argv.slice(1));`,
      '--', ...args,
    ], { timeout: 30_000, env: { ...process.env, WAAGENT_TS_NO_CONSOLE: '1' } }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: child.exitCode, stdout, stderr, ms: Number(process.hrtime.bigint() - started) / 1e6 });
    });
  });
}

const USAGE_LINE = /^usage: waagent \[-verbose\] \[-force\] \[-help\] -configuration-path:<path to configuration file>-deprovision\[\+user\]\|/m;

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'waagent-cli-'));
});
after(() => rm(dir, { recursive: true, force: true }));

function assertVersionOutput(r: CliResult): void {
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.ok(r.stdout.endsWith('\n'));
  const lines = r.stdout.slice(0, -1).split('\n');
  assert.equal(lines.length, 3, r.stdout);
  assert.match(lines[0]!, /^waagent-ts-\d+\.\d+\.\d+ running on \S+ .*$/);
  assert.ok(lines[0]!.startsWith(`waagent-ts-${AGENT_VERSION} `));
  assert.equal(lines[1], `Node.js: ${process.version}`);
  assert.ok(lines[1]!.startsWith('Node.js: v20'));
  // Another test may run an extension handler of another version at the same time; the /proc lookup itself
  // is covered with a fake /proc in test/unit/cli/version-command.test.ts.
  assert.match(lines[2]!, /^Goal state agent: \d+(\.\d+){2,3}$/);
}

test('-version prints exactly three lines', async () => {
  assertVersionOutput(await waagent('-version'));
});

test('--version prints the same three lines (wall time logged, not asserted)', async () => {
  const r = await waagent('--version');
  assertVersionOutput(r);
  console.log(`waagent --version wall time: ${r.ms.toFixed(1)} ms`);
});

test('-version accepts modifiers and an existing configuration path', async () => {
  const conf = join(dir, 'version.conf');
  await writeFile(conf, 'Logs.Verbose=y\n');
  assertVersionOutput(await waagent('-verbose', '-version', `-configuration-path:${conf}`));
  assertVersionOutput(await waagent('/versionXYZ'));
});

test('-show-configuration prints sorted `key = value` lines for the given file', async () => {
  const conf = join(dir, 'waagent.conf');
  await writeFile(conf, [
    '# comment',
    `Lib.Dir=${dir}/lib`,
    'Logs.Verbose=y',
    'OS.EnableFirewall=n',
    'Extensions.GoalStatePeriod=9',
    '',
  ].join('\n'));
  const r = await waagent('-show-configuration', `-configuration-path:${conf}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.slice(0, -1).split('\n');
  assert.ok(lines.length >= 76, `${lines.length} lines`);
  for (const line of lines) assert.match(line, /^[A-Za-z0-9.]+ = .*$/);
  assert.ok(lines.includes(`Lib.Dir = ${dir}/lib`));
  assert.ok(lines.includes('Logs.Verbose = True'));
  assert.ok(lines.includes('OS.EnableFirewall = False'));
  assert.ok(lines.includes('Extensions.GoalStatePeriod = 9'));
  assert.ok(lines.includes('HttpProxy.Host = None'));
  assert.ok(lines.includes('Extensions.InitialGoalStatePeriod = 6'));
  // Sorted by code point: upper case before lower case, so "Autoupdate.Frequency" follows "AutoUpdate.*".
  const names = lines.map((l) => l.split(' = ')[0]!);
  assert.deepEqual(names, [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  assert.ok(names.indexOf('AutoUpdate.UpdateToLatestVersion') < names.indexOf('Autoupdate.Frequency'));
  assert.ok(!names.includes('CGroups.Enabled'));
});

test('-show-configuration with an invalid value exits 1 naming file, line and key', async () => {
  const conf = join(dir, 'bad.conf');
  await writeFile(conf, 'Logs.Verbose=y\nOS.EnableFirewall=maybe\n');
  const r = await waagent('-show-configuration', `-configuration-path:${conf}`);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^Error: /);
  assert.ok(r.stderr.includes(`${conf}:2`), r.stderr);
  assert.ok(r.stderr.includes('OS.EnableFirewall'), r.stderr);
});

for (const args of [['-show-configuration'], ['-run-exthandlers'], ['-daemon'], ['-version']]) {
  test(`${args.join(' ')} with a nonexistent configuration path: upstream's error, usage, exit 1`, async () => {
    const missing = join(dir, 'nonexistent.conf');
    const r = await waagent(...args, `-configuration-path:${missing}`);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Error: Configuration file ${missing} does not exist\n`);
    assert.match(r.stdout, USAGE_LINE);
  });
}

test('the two-word --configuration-path spelling is checked too', async () => {
  const r = await waagent('--configuration-path', '/nonexistent/waagent.conf', '-show-configuration');
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'Error: Configuration file /nonexistent/waagent.conf does not exist\n');
});

test('an unknown flag is a clear error with usage and a non-zero exit', async () => {
  const r = await waagent('--bogus');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown option '--bogus'/);
  assert.match(r.stderr, USAGE_LINE);
  assert.equal(r.stdout, '');
});

test('a stray word is an error, not a silent usage', async () => {
  const r = await waagent('-daemon', 'extra');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /too many arguments|unknown/);
});

test('upstream commands waagent-ts does not implement say so and exit 1', async () => {
  const r = await waagent('-register-service', '-force');
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'Error: -register-service is not supported by waagent-ts\n');
  assert.equal(r.stdout, '');
});

/** Expected output, kept in test/fixtures/cli-help/NAME.txt; WAAGENT_TS_UPDATE_GOLDEN=1 rewrites it (review the diff). */
async function golden(name: string, actual: string): Promise<void> {
  const file = join(repoRoot(), 'test', 'fixtures', 'cli-help', `${name}.txt`);
  if (process.env.WAAGENT_TS_UPDATE_GOLDEN === '1') await writeFile(file, actual);
  assert.equal(actual, await readFile(file, 'utf8'), `output differs from ${file}`);
}

for (const spelling of ['-help', '-usage', '-?', '--help', '/help', 'help']) {
  test(`${spelling} prints the help (upstream's usage line, then our commands) and exits 0`, async () => {
    const r = await waagent(spelling);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.ok(r.stdout.startsWith('\nusage: waagent '), JSON.stringify(r.stdout));
    assert.match(r.stdout, USAGE_LINE);
    await golden('help', r.stdout);
  });
}

test('no arguments prints the help and exits 0', async () => {
  const r = await waagent();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  await golden('help', r.stdout);
});

test('the help lists every command and option of HELP_COMMANDS/HELP_OPTIONS, each on its own line', async () => {
  const r = await waagent('-help');
  for (const e of [...HELP_COMMANDS, ...HELP_OPTIONS]) {
    assert.match(r.stdout, new RegExp(`^  ${e.usage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +${e.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), e.usage);
  }
  for (const line of r.stdout.split('\n').slice(2)) assert.ok(line.length <= 80, `longer than 80 columns: ${line}`);
});

for (const [cmd, name] of [['status', 'status'], ['emulate', 'emulate'], ['emulator', 'emulator']] as const) {
  for (const flag of ['--help', '-h']) {
    test(`${cmd} ${flag} prints its options and examples, exit 0`, async () => {
      const r = await waagent(cmd, flag);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, new RegExp(`^Usage: waagent ${cmd} `));
      assert.match(r.stdout, /\nExamples:\n  waagent /);
      await golden(name, r.stdout);
    });
  }
}

test('an unknown option prints the error and the short usage on stderr, exit 1', async () => {
  const r = await waagent('--bogus');
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  await golden('usage-error', r.stderr);
});

test('emulator --help is the subcommand help, untouched by the upstream spellings', async () => {
  const r = await waagent('emulator', '--help');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: waagent emulator/);
  assert.match(r.stdout, /--listen <addr>/);
});
