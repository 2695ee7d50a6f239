import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A data directory of its own for one vw in a test: the embedded default keeps its bus, store and
 * secrets there, and two processes (or two vws in one test run) never share one.
 */
export function testDataDir(name = 'vw-test'): string {
  return join(mkdtempSync(join(tmpdir(), `${name}-`)), 'data');
}
