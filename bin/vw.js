#!/usr/bin/env node
// The compiled CLI: `npm run build` writes dist/ (npm runs it on install in a clone, and before packing).
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('vw: dist/ is missing: run `npm run build` in the vw folder first (or `npm run demo`, which runs from source)\n');
  process.exit(1);
}
await import(main.href);
