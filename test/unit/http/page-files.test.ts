import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { startHttpServer } from '../../../src/http/http-server.ts';
import { createLogger } from '../../../src/observability/logger.ts';

/**
 * The console's static files: what a browser loads is served, subfolders included (the console's
 * generated/), and the tooling kept beside it is not. The console is ES modules with no bundler, so a
 * module the server does not serve breaks the page: every import of every served module must be served.
 */
const started: Array<{ close(): Promise<void> }> = [];
const scratch: string[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

async function serve(consoleDir: string) {
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, logger: createLogger({ level: 'silent' }), metrics: new Registry(), health: [], consoleDir });
  started.push(server);
  return server;
}

describe('a page folder', () => {
  it('serves the page’s files, in subfolders too, and not the tooling beside them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vw-page-'));
    scratch.push(dir);
    mkdirSync(join(dir, 'generated'));
    const files: Record<string, string> = {
      'index.html': '<!doctype html><title>x</title>',
      'app.js': "import './generated/table.js';",
      'app.css': 'body {}',
      'generated/table.js': 'export const TABLE = {};',
      'generated/frames.d.ts': 'export type Frame = { type: string };',
      'generated/frames.schema.json': '{}',
      'tsconfig.json': '{}',
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const { url } = await serve(dir);
    for (const [path, type, body] of [['/', 'text/html', files['index.html']], ['/app.js', 'text/javascript', files['app.js']], ['/app.css', 'text/css', files['app.css']], ['/generated/table.js', 'text/javascript', files['generated/table.js']]] as const) {
      const response = await fetch(`${url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toMatch(new RegExp(`^${type}`));
      expect(await response.text(), path).toBe(body);
    }
    for (const path of ['/tsconfig.json', '/generated/frames.d.ts', '/generated/frames.schema.json', '/generated/', '/generated']) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(404);
    }
  });
});

describe('the ward console (dashboards/console)', () => {
  it('has every module its page loads served, following each import', async () => {
    const { url } = await serve('dashboards/console');
    const page = await (await fetch(`${url}/`)).text();
    const entries = [...page.matchAll(/<script type="module" src="([^"]+)"/g)].map((m) => m[1]!);
    expect(entries).toEqual(['/console.js']);
    const seen = new Set<string>();
    const queue = [...entries];
    while (queue.length) {
      const path = queue.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const response = await fetch(`${url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toMatch(/^text\/javascript/);
      const source = await response.text();
      expect(source, path).toBe(readFileSync(join('dashboards/console', path), 'utf8'));
      for (const [, specifier] of source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gm)) {
        expect(specifier, `${path} imports ${specifier}`).toMatch(/^\.\.?\/.*\.js$/);
        queue.push(new URL(specifier!, `http://console${path}`).pathname);
      }
    }
    // The entry, the modules it is split into, and the generated labels all reach the browser.
    expect([...seen]).toEqual(expect.arrayContaining(['/console.js', '/frames.js', '/connection.js', '/labels.js', '/generated/labels.js']));
    expect(seen.size).toBeGreaterThanOrEqual(20);
  });
});
