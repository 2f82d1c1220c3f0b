// The Debian package (`npm run package:deb`): its control data, files, modes and conffiles; the agent it contains runs
// from an unpacked copy with nothing but the system node; lintian reports no error and no warning; the maintainer
// scripts never stop the service on upgrade and handle a system without systemd; dpkg installs, upgrades (keeping a
// changed conffile) and purges it in a private root (dpkg --root, scripts with DPKG_ROOT: the host is not touched).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { repoRoot } from '../helpers/agent.js';
import { buildDebPackage, CONFFILES, debFileName, type DebResult } from '../../src/tools/package-deb.js';
import { productionDeps } from '../../src/tools/prod-deps.js';
import { AGENT_VERSION } from '../../src/version.js';

const CI = process.env.CI === 'true';
const ROOT = repoRoot();
const COMPILED_SRC = fileURLToPath(new URL('../../src', import.meta.url));
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function sh(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024, ...opts });
}

function ok(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}): string {
  const r = sh(cmd, args, opts);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.error?.message ?? ''}${r.stderr}`);
  return r.stdout;
}

let work = '';
let deb: DebResult;
/** `dpkg-deb -c`: path (without the leading `.`) -> mode string and owner. */
const listing = new Map<string, { mode: string; owner: string }>();
let unpacked = '';

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'waagent-deb-test-'));
  deb = await buildDebPackage({ repoRoot: ROOT, compiledSrc: COMPILED_SRC, version: AGENT_VERSION, outDir: join(work, 'out') });
  for (const line of ok('dpkg-deb', ['-c', deb.file]).trim().split('\n')) {
    const m = /^(\S{10}) (\S+)\s+\d+ \S+ \S+ \.(\/\S*)/.exec(line);
    assert.ok(m, line);
    listing.set(m[3]!.replace(/(.)\/$/, '$1'), { mode: m[1]!, owner: m[2]! });
  }
  unpacked = join(work, 'x');
  ok('dpkg-deb', ['-x', deb.file, unpacked]);
  console.log(`${deb.file}: ${deb.bytes} bytes, ${deb.files} files, Installed-Size ${deb.installedSizeKiB} KiB`);
});
after(() => rmSync(work, { recursive: true, force: true }));

test('the package is waagent-ts_<version>_all.deb with the control fields Debian wants', () => {
  assert.equal(deb.file, join(work, 'out', debFileName(AGENT_VERSION)));
  assert.ok(deb.file.endsWith(`/waagent-ts_${AGENT_VERSION}_all.deb`));
  const field = (name: string): string => ok('dpkg-deb', ['-f', deb.file, name]).trim();
  assert.equal(field('Package'), 'waagent-ts');
  assert.equal(field('Version'), AGENT_VERSION);
  assert.equal(field('Architecture'), 'all');
  assert.equal(field('Section'), 'admin');
  assert.equal(field('Priority'), 'optional');
  assert.equal(field('Depends'), 'nodejs (>= 20), openssl, iptables | nftables');
  assert.match(field('Maintainer'), /^.+ <[^@\s]+@[^>\s]+>$/);
  assert.equal(Number(field('Installed-Size')), deb.installedSizeKiB);
  assert.match(field('Description'), /^Azure Linux guest agent/);
  const info = ok('dpkg-deb', ['-I', deb.file]);
  for (const script of ['postinst', 'prerm', 'postrm']) assert.match(info, new RegExp(`^ +\\d+ bytes, +\\d+ lines +\\* +${script} +#!/bin/sh$`, 'm'), script);
  assert.match(info, /^ +\d+ bytes, +\d+ lines +md5sums/m);
  assert.equal(ok('dpkg-deb', ['-I', deb.file, 'conffiles']), CONFFILES.map((c) => `${c}\n`).join(''));
});

test('files, modes and owners', () => {
  const expect: Record<string, string> = {
    '/usr/sbin/waagent': '-rwxr-xr-x',
    '/etc/waagent.conf': '-rw-r--r--',
    '/etc/logrotate.d/waagent': '-rw-r--r--',
    '/usr/lib/systemd/system/waagent.service': '-rw-r--r--',
    '/usr/share/man/man8/waagent.8.gz': '-rw-r--r--',
    '/usr/share/doc/waagent-ts/copyright': '-rw-r--r--',
    '/usr/share/doc/waagent-ts/changelog.gz': '-rw-r--r--',
    '/usr/lib/waagent-ts/package.json': '-rw-r--r--',
    '/usr/lib/waagent-ts/bin/waagent.js': '-rwxr-xr-x',
    '/usr/lib/waagent-ts/dist/src/cli/main.js': '-rw-r--r--',
    '/usr/lib/waagent-ts/dist/src/daemon/daemon-main.js': '-rw-r--r--',
    '/usr/lib/waagent-ts/dist/src/emulator/server.js': '-rw-r--r--',
  };
  for (const [path, mode] of Object.entries(expect)) assert.equal(listing.get(path)?.mode, mode, path);
  for (const dep of productionDeps(ROOT)) assert.ok(listing.has(`/usr/lib/waagent-ts/${dep.relPath}/package.json`), dep.relPath);
  for (const [path, { mode, owner }] of listing) {
    assert.equal(owner, 'root/root', path);
    if (mode.startsWith('d')) assert.equal(mode, 'drwxr-xr-x', path);
    else assert.match(mode, /^-rw[x-]r-[x-]r-[x-]$/, `${path} ${mode}`);
    assert.doesNotMatch(path, /\.(?:ts|map|md|html|sh)$|\/\.[^/]+$/, `${path} is not needed at run time`);
    assert.match(path, /^\/(?:etc|usr)(?:\/|$)|^\/$/, `${path} is outside /etc and /usr`);
  }
  assert.equal([...listing.values()].filter((e) => e.mode.startsWith('-')).length, deb.files);
});

test('the unpacked files are the repository\'s (conf, logrotate, unit, man page) and the copyright lists every module', () => {
  assert.equal(readFileSync(join(unpacked, 'etc/waagent.conf'), 'utf8'), readFileSync(join(ROOT, 'config/waagent.conf'), 'utf8'));
  assert.equal(readFileSync(join(unpacked, 'etc/logrotate.d/waagent'), 'utf8'), readFileSync(join(ROOT, 'config/waagent.logrotate'), 'utf8'));
  assert.equal(readFileSync(join(unpacked, 'usr/lib/systemd/system/waagent.service'), 'utf8'), readFileSync(join(ROOT, 'systemd/waagent.service'), 'utf8'));
  assert.equal(gunzipSync(readFileSync(join(unpacked, 'usr/share/man/man8/waagent.8.gz'))).toString(), readFileSync(join(ROOT, 'man/waagent.8'), 'utf8'));
  assert.match(gunzipSync(readFileSync(join(unpacked, 'usr/share/doc/waagent-ts/changelog.gz'))).toString(), new RegExp(`^waagent-ts \\(${AGENT_VERSION.replace(/\./g, '\\.')}\\) `));
  const copyright = readFileSync(join(unpacked, 'usr/share/doc/waagent-ts/copyright'), 'utf8');
  assert.match(copyright, /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/$/m);
  for (const dep of productionDeps(ROOT)) assert.match(copyright, new RegExp(`^Files: usr/lib/waagent-ts/${dep.relPath}/\\*$`, 'm'), dep.relPath);
  for (const l of [...copyright.matchAll(/^License: (\S+)$/gm)].map((m) => m[1]!)) {
    assert.match(copyright, new RegExp(`^License: ${l}\\n [^\\n]`, 'm'), `${l} has a standalone paragraph with its text`);
  }
  const pkg = JSON.parse(readFileSync(join(unpacked, 'usr/lib/waagent-ts/package.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(pkg.version, AGENT_VERSION);
  assert.equal(pkg.devDependencies, undefined);
});

test('the unpacked waagent runs with the system node: --version, -help, -show-configuration, status', () => {
  const waagent = join(unpacked, 'usr/sbin/waagent');
  const env = { ...process.env, WAAGENT_TS_NO_CONSOLE: '1' };
  const version = ok(waagent, ['--version'], { env });
  assert.match(version, new RegExp(`^waagent-ts-${AGENT_VERSION.replace(/\./g, '\\.')} running on \\S+`));
  assert.match(version, /^Node\.js: v\d+/m);
  assert.match(ok(waagent, ['-help'], { env }), /^\nusage: waagent \[-verbose\][^]*^Commands:$/m);
  const conf = join(unpacked, 'etc/waagent.conf');
  const shown = ok(waagent, ['-show-configuration', `-configuration-path:${conf}`], { env });
  // The shipped file sets OS.EnableFirewall=y (the built-in default is n): the output comes from that file.
  assert.match(shown, /^OS\.EnableFirewall = True$/m);
  assert.match(shown, /^OS\.EnableFirewallPeriod = 30$/m);
  assert.match(shown, /^Lib\.Dir = \/var\/lib\/waagent$/m);
  // `status` loads the state-reading modules; point it at an empty state directory.
  const lib = join(work, 'lib');
  mkdirSync(lib);
  const statusConf = join(work, 'status.conf');
  writeFileSync(statusConf, `Lib.Dir=${lib}\n`);
  assert.match(ok(waagent, ['status', `-configuration-path:${statusConf}`], { env: { ...env, WAAGENT_TS_LOG_FILE: join(work, 'none.log') } }), /No extension handlers\./);
  // Nothing was resolved from the checkout: the unpacked tree has its own node_modules.
  assert.ok(!unpacked.startsWith(ROOT));
});

test('lintian: no error, no warning', (t) => {
  if (!has('lintian')) {
    assert.ok(!CI, 'lintian is required under CI=true (.ci/run installs it)');
    t.skip('lintian is not installed (apt-get install --no-install-recommends lintian)');
    return;
  }
  const r = sh('lintian', ['--display-info', '--display-level', '>=pedantic', deb.file]);
  const tags = r.stdout.trim().split('\n').filter((l) => /^[A-Z]: /.test(l));
  // Summary per tag (info and pedantic ones included), for the log.
  const counts = new Map<string, number>();
  for (const l of tags) {
    const tag = l.replace(/^([A-Z]): [^:]+: (\S+).*$/, '$1: $2');
    counts.set(tag, (counts.get(tag) ?? 0) + 1);
  }
  console.log(`${ok('lintian', ['--version']).trim()}: ${[...counts].map(([tag, n]) => `${tag} x${n}`).join(', ') || 'no tags'}`);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.deepEqual(tags.filter((l) => /^[EWX]: /.test(l)), []);
});

/** Runs a maintainer script with systemd's tools replaced by stubs that log their arguments. */
function runScript(script: string, args: readonly string[], o: { systemd: boolean; helpers: boolean; wasEnabled?: boolean }): string[] {
  const dir = mkdtempSync(join(work, 'script-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const log = join(dir, 'calls');
  writeFileSync(log, '');
  const stub = (name: string, rc = '0'): void => {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> '${log}'\n${name === 'deb-systemd-helper' ? `[ "$2" = was-enabled ] && exit ${o.wasEnabled === false ? 1 : 0}\n` : ''}exit ${rc}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub('systemctl');
  if (o.helpers) {
    stub('deb-systemd-helper');
    stub('deb-systemd-invoke');
  }
  // What the scripts look at or change on the host: whether systemd runs, and (postrm purge) the agent's log.
  // Both point into the test's folder.
  const runtime = join(dir, 'run-systemd-system');
  if (o.systemd) mkdirSync(runtime);
  const text = readFileSync(join(ROOT, 'packaging/deb', script), 'utf8');
  assert.ok(text.includes('[ -d /run/systemd/system ]'), script);
  const logDir = join(dir, 'var/log');
  mkdirSync(logDir, { recursive: true });
  for (const f of ['waagent.log', 'waagent.log.1', 'waagent.log-2026-11-01-1.gz', 'waagent.logger']) writeFileSync(join(logDir, f), 'log\n');
  writeFileSync(join(dir, script), text.replaceAll('/run/systemd/system', runtime).replaceAll('/var/log/waagent.log', `${logDir}/waagent.log`));
  // Without init-system-helpers, PATH holds nothing but the systemctl stub.
  const env: NodeJS.ProcessEnv = { PATH: o.helpers ? `${bin}:/usr/bin:/bin` : bin, DPKG_ROOT: '' };
  const r = sh('/bin/sh', [join(dir, script), ...args], { env });
  assert.equal(r.status, 0, `${script} ${args.join(' ')}: ${r.stderr}`);
  const purged = !existsSync(join(logDir, 'waagent.log'));
  assert.equal(purged, script === 'postrm' && args[0] === 'purge', 'only purge deletes the log');
  if (purged) assert.deepEqual(readdirSync(logDir), ['waagent.logger']);
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

test('maintainer scripts: POSIX sh with set -e', () => {
  for (const script of ['postinst', 'prerm', 'postrm']) {
    const text = readFileSync(join(ROOT, 'packaging/deb', script), 'utf8');
    assert.ok(text.startsWith('#!/bin/sh\n'), script);
    assert.match(text, /^set -e$/m, script);
    ok('sh', ['-n', join(ROOT, 'packaging/deb', script)]);
    if (has('checkbashisms')) ok('checkbashisms', [join(ROOT, 'packaging/deb', script)]);
  }
});

test('maintainer scripts: install enables and starts; an upgrade never stops, it restarts the daemon after unpacking', () => {
  const systemd = { systemd: true, helpers: true };
  const install = runScript('postinst', ['configure'], systemd);
  assert.deepEqual(install, [
    'deb-systemd-helper unmask waagent.service',
    'deb-systemd-helper --quiet was-enabled waagent.service',
    'deb-systemd-helper enable waagent.service',
    'systemctl --system daemon-reload',
    'deb-systemd-invoke start waagent.service',
  ]);
  // dpkg's upgrade sequence: old prerm upgrade, old postrm upgrade, new postinst configure <old version>.
  assert.deepEqual(runScript('prerm', ['upgrade', '9.9.9'], systemd), []);
  assert.deepEqual(runScript('postrm', ['upgrade', '9.9.9'], systemd), []);
  const upgrade = runScript('postinst', ['configure', '0.0.1'], systemd);
  assert.ok(upgrade.includes('deb-systemd-invoke restart waagent.service'), upgrade.join('\n'));
  assert.ok(!upgrade.some((c) => / stop\b|kill/.test(c)), upgrade.join('\n'));
  // An admin's `systemctl disable` survives the upgrade.
  const disabled = runScript('postinst', ['configure', '0.0.1'], { ...systemd, wasEnabled: false });
  assert.ok(disabled.includes('deb-systemd-helper update-state waagent.service') && !disabled.includes('deb-systemd-helper enable waagent.service'), disabled.join('\n'));
  // Failed upgrade rolled back: the old postinst runs abort-upgrade, and the daemon is restarted, not stopped.
  assert.ok(!runScript('postinst', ['abort-upgrade', '0.0.2'], systemd).some((c) => / stop\b/.test(c)));
});

test('maintainer scripts: removal stops the service (the unit\'s KillMode=process spares extensions), purge forgets it', () => {
  const systemd = { systemd: true, helpers: true };
  assert.deepEqual(runScript('prerm', ['remove'], systemd), ['deb-systemd-invoke stop waagent.service']);
  assert.deepEqual(runScript('postrm', ['remove'], systemd), ['deb-systemd-helper mask waagent.service', 'systemctl --system daemon-reload']);
  assert.deepEqual(runScript('postrm', ['purge'], systemd), ['deb-systemd-helper purge waagent.service', 'deb-systemd-helper unmask waagent.service', 'systemctl --system daemon-reload']);
  assert.match(readFileSync(join(ROOT, 'systemd/waagent.service'), 'utf8'), /^KillMode=process$/m);
});

test('maintainer scripts: without systemd (containers) nothing is started or reloaded; without the helpers nothing fails', () => {
  const container = runScript('postinst', ['configure'], { systemd: false, helpers: true });
  assert.ok(container.includes('deb-systemd-helper enable waagent.service'), 'enabled for when the image boots');
  assert.ok(!container.some((c) => c.startsWith('systemctl') || c.startsWith('deb-systemd-invoke')), container.join('\n'));
  assert.deepEqual(runScript('prerm', ['remove'], { systemd: false, helpers: true }), []);
  assert.deepEqual(runScript('postinst', ['configure'], { systemd: false, helpers: false }), []);
  assert.deepEqual(runScript('prerm', ['remove'], { systemd: false, helpers: false }), []);
});

test('dpkg --root: install enables the unit, an upgrade keeps a changed conffile, purge removes it and the log', async (t) => {
  if (!has('dpkg') || !has('deb-systemd-helper')) {
    assert.ok(!CI, 'dpkg and deb-systemd-helper (init-system-helpers) are required under CI=true');
    t.skip('dpkg or deb-systemd-helper is missing');
    return;
  }
  const next = AGENT_VERSION.replace(/\d+$/, (n) => String(Number(n) + 1));
  const changelog = `waagent-ts (${next}) unstable; urgency=medium\n\n  * Test upgrade.\n\n -- Test <test@example.org>  Thu, 26 Nov 2026 00:00:00 +0000\n\n` +
    readFileSync(join(ROOT, 'packaging/deb/changelog'), 'utf8');
  const newer = await buildDebPackage({ repoRoot: ROOT, compiledSrc: COMPILED_SRC, version: next, outDir: join(work, 'out-next'), changelog, compression: 'gzip' });

  const root = join(work, 'root');
  for (const d of ['var/lib/dpkg/updates', 'var/lib/dpkg/info', 'var/lib/dpkg/triggers', 'var/log']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  writeFileSync(join(root, 'var/lib/dpkg/available'), '');
  // Scripts run outside the root with DPKG_ROOT set; ours then never call systemctl, deb-systemd-helper writes
  // under the root. --force-depends: the private root has no nodejs.
  const dpkg = (...args: string[]): string => ok('dpkg', [`--root=${root}`, '--force-script-chrootless', '--force-depends', '--force-confold', ...args]);

  dpkg('-i', deb.file);
  const wants = join(root, 'etc/systemd/system/multi-user.target.wants/waagent.service');
  assert.equal(readlinkSync(wants), '/usr/lib/systemd/system/waagent.service');
  assert.match(ok(join(root, 'usr/sbin/waagent'), ['--version']), new RegExp(`^waagent-ts-${AGENT_VERSION.replace(/\./g, '\\.')} `));

  writeFileSync(join(root, 'etc/waagent.conf'), readFileSync(join(root, 'etc/waagent.conf'), 'utf8') + 'Logs.Verbose=y\n');
  dpkg('-i', newer.file);
  assert.match(ok(join(root, 'usr/sbin/waagent'), ['--version']), new RegExp(`^waagent-ts-${next.replace(/\./g, '\\.')} `));
  assert.match(readFileSync(join(root, 'etc/waagent.conf'), 'utf8'), /\nLogs\.Verbose=y\n$/, 'the changed conffile is kept');
  assert.ok(!existsSync(join(root, 'etc/waagent.conf.dpkg-new')) && !existsSync(join(root, 'etc/waagent.conf.dpkg-dist')));
  assert.ok(lstatSync(wants).isSymbolicLink(), 'still enabled after the upgrade');

  writeFileSync(join(root, 'var/log/waagent.log'), 'old log\n');
  writeFileSync(join(root, 'var/log/waagent.log.1'), 'older log\n');
  mkdirSync(join(root, 'var/lib/waagent'));
  dpkg('--purge', 'waagent-ts');
  for (const gone of ['etc/waagent.conf', 'etc/logrotate.d/waagent', 'usr/sbin/waagent', 'usr/lib/waagent-ts', 'var/log/waagent.log', 'var/log/waagent.log.1']) {
    assert.ok(!existsSync(join(root, gone)), `${gone} is left after purge`);
  }
  assert.ok(!existsSync(wants));
  assert.ok(existsSync(join(root, 'var/lib/waagent')), 'extension state is kept (waagent -deprovision wipes it)');
});
