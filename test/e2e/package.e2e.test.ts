import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/processes.ts';
import { until } from '../support/wait.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * The package as a trust would install it: `npm pack` (which builds dist/), installed from the
 * tarball into an empty folder with its production dependencies from the registry, run as `vw`.
 */
describe('the npm package', { timeout: 300_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'vw-package-'));
  const app = join(work, 'app');
  let tarball = '';
  let files: string[] = [];

  beforeAll(() => {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(work, packed[0]!.filename);
    files = packed[0]!.files.map((f) => f.path);
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'trust-deployment', private: true }));
    execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, stdio: ['ignore', 'ignore', 'inherit'] });
  }, 300_000);

  afterAll(() => execFileSync('rm', ['-rf', work]));

  it('holds the built CLI and what it reads at run time, and no tests or TypeScript sources', () => {
    expect(files).toEqual(expect.arrayContaining(['bin/vw.js', 'dist/src/cli/main.js', 'dist/simulators/fleet/fleet-worker.js', 'rules/news2.yaml', 'seeds/demo-ward.yaml', 'dashboards/console/index.html', 'dashboards/console/console.js', 'dashboards/console/generated/labels.js', 'simulators/scenarios/demo.yaml']));
    expect(files.filter((f) => f.startsWith('test/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
    // Installed without tsx or TypeScript: the package runs as JavaScript.
    expect(readdirSync(join(app, 'node_modules'))).not.toContain('tsx');
    expect(readdirSync(join(app, 'node_modules'))).not.toContain('typescript');
  });

  it('scores NEWS2 from the installed package', () => {
    const run = spawnSync(join(app, 'node_modules', '.bin', 'vw'), ['score', 'news2'], { cwd: app, input: JSON.stringify({ respiratory_rate: 25, spo2: 91, systolic_bp: 100, heart_rate: 131, consciousness: 'A', temperature: 39.1, supplemental_oxygen: false }), encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({ total: 13, band: 'high' });
  });

  it('runs `vw demo` in an empty folder: console, health and metrics served, and stops on SIGTERM', async () => {
    const [http, mqtt] = [await freePort(), await freePort()];
    const child = spawn(join(app, 'node_modules', '.bin', 'vw'), ['demo'], { cwd: app, env: { ...process.env, VW_HTTP_PORT: String(http), VW_MQTT_EMBEDDED_PORT: String(mqtt), VW_DATA_DIR: join(app, 'data') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      await until(() => out.includes('vw demo is running'), 120_000);
      const base = `http://127.0.0.1:${http}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
      // The planner view's page ships too.
      expect((await fetch(`${base}/planner/`)).status).toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain('vw_readings_ingested_total');
      // The simulated ward publishes through the embedded broker and readings arrive.
      let metrics = '';
      const ingested = () => /vw_readings_ingested_total\{[^}]*\} [1-9]/.test(metrics);
      for (const deadline = Date.now() + 60_000; !ingested() && Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
        metrics = await (await fetch(`${base}/metrics`)).text();
      }
      expect(ingested()).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(err).not.toMatch(/Error|ERR_/);
  });
});
