import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPackageRoot, PACKAGE_ROOT } from '../../../src/config/package-root.ts';

describe('the package root', () => {
  it('is the folder of vw’s package.json, found from the source', () => {
    expect(PACKAGE_ROOT).toBe(resolve(import.meta.dirname, '..', '..', '..'));
  });

  it('is found from compiled code deeper down, past another package’s package.json', () => {
    const root = mkdtempSync(join(tmpdir(), 'vw-root-'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'vw' }));
    mkdirSync(join(root, 'dist', 'src', 'config'), { recursive: true });
    // An unrelated package.json between (as a bundler or workspace might leave) is walked past.
    writeFileSync(join(root, 'dist', 'package.json'), JSON.stringify({ type: 'module' }));
    expect(findPackageRoot(join(root, 'dist', 'src', 'config'))).toBe(root);
  });

  it('says so when there is none above', () => {
    expect(() => findPackageRoot(mkdtempSync(join(tmpdir(), 'vw-none-')))).toThrow(/package\.json was not found/);
  });
});
