// Removing a handler folder so that a kill half-way never leaves a half-deleted handler behind.
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isAlive } from '../platform/process-alive.js';

/** `.waagent-removing.<pid>.<12 hex>`: not a `<Name>-<Version>` folder, so never taken for a handler. */
const TRASH_RE = /^\.waagent-removing\.(\d+)\.[0-9a-f]{12}$/;


/**
 * Renames `dir` out of the way (atomic) and then deletes it. A recursive delete killed half-way (SIGKILL, power
 * loss) would leave a folder whose `config/HandlerState` still says Installed or Enabled but whose scripts are gone:
 * every later goal state would then fail running its disable or update command. Left-over renamed folders of
 * processes that are gone are deleted here too.
 */
export async function removeDirAtomically(dir: string): Promise<void> {
  const parent = dirname(dir);
  const trash = join(parent, `.waagent-removing.${process.pid}.${randomBytes(6).toString('hex')}`);
  let target = trash;
  try {
    await rename(dir, trash);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Gone already; or not renamable (a mount point, odd permissions): delete in place as before.
    target = code === 'ENOENT' ? '' : dir;
  }
  if (target) await rm(target, { recursive: true, force: true });
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    const pid = TRASH_RE.exec(name)?.[1];
    if (pid !== undefined && !isAlive(Number(pid))) await rm(join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
}
