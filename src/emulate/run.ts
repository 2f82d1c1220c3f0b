// runEmulate: the handler through the real agent and the fabric emulator in a scratch root, phase by phase,
// then the end-of-run checks (processes, files, output). Returns the report; printing it is the caller's.
import { join } from 'node:path';
import { createEmulator, type Emulator } from '../emulator/server.js';
import type { FaultSpec } from '../emulator/faults.js';
import type { StatusBlobRecord } from '../emulator/recorder.js';
import { errorMessage } from '../errors.js';
import { startAgent, type AgentChild } from './agent-process.js';
import { filesBreach, outputBreaches, phaseBreaches, processBreach } from './breaches.js';
import { allowedPath, changesOutside, snapshot } from './file-watch.js';
import { RunMonitor } from './monitor.js';
import type { EmulateOptions } from './options.js';
import { findLargeOutputs } from './output-check.js';
import { isTerminal, phaseOutcome, phaseView, planPhases, type PhaseResult, type PhaseSpec } from './phases.js';
import { findHandlerProcesses, killProcesses, startTicks, type HandlerProcess } from './process-scan.js';
import { newReport, type EmulateReport } from './report.js';
import { agentEnvironment, createScratchRoot, type ScratchRoot } from './scratch.js';
import { processedIncarnation } from './status-view.js';
import { Timeline, type TimelineOutput } from './timeline.js';

const STATUS_POLL_MS = 250;
/**
 * The agent's progress intervals (WAAGENT_TS_PROGRESS_MS) under emulate: a download line every second feeds the
 * timeline; commands keep the agent's default (the timeline counts their time itself).
 */
const AGENT_PROGRESS = '1000,30000';

/** How long processes left by uninstall get to exit on their own before they count. */
const LEFTOVER_GRACE_MS = 2000;

/** Test seams: faults the emulator applies from the start (a slow package), and every progress interval. */
export interface EmulateSeams {
  readonly faults?: readonly FaultSpec[];
  /** The agent's progress intervals and the period of the timeline's plain progress lines. */
  readonly progressMs?: number;
}

interface Run {
  readonly o: EmulateOptions;
  readonly t: Timeline;
  readonly root: ScratchRoot;
  readonly emu: Emulator;
  readonly agent: AgentChild;
  /** The agent's start time in clock ticks: handler processes are younger. */
  readonly agentSince: number;
  readonly monitor: RunMonitor;
  readonly report: EmulateReport;
  readonly startedAt: number;
  /** Resolves (with a reason) when the run must stop: the agent exited, or the caller aborted. */
  readonly stopped: Promise<string>;
}

export async function runEmulate(o: EmulateOptions, out: TimelineOutput, signal?: AbortSignal, seams: EmulateSeams = {}): Promise<EmulateReport> {
  const startedAt = Date.now();
  const t = new Timeline(out, startedAt, Date.now, seams.progressMs !== undefined ? { plainEveryMs: seams.progressMs } : {});
  const root = await createScratchRoot(Math.ceil(o.timeoutMs / 1000));
  const report = newReport({
    handler: { name: o.name, version: o.pkg.version, package: o.pkg.path },
    from: o.from ? { version: o.from.version, package: o.from.path } : null,
    scratchRoot: root.dir,
  });
  let emu: Emulator | undefined;
  let agent: AgentChild | undefined;
  let agentSince = 0;
  let poll: NodeJS.Timeout | undefined;
  try {
    const before = await snapshot(root.dir);
    emu = await createEmulator({ scenario: { extensions: [] } });
    for (const f of seams.faults ?? []) emu.injectFault({ ...f });
    t.raw(t.bold(`waagent emulate: ${o.name} ${o.pkg.version} (${o.pkg.kind} ${o.pkg.path})`));
    if (o.from) t.raw(`  updating from ${o.from.version} (${o.from.kind} ${o.from.path})`);
    t.raw(`  fabric emulator ${emu.wireUrl} · scratch root ${root.dir} · timeout ${Math.round(o.timeoutMs / 1000)} s per phase`);
    // The agent's command timeout is the per-phase timeout (scratch.ts).
    const monitor = new RunMonitor(o.name, t, startedAt, report.statuses, o.timeoutMs);
    const env = { ...agentEnvironment(root, emu), WAAGENT_TS_PROGRESS_MS: seams.progressMs !== undefined ? String(seams.progressMs) : AGENT_PROGRESS };
    const started = startAgent(root, env, (line) => monitor.agentLine(line));
    agent = started;
    agentSince = (await startTicks(started.pid)) ?? 0;
    const stopped = new Promise<string>((resolve) => {
      void started.exited.then((how) => resolve(`the agent exited (${how}); last output:\n${started.tail().slice(-10).join('\n')}`));
      if (signal?.aborted) resolve('interrupted');
      signal?.addEventListener('abort', () => resolve('interrupted'), { once: true });
    });
    const e = emu;
    poll = setInterval(() => monitor.statusRecords(e.state.statusBlobs()), STATUS_POLL_MS);
    const run: Run = { o, t, root, emu, agent, agentSince, monitor, report, startedAt, stopped };
    await drive(run);
    monitor.statusRecords(emu.state.statusBlobs());
    await agent.stop();
    await endChecks(run, before);
  } catch (err) {
    report.error ??= errorMessage(err);
  } finally {
    if (poll) clearInterval(poll);
    await agent?.stop().catch(() => undefined);
    // Whatever the handler still runs (a hung command, a daemon) goes with the run.
    if (agent) {
      const left = await leftovers(root, o.name, agentSince, agent.pid).catch(() => []);
      killProcesses(left);
      report.killedAtEnd = left.length;
    }
    await emu?.close();
    t.close();
  }
  report.durationMs = Date.now() - startedAt;
  report.ok = report.error === null && report.breaches.length === 0;
  report.kept = !report.ok || o.keep;
  if (!report.kept) await root.remove().catch(() => undefined);
  return report;
}

/** Waits for check() over the emulator's records; false on timeout or when the run is stopped. */
async function waitRecords(run: Run, check: () => boolean, ms: number, what: string): Promise<boolean> {
  const waiting = run.emu.state.waitUntil(check, Math.max(0, ms), what).then(() => true, () => false);
  return Promise.race([waiting, run.stopped.then(() => false)]);
}

async function stopReason(run: Run): Promise<string | null> {
  return Promise.race([run.stopped, new Promise<null>((r) => setImmediate(() => r(null)))]);
}

/** At least this long for the agent to start and report its first status, whatever --timeout says. */
const AGENT_START_MS = 60_000;

async function drive(run: Run): Promise<void> {
  const { t, emu, o, report } = run;
  t.begin('agent', 'starting the agent');
  // The agent's start is not the handler's time: a short --timeout (a CI check of a quick handler) must not fail a
  // run because node started slowly on a loaded machine.
  const startMs = Math.max(o.timeoutMs, AGENT_START_MS);
  const ready = await waitRecords(run, () => emu.state.statusBlobs().some((r) => processedIncarnation(r.status) === 1), startMs, 'the agent to report status');
  t.end('agent');
  if (!ready) {
    report.error = (await stopReason(run)) ?? `the agent reported no status within ${Math.round(startMs / 1000)} s`;
    return;
  }
  t.line(`agent ready (pid ${run.agent.pid}), reporting status to the emulator`);
  for (const spec of planPhases(o)) {
    const result = await runPhase(run, spec);
    report.phases.push(result);
    const mark = result.outcome === 'ok' ? t.green('✓') : t.red('✗');
    t.line(`${mark} ${spec.title}: ${result.outcome} in ${(result.durationMs / 1000).toFixed(1)} s`);
    for (const b of phaseBreaches(result, o.timeoutMs)) addBreach(run, b);
    if (spec.id === 'uninstall' && result.outcome !== 'aborted') {
      const b = processBreach(await processesAfterUninstall(run));
      if (b) addBreach(run, b);
    }
    const reason = await stopReason(run);
    if (reason !== null) {
      report.error = reason;
      return;
    }
  }
}

function addBreach(run: Run, b: EmulateReport['breaches'][number]): void {
  run.report.breaches.push(b);
  run.t.line(run.t.red(`   breach [${b.kind}] ${b.message}`));
}

async function runPhase(run: Run, spec: PhaseSpec): Promise<PhaseResult> {
  const { t, emu, o } = run;
  const startedMs = Date.now();
  t.line(t.bold(`▸ ${spec.title}`));
  run.monitor.statusRecords(emu.state.statusBlobs());
  run.monitor.takePhase();
  const afterSeq = emu.state.latestStatus()?.seq ?? 0;
  const incarnation = emu.publish({ extensions: [spec.extension] });
  let found: StatusBlobRecord | undefined;
  const check = (): boolean => {
    const all = emu.state.statusBlobs();
    for (let i = all.length - 1; i >= 0 && all[i]!.seq > afterSeq; i--) {
      if (isTerminal(spec, o.name, incarnation, all[i]!.status)) {
        found = all[i];
        return true;
      }
    }
    return false;
  };
  const waitingFor = spec.kind === 'enable' ? `a terminal status for sequence ${spec.seqNo}` : `the agent to finish incarnation ${incarnation}`;
  t.begin('phase', `waiting for ${waitingFor}`);
  const terminal = await waitRecords(run, check, o.timeoutMs, waitingFor);
  t.end('phase');
  run.monitor.statusRecords(emu.state.statusBlobs());
  const aborted = !terminal && (await stopReason(run)) !== null;
  const last = found ?? emu.state.statusBlobs().filter((r) => r.seq > afterSeq).at(-1) ?? emu.state.latestStatus();
  const final = last ? phaseView(spec, o.name, last.status) : null;
  const { commands, agentErrors } = run.monitor.takePhase();
  return {
    id: spec.id, title: spec.title, kind: spec.kind, version: spec.version, seqNo: spec.seqNo, incarnation,
    outcome: aborted ? 'aborted' : phaseOutcome(spec, terminal, final, commands, agentErrors),
    startedMs: startedMs - run.startedAt, durationMs: Date.now() - startedMs, final, commands, agentErrors,
  };
}

/** Processes tied to any version's handler folder, started after the agent; not the agent or us. */
async function leftovers(root: ScratchRoot, name: string, since: number, agentPid: number): Promise<HandlerProcess[]> {
  // The handler folder prefix `<lib>/<Name>-`: every version of this handler, in this run's scratch root only.
  return findHandlerProcesses(`${root.libDir}/${name}-`, since, new Set([process.pid, agentPid]));
}

async function processesAfterUninstall(run: Run): Promise<HandlerProcess[]> {
  const deadline = Date.now() + LEFTOVER_GRACE_MS;
  for (;;) {
    const procs = await leftovers(run.root, run.o.name, run.agentSince, run.agent.pid);
    if (procs.length === 0 || Date.now() >= deadline) {
      killProcesses(procs);
      return procs;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** After the agent stopped: files written outside the handler's folders, outputs the agent cut. */
async function endChecks(run: Run, before: Awaited<ReturnType<typeof snapshot>>): Promise<void> {
  const { root, o } = run;
  const changes = changesOutside(before, await snapshot(root.dir), (rel) => allowedPath(rel, o.name));
  const files = filesBreach(changes, root.dir);
  if (files) addBreach(run, files);
  for (const b of outputBreaches(await findLargeOutputs(join(root.extLogDir, o.name), o.name))) addBreach(run, b);
}
