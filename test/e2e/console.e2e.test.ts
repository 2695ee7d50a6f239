import { mkdirSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { loadRegistryFile } from '../../src/registry/load.ts';
import { launchChromium } from '../support/chromium.ts';
import { connectDevice } from '../support/ward-actions.ts';
import { testDataDir } from '../support/data-dir.ts';

/** The nurse's view: the console page in a real browser, fed by a real pipeline. */
let app: VwApp;
let browser: Browser;
const clients: MqttClient[] = [];

async function publish(deviceId: string, payload: unknown): Promise<void> {
  const client = await connectDevice(app, deviceId);
  clients.push(client);
  await client.publishAsync(`vw/v1/devices/${deviceId}/readings`, JSON.stringify(payload), { qos: 1 });
  await client.endAsync();
}

const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();

beforeAll(async () => {
  const config = loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'console-e2e-secret-console-e2e-secret' });
  app = await startVw(config, { logger: createLogger({ level: 'silent' }) });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function openConsole(token: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${app.httpUrl}/#token=${token}`);
  return page;
}

describe('ward console in a browser', () => {
  it('shows the ward by acuity, raises the deteriorating patient’s alert and records the acknowledgement', async () => {
    const page = await openConsole(await app.tokens.issue({ sub: 'nurse.patel', wards: ['ward-ari'] }));
    await page.waitForSelector('[data-testid="patient-row"]');
    const onWard = new Set((await loadRegistryFile('seeds/demo-ward.yaml')).data.enrolments.filter((e) => e.wardId === 'ward-ari').map((e) => e.patientId));
    expect(await page.locator('[data-testid="patient-row"]').count()).toBe(onWard.size);

    await publish('app-0002', [
      { type: 'respiratory_rate', value: 27, unit: '/min', ts: ago(20) },
      { type: 'consciousness', value: 'A', ts: ago(20) },
      { type: 'supplemental_oxygen', value: false, ts: ago(20) },
    ]);
    await publish('oxi-0002', { measurement: 'pulse_oximetry', time: ago(15), spo2: 90, pulseRate: 126 });
    await publish('bp-0002', { measurement: 'blood_pressure', time: ago(12), systolic: 96, diastolic: 58, pulse: 125 });
    await publish('temp-0002', { measurement: 'body_temperature', time: ago(10), temperature: 39.3, unit: 'C' });

    const alert = page.locator('[data-testid="alert-item"][data-severity="high"]');
    await alert.waitFor({ timeout: 10_000 });
    expect(await alert.getAttribute('data-state')).toBe('open');
    // The deteriorating patient now heads the ward list.
    await expect.poll(() => page.locator('[data-testid="patient-row"]').first().getAttribute('data-patient-id')).toBe('pt-0002');
    // Its score rises to 12 as the last readings are scored: the row may first show a partial score.
    await expect.poll(() => page.locator('[data-testid="patient-row"]').first().locator('[data-testid="news2-total"]').textContent(), { timeout: 10_000 }).toContain('12');

    await alert.locator('[data-testid="ack-button"]').click();
    await page.locator('[data-testid="alert-item"][data-state="acknowledged"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-testid="alert-item"][data-state="acknowledged"]').textContent()).toContain('nurse.patel');

    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/console.png', fullPage: true });

    // Once reviewed, the nurse resolves it; it stays listed as resolved, with who resolved it.
    await page.locator('[data-testid="alert-item"][data-state="acknowledged"] [data-testid="resolve-button"]').click();
    const resolved = page.locator('[data-testid="alert-item"][data-state="resolved"]');
    await resolved.waitFor({ timeout: 10_000 });
    expect(await resolved.textContent()).toContain('Resolved by nurse.patel');
    await page.close();
  });

  it('shows who set a patient’s settings, when and why, and lets a nurse change them with a reason', async () => {
    const token = await app.tokens.issue({ sub: 'nurse.bailey', wards: ['ward-hf'] });
    const openPatient = async () => {
      const page = await openConsole(token);
      await page.locator('[data-testid="patient-row"][data-patient-id="pt-0004"]').click();
      await page.locator('[data-testid="settings-version"]').waitFor({ timeout: 10_000 });
      return page;
    };
    const colleague = await openPatient();
    const page = await openPatient();
    const version = page.locator('[data-testid="settings-version"]');
    expect(await version.getAttribute('data-version')).toBe('2');
    expect(await version.textContent()).toContain('hf.nurse.bailey');
    expect(await page.locator('[data-testid="settings-panel"]').textContent()).toContain('Dry weight revised after a week of oral diuresis');

    await page.locator('[data-testid="settings-edit"]').click();
    const weight = page.locator('[data-testid="setting-row"]', { has: page.locator('[data-testid="setting-name"][value="baselineWeight"]') });
    await weight.locator('[data-testid="setting-value"]').fill('80.5');
    // No reason, no change: the form says why and sends nothing.
    await page.locator('[data-testid="settings-save"]').click();
    await expect.poll(() => page.locator('[data-testid="settings-error"]').textContent()).toMatch(/why/i);
    await page.locator('[data-testid="settings-reason"]').fill('Dry weight after IV furosemide');
    await page.locator('[data-testid="settings-save"]').click();

    for (const p of [page, colleague]) {
      await p.locator('[data-testid="settings-version"][data-version="3"]').waitFor({ timeout: 10_000 });
      expect(await p.locator('[data-testid="settings-version"]').textContent()).toContain('nurse.bailey');
      expect(await p.locator('[data-testid="settings-panel"] [data-setting="baselineWeight"]').textContent()).toBe('80.5');
    }
    expect(await page.locator('[data-testid="settings-form"]').count()).toBe(0);

    await page.locator('[data-testid="settings-history-button"]').click();
    const items = page.locator('[data-testid="settings-history-item"]');
    await expect.poll(() => items.count()).toBe(4);
    expect(await items.first().getAttribute('data-version')).toBe('3');
    expect(await items.first().textContent()).toContain('Dry weight after IV furosemide');
    await colleague.close();
    await page.close();
  });

  it('shows a sign-in error, and no patient, for an invalid token', async () => {
    const page = await openConsole('not-a-valid-token');
    await page.locator('[data-testid="auth-error"]').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.locator('[data-testid="patient-row"]').count()).toBe(0);
    await page.close();
  });
});
