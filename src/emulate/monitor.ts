// Watches a run as it goes: the agent's console (downloads, commands) and the statuses the emulator receives,
// shown on the timeline and recorded for the report.
import type { StatusBlobRecord } from '../emulator/recorder.js';
import { AgentLogParser, type AgentEvent } from './agent-log.js';
import type { CommandRecord } from './phases.js';
import type { ReceivedStatus } from './report.js';
import { describeHandler, handlerViews, oneLine } from './status-view.js';
import type { Timeline } from './timeline.js';

const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export class RunMonitor {
  private readonly parser: AgentLogParser;
  /** Commands of the current phase (the driver takes them when the phase ends). */
  private commands: CommandRecord[] = [];
  /** The agent's download summary (`2.2 KiB in 3s at 720 B/s`), by version, until the unpack line. */
  private readonly transfers = new Map<string, string>();
  private agentErrors: string[] = [];
  private readonly open = new Map<string, CommandRecord>();
  private lastStatusSeq = 0;
  /** Nothing reported yet counts as "not reported": the first status without the handler is not news. */
  private lastStatusKey = '[]';

  constructor(
    private readonly handlerName: string,
    private readonly timeline: Timeline,
    private readonly startedAt: number,
    /** Where the changes go (the report's list). */
    private readonly statuses: ReceivedStatus[],
    /** Each command's time limit (the agent's Extensions.CommandTimeout), shown against its elapsed time. */
    private readonly commandTimeoutMs: number | null = null,
  ) {
    this.parser = new AgentLogParser(handlerName);
  }

  /** One line of the agent's console. */
  agentLine(line: string): void {
    for (const e of this.parser.feed(line)) this.event(e);
  }

  /** The commands and agent errors seen since the last call. */
  takePhase(): { commands: CommandRecord[]; agentErrors: string[] } {
    const out = { commands: this.commands, agentErrors: this.agentErrors };
    // A command still running belongs to the phase that started it; later phases see it finish there.
    this.commands = [];
    this.agentErrors = [];
    return out;
  }

  /** Records (and shows) the handler's status when it changed in a newly received status blob. */
  statusRecords(records: readonly StatusBlobRecord[]): void {
    for (const r of records) {
      if (r.seq <= this.lastStatusSeq) continue;
      this.lastStatusSeq = r.seq;
      if (r.parseError !== null) {
        this.timeline.line(this.timeline.red(`   status blob is not JSON: ${oneLine(r.parseError, 120)}`));
        continue;
      }
      const views = handlerViews(r.status, this.handlerName);
      const key = JSON.stringify(views);
      if (key === this.lastStatusKey) continue;
      this.lastStatusKey = key;
      this.statuses.push({ atMs: r.at - this.startedAt, incarnation: r.incarnation, handler: views });
      const text = views.length === 0 ? 'handler not reported' : views.map((v) => describeHandler(v, views.length > 1)).join(' | ');
      this.timeline.line(`   status  ${text}`);
    }
  }

  private event(e: AgentEvent): void {
    const t = this.timeline;
    switch (e.kind) {
      case 'download-start':
        t.begin(`dl:${e.version}`, `downloading ${e.version}`, e.at);
        return;
      case 'download-progress':
        if (e.done) this.transfers.set(e.version, e.detail);
        // The timeline shows the elapsed time itself: the agent's own (` in 10s`) goes.
        else t.update(`dl:${e.version}`, `downloading ${e.version}: ${e.detail.replace(/ in \S+ at /, ' at ')}`);
        return;
      case 'download-end': {
        t.end(`dl:${e.version}`);
        const transfer = this.transfers.get(e.version);
        this.transfers.delete(e.version);
        t.line(`   download ${e.version}: ${e.detail}${e.durationMs !== null ? ` in ${secs(e.durationMs)}` : ''}${transfer ? ` (transfer: ${transfer})` : ''}`);
        return;
      }
      case 'command-start': {
        const rec: CommandRecord = { op: e.op, version: e.version, command: e.command, startedMs: e.at - this.startedAt, durationMs: null, result: 'running', exitCode: null, message: null };
        this.commands.push(rec);
        this.open.set(`${e.version}/${e.op}`, rec);
        t.begin(`cmd:${e.version}/${e.op}`, `${e.op} ${e.version} running [${e.command}]`, e.at, this.commandTimeoutMs);
        if (!t.live) t.line(`   ▶ ${e.op.padEnd(9)} ${e.version}  [${e.command}]`);
        return;
      }
      case 'command-end': {
        const rec = this.close(e.version, e.op);
        if (rec) Object.assign(rec, { result: 'ok', durationMs: e.durationMs });
        t.line(`   ${t.green('✓')} ${e.op.padEnd(9)} ${e.version}  ${secs(e.durationMs)}`);
        return;
      }
      case 'command-failed': {
        const rec = this.close(e.version, e.op);
        if (rec) Object.assign(rec, { result: e.timedOut ? 'timeout' : 'failed', durationMs: e.durationMs, exitCode: e.exitCode, message: e.message });
        const how = e.timedOut ? 'timed out, killed' : e.exitCode !== null ? `exit code ${e.exitCode}` : 'could not start';
        t.line(`   ${t.red('✗')} ${e.op.padEnd(9)} ${e.version}  ${how}${e.durationMs !== null ? ` after ${secs(e.durationMs)}` : ''}`);
        return;
      }
      case 'handler-error':
        this.agentErrors.push(e.message);
        t.line(`   ${t.red('✗')} agent: ${oneLine(e.message, 200)}`);
        return;
      case 'goal-state-done':
        return;
    }
  }

  private close(version: string, op: string): CommandRecord | undefined {
    const key = `${version}/${op}`;
    const rec = this.open.get(key);
    this.open.delete(key);
    this.timeline.end(`cmd:${key}`);
    return rec;
  }
}
