// Processes a new extensions goal state: work items in dependency order (§10), each handler through
// download, install or update, enable, disable and uninstall (§9), then removal of handlers no longer present.
import { mkdir } from 'node:fs/promises';
import { ExtCode, ExtensionError, errorMessage } from '../errors.js';
import type { ExtensionsGoalState, HandlerSpec } from '../protocol/goal-state.js';
import type { HandlerOp } from './commands.js';
import type { ArtifactDownloader } from './download.js';
import { HandlerInstance, type InstanceDeps } from './handler-instance.js';
import { installedVersion, listHandlerDirs } from './installed.js';
import { downloadPackage, fetchHandlerManifest, pickVersion } from './package.js';
import { statusFileName } from './settings.js';
import { readExtensionStatus } from './status-file.js';
import { ensureErrorStatusFile } from './status-placeholder.js';
import { updateHandler } from './update-sequence.js';
import { extensionFullName, maxLevel, workItems, type WorkItem } from './work-items.js';

export interface HandlerProcessorDeps extends Omit<InstanceDeps, 'onOperation'> {
  readonly downloader: ArtifactDownloader;
  /** How often a dependency's status file is polled (upstream: 5 s). */
  readonly dependencyPollMs?: number;
  /** Deadline for a whole goal state (upstream: 90 minutes). */
  readonly goalStateTimeoutMs?: number;
}

interface Prepared {
  readonly inst: HandlerInstance;
  readonly uninstallExitCode: string | null;
}

export interface InProgress {
  readonly version: string;
  readonly op: HandlerOp;
}

export class HandlerProcessor {
  /** Versions chosen for the goal state last processed, by handler name (for status reporting). */
  readonly resolved = new Map<string, string>();
  /** Commands running now, by handler name (status shows them as transitioning). */
  readonly inProgress = new Map<string, InProgress>();
  private readonly instDeps: InstanceDeps;

  constructor(private readonly deps: HandlerProcessorDeps) {
    this.instDeps = {
      ...deps,
      onOperation: (name, version, op) => (op ? this.inProgress.set(name, { version, op }) : this.inProgress.delete(name)),
    };
  }

  async process(gs: ExtensionsGoalState, signal: AbortSignal): Promise<void> {
    const { clock } = this.deps;
    const items = workItems(gs.handlers);
    const max = maxLevel(items);
    const deadline = clock.now() + (this.deps.goalStateTimeoutMs ?? 90 * 60_000);
    const prepared = new Map<string, Promise<Prepared>>();
    const fastTrack = gs.source === 'FastTrack';
    this.resolved.clear();
    let dependencyError: string | null = null;
    for (const item of items) {
      if (signal.aborted) return;
      if (dependencyError !== null) {
        await this.blockDependent(item, dependencyError);
        continue;
      }
      const ok = await this.processItem(item, prepared, fastTrack, signal);
      if (item.key >= 0 && item.key < max && item.settings) {
        const name = extensionFullName(item.spec, item.settings);
        dependencyError = ok
          ? await this.waitForTerminal(item, prepared, deadline, signal)
          : `Skipping processing of extensions since execution of dependent extension ${name} failed`;
      }
    }
    await this.cleanupRemovedHandlers(gs);
  }

  private instance(spec: HandlerSpec, version: string): HandlerInstance {
    return new HandlerInstance(this.instDeps, spec, version);
  }

  /** Runs one work item; returns false when it failed (the failure is already reported). */
  private async processItem(item: WorkItem, prepared: Map<string, Promise<Prepared>>, fastTrack: boolean, signal: AbortSignal): Promise<boolean> {
    const { spec, settings } = item;
    let inst: HandlerInstance | null = null;
    try {
      if (spec.invalidReason !== null) {
        throw new ExtensionError(`Ran into config errors: ${spec.invalidReason}.\nPlease retry again as another operation with updated settings`, ExtCode.PluginUnknownFailure);
      }
      if (spec.state === 'uninstall') {
        await onceFor(prepared, spec.name, () => this.uninstall(spec, fastTrack, signal));
        return true;
      }
      if (spec.state === 'disabled') {
        inst = (await onceFor(prepared, spec.name, () => this.installedInstance(spec))).inst;
        await this.disableItem(inst, item);
        return true;
      }
      const p = await onceFor(prepared, spec.name, () => this.prepareEnabled(spec, fastTrack, signal));
      inst = p.inst;
      await this.enableItem(inst, item, p.uninstallExitCode);
      return true;
    } catch (err) {
      const code = err instanceof ExtensionError ? err.extCode : ExtCode.PluginUnknownFailure;
      const message = errorMessage(err);
      const version = inst?.version ?? this.resolved.get(spec.name) ?? spec.version;
      const target = inst ?? this.instance(spec, version);
      target.log.error(`${extensionFullName(spec, settings)}: ${spec.state} failed: ${message}`);
      if (spec.state === 'uninstall') return false;
      if (spec.isMultiConfig && settings && inst && (await inst.state()) !== 'NotInstalled') {
        // A multi-config extension's failure is its own: the handler status stays, the extension reports error.
        await ensureErrorStatusFile(inst.statusDir, statusFileName(settings, true), extensionFullName(spec, settings), spec.state === 'enabled' ? 'Enable' : 'Disable', code,
          `Error processing MultiConfig extension ${extensionFullName(spec, settings)}: ${message}`, this.deps.clock.now(), this.deps.writeHealth).catch(() => undefined);
      } else {
        await mkdir(target.configDir, { recursive: true, mode: 0o700 }).catch(() => undefined);
        await target.setStatus('NotReady', code, message);
      }
      return false;
    }
  }

  /** Manifest, version choice, download and install or update: once per handler per goal state. */
  private async prepareEnabled(spec: HandlerSpec, fastTrack: boolean, signal: AbortSignal): Promise<Prepared> {
    const d = this.deps;
    const manifest = await fetchHandlerManifest(d.downloader, spec, fastTrack, signal, d.logger);
    const pkg = pickVersion(spec, manifest.packages);
    this.resolved.set(spec.name, pkg.version);
    const inst = this.instance(spec, pkg.version);
    const offered = manifest.packages.map((p) => p.version).join(', ');
    inst.log.info(`Expected handler state: ${spec.state}`);
    inst.log.info(`Version ${pkg.version} chosen for requested ${spec.version}: the highest matching version among ${offered}`);
    const state = await inst.state();
    if (state !== 'NotInstalled' && state !== 'FailedUpgrade') {
      await inst.writeSettings();
      return { inst, uninstallExitCode: null };
    }
    await mkdir(inst.configDir, { recursive: true, mode: 0o700 });
    await inst.setState('NotInstalled');
    inst.log.info(`Downloading ${spec.name}-${pkg.version}`);
    await downloadPackage({ downloader: d.downloader, paths: d.paths, logger: inst.log }, spec.name, pkg, inst.baseDir, { manifestUrl: manifest.url, fastTrack, ...(signal ? { signal } : {}) });
    const handlerManifest = await inst.initialize();
    await inst.writeSettings();
    const old = await installedVersion(d.paths, spec.name);
    if (old && old.version !== pkg.version) {
      const { uninstallExitCode } = await updateHandler(this.instance(spec, old.version), inst, handlerManifest);
      return { inst, uninstallExitCode };
    }
    // Install sees the goal state's sequence number too (handlers read the matching settings file).
    await inst.run('install', spec.isMultiConfig ? null : spec.settings[0] ?? null);
    await inst.setState('Installed');
    await inst.setStatus('NotReady', 0, 'Plugin installed but not enabled');
    return { inst, uninstallExitCode: null };
  }

  private async enableItem(inst: HandlerInstance, item: WorkItem, uninstallExitCode: string | null): Promise<void> {
    const s = item.settings;
    const env = uninstallExitCode === null ? undefined : { AZURE_GUEST_AGENT_UNINSTALL_CMD_EXIT_CODE: uninstallExitCode };
    if (s && inst.spec.isMultiConfig && s.state !== 'enabled') {
      await this.disableMcExtension(inst, s.name, s);
      return;
    }
    await inst.run('enable', s, env);
    if (s && inst.spec.isMultiConfig) await inst.setExtState(s.name, 'enabled');
    await inst.setState('Enabled');
    await inst.setStatus('Ready', 0, 'Plugin enabled');
  }

  /** A multi-config extension requested disabled: disabled once (errors ignored), then its files removed. */
  private async disableMcExtension(inst: HandlerInstance, ext: string, s: WorkItem['settings']): Promise<void> {
    if ((await inst.state()) === 'NotInstalled') return;
    if ((await inst.extState(ext)) === 'enabled') {
      await inst.run('disable', s).catch((err) => inst.log.warn(`Disable of ${ext} failed (ignored): ${errorMessage(err)}`));
    }
    await inst.removeExtensionFiles(ext);
    await this.settleMcHandlerState(inst);
  }

  /** The handler is Installed (not Enabled) once no multi-config extension remains enabled. */
  private async settleMcHandlerState(inst: HandlerInstance): Promise<void> {
    for (const x of inst.spec.settings) if ((await inst.extState(x.name)) === 'enabled') return;
    if ((await inst.state()) === 'Enabled') {
      await inst.setState('Installed');
      await inst.setStatus('NotReady', 0, 'Plugin disabled');
    }
  }

  private async installedInstance(spec: HandlerSpec): Promise<Prepared> {
    const installed = await installedVersion(this.deps.paths, spec.name);
    const inst = this.instance(spec, installed?.version ?? spec.version);
    this.resolved.set(spec.name, inst.version);
    inst.log.info(`Expected handler state: ${spec.state}`);
    return { inst, uninstallExitCode: null };
  }

  /** Legacy handler-level `disabled`: run disable if enabled. */
  private async disableItem(inst: HandlerInstance, item: WorkItem): Promise<void> {
    if (inst.spec.isMultiConfig && item.settings) {
      if ((await inst.extState(item.settings.name)) === 'enabled') {
        await inst.run('disable', item.settings);
        await inst.setExtState(item.settings.name, 'disabled');
      }
      await this.settleMcHandlerState(inst);
      return;
    }
    if ((await inst.state()) !== 'Enabled') return;
    await inst.run('disable', item.settings);
    await inst.setState('Installed');
    await inst.setStatus('NotReady', 0, 'Plugin disabled');
  }

  /** Disable what is enabled (a failure aborts: nothing deleted, retried next goal state), uninstall, remove. */
  private async uninstall(spec: HandlerSpec, fastTrack: boolean, signal: AbortSignal): Promise<Prepared> {
    // Upstream fails the uninstall when the manifest cannot be fetched; we only log it, so that an
    // extension whose manifest is gone can still be removed.
    await fetchHandlerManifest(this.deps.downloader, spec, fastTrack, signal).catch((err) => this.deps.logger.warn(`${spec.name}: ${errorMessage(err)}`));
    const { inst } = await this.installedInstance(spec);
    const state = await inst.state();
    if (state !== 'NotInstalled') {
      if (state === 'Enabled') {
        const targets = spec.isMultiConfig ? spec.settings : [spec.settings[0] ?? null];
        for (const s of targets) {
          if (spec.isMultiConfig && s && (await inst.extState(s.name)) !== 'enabled') continue;
          try {
            await inst.run('disable', s);
          } catch (err) {
            await inst.setStatus('NotReady', ExtCode.PluginDisableProcessingFailed, errorMessage(err));
            throw err;
          }
        }
      }
      await inst.run('uninstall', null).catch((err) => inst.log.warn(`Uninstall failed (ignored, as upstream): ${errorMessage(err)}`));
    }
    await inst.remove();
    return { inst, uninstallExitCode: null };
  }

  /** Polls the item's status file until it is terminal; returns the dependency error, or null. */
  private async waitForTerminal(item: WorkItem, prepared: Map<string, Promise<Prepared>>, deadline: number, signal: AbortSignal): Promise<string | null> {
    const { clock } = this.deps;
    const p = await prepared.get(item.spec.name);
    if (!p || !item.settings) return null;
    const name = extensionFullName(item.spec, item.settings);
    let last = 'unknown';
    for (;;) {
      const st = await readExtensionStatus({
        statusDir: p.inst.statusDir, fileName: statusFileName(item.settings, item.spec.isMultiConfig),
        extensionName: item.settings.name, extensionFullName: name, fullName: `${name}-${p.inst.version}`, seq: item.settings.sequenceNumber,
      });
      if (st.outcome !== 'missing') last = String(st.status);
      if (st.outcome !== 'missing' && st.status === 'success') return null;
      if (st.outcome !== 'missing' && st.status === 'error') return `Dependent Extension ${name} did not succeed. Status was error`;
      if (clock.now() >= deadline) return `Dependent Extension ${name} did not reach a terminal state within the allowed timeout. Last status was ${last}`;
      try {
        await clock.sleep(this.deps.dependencyPollMs ?? 5000, signal);
      } catch {
        return 'Goal state processing was stopped';
      }
    }
  }

  private async blockDependent(item: WorkItem, reason: string): Promise<void> {
    const { spec, settings } = item;
    const version = (await installedVersion(this.deps.paths, spec.name))?.version ?? spec.version;
    this.resolved.set(spec.name, this.resolved.get(spec.name) ?? version);
    const inst = this.instance(spec, this.resolved.get(spec.name)!);
    inst.log.warn(`${extensionFullName(spec, settings)} not processed: ${reason}`);
    await mkdir(inst.configDir, { recursive: true, mode: 0o700 }).catch(() => undefined);
    if (spec.isMultiConfig && settings) {
      await ensureErrorStatusFile(inst.statusDir, statusFileName(settings, true), extensionFullName(spec, settings), 'Enable', ExtCode.PluginUnknownFailure, reason, this.deps.clock.now(), this.deps.writeHealth).catch(() => undefined);
    } else {
      await inst.setStatus('NotReady', ExtCode.PluginUnknownFailure, reason);
    }
  }

  /** Handlers no longer in the goal state are deleted without running any command (upstream §9.6). */
  private async cleanupRemovedHandlers(gs: ExtensionsGoalState): Promise<void> {
    const wanted = new Set(gs.handlers.map((h) => h.name.toLowerCase()));
    for (const d of await listHandlerDirs(this.deps.paths)) {
      if (wanted.has(d.name.toLowerCase())) continue;
      const spec: HandlerSpec = { name: d.name, version: d.version, state: 'uninstall', manifestUris: [], encodedSignature: null, isMultiConfig: false, settings: [], invalidReason: null };
      await this.instance(spec, d.version).remove().catch((err) => this.deps.logger.warn(`Cannot remove ${d.dir}: ${errorMessage(err)}`));
    }
  }
}

/** The first call for a key runs fn; later calls share its result (or its failure). */
function onceFor<T>(cache: Map<string, Promise<T>>, key: string, fn: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (!p) {
    p = fn();
    cache.set(key, p);
  }
  return p;
}
