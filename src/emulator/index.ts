// Public surface of the fabric emulator (tests, demo, benchmarks, `waagent emulator`).
export { createEmulator, type Emulator, type EmulatorOptions, type EmulatorState, type StatusPredicate } from './server.js';
export { runEmulatorCli, defaultScenario, sampleHandlerDir, loadScenarioFile, parseListen, type EmulatorCliArgs } from './cli.js';
export { parseScenario, type Scenario, type ScenarioExtension, type ScenarioPackage, type ResolvedScenario } from './scenario.js';
export type { Fault, FaultSpec } from './faults.js';
export type { DocumentName, GoalStateInfo } from './fabric.js';
export type { StatusBlobRecord, HealthReportRecord, TelemetryRecord, HealthServiceRecord, RequestRecord, ServerName } from './recorder.js';
