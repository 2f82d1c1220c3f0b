// Settings and status file names and the settings file content (extension-handlers.md §1, §6).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExtensionSettings } from '../protocol/goal-state.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import type { WriteHealth } from '../state/write-health.js';
import { pyJsonDumps } from '../util/py-json.js';

/** The fields that name an extension's files. */
export type ExtensionFileKey = Pick<ExtensionSettings, 'name' | 'sequenceNumber'>;

/** Sequence number used for a handler without settings (its settings file is an empty `0.settings`). */
export const DEFAULT_SEQ_NO = 0;

/** `<seq>.settings` (single-config), `<extName>.<seq>.settings` (multi-config), `0.settings` without settings. */
export function settingsFileName(settings: ExtensionFileKey | null, multiConfig: boolean): string {
  if (settings === null) return `${DEFAULT_SEQ_NO}.settings`;
  return multiConfig ? `${settings.name}.${settings.sequenceNumber}.settings` : `${settings.sequenceNumber}.settings`;
}

/** `<seq>.status` (single-config) or `<extName>.<seq>.status` (multi-config). */
export function statusFileName(ext: ExtensionFileKey, multiConfig: boolean): string {
  return multiConfig ? `${ext.name}.${ext.sequenceNumber}.status` : `${ext.sequenceNumber}.status`;
}

/**
 * Exact settings file content, or '' for a handler without settings. Absent values are written as `null`:
 * extensions test for that.
 */
export function settingsFileContent(s: ExtensionSettings | null): string {
  if (s === null) return '';
  return pyJsonDumps({
    runtimeSettings: [
      {
        handlerSettings: {
          publicSettings: s.publicSettings ?? null,
          protectedSettings: s.protectedSettings ?? null,
          protectedSettingsCertThumbprint: s.certificateThumbprint ?? null,
        },
      },
    ],
  });
}

/**
 * Writes the settings file into `configDir` (mode 0600: it carries the protected-settings blob), creating the
 * directory with mode 0700 if needed. Older settings files are left in place. Returns the file path.
 */
export async function writeSettingsFile(
  configDir: string,
  settings: ExtensionSettings | null,
  multiConfig: boolean,
  health?: WriteHealth,
): Promise<string> {
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  const file = join(configDir, settingsFileName(settings, multiConfig));
  await writeFileAtomic(file, settingsFileContent(settings), { mode: 0o600, health });
  return file;
}
