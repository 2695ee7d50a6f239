import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/config.ts';
import { configuredOrKept, keptSecret, persistentSecret } from '../../../src/config/data-dir.ts';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'vw-data-dir-')), 'nested', 'data');

describe('secrets kept in the data directory', () => {
  it('generates a secret once, 32 random bytes in base64url, in a file only its owner may read', async () => {
    const dir = fresh();
    const first = await persistentSecret(dir, 'device-secret');
    expect(first.created).toBe(true);
    expect(first.file).toBe(join(dir, 'device-secret'));
    expect(first.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(first.file, 'utf8')).toBe(`${first.value}\n`);
    // Reused, not regenerated.
    const again = await persistentSecret(dir, 'device-secret');
    expect(again).toEqual({ value: first.value, file: first.file, created: false });
    expect(await keptSecret(dir, 'device-secret')).toBe(first.value);
    // Each name is a secret of its own.
    expect((await persistentSecret(dir, 'feed-token-secret')).value).not.toBe(first.value);
  });

  it('keeps one secret when several processes start at once', async () => {
    const dir = fresh();
    const all = await Promise.all(Array.from({ length: 8 }, () => persistentSecret(dir, 'capacity-secret')));
    expect(new Set(all.map((s) => s.value)).size).toBe(1);
    expect(all.filter((s) => s.created)).toHaveLength(1);
  });

  it('lets a secret set in the environment win, and keeps nothing then', async () => {
    const dir = fresh();
    expect(await configuredOrKept('from-the-environment-0123456789', dir, 'device-secret')).toEqual({ value: 'from-the-environment-0123456789', created: false });
    expect(await keptSecret(dir, 'device-secret')).toBeUndefined();
    const kept = await configuredOrKept(undefined, dir, 'device-secret');
    expect(kept.created).toBe(true);
    expect(await configuredOrKept('from-the-environment-0123456789', dir, 'device-secret')).toMatchObject({ value: 'from-the-environment-0123456789' });
  });

  it('refuses a kept secret others may read, or one that is not a secret', async () => {
    const dir = fresh();
    const { file } = await persistentSecret(dir, 'device-secret');
    chmodSync(file, 0o644);
    await expect(persistentSecret(dir, 'device-secret')).rejects.toThrow(ConfigError);
    await expect(persistentSecret(dir, 'device-secret')).rejects.toThrow(/chmod 600/);
    writeFileSync(file, 'short\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    await expect(persistentSecret(dir, 'device-secret')).rejects.toThrow(/at least 32 characters/);
    await expect(persistentSecret(dir, '../escape')).rejects.toThrow();
  });

  it('is .vw-data under the working directory unless VW_DATA_DIR says otherwise', () => {
    expect(loadConfig({}).dataDir).toBe(join(process.cwd(), '.vw-data'));
    expect(loadConfig({ VW_DATA_DIR: '/var/lib/vw' }).dataDir).toBe('/var/lib/vw');
  });
});
