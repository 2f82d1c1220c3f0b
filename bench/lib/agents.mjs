// The two agents under test, each in a scratch root, started inside a private mount namespace where a scratch
// folder is bind-mounted over /var/log (WALinuxAgent's log path /var/log/waagent.log is fixed) and /dev/null over
// /dev/console (WALinuxAgent echoes its log there). Both agents get the same waagent.conf and the same wrapper,
// so start-up overhead is the same. Must run inside the benchmark's network namespace (inner.mjs).
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readStat, treePids } from './proc.mjs';

export const WALA_SCRIPT = '/usr/sbin/waagent';
export const WALA_PYTHON = '/usr/bin/python3';
export const AGENTS = ['waagent-ts', 'WALinuxAgent'];
const STOP_GRACE_MS = 10_000;

/** The configuration both agents run with: upstream defaults except what would touch the host. */
export function confText(root) {
  return [
    `Lib.Dir=${root}/lib`,
    `Extension.LogDir=${root}/extlog`,
    `Pid.File=${root}/waagent.pid`,
    'Provisioning.Agent=disabled',
    'Provisioning.MonitorHostName=n',
    'OS.EnableFirewall=n',
    'ResourceDisk.Format=n',
    'AutoUpdate.Enabled=n',
    'Logs.Collect=n',
    'OS.RootDeviceScsiTimeout=None',
    'Extensions.GoalStatePeriod=6',
    '',
  ].join('\n');
}

/** Creates <root>/{lib,extlog,varlog} and <root>/waagent.conf. */
export function makeRoot(root) {
  for (const d of ['lib', 'extlog', 'varlog']) mkdirSync(join(root, d), { recursive: true, mode: 0o700 });
  writeFileSync(join(root, 'waagent.conf'), confText(root));
  return { root, conf: join(root, 'waagent.conf'), agentLog: join(root, 'varlog/waagent.log'), out: join(root, 'stdout.log'), lib: join(root, 'lib') };
}

/** argv (without the wrapper) for one agent and mode ('child' = -run-exthandlers alone, 'daemon' = -daemon tree). */
export function agentArgv(agent, mode, conf, distDir, nodeArgs = []) {
  const flag = mode === 'daemon' ? '-daemon' : '-run-exthandlers';
  if (agent === 'WALinuxAgent') return [WALA_PYTHON, '-u', WALA_SCRIPT, flag, `-configuration-path:${conf}`];
  // The installed build's thin entry (the same one the daemon starts its child with).
  // nodeArgs: diagnostics only (e.g. --cpu-prof); they reach the process started here, not a daemon's child.
  return [process.execPath, ...nodeArgs, join(distDir, 'src/daemon/child-entry.js'), flag, `-configuration-path:${conf}`];
}

const WRAPPER = 'mount --bind "$1" /var/log && { [ ! -e /dev/console ] || mount --bind /dev/null /dev/console; } && shift && exec "$@"';

/**
 * Starts the agent; resolves {pid, startedAt, exited, stop()}. The pid is the agent's own (unshare, sh and the
 * agent exec in turn). For WALinuxAgent's -run-exthandlers alone, Pid.File holds this process's pid: it exits as an
 * orphan unless the pid file names its parent (the daemon, normally).
 */
export function startAgent({ agent, mode, paths, distDir, nodeArgs = [] }) {
  if (agent === 'WALinuxAgent' && mode === 'child') writeFileSync(join(paths.root, 'waagent.pid'), String(process.pid));
  const argv = agentArgv(agent, mode, paths.conf, distDir, nodeArgs);
  const fd = openSync(paths.out, 'a');
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8' };
  const startedAt = Date.now();
  const child = spawn('unshare', ['-m', '--propagation', 'private', '--', 'sh', '-c', WRAPPER, 'wrapper', join(paths.root, 'varlog'), ...argv], {
    cwd: paths.root, env, stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => resolve({ code: null, signal: null, error: err.message }));
  });
  const pid = child.pid;
  return {
    pid, startedAt, exited,
    running: () => child.exitCode === null && child.signalCode === null,
    /** SIGTERM to the root, then SIGKILL to whatever of the tree is left after the grace period. Bounded. */
    async stop() {
      const tree = treePids(pid);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = await Promise.race([exited.then(() => 'exited'), sleep(STOP_GRACE_MS).then(() => 'timeout')]);
      for (const p of new Set([...tree, ...treePids(pid)])) {
        if (readStat(p)) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      if (t === 'timeout') await Promise.race([exited, sleep(2000)]);
      return t;
    },
  };
}

/** WALinuxAgent's version (from the installed module), or null when it is not installed. */
export function walaVersion() {
  const f = '/usr/lib/python3/dist-packages/azurelinuxagent/common/version.py';
  if (!existsSync(WALA_SCRIPT) || !existsSync(f)) return null;
  return /^AGENT_VERSION\s*=\s*'([^']+)'/m.exec(readFileSync(f, 'utf8'))?.[1] ?? 'unknown';
}
