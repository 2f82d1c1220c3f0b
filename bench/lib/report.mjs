// Turns the result lines into the side-by-side table (ratios waagent-ts / WALinuxAgent, targets met or missed)
// and bench/RESULTS.md.
const TS = 'waagent-ts';
const WALA = 'WALinuxAgent';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The result line for a key; repeated cold starts (S1 reps) merge into their median per field. */
function find(results, scenario, agent, mode, n, handler = 'sample') {
  const all = results.filter((r) => r.scenario === scenario && r.agent === agent && r.mode === mode && (r.handler ?? 'sample') === handler && (n === undefined || r.extensions === n));
  const ok = all.filter((r) => !r.error);
  if (ok.length <= 1) return ok[0] ?? all[0];
  const merged = { ...ok[0] };
  for (const k of ['seconds', 'cpuSeconds', 'requests', 'bytes']) merged[k] = median(ok.map((r) => r[k]));
  return merged;
}

/** Seconds and CPU per extension between two sizes (from S1 at N=1 and S4 at N=20/100). */
function perExtension(results, agent, mode, from, to, handler) {
  const a = from === 1 ? find(results, 'S1', agent, mode, 1, handler) : find(results, 'S4', agent, mode, from, handler);
  const b = find(results, 'S4', agent, mode, to, handler);
  if (!a || !b || a.error || b.error) return null;
  return { seconds: (b.seconds - a.seconds) / (to - from), cpuSeconds: (b.cpuSeconds - a.cpuSeconds) / (to - from), requests: (b.requests - a.requests) / (to - from) };
}

/**
 * Rows: [figure, unit, getter(agent, mode) -> number|null, target {max ratio} | null, lowerIsBetter].
 */
function rows(results) {
  const get = (scenario, key, n, handler) => (agent, mode) => {
    const r = find(results, scenario, agent, mode, n, handler);
    return r && !r.error && typeof r[key] === 'number' ? r[key] : null;
  };
  const per = (from, to, key, handler) => (agent, mode) => perExtension(results, agent, mode, from, to, handler)?.[key] ?? null;
  const lin = (handler) => (agent, mode) => {
    const a = perExtension(results, agent, mode, 1, 20, handler);
    const b = perExtension(results, agent, mode, 20, 100, handler);
    return a && b && a.seconds > 0 ? b.seconds / a.seconds : null;
  };
  const perExt = { max: 0.05, text: '≤ 1/20' };
  const noop = results.some((r) => r.handler === 'noop')
    ? [
      ['S1 noop handler, 1 ext (median of runs)', 's', get('S1', 'seconds', 1, 'noop'), null],
      ['S4 noop handler, 20 ext', 's', get('S4', 'seconds', 20, 'noop'), null],
      ['S4 noop handler, 100 ext', 's', get('S4', 'seconds', 100, 'noop'), null],
      ['S4 noop per ext, 1→20', 's', per(1, 20, 'seconds', 'noop'), perExt],
      ['S4 noop per ext, 20→100', 's', per(20, 100, 'seconds', 'noop'), perExt],
      ['S4 noop CPU per ext, 1→20', 's', per(1, 20, 'cpuSeconds', 'noop'), null],
      ['S4 noop CPU per ext, 20→100', 's', per(20, 100, 'cpuSeconds', 'noop'), null],
      ['S4 noop linearity (per-ext 20→100 / 1→20)', '×', lin('noop'), null],
    ]
    : [];
  return [
    ['S1 cold start, 1 ext (median of runs)', 's', get('S1', 'seconds', 1), { max: 0.2, text: '≤ 1/5' }],
    ['S1 tree CPU until then', 's', get('S1', 'cpuSeconds', 1), null],
    ['S2 reaction, median', 's', get('S2', 'median'), { max: 0.6, text: '≤ 0.6' }],
    ['S2 tree CPU per reaction', 's', get('S2', 'cpuSecondsPerReaction'), null],
    ['S3 fabric requests/min', '/min', get('S3', 'requestsPerMin'), { max: 0.5, text: '≤ 1/2' }],
    ['S3 fabric bytes/min', 'B/min', get('S3', 'bytesPerMin'), null],
    ['S3 status uploads/min', '/min', get('S3', 'statusUploadsPerMin'), null],
    ['S3 tree CPU per min', 's', get('S3', 'cpuSecondsPerMin'), { max: 1, text: '≤ 1' }],
    ['S3 tree RSS', 'MB', get('S3', 'rssMb'), null],
    ['S3 tree PSS', 'MB', get('S3', 'pssMb'), { max: 1, text: '≤ 1' }],
    ['S3 tree USS (private)', 'MB', get('S3', 'ussMb'), null],
    ['S4 cold start, 20 ext', 's', get('S4', 'seconds', 20), null],
    ['S4 cold start, 100 ext', 's', get('S4', 'seconds', 100), null],
    ['S4 per ext, 1→20', 's', per(1, 20, 'seconds'), perExt],
    ['S4 per ext, 20→100', 's', per(20, 100, 'seconds'), perExt],
    ['S4 CPU per ext, 1→20', 's', per(1, 20, 'cpuSeconds'), null],
    ['S4 CPU per ext, 20→100', 's', per(20, 100, 'cpuSeconds'), null],
    ['S4 requests per ext, 1→20', '', per(1, 20, 'requests'), null],
    ['S4 linearity (per-ext 20→100 / 1→20)', '×', lin(), null],
    ...noop,
  ];
}

const fmt = (v) => {
  if (v === null || v === undefined) return '—';
  const a = Math.abs(v);
  if (a >= 10000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
};

function verdict(target, ratio) {
  if (!target || ratio === null) return '';
  if (ratio <= target.max) return `met (${target.text})`;
  return `MISSED ${target.text}: ${(ratio / target.max).toFixed(1)}× over`;
}

/** Markdown table lines: one row per figure, per mode the two agents, the ratio and the verdict. */
export function table(results, modes) {
  const head = ['Figure', ...modes.flatMap((m) => [`ts ${m}`, `WALA ${m}`, `ratio ${m}`, `target ${m}`])];
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const [name, unit, get, target] of rows(results)) {
    const cells = [unit ? `${name} (${unit})` : name];
    for (const m of modes) {
      const a = get(TS, m);
      const b = get(WALA, m);
      const ratio = a !== null && b !== null && b !== 0 ? a / b : null;
      cells.push(fmt(a), fmt(b), ratio === null ? '—' : ratio.toFixed(3), verdict(target, ratio));
    }
    out.push(`| ${cells.join(' | ')} |`);
  }
  return out;
}

/** Per-process memory and the S3 request breakdown, for the notes. */
export function details(results) {
  const out = [];
  for (const r of results.filter((x) => x.scenario === 'S3' && !x.error)) {
    out.push(`- **${r.agent} ${r.mode}** — processes: ${r.procs.map((p) => `${p.role}: RSS ${p.rssMb} / PSS ${p.pssMb} / USS ${p.ussMb} MB, CPU ${p.cpuSecondsPerMin} s/min`).join('; ')}`);
    const b = Object.entries(r.requestBreakdown).map(([k, v]) => `${k} ×${v}`).join(', ');
    out.push(`  - requests in ${r.windowSeconds} s idle: ${b || 'none'}; IMDS ${r.imdsRequestsPerMin}/min; connections ${r.connectionsPerMin}/min`);
  }
  for (const r of results.filter((x) => x.error)) out.push(`- **${r.agent} ${r.mode} ${r.scenario} ${r.handler ?? ''} N=${r.extensions}: failed** — ${r.error.split('\n')[0]}`);
  return out;
}

export function resultsMarkdown({ results, modes, machine, versions, flags, started, finished, notes }) {
  return [
    '# Benchmarks: waagent-ts vs WALinuxAgent',
    '',
    `Latest run: ${started} → ${finished} (\`node bench/run.mjs ${flags.join(' ')}\`)`,
    '',
    `Machine: ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memGb} GB RAM, kernel ${machine.kernel}; load average (1/5/15 min) ${machine.loadStart} at start, ${machine.loadEnd} at end${machine.load1 ? `; 1-min load during the run min ${machine.load1.min} / mean ${machine.load1.mean} / max ${machine.load1.max} (${machine.load1.samples} samples, every 30 s)` : ''}.`,
    `Versions: node ${versions.node}, python ${versions.python}, WALinuxAgent ${versions.wala ?? 'not installed'}, waagent-ts ${versions.ts}.`,
    '',
    'ratio = waagent-ts / WALinuxAgent (lower is better); "child" = `-run-exthandlers` alone, "daemon" = `-daemon` (parent + child), figures for the whole process tree.',
    '',
    ...table(results, modes),
    '',
    '## Details',
    '',
    ...details(results),
    '',
    ...(notes ?? []),
    '',
    '<details><summary>Raw result lines</summary>',
    '',
    '```',
    ...results.map((r) => JSON.stringify(r)),
    '```',
    '</details>',
    '',
  ].join('\n');
}
