// The provisioning health report. Upstream's daemon sends it; ours is sent by the extension handler so the
// parent never loads the HTTP stack. waagent-ts does not provision VMs itself: cloud-init does (it reports
// ready to the fabric on its own), so only `Provisioning.Agent=disabled` makes us report Ready, as upstream
// does at every start in that mode.
import type { Logger } from '../deps.js';
import { errorMessage } from '../errors.js';
import type { WireGoalState } from '../protocol/goal-state.js';
import type { WireClient } from '../protocol/wire-client.js';

export async function reportProvisioningHealth(mode: string, wire: WireClient, gs: WireGoalState, logger: Logger, signal?: AbortSignal): Promise<void> {
  if (mode !== 'disabled') {
    logger.info(`Provisioning.Agent=${mode}: provisioning and its health report are left to cloud-init`);
    return;
  }
  try {
    await wire.reportHealth({ incarnation: gs.incarnation, containerId: gs.containerId, roleInstanceId: gs.roleInstanceId, state: 'Ready' }, signal);
    logger.info('Provisioning is disabled: reported Ready to the fabric');
  } catch (err) {
    logger.warn(`Cannot report health to the fabric: ${errorMessage(err)}`);
  }
}
