import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { PARAM_LABEL } from '../../src/domain/labels.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { launchChromium } from '../support/chromium.ts';
import { testDataDir } from '../support/data-dir.ts';

/**
 * The console is ES modules loaded by the browser as they are, with no bundler: every module must be
 * served, load without error, and be used; and the words it shows come from vw's own label table.
 */
let app: VwApp;
let browser: Browser;

beforeAll(async () => {
  const config = loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'console-modules-secret-console-modules' });
  app = await startVw(config, { logger: createLogger({ level: 'silent' }) });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

/** Every JavaScript file of the console folder, as the URL path the page loads it from. */
function consoleModules(dir = 'dashboards/console'): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
    .map((entry) => `/${relative('dashboards/console', join(entry.parentPath, entry.name))}`)
    .sort();
}

describe('the console’s modules in a browser', () => {
  it('are all served and loaded, with no error, and label vitals from vw’s table', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
    });
    page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()}`));
    const scripts = new Map<string, number>();
    page.on('response', (response) => {
      const url = new URL(response.url());
      if (url.pathname.endsWith('.js') && !url.pathname.startsWith('/vendor/')) scripts.set(url.pathname, response.status());
    });

    await page.goto(`${app.httpUrl}/#token=${await app.tokens.issue({ sub: 'nurse.patel', wards: ['ward-ari'] })}`);
    await page.waitForSelector('[data-testid="patient-row"]');
    await expect.poll(() => page.locator('[data-testid="connection-status"]').textContent()).toBe('Live');

    expect([...scripts.keys()].sort()).toEqual(consoleModules());
    for (const [path, status] of scripts) expect(status, path).toBe(200);
    const labels = await page.locator('[data-testid="patient-row"]').first().locator('td[data-label]').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-label')));
    expect(labels).toEqual(['NEWS2', PARAM_LABEL.respiratory_rate, PARAM_LABEL.spo2, 'BP', PARAM_LABEL.heart_rate, PARAM_LABEL.temperature, PARAM_LABEL.consciousness, 'Last data']);
    expect(errors).toEqual([]);
    await page.close();
  });
});
