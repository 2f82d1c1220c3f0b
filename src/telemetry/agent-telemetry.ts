// Telemetry for the extension-handler process: built from the World, fed by the handler and goal-state hooks.
import type { World } from '../compose.js';
import type { ExtensionsProcessor } from '../agent/loop.js';
import type { FullGoalState } from '../agent/goal-state-fetcher.js';
import type { Clock } from '../deps.js';
import { errorMessage } from '../errors.js';
import type { OperationResult } from '../extensions/handler-instance.js';
import type { HandlerOp } from '../extensions/commands.js';
import { readOsInfo } from '../platform/os-info.js';
import type { WireClient } from '../protocol/wire-client.js';
import { AGENT_NAME, WIRE_AGENT_NAME, runningVersion } from '../version.js';
import type { AgentEvents } from './agent-events.js';
import { readSystemFacts, type VmIdentity } from './common-params.js';
import { Op } from './event.js';
import { Telemetry, telemetryOptions } from './telemetry.js';

const OP_NAME: Record<HandlerOp, string> = { install: Op.Install, enable: Op.Enable, disable: Op.Disable, update: Op.Update, uninstall: Op.UnInstall };

export interface AgentTelemetry {
  readonly telemetry: Telemetry;
  /** InstanceDeps.onOperationResult: one operation event per handler command. */
  readonly onOperationResult: (r: OperationResult) => void;
  /** ExtensionProcessing events (started; completed or failed with its duration) around each goal state. */
  wrapProcessor(p: ExtensionsProcessor): ExtensionsProcessor;
  /** Starts the loops; the OSInfo (agent start) event follows once the goal state is known. */
  start(): void;
  stop(): Promise<void>;
}

export function identityOf(gs: FullGoalState | null): VmIdentity | null {
  if (!gs) return null;
  return {
    containerId: gs.wire.containerId,
    roleInstanceName: gs.wire.roleInstanceId,
    ...(gs.hostingEnv ? { tenantName: gs.hostingEnv.deploymentName, roleName: gs.hostingEnv.roleName } : {}),
  };
}

/**
 * Name: the agent's wire name (WALinuxAgent), so agent and extension events stay apart as upstream's are;
 * GAVersion: `waagent-ts-<version>`, so this agent's events are never mistaken for a WALinuxAgent release.
 */
export function createAgentTelemetry(world: World, wire: WireClient, latest: () => FullGoalState | null): AgentTelemetry {
  const version = runningVersion();
  const os = readOsInfo();
  const telemetry = new Telemetry({
    clock: world.clock, logger: world.logger, paths: world.paths,
    send: (body, signal) => wire.sendTelemetry(body, signal),
    facts: readSystemFacts(os), identity: () => identityOf(latest()),
    agentName: WIRE_AGENT_NAME, agentVersion: version, gaVersion: `${AGENT_NAME}-${version}`,
  }, telemetryOptions(world.config['Debug.EtpCollectionPeriod'], process.env));
  const events = telemetry.events;
  // The start event carries the goal state's identity, as upstream's (sent after the first goal state).
  let startPending = true;
  const recordStart = () => {
    if (!startPending) return;
    startPending = false;
    events.add({ op: Op.OSInfo, message: `Distro: ${os.id}-${os.version}; Agent: ${AGENT_NAME}-${version}; Node.js: ${process.version}; Arch: ${process.arch};` });
  };
  return {
    telemetry,
    onOperationResult: (r) => events.add({ name: r.name, version: r.version, op: OP_NAME[r.op], success: r.success, durationMs: r.durationMs, message: r.message }),
    wrapProcessor: (p) => {
      const wrapped = withProcessingEvents(p, events, world.clock);
      return {
        process(gs, signal) {
          recordStart();
          return wrapped.process(gs, signal);
        },
      };
    },
    start() {
      telemetry.start();
      if (latest()) recordStart();
    },
    stop: () => telemetry.stop(),
  };
}

export function withProcessingEvents(p: ExtensionsProcessor, events: AgentEvents, clock: Clock): ExtensionsProcessor {
  return {
    async process(gs, signal) {
      const start = clock.now();
      events.add({
        op: Op.ExtensionProcessing,
        message: `ProcessExtensionsGoalState started [${gs.id} channel: ${gs.channel} source: ${gs.source} activity: ${gs.activityId} correlation ${gs.correlationId}]`,
      });
      try {
        await p.process(gs, signal);
        const ms = Math.round(clock.now() - start);
        events.add({ op: Op.ExtensionProcessing, message: `ProcessExtensionsGoalState completed [${gs.id} ${ms} ms]\n`, durationMs: ms });
      } catch (err) {
        const ms = Math.round(clock.now() - start);
        events.add({ op: Op.ExtensionProcessing, success: false, message: `ProcessExtensionsGoalState failed [${gs.id} ${ms} ms]\n${errorMessage(err)}`, durationMs: ms });
        throw err;
      }
    },
  };
}
