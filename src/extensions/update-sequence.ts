// Upgrade/downgrade from an installed version to a new one, in upstream's exact order (§9.5).
import { ExtCode, ExtensionError, errorMessage } from '../errors.js';
import type { HandlerManifest } from './manifest.js';
import { pyJsonDumps } from '../util/py-json.js';
import { compareVersions } from './version.js';
import { exitCodeOf, type HandlerInstance } from './handler-instance.js';

export interface UpdateResult {
  /** Exit code of the old version's uninstall (or NOT_RUN), passed to the new install and enable. */
  readonly uninstallExitCode: string;
}

/**
 * old disable (if enabled) → copy mrseq and status → update (new's, or old's on a downgrade) → old uninstall →
 * remove old → new install unless updateMode is UpdateWithoutInstall. The caller runs enable afterwards.
 * `continueOnUpdateFailure` (from the new manifest) tolerates failures of the old handler's disable and uninstall.
 */
export async function updateHandler(oldI: HandlerInstance, newI: HandlerInstance, newManifest: HandlerManifest): Promise<UpdateResult> {
  const log = newI.log;
  const tolerate = newManifest.continueOnUpdateFailure;
  const upgrade = compareVersions(newI.version, oldI.version) > 0;
  log.info(`${upgrade ? 'Upgrading' : 'Downgrading'} ${newI.name} from ${oldI.version} to ${newI.version} (continueOnUpdateFailure: ${tolerate})`);

  // 1. Disable the old version's enabled extensions, collecting exit codes.
  const disableCodes = new Map<string, string>();
  if ((await oldI.state()) === 'Enabled') {
    const targets = oldI.spec.settings.length > 0 && oldI.spec.isMultiConfig ? oldI.spec.settings : [oldI.spec.settings[0] ?? null];
    for (const s of targets) {
      const key = s?.name ?? oldI.name;
      if (oldI.spec.isMultiConfig && s && (await oldI.extState(s.name)) !== 'enabled') {
        disableCodes.set(key, 'NOT_RUN');
        continue;
      }
      try {
        await oldI.run('disable', s);
        disableCodes.set(key, '0');
      } catch (err) {
        if (!tolerate) throw new ExtensionError(`${errorMessage(err)}; ContinueOnUpdate: False`, ExtCode.PluginUpdateProcessingFailed);
        disableCodes.set(key, exitCodeOf(err));
        log.warn(`Old version's disable failed; continuing as continueOnUpdateFailure is set: ${errorMessage(err)}`);
      }
    }
  }

  // 2. The extension's own sequence marker and status files move with it.
  await oldI.copyStateTo(newI);

  // 3. Update: the new version's command on an upgrade, the old version's on a downgrade.
  const env: Record<string, string> = {
    VERSION: newI.version,
    AZURE_GUEST_AGENT_UPDATING_FROM_VERSION: upgrade ? oldI.version : newI.version,
  };
  if (newI.spec.isMultiConfig) {
    env.AZURE_GUEST_AGENT_DISABLE_CMD_EXIT_CODES_MULTIPLE_EXTENSIONS = pyJsonDumps(
      [...disableCodes].map(([extensionName, exitCode]) => ({ extensionName, exitCode })),
    );
  } else {
    env.AZURE_GUEST_AGENT_DISABLE_CMD_EXIT_CODE = [...disableCodes.values()][0] ?? 'NOT_RUN';
  }
  const updater = upgrade ? newI : oldI;
  try {
    await updater.run('update', newI.spec.isMultiConfig ? null : newI.spec.settings[0] ?? null, env);
  } catch (err) {
    await updater.setState('FailedUpgrade');
    throw new ExtensionError(errorMessage(err), ExtCode.PluginUpdateProcessingFailed, { cause: err });
  }

  // 4. Uninstall the old version.
  let uninstallExitCode = '0';
  try {
    await oldI.run('uninstall', oldI.spec.isMultiConfig ? null : oldI.spec.settings[0] ?? null);
  } catch (err) {
    if (!tolerate) throw new ExtensionError(`${errorMessage(err)}; ContinueOnUpdate: False`, ExtCode.PluginUpdateProcessingFailed);
    uninstallExitCode = exitCodeOf(err);
    log.warn(`Old version's uninstall failed; continuing as continueOnUpdateFailure is set: ${errorMessage(err)}`);
  }

  // 5. Remove the old version.
  await oldI.remove();

  // 6. Install, unless the new handler updates in place.
  if (newManifest.installOnUpdate) {
    await newI.run('install', newI.spec.isMultiConfig ? null : newI.spec.settings[0] ?? null, { AZURE_GUEST_AGENT_UNINSTALL_CMD_EXIT_CODE: uninstallExitCode });
  } else {
    log.info(`Skipping install as updateMode is ${newManifest.updateMode}`);
  }
  await newI.setState('Installed');
  return { uninstallExitCode };
}
