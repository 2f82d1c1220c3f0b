// Pure: the ordered work of a goal state (extension-handlers.md §10).
import type { ExtensionSettings, HandlerSpec } from '../protocol/goal-state.js';

export interface WorkItem {
  readonly spec: HandlerSpec;
  /** null for a handler without settings (one handler-level item). */
  readonly settings: ExtensionSettings | null;
  readonly key: number;
}

/**
 * One item per settings entry (multi-config: per extension), a handler without settings yields one item.
 * Key: uninstall/disable work is negative (highest dependency level first), enable work is its level.
 */
export function workItems(handlers: readonly HandlerSpec[]): WorkItem[] {
  const items: WorkItem[] = [];
  for (const spec of handlers) {
    if (spec.settings.length === 0) {
      items.push({ spec, settings: null, key: spec.state === 'enabled' ? 0 : -1 });
      continue;
    }
    for (const s of spec.settings) {
      const level = s.dependencyLevel;
      const enabled = spec.state === 'enabled' && s.state === 'enabled';
      items.push({ spec, settings: s, key: enabled ? level : -level - 1 });
    }
  }
  // Array.prototype.sort is stable, as upstream's sort is.
  return items.sort((a, b) => a.key - b.key);
}

export function maxLevel(items: readonly WorkItem[]): number {
  return items.length === 0 ? 0 : items[items.length - 1]!.key;
}

/** Display name: `<Handler>` (single-config) or `<Handler>.<extName>` (multi-config). */
export function extensionFullName(spec: HandlerSpec, settings: ExtensionSettings | null): string {
  return spec.isMultiConfig && settings ? `${spec.name}.${settings.name}` : spec.name;
}
