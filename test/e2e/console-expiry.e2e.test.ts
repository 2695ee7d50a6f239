import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { launchChromium } from '../support/chromium.ts';
import { until } from '../support/wait.ts';
import { publishAs } from '../support/ward-actions.ts';
import { testDataDir } from '../support/data-dir.ts';

/** The console when its sign-in runs out: it warns, renews through the deployment's hook or the form, or asks to sign in again. */
let app: VwApp;
let browser: Browser;

beforeAll(async () => {
  const config = loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'console-expiry-secret-console-expiry-secret' });
  app = await startVw(config, { logger: createLogger({ level: 'silent' }) });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function openConsole(token: string, refreshWith?: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  if (refreshWith) await page.addInitScript((fresh) => Object.assign(window, { vwRefreshToken: async () => fresh }), refreshWith);
  await page.goto(`${app.httpUrl}/#token=${token}`);
  await page.waitForSelector('[data-testid="patient-row"]');
  return page;
}

const status = (page: Page) => page.locator('[data-testid="connection-status"]').textContent();

describe('console sign-in expiry', () => {
  it('says the sign-in has expired and shows the sign-in form when the token runs out', async () => {
    // 4 s (3 to 4 s left, JWT expiry being in whole seconds): time to draw the ward first.
    const page = await openConsole(await app.tokens.issue({ sub: 'nurse.short', wards: ['ward-ari'] }, 4));
    const error = page.locator('[data-testid="auth-error"]');
    await expect.poll(() => error.textContent(), { timeout: 8_000 }).toBe('Your sign-in has expired: sign in again.');
    expect(await page.locator('#signin').isVisible()).toBe(true);
    expect(await page.locator('#ward').isVisible()).toBe(false);
    expect(await status(page)).toBe('Signed out');
    await page.close();
  });

  it('warns before expiry and renews the session with a token pasted into the form, without a reload', async () => {
    // Expiring in 60 s: within the two minutes' warning at once.
    const page = await openConsole(await app.tokens.issue({ sub: 'nurse.renew', wards: ['ward-ari'] }, 60));
    await expect.poll(() => page.locator('#banner').textContent()).toMatch(/^Your sign-in expires at \d\d:\d\d: sign in again below/);
    expect(await page.locator('#signin').isVisible()).toBe(true);
    expect(await page.locator('#ward').isVisible()).toBe(true);
    await page.locator('#token-input').fill(await app.tokens.issue({ sub: 'nurse.renew', wards: ['ward-ari'] }, 3600));
    await page.locator('#signin-form button[type="submit"]').click();
    await page.locator('#signin').waitFor({ state: 'hidden' });
    expect(await page.locator('#banner').isVisible()).toBe(false);
    expect(await status(page)).toBe('Live');
    await page.close();
  });

  it('renews through the deployment’s hook before expiry, and stays live past the first token’s expiry', async () => {
    const fresh = await app.tokens.issue({ sub: 'nurse.sso', wards: ['ward-ari'] }, 3600);
    const first = await app.tokens.issue({ sub: 'nurse.sso', wards: ['ward-ari'] }, 3);
    const page = await openConsole(first, fresh);
    // Past the first token's expiry, a reading for a patient of the ward: the feed would close a console
    // still on that token instead of sending it anything, so once the reading is on the page the session
    // is going on with the renewed one.
    const expiresAt = (JSON.parse(Buffer.from(first.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;
    await until(() => Date.now() > expiresAt, 10_000);
    await publishAs(app, 'oxi-0001', { measurement: 'pulse_oximetry', time: new Date().toISOString(), spo2: 94, pulseRate: 72 });
    const spo2 = page.locator('[data-testid="patient-row"][data-patient-id="pt-0001"] td[data-label="SpO₂"]');
    await expect.poll(() => spo2.textContent(), { timeout: 15_000 }).toContain('94');
    expect(await status(page)).toBe('Live');
    expect(await page.locator('#signin').isVisible()).toBe(false);
    expect(await page.locator('[data-testid="patient-row"]').count()).toBeGreaterThan(0);
    await page.close();
  });
});
