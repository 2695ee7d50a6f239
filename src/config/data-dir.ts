import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from './config.ts';

/**
 * Secrets the embedded default keeps between runs, in the data directory (VW_DATA_DIR): each one a
 * file of its own, mode 0600, in a directory created with mode 0700. A secret set in the environment
 * always wins and is never written here; a deployment sets its secrets and need keep nothing.
 */
export interface KeptSecret {
  value: string;
  /** The file it is kept in. */
  file: string;
  /** Whether this call generated it (the first run), rather than reading it back. */
  created: boolean;
}

/** Names a kept secret may have: a plain file name, no paths. */
const NAME = /^[a-z0-9-]+$/;
/** Shorter than this and the file is not a secret vw wrote (32 random bytes are 43 characters). */
const MIN_LENGTH = 32;

/**
 * The secret kept in `dir/name`, generated (32 random bytes, base64url) the first time. Two processes
 * starting at once keep the same one: the file is created whole, or not at all, and the loser reads it.
 * A file others may read is refused rather than used.
 */
export async function persistentSecret(dir: string, name: string): Promise<KeptSecret> {
  if (!NAME.test(name)) throw new Error(`not a secret's name: ${name}`);
  const file = join(dir, name);
  const kept = await readKept(file);
  if (kept !== undefined) return { value: kept, file, created: false };
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new ConfigError(`cannot create the data directory ${dir} (VW_DATA_DIR) to keep ${name}: ${(error as Error).message}`);
  }
  const value = randomBytes(32).toString('base64url');
  const temp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(temp, `${value}\n`, { mode: 0o600, flag: 'wx' });
    try {
      // link() fails if the name exists: the secret appears complete, once, whoever races for it.
      await link(temp, file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return { value: (await readKept(file))!, file, created: false };
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
      // A file system without hard links: exclusive create, then write.
      try {
        await writeFile(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
      } catch (inner) {
        if ((inner as NodeJS.ErrnoException).code === 'EEXIST') return { value: (await readKept(file))!, file, created: false };
        throw inner;
      }
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot keep ${name} in ${dir} (VW_DATA_DIR): ${(error as Error).message}`);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  return { value, file, created: true };
}

/**
 * The secret from the environment (`configured`) when set; otherwise the one kept in the data
 * directory, generated the first time.
 */
export async function configuredOrKept(configured: string | undefined, dir: string, name: string): Promise<{ value: string; file?: string; created: boolean }> {
  if (configured) return { value: configured, created: false };
  return persistentSecret(dir, name);
}

/** The secret kept in `dir/name`, or undefined when there is none yet. Never creates one. */
export async function keptSecret(dir: string, name: string): Promise<string | undefined> {
  if (!NAME.test(name)) throw new Error(`not a secret's name: ${name}`);
  return readKept(join(dir, name));
}

async function readKept(file: string): Promise<string | undefined> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new ConfigError(`${file} may be read by others (mode ${(mode & 0o777).toString(8)}): chmod 600 ${file}, or remove it to have a new secret generated`);
  }
  const value = (await readFile(file, 'utf8')).trim();
  if (value.length < MIN_LENGTH) throw new ConfigError(`${file} does not hold a secret of at least ${MIN_LENGTH} characters: remove it to have a new one generated`);
  return value;
}
