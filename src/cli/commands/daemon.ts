// `waagent -daemon`: the supervising parent (src/daemon). It loads no HTTP/XML/validation code.
import { runDaemonProcess } from '../../daemon/daemon-main.js';
import type { GlobalOptions } from '../main.js';

export function runDaemon(opts: GlobalOptions): Promise<number> {
  return runDaemonProcess({
    ...(opts.configurationPath ? { configurationPath: opts.configurationPath } : {}),
    ...(opts.verbose ? { verbose: true } : {}),
  });
}
