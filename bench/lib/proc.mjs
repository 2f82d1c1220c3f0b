// /proc readings for an agent's process tree: CPU (utime+stime, plus cutime+cstime of reaped children) and
// memory (Rss/Pss from smaps_rollup). Pure reads; Linux only.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // getconf missing: Linux has used 100 for decades.
}
export const CLK_TCK = clkTck;

/** {pid, ppid, comm, ticks (own), childTicks (reaped children)} or null when the process is gone. */
export function readStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' '); // f[0] = state (field 3)
  const n = (i) => Number(f[i - 3]);
  return { pid, ppid: n(4), comm, ticks: n(14) + n(15), childTicks: n(16) + n(17) };
}

/** Every live process in the tree rooted at `root` (root first). */
export function treePids(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (!st) continue;
    const list = children.get(st.ppid);
    if (list) list.push(st.pid);
    else children.set(st.ppid, [st.pid]);
  }
  if (!readStat(root)) return [];
  const out = [root];
  for (let i = 0; i < out.length && out.length < 10_000; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

/** CPU seconds of the whole tree so far: own time of live processes plus what they reaped. */
export function treeCpuSeconds(root) {
  return Object.values(treeCpuByPid(root)).reduce((a, b) => a + b, 0);
}

/** {pid: CPU seconds (own + reaped children)} for every live process of the tree. */
export function treeCpuByPid(root) {
  const out = {};
  for (const pid of treePids(root)) {
    const st = readStat(pid);
    if (st) out[pid] = (st.ticks + st.childTicks) / CLK_TCK;
  }
  return out;
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Short role name: daemon / exthandler / handler command, from the command line. */
export function roleOf(pid) {
  const args = cmdline(pid);
  if (args.includes('-daemon')) return 'daemon';
  if (args.includes('-run-exthandlers')) return 'exthandler';
  return (args[0] ?? '?').split('/').pop() + (args[1] ? ` ${args[1].split('/').pop()}` : '');
}

/** Rss/Pss in kB of one process (smaps_rollup), or null when gone. */
export function readMemory(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return null;
  }
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  // USS (private pages) does not depend on how many other processes share the interpreter's pages.
  return { rssKb: kb('Rss'), pssKb: kb('Pss'), ussKb: kb('Private_Clean') + kb('Private_Dirty') };
}

/** Per-process memory of the tree plus totals (MB). */
export function treeMemory(root) {
  const procs = [];
  for (const pid of treePids(root)) {
    const m = readMemory(pid);
    const st = readStat(pid);
    if (m && st) procs.push({ pid, role: roleOf(pid), comm: st.comm, rssMb: m.rssKb / 1024, pssMb: m.pssKb / 1024, ussMb: m.ussKb / 1024 });
  }
  const sum = (k) => procs.reduce((a, p) => a + p[k], 0);
  return { procs, rssMb: sum('rssMb'), pssMb: sum('pssMb'), ussMb: sum('ussMb') };
}

/** The network namespace inode of a process ("net:[4026531840]"), or null. */
export function netnsOf(pid) {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return null;
  }
}

/** PIDs whose command line mentions `needle` (e.g. /usr/sbin/waagent), excluding this process. */
export function findProcesses(needle) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const args = cmdline(Number(name));
    if (args.some((a) => a.includes(needle))) out.push({ pid: Number(name), args });
  }
  return out;
}
