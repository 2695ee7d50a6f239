import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The folder of vw's package.json: the rules, seeds, console and scenarios shipped with it live there.
 * Found by walking up, so it is the same whether vw runs from its TypeScript source, from dist/, or
 * from an installed package.
 */
export function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'vw') return dir;
    } catch {
      // no package.json here, or not one we can read: keep walking up
    }
    if (dirname(dir) === dir) throw new Error(`vw's package.json was not found above ${from}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(import.meta.dirname);
