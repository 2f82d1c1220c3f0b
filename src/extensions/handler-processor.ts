// Processes each handler of a new extensions goal state: download, install, enable, disable, uninstall.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, Logger, Runner } from '../deps.js';
import { ExtCode, ExtensionError, errorMessage } from '../errors.js';
import type { ExtensionsGoalState, HandlerSpec, ExtensionSettings } from '../protocol/goal-state.js';
import { handlerDir, handlerLogDir, handlerZipPath, type Paths } from '../state/paths.js';
import { runHandlerCommand, isLongRunningHandler, type CommandContext, type HandlerOp } from './commands.js';
import type { ArtifactDownloader } from './download.js';
import { handlerEnvironmentFor, writeHandlerEnvironment } from './environment.js';
import { readHandlerState, writeHandlerState, writeHandlerStatus, type HandlerState } from './handler-state.js';
import { installedVersion, listHandlerDirs } from './installed.js';
import { requireCommand, type HandlerManifest } from './manifest.js';
import { addOwnerExecute, downloadPackage, fetchHandlerManifest, initializeManifest, loadHandlerManifest, pickVersion } from './package.js';
import { writeSettingsFile } from './settings.js';

export interface HandlerProcessorDeps {
  readonly paths: Paths;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly runner: Runner;
  readonly downloader: ArtifactDownloader;
  readonly wireServerAddress: string;
  readonly commandTimeoutMs: number;
  readonly longCommandTimeoutMs: number;
  readonly agentEnv: Readonly<Record<string, string | undefined>>;
}

/** A handler as the current goal state resolved it: the version chosen from its manifest. */
export interface ResolvedHandler {
  readonly spec: HandlerSpec;
  readonly version: string;
}

export class HandlerProcessor {
  /** Versions chosen for the goal state last processed, by handler name (for status reporting). */
  readonly resolved = new Map<string, string>();

  constructor(private readonly deps: HandlerProcessorDeps) {}

  async process(gs: ExtensionsGoalState, signal: AbortSignal): Promise<void> {
    // Uninstall/disable work first (highest dependency level first), then enable work by level (§10).
    const ordered = [...gs.handlers].sort((a, b) => sortKey(a) - sortKey(b));
    this.resolved.clear();
    for (const spec of ordered) {
      if (signal.aborted) return;
      await this.processHandler(spec, gs.source === 'FastTrack', signal);
    }
    await this.cleanupRemovedHandlers(gs);
  }

  private log(name: string, version: string): Logger {
    return this.deps.logger.child({ prefix: `[${name}-${version}]` });
  }

  private async processHandler(spec: HandlerSpec, fastTrack: boolean, signal: AbortSignal): Promise<void> {
    let version = spec.version;
    try {
      if (spec.invalidReason !== null) {
        throw new ExtensionError(`Ran into config errors: ${spec.invalidReason}.\nPlease retry again as another operation with updated settings`, ExtCode.PluginUnknownFailure);
      }
      const manifest = await fetchHandlerManifest(this.deps.downloader, spec, fastTrack, signal);
      if (spec.state === 'enabled') {
        const pkg = pickVersion(spec, manifest.packages);
        version = pkg.version;
        this.resolved.set(spec.name, version);
        const log = this.log(spec.name, version);
        if (version !== spec.version) log.info(`Requested version ${spec.version} resolved to ${version} from the manifest`);
        log.info(`Expected handler state: ${spec.state}`);
        await this.handleEnabled(spec, version, pkg, manifest.url, fastTrack, signal);
      } else {
        const installed = await installedVersion(this.deps.paths, spec.name);
        version = installed?.version ?? spec.version;
        this.resolved.set(spec.name, version);
        this.log(spec.name, version).info(`Expected handler state: ${spec.state}`);
        if (spec.state === 'disabled') await this.handleDisabled(spec, version);
        else await this.handleUninstall(spec, installed?.version ?? null);
      }
    } catch (err) {
      const code = err instanceof ExtensionError ? err.extCode : ExtCode.PluginUnknownFailure;
      const message = errorMessage(err);
      this.log(spec.name, version).error(`${spec.state === 'enabled' ? 'Enable' : spec.state} failed: ${message}`);
      if (spec.state !== 'uninstall') await this.setStatus(spec, version, 'NotReady', code, message);
    }
  }

  private configDir(name: string, version: string): string {
    return join(handlerDir(this.deps.paths, name, version), 'config');
  }

  private async setStatus(spec: HandlerSpec, version: string, status: 'Ready' | 'NotReady', code: number, message: string): Promise<void> {
    try {
      await writeHandlerStatus(this.configDir(spec.name, version), { name: spec.name, version, status, code, message, supportsMultiConfig: spec.isMultiConfig });
    } catch (err) {
      this.log(spec.name, version).error(`Cannot write HandlerStatus as ${errorMessage(err)}`);
    }
  }

  private async state(name: string, version: string): Promise<HandlerState> {
    return (await readHandlerState(this.configDir(name, version))).value;
  }

  private commandContext(name: string, version: string): CommandContext {
    const d = this.deps;
    return {
      runner: d.runner, clock: d.clock, logger: this.log(name, version), handlerName: name, version,
      baseDir: handlerDir(d.paths, name, version), logDir: handlerLogDir(d.paths, name), wireServerAddress: d.wireServerAddress,
      timeoutMs: isLongRunningHandler(name) ? d.longCommandTimeoutMs : d.commandTimeoutMs, agentEnv: d.agentEnv,
    };
  }

  private async run(spec: HandlerSpec, version: string, manifest: HandlerManifest, op: HandlerOp, settings: ExtensionSettings | null, extraEnv?: Record<string, string>): Promise<void> {
    const command = requireCommand(manifest, op);
    const log = this.log(spec.name, version);
    log.info(`${op[0]!.toUpperCase()}${op.slice(1)} extension: [${command}]`);
    const r = await runHandlerCommand(this.commandContext(spec.name, version), {
      op, command, seqNo: settings?.sequenceNumber ?? null,
      ...(spec.isMultiConfig && settings ? { extensionName: settings.name } : {}),
      ...(extraEnv ? { extraEnv } : {}),
    });
    log.info(`${op} completed in ${Math.round(r.durationMs)} ms`);
  }

  private async handleEnabled(spec: HandlerSpec, version: string, pkg: Parameters<typeof downloadPackage>[2], manifestUrl: string, fastTrack: boolean, signal: AbortSignal): Promise<void> {
    const d = this.deps;
    const baseDir = handlerDir(d.paths, spec.name, version);
    const configDir = join(baseDir, 'config');
    const current = await this.state(spec.name, version);
    let manifest: HandlerManifest;
    if (current === 'NotInstalled' || current === 'FailedUpgrade') {
      await mkdir(configDir, { recursive: true, mode: 0o700 });
      await writeHandlerState(configDir, 'NotInstalled');
      this.log(spec.name, version).info(`Downloading ${spec.name}-${version}`);
      await downloadPackage({ downloader: d.downloader, paths: d.paths, logger: this.log(spec.name, version) }, spec.name, pkg, baseDir, { manifestUrl, fastTrack, signal });
      manifest = await this.initialize(spec, version, baseDir);
      await this.writeSettings(spec, configDir);
      const old = await installedVersion(d.paths, spec.name);
      if (old && old.version !== version) {
        // The full upgrade/downgrade sequence is part of the extension-handling work; until then the
        // old version is disabled and removed before the new one is installed.
        await this.replaceOld(spec, old.version);
      }
      await this.run(spec, version, manifest, 'install', null);
      await writeHandlerState(configDir, 'Installed');
      await this.setStatus(spec, version, 'NotReady', 0, 'Plugin installed but not enabled');
    } else {
      manifest = await loadHandlerManifest(baseDir);
      await this.writeSettings(spec, configDir);
    }
    const settings = spec.settings.length > 0 ? spec.settings : [null];
    for (const s of settings) {
      if (s && s.state !== 'enabled') continue;
      await this.run(spec, version, manifest, 'enable', s);
    }
    await writeHandlerState(configDir, 'Enabled');
    await this.setStatus(spec, version, 'Ready', 0, 'Plugin enabled');
  }

  private async initialize(spec: HandlerSpec, version: string, baseDir: string): Promise<HandlerManifest> {
    const d = this.deps;
    await addOwnerExecute(baseDir);
    const manifest = await initializeManifest(baseDir);
    if (spec.isMultiConfig && !manifest.supportsMultipleExtensions) {
      throw new ExtensionError(`Handler ${spec.name} does not support MultiConfig but CRP expects it, failing due to inconsistent data`, ExtCode.PluginUnknownFailure);
    }
    const env = handlerEnvironmentFor(d.paths, spec.name, version);
    await mkdir(env.statusFolder, { recursive: true, mode: 0o700 });
    await mkdir(env.configFolder, { recursive: true, mode: 0o700 });
    await mkdir(env.logFolder, { recursive: true, mode: 0o755 });
    await mkdir(env.eventsFolder, { recursive: true, mode: 0o700 });
    await writeHandlerEnvironment(baseDir, env);
    return manifest;
  }

  private async writeSettings(spec: HandlerSpec, configDir: string): Promise<void> {
    if (spec.settings.length === 0) {
      await writeSettingsFile(configDir, null, false);
      return;
    }
    for (const s of spec.settings) await writeSettingsFile(configDir, s, spec.isMultiConfig);
  }

  private async replaceOld(spec: HandlerSpec, oldVersion: string): Promise<void> {
    const old = await loadHandlerManifest(handlerDir(this.deps.paths, spec.name, oldVersion));
    if ((await this.state(spec.name, oldVersion)) === 'Enabled') await this.run(spec, oldVersion, old, 'disable', spec.settings[0] ?? null);
    await this.run(spec, oldVersion, old, 'uninstall', null).catch((err) => this.log(spec.name, oldVersion).warn(errorMessage(err)));
    await this.removeVersion(spec.name, oldVersion);
  }

  private async handleDisabled(spec: HandlerSpec, version: string): Promise<void> {
    if ((await this.state(spec.name, version)) !== 'Enabled') return;
    const manifest = await loadHandlerManifest(handlerDir(this.deps.paths, spec.name, version));
    for (const s of spec.settings.length > 0 ? spec.settings : [null]) await this.run(spec, version, manifest, 'disable', s);
    await writeHandlerState(this.configDir(spec.name, version), 'Installed');
    await this.setStatus(spec, version, 'NotReady', 0, 'Plugin disabled');
  }

  private async handleUninstall(spec: HandlerSpec, version: string | null): Promise<void> {
    if (version === null) return;
    const state = await this.state(spec.name, version);
    if (state !== 'NotInstalled') {
      const manifest = await loadHandlerManifest(handlerDir(this.deps.paths, spec.name, version));
      if (state === 'Enabled') {
        // A disable failure aborts the uninstall (reported, nothing deleted, retried next goal state).
        for (const s of spec.settings.length > 0 ? spec.settings : [null]) await this.run(spec, version, manifest, 'disable', s);
      }
      await this.run(spec, version, manifest, 'uninstall', null).catch((err) => this.log(spec.name, version).warn(`Uninstall failed (ignored, as upstream): ${errorMessage(err)}`));
    }
    await this.removeVersion(spec.name, version);
  }

  private async removeVersion(name: string, version: string): Promise<void> {
    await rm(handlerDir(this.deps.paths, name, version), { recursive: true, force: true });
    await rm(handlerZipPath(this.deps.paths, name, version), { force: true });
    this.log(name, version).info('Removed handler directory');
  }

  /** Handlers no longer in the goal state are deleted without running any command (upstream §9.6). */
  private async cleanupRemovedHandlers(gs: ExtensionsGoalState): Promise<void> {
    const wanted = new Set(gs.handlers.map((h) => h.name.toLowerCase()));
    for (const d of await listHandlerDirs(this.deps.paths)) {
      if (wanted.has(d.name.toLowerCase())) continue;
      await this.removeVersion(d.name, d.version).catch((err) => this.deps.logger.warn(`Cannot remove ${d.dir}: ${errorMessage(err)}`));
    }
  }
}

/** Sort key of §10: negative for uninstall/disable work (highest level first), level for enable work. */
function sortKey(spec: HandlerSpec): number {
  const level = spec.settings.reduce((m, s) => Math.max(m, s.dependencyLevel), 0);
  return spec.state === 'enabled' ? level : -level - 1;
}

