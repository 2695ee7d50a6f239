import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Held in this process: two buses or stores on one journal would interleave their writes. */
const held = new Set<string>();

export class DirectoryInUseError extends Error {
  constructor(readonly dir: string, readonly pid: number | undefined) {
    super(`${dir} is in use by ${pid === process.pid || pid === undefined ? 'this process' : `process ${pid}`}: give each vw process its own data directory (VW_DATA_DIR)`);
    this.name = 'DirectoryInUseError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `dir/lock` for this process, or throws when a live process holds it. A lock left by a process
 * that died (kill -9, power loss) is taken over: its pid is no longer running.
 */
export function lockDirectory(dir: string): () => void {
  const path = join(resolve(dir), 'lock');
  if (held.has(path)) throw new DirectoryInUseError(dir, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      held.add(path);
      return () => {
        held.delete(path);
        rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let pid: number | undefined;
      try {
        pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      } catch {
        pid = undefined;
      }
      if (pid !== undefined && Number.isFinite(pid) && pid !== process.pid && alive(pid)) throw new DirectoryInUseError(dir, pid);
      rmSync(path, { force: true });
    }
  }
  throw new DirectoryInUseError(dir, undefined);
}
