// AgentLoop's reporting around restarts and updates, with fakes: a (re)started agent reports before it processes the
// goal state, and uploads once more (forced) before it exits for an agent update.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentLoop, type AgentUpdateStep, type ExtensionsProcessor, type StatusReporter } from '../../../src/agent/loop.js';
import type { FullGoalState, GoalStateFetcher } from '../../../src/agent/goal-state-fetcher.js';
import type { Logger } from '../../../src/deps.js';

const logger: Logger = { verbose: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => logger };
const gs = (id: string): FullGoalState => ({
  extensionsOutdated: false,
  extensions: { id, inSvdSeqNo: id, requiredFeatures: [], channel: 'WireServer', source: 'Fabric', activityId: 'a', correlationId: 'c', handlers: [] },
}) as unknown as FullGoalState;

function world(update: (n: number) => boolean = () => false) {
  const events: string[] = [];
  let current = gs('1');
  let checks = 0;
  const fetcher = { get latest() { return current; }, async update() { return { goalState: current }; } } as unknown as GoalStateFetcher;
  const processor: ExtensionsProcessor = { async process(egs) { events.push(`process ${egs.id}`); } };
  const reporter: StatusReporter = {
    async report(g, processed, opts) {
      events.push(`report ${g?.extensions.id} processed=${processed?.id ?? 'none'}${opts?.force ? ' force' : ''}`);
    },
  };
  const updater: AgentUpdateStep = { async check() { return update(++checks); } };
  const loop = new AgentLoop({ clock: { now: () => 0, sleep: async () => undefined }, logger, fetcher, processor, reporter, periodMs: 1000, updater });
  return { loop, events, publish: (id: string) => (current = gs(id)) };
}

test('the first iteration reports before processing; later new goal states are processed, then reported', async () => {
  const w = world();
  const signal = new AbortController().signal;
  await w.loop.runOnce(signal);
  assert.deepEqual(w.events, ['report 1 processed=none', 'process 1', 'report 1 processed=1']);
  w.events.length = 0;
  w.publish('2');
  await w.loop.runOnce(signal);
  assert.deepEqual(w.events, ['process 2', 'report 2 processed=2']);
});

test('exiting for an agent update: a forced upload first, also when it is the first check of the process', async () => {
  const later = world((n) => n === 2);
  const signal = new AbortController().signal;
  await later.loop.runOnce(signal);
  later.events.length = 0;
  await later.loop.runOnce(signal);
  assert.deepEqual(later.events, ['report 1 processed=1 force']);
  const atOnce = world(() => true);
  await atOnce.loop.runOnce(signal);
  assert.deepEqual(atOnce.events, ['report 1 processed=none force']);
});
