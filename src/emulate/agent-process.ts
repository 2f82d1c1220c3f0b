// The real agent (`waagent -run-exthandlers`) as a child process of `waagent emulate`, its console read line by line.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ScratchRoot } from './scratch.js';

/** The compiled CLI entry beside this module (works from dist/ and any other outDir). */
const AGENT_MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const TAIL_LINES = 40;
const STOP_GRACE_MS = 5000;

export interface AgentChild {
  readonly pid: number;
  /** Resolves with the exit code (or the signal's name) when the agent exits, for whatever reason. */
  readonly exited: Promise<string>;
  /** Last console lines, for an error message when the agent dies. */
  tail(): string[];
  /** SIGTERM, then SIGKILL after a grace period; resolves once it has exited. */
  stop(): Promise<void>;
}

export function startAgent(root: ScratchRoot, env: Record<string, string>, onLine: (line: string) => void): AgentChild {
  const proc: ChildProcess = spawn(process.execPath, [
    '--input-type=module', '-e',
    `const m = await import(${JSON.stringify(AGENT_MAIN)}); process.exitCode = await m.main(process.argv.slice(1));`,
    '--', '-run-exthandlers', `-configuration-path:${root.confPath}`,
  ], { cwd: root.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const take = (line: string): void => {
    lines.push(line);
    if (lines.length > TAIL_LINES) lines.shift();
    onLine(line);
  };
  createInterface({ input: proc.stdout! }).on('line', take);
  createInterface({ input: proc.stderr! }).on('line', take);
  const exited = new Promise<string>((resolve) => {
    proc.once('error', (err) => resolve(`spawn error: ${err.message}`));
    proc.once('exit', (code, signal) => resolve(code !== null ? `exit code ${code}` : `signal ${signal ?? '?'}`));
  });
  return {
    pid: proc.pid ?? -1,
    exited,
    tail: () => [...lines],
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
