// `waagent emulate`: the sample handler passes, the broken one is caught on every planted breach, `--from` updates
// from an older package (a zip) with protected settings decrypted by the handler. The three runs go in parallel.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentLogParser } from '../../src/emulate/agent-log.js';
import { allowedPath, changesOutside } from '../../src/emulate/file-watch.js';
import { identityFromPath, parseSettings, resolveOptions } from '../../src/emulate/options.js';
import { parseCommandLog } from '../../src/emulate/output-check.js';
import { exitCodeOf, renderReport, type EmulateReport } from '../../src/emulate/report.js';
import { runEmulate } from '../../src/emulate/run.js';
import { matchProcess } from '../../src/emulate/process-scan.js';
import { AGENT_MAIN, fixtureHandler, repoRoot } from '../helpers/agent.js';
import { buildZip, folderItems } from '../helpers/zip.js';

const exists = (p: string) => access(p).then(() => true, () => false);
const plain = { bold: (s: string) => s, red: (s: string) => s, green: (s: string) => s };

function capture(): { out: { write: (s: string) => void; isTTY: boolean; color: boolean }; text: () => string } {
  let text = '';
  return { out: { write: (s) => void (text += s), isTTY: false, color: false }, text: () => text };
}

/** `waagent emulate ARGS` as a child process: exit code, stdout, stderr. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [
    '--input-type=module', '-e',
    `const m = await import(${JSON.stringify(AGENT_MAIN)}); process.exitCode = await m.main(process.argv.slice(1));`,
    '--', 'emulate', ...args,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, stdout, stderr })));
}

async function scratchDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-ts-emulate-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function ops(r: EmulateReport, phase: string): string[] {
  return r.phases.find((p) => p.id === phase)!.commands.map((c) => `${c.op}@${c.version}:${c.result}`);
}

describe('waagent emulate runs', { concurrency: true }, () => {
  test('the sample handler: every phase succeeds, no breach, exit 0, scratch root removed', async (t) => {
    const dir = await scratchDir(t);
    await writeFile(join(dir, 'first.json'), JSON.stringify({ publicSettings: { message: 'first' }, protectedSettings: { secret: 'x' } }));
    await writeFile(join(dir, 'second.json'), JSON.stringify({ publicSettings: { message: 'second' } }));
    const o = await resolveOptions({ package: join(repoRoot(), 'fixtures/extensions/sample'), settings: join(dir, 'first.json'), secondSettings: join(dir, 'second.json'), timeout: '60' });
    const { out, text } = capture();
    const report = await runEmulate(o, out);
    t.after(() => rm(report.scratchRoot, { recursive: true, force: true }));
    assert.deepEqual(report.breaches, []);
    assert.equal(report.error, null);
    assert.equal(exitCodeOf(report), 0);
    assert.equal(report.handler.name, 'Emulate.sample');
    assert.deepEqual(report.phases.map((p) => [p.id, p.outcome]), [['install', 'ok'], ['new-settings', 'ok'], ['disable', 'ok'], ['uninstall', 'ok']]);
    assert.deepEqual(ops(report, 'install'), ['install@1.0.0:ok', 'enable@1.0.0:ok']);
    assert.equal(report.phases[0]!.final!.ext!.message, 'Enable succeeded: first');
    assert.equal(report.phases[1]!.final!.ext!.message, 'Enable succeeded: second');
    assert.equal(report.phases[2]!.final!.message, 'Plugin disabled');
    assert.equal(report.statuses.at(-1)!.handler.length, 0, 'the last status the fabric received has no entry for the handler');
    assert.equal(await exists(report.scratchRoot), false);
    const timeline = text();
    assert.match(timeline, /▶ install +1\.0\.0 +\[bin\/sample\.sh install\]/);
    assert.match(timeline, /✓ enable +1\.0\.0 +\d+\.\d\d s/);
    assert.match(timeline, /status +Ready \(0\) "Plugin enabled" · success \(0\) "Enable succeeded: second" seq 1/);
    assert.doesNotMatch(timeline, /"secret"/);
    assert.match(renderReport(report, plain), /Result: PASSED, no breach of the handler contract/);
  });

  test('the broken handler (CLI, --json): each planted breach is reported, exit code 1, scratch root kept', async (t) => {
    const r = await cli([fixtureHandler('broken'), '--json', '--timeout', '10']);
    const report = JSON.parse(r.stdout) as EmulateReport;
    t.after(() => rm(report.scratchRoot, { recursive: true, force: true }));
    assert.equal(r.code, 1, r.stderr);
    assert.equal(report.ok, false);
    assert.equal(report.kept, true);
    assert.ok(await exists(report.scratchRoot));
    const kinds = report.breaches.map((b) => `${b.phase ?? '-'}:${b.kind}`);
    assert.deepEqual(kinds.sort(), [
      '-:files-outside', '-:output-too-large', 'install:no-terminal-status', 'install:status-missing',
      'new-settings:non-zero-exit', 'new-settings:status-malformed', 'uninstall:processes-left',
    ]);
    const by = (kind: string) => report.breaches.find((b) => b.kind === kind)!;
    assert.match(by('non-zero-exit').message, /^enable \(1\.0\.0\) exited with code 3; the agent reports code 1009$/);
    assert.deepEqual(by('files-outside').details, ['created: var/lib/waagent/broken-extension-was-here.txt']);
    assert.match(by('output-too-large').message, /^broken\.sh install \(1\.0\.0\)/);
    const pid = Number(/^pid (\d+) \(env\): sleep 120$/.exec(by('processes-left').details[0]!)?.[1]);
    assert.ok(pid > 0);
    const alive = await readFile(`/proc/${pid}/cmdline`, 'utf8').then((c) => c.startsWith('sleep'), () => false);
    assert.equal(alive, false, 'the leftover process was killed');
    assert.match(r.stderr, /breach \[status-missing\]/, 'the timeline goes to stderr with --json');
  });

  test('--from OLD.zip: the old version first, then the update sequence; protected settings reach the handler', async (t) => {
    const dir = await scratchDir(t);
    const oldZip = join(dir, 'Test.Decrypter__1.0.0.zip');
    await writeFile(oldZip, await buildZip(folderItems(fixtureHandler('decrypter'))));
    const newDir = join(dir, 'Test.Decrypter-1.1.0');
    await cp(fixtureHandler('decrypter'), newDir, { recursive: true });
    const prot = { password: 'emulate-test-secret' };
    await writeFile(join(dir, 'settings.json'), JSON.stringify({ publicSettings: { visible: 1 }, protectedSettings: prot }));
    const o = await resolveOptions({ package: newDir, from: oldZip, settings: join(dir, 'settings.json'), timeout: '60' });
    assert.equal(o.name, 'Test.Decrypter');
    assert.deepEqual([o.from!.kind, o.from!.version, o.pkg.kind, o.pkg.version], ['zip', '1.0.0', 'dir', '1.1.0']);
    const { out, text } = capture();
    const report = await runEmulate(o, out);
    t.after(() => rm(report.scratchRoot, { recursive: true, force: true }));
    assert.deepEqual(report.breaches, [], text());
    assert.deepEqual(report.phases.map((p) => p.id), ['install-old', 'update', 'new-settings', 'disable', 'uninstall']);
    assert.deepEqual(ops(report, 'install-old'), ['install@1.0.0:ok', 'enable@1.0.0:ok']);
    assert.deepEqual(ops(report, 'update'), ['disable@1.0.0:ok', 'update@1.1.0:ok', 'uninstall@1.0.0:ok', 'install@1.1.0:ok', 'enable@1.1.0:ok']);
    const bytes = Buffer.byteLength(JSON.stringify(prot));
    for (const p of report.phases.slice(0, 3)) assert.equal(p.final!.ext!.message, `decrypted ${bytes} bytes`, p.id);
    assert.equal(report.phases[1]!.final!.version, '1.1.0');
    assert.doesNotMatch(text() + JSON.stringify(report), /emulate-test-secret/);
  });
});

test('settings files: shape checked, errors name the file and field', () => {
  assert.deepEqual(parseSettings('{"publicSettings": {"a": 1}}', 's.json'), { publicSettings: { a: 1 } });
  assert.throws(() => parseSettings('{"publicsettings": {}}', 's.json'), /^Error: s\.json: \(root\): unknown field\(s\) publicsettings/);
  assert.throws(() => parseSettings('{"protectedSettings": "text"}', 's.json'), /^Error: s\.json: protectedSettings: /);
  assert.throws(() => parseSettings('{', 's.json'), /^Error: s\.json: not valid JSON/);
});

test('options: name and version from upstream file names; bad values refused', async () => {
  assert.deepEqual(identityFromPath('/x/Contoso.Hello__1.2.3.zip'), { name: 'Contoso.Hello', version: '1.2.3' });
  assert.deepEqual(identityFromPath('/x/Contoso.Hello-2.0'), { name: 'Contoso.Hello', version: '2.0' });
  assert.deepEqual(identityFromPath('/x/sample'), {});
  const sample = join(repoRoot(), 'fixtures/extensions/sample');
  await assert.rejects(resolveOptions({ package: sample, name: 'NoDot' }), /--name must be <Publisher>\.<Type>/);
  await assert.rejects(resolveOptions({ package: sample, from: sample, fromVersion: '1.1.0' }), /OLD and PACKAGE both have version 1\.1\.0/);
  await assert.rejects(resolveOptions({ package: sample, timeout: '0' }), /--timeout must be/);
  await assert.rejects(resolveOptions({ package: join(sample, 'bin') }), /has no HandlerManifest\.json/);
  await assert.rejects(resolveOptions({ package: join(sample, 'bin/sample.sh') }), /neither a folder nor a zip/);
});

test('agent console lines become command events; a failure logged twice closes the command once', () => {
  const p = new AgentLogParser('Pub.Ext');
  const at = (s: string) => `2026-01-01T00:00:0${s}.000000Z`;
  assert.deepEqual(p.feed(`${at('1')} INFO ExtHandler [Pub.Ext-1.0.0] Enable extension: [bin/x.sh enable]`).map((e) => e.kind), ['command-start']);
  const failed = p.feed(`${at('3')} ERROR ExtHandler [Pub.Ext-1.0.0] Pub.Ext: enabled failed: [ExtensionOperationError] Enable: Non-zero exit code: 4, /x/bin/x.sh enable`);
  assert.deepEqual(failed.map((e) => e.kind === 'command-failed' && [e.op, e.exitCode, e.durationMs]), [['enable', 4, 2000]]);
  assert.deepEqual(p.feed(`${at('4')} WARNING ExtHandler [Pub.Ext-1.0.0] again: [ExtensionOperationError] Enable: Non-zero exit code: 4, x`), []);
  assert.deepEqual(p.feed(`${at('5')} INFO ExtHandler [Other.Ext-1.0.0] Enable extension: [x]`), [], 'other handlers are ignored');
  assert.deepEqual(p.feed(`${at('6')} INFO ExtHandler ExtHandler ProcessExtensionsGoalState completed [incarnation_7 12 ms]`), [{ kind: 'goal-state-done', at: Date.parse('2026-01-01T00:00:06Z'), incarnation: 7 }]);
});

test('breach detectors: files outside the handler folders, cut output, processes tied to the handler', () => {
  const allowed = (rel: string) => allowedPath(rel, 'Pub.Ext');
  const e = (kind: 'file' | 'dir') => ({ kind, size: 1, mtimeMs: 1 });
  const before = new Map([['waagent.conf', e('file')], ['home', e('dir')]]);
  const after = new Map([
    ['waagent.conf', { kind: 'file' as const, size: 2, mtimeMs: 2 }], ['home', e('dir')], ['home/.cache', e('dir')], ['home/.cache/x', e('file')],
    ['var/lib/waagent/Pub.Ext-1.0.0/status/0.status', e('file')], ['var/lib/waagent/Certificates.pem', e('file')], ['var/lib/waagent/leak.txt', e('file')],
    ['var/log/azure/Pub.Ext/CommandExecution.log', e('file')], ['var/log/azure/Other/x', e('file')], ['tmp/t', e('file')],
  ]);
  assert.deepEqual(changesOutside(before, after, allowed).map((c) => `${c.change} ${c.path}`), [
    'created home/.cache/', 'created var/lib/waagent/leak.txt', 'created var/log/azure/Other/x', 'modified waagent.conf',
  ]);
  const log = `2026-01-01T00:00:00.000000Z INFO ExtHandler [Pub.Ext-1.0.0] Command: /l/Pub.Ext-1.0.0/bin/x.sh install\n[stdout]\n${'y'.repeat(3179)}\n[stderr]\n` +
    `2026-01-01T00:00:01.000000Z INFO ExtHandler [Pub.Ext-1.0.0] Command: /l/Pub.Ext-1.0.0/bin/x.sh enable\n[stdout]\nok\n[stderr]\n`;
  assert.deepEqual(parseCommandLog(log, 'Pub.Ext').map((r) => [r.command.split('/').pop(), r.chars]), [['x.sh install', 3179], ['x.sh enable', 2]]);
  assert.equal(matchProcess('/s/lib/Pub.Ext-', 'A=1\0AZURE_GUEST_AGENT_EXTENSION_PATH=/s/lib/Pub.Ext-1.0.0\0', '/', 'sleep\0'), 'env');
  assert.equal(matchProcess('/s/lib/Pub.Ext-', '', '/s/lib/Pub.Ext-1.0.0 (deleted)', 'sleep\0'), 'cwd');
  assert.equal(matchProcess('/s/lib/Pub.Ext-', '', '/', 'sleep\0'), null);
});
