/// <reference lib="dom" />
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { launchChromium } from '../support/chromium.ts';
import { metricOf } from '../support/processes.ts';
import { postFlow as postFlowAs, publishAs } from '../support/ward-actions.ts';
import { testDataDir } from '../support/data-dir.ts';

/**
 * A ward lead admits, transfers and discharges a patient from the console, in a real browser on the
 * embedded pipeline; every console on the ward follows without a reload, and the lent device's
 * readings reach the patient only while she is on a ward.
 *
 * The demo seeds have every registered patient on a ward, so Lou Stable (pt-0012) goes home first,
 * through the flow API: from then on she and her pulse oximeter oxi-0012 are on no ward.
 */
let app: VwApp;
let browser: Browser;
let lead: string;
let nurse: string;
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PATIENT = 'pt-0012';
const DEVICE = 'oxi-0012';

const publish = (deviceId: string, payload: unknown) => publishAs(app, deviceId, payload);

const postFlow = (body: unknown, token = lead) => postFlowAs(app.httpUrl, token, body);

beforeAll(async () => {
  const config = loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'console-flow-secret-console-flow-secret' });
  app = await startVw(config, { logger: createLogger({ level: 'silent' }) });
  browser = await launchChromium();
  lead = await app.tokens.issue({ sub: 'lead.jones', name: 'Sam Jones', wards: ['ward-ari', 'ward-hf'], roles: ['ward lead'] });
  nurse = await app.tokens.issue({ sub: 'nurse.patel', wards: ['ward-ari'] });
  const home = await postFlow({ kind: 'discharge', patientId: PATIENT, wardId: 'ward-ari', outcome: 'care-completed', at: new Date(Date.now() - 30 * 60_000).toISOString() });
  expect(home.status).toBe(202);
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function openConsole(token: string, options: { width?: number; height?: number; ward?: string; bypassCSP?: boolean } = {}): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: options.width ?? 1280, height: options.height ?? 900 }, ...(options.bypassCSP ? { bypassCSP: true } : {}) });
  await page.goto(`${app.httpUrl}/#ward=${options.ward ?? 'ward-ari'}&token=${token}`);
  await page.locator('[data-testid="patient-row"]').first().waitFor({ timeout: 10_000 });
  return page;
}

const row = (page: Page, patientId = PATIENT) => page.locator(`[data-testid="patient-row"][data-patient-id="${patientId}"]`);
const focused = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);

async function fillAdmission(page: Page, devices: string): Promise<void> {
  const dialog = page.locator('[data-testid="admit-dialog"]');
  await dialog.locator('[data-testid="admit-patient"]').fill(PATIENT);
  await dialog.locator('[data-testid="admit-pathway"]').selectOption('ari');
  await dialog.locator('[data-testid="admission-step-up"]').check();
  await dialog.locator('[data-testid="admit-source"]').selectOption('nhs111');
  await dialog.locator('[data-testid="admit-imd"]').fill('3');
  await dialog.locator('[data-testid="admit-devices"]').fill(devices);
}

async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}

describe('admitting, transferring and discharging from the console', () => {
  it('admits a registered patient with a device: the error names the field, then the patient appears on every console and her readings reach her', async () => {
    const page = await openConsole(lead);
    const colleague = await openConsole(nurse);
    expect(await row(page).count()).toBe(0);
    const rows = await page.locator('[data-testid="patient-row"]').count();

    await page.locator('[data-testid="admit-button"]').click();
    const dialog = page.locator('[data-testid="admit-dialog"]');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Admit a patient to Acute Respiratory Virtual Ward');
    expect(await focused(page)).toBe('admit-patient');
    // The time is now, to the minute, unless changed.
    expect(await dialog.locator('[data-testid="admit-at"]').inputValue()).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);

    // Nothing chosen: the form says what is missing, beside the field, before sending anything.
    await dialog.locator('[data-testid="admit-patient"]').fill(PATIENT);
    await dialog.locator('[data-testid="admit-form-submit"]').click();
    expect(await dialog.locator('[data-testid="error-pathway"]').textContent()).toBe('Choose a pathway.');
    expect(await focused(page)).toBe('admit-pathway');

    // A device vw does not know: refused by the server, the error beside the devices box, the focus in it.
    await fillAdmission(page, `${DEVICE}, oxi-9999`);
    await dialog.locator('[data-testid="admit-form-submit"]').click();
    const devicesError = dialog.locator('[data-testid="error-deviceIds"]');
    await expect.poll(() => devicesError.textContent(), { timeout: 10_000 }).toContain('oxi-9999');
    expect(await devicesError.textContent()).toBe('Device oxi-9999 is not in the registry');
    expect(await dialog.locator('[data-testid="admit-devices"]').getAttribute('aria-invalid')).toBe('true');
    expect(await dialog.locator('[data-testid="admit-devices"]').getAttribute('aria-describedby')).toContain(await devicesError.getAttribute('id'));
    expect(await focused(page)).toBe('admit-devices');
    expect(await dialog.locator('[data-testid="error-pathway"]').isHidden()).toBe(true);
    // A device lent to another patient is refused the same way.
    await dialog.locator('[data-testid="admit-devices"]').fill('oxi-0001');
    await dialog.locator('[data-testid="admit-form-submit"]').click();
    await expect.poll(() => devicesError.textContent(), { timeout: 10_000 }).toBe('Device oxi-0001 is lent to another patient');
    expect(await row(page).count()).toBe(0);

    await dialog.locator('[data-testid="admit-devices"]').fill(DEVICE);
    await dialog.locator('[data-testid="admit-form-submit"]').click();
    await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
    const result = page.locator('[data-testid="flow-result"]');
    await expect.poll(() => result.textContent()).toContain(`Admitted ${PATIENT} to Acute Respiratory Virtual Ward.`);
    expect(await result.textContent()).toMatch(/\d+ of 40 beds now in use/);
    expect(await focused(page)).toBe('flow-result');

    // Both consoles show her, and the beds in use, without a reload.
    for (const p of [page, colleague]) {
      await row(p).waitFor({ timeout: 10_000 });
      expect(await row(p).textContent()).toContain('Lou Stable');
      expect(await p.locator('[data-testid="patient-row"]').count()).toBe(rows + 1);
      await expect.poll(() => p.locator('[data-testid="beds"]').textContent()).toContain(`Beds: ${rows + 1} occupied of 40`);
    }
    expect(await colleague.locator('#announcer').textContent()).toBe('Lou Stable joined the ward.');
    // The lent oximeter's reading now reaches her.
    await publish(DEVICE, { measurement: 'pulse_oximetry', time: new Date().toISOString(), spo2: 93, pulseRate: 88 });
    for (const p of [page, colleague]) {
      await expect.poll(() => row(p).locator('td[data-label="SpO₂"]').textContent(), { timeout: 10_000 }).toContain('93');
    }
    expect((await app.store.latest(PATIENT)).spo2).toMatchObject({ value: 93, deviceId: DEVICE, wardId: 'ward-ari' });
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/console-flow-admitted.png', fullPage: true });
    await colleague.close();
    await page.close();
  });

  it('has no serious or critical accessibility violations with the admit form open (axe-core), and fits a 390 px phone', async () => {
    const page = await openConsole(lead, { bypassCSP: true });
    await page.locator('[data-testid="admit-button"]').click();
    await page.locator('[data-testid="admit-dialog"]').waitFor();
    // With an error showing, too.
    await page.locator('[data-testid="admit-form-submit"]').click();
    await page.locator('[data-testid="error-patientId"]').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: 'test-results/console-admit-desktop.png' });
    await page.close();

    const phone = await openConsole(lead, { width: 390, height: 844, bypassCSP: true });
    await phone.locator('[data-testid="admit-button"]').click();
    const dialog = phone.locator('[data-testid="admit-dialog"]');
    await dialog.waitFor();
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    for (const testid of ['admit-patient', 'admit-pathway', 'admit-source', 'admit-devices', 'admit-at', 'admit-form-submit', 'admit-form-cancel']) {
      const control = dialog.locator(`[data-testid="${testid}"]`);
      await control.scrollIntoViewIfNeeded();
      const box = await control.boundingBox();
      expect(box, testid).not.toBeNull();
      expect(box!.x, testid).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width, testid).toBeLessThanOrEqual(390);
    }
    expect(await axeViolations(phone)).toEqual([]);
    await phone.screenshot({ path: 'test-results/console-admit-390.png' });
    // Escape closes it; the focus goes back to the button that opened it.
    await phone.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focused(phone)).toBe('admit-button');
    await phone.close();
  });

  it('transfers the patient to another ward: she leaves this ward’s list and joins the other’s', async () => {
    const page = await openConsole(lead);
    const colleague = await openConsole(nurse);
    const heartFailure = await openConsole(lead, { ward: 'ward-hf' });
    await row(page).locator('[data-testid="patient-open"]').click();
    await page.locator('[data-testid="patient-header"]').waitFor();
    // By keyboard: the transfer form opens with the focus on where to move her.
    await page.locator('[data-testid="transfer-button"]').focus();
    await page.keyboard.press('Enter');
    const form = page.locator('[data-testid="transfer-form"]');
    await form.waitFor();
    expect(await focused(page)).toBe('transfer-ward');
    expect(await page.locator('[data-testid="transfer-button"]').getAttribute('aria-expanded')).toBe('true');
    // The token's only other ward is chosen already.
    expect(await form.locator('[data-testid="transfer-ward"]').inputValue()).toBe('ward-hf');
    await form.locator('[data-testid="transfer-pathway"]').selectOption('heart-failure');
    await form.locator('[data-testid="transfer-form-submit"]').click();

    await expect.poll(() => page.locator('[data-testid="flow-result"]').textContent(), { timeout: 10_000 }).toContain('Transferred Lou Stable to Heart Failure Virtual Ward.');
    for (const p of [page, colleague]) await row(p).waitFor({ state: 'detached', timeout: 10_000 });
    // Her panel closed with her.
    expect(await page.locator('[data-testid="patient-header"]').count()).toBe(0);
    await row(heartFailure).waitFor({ timeout: 10_000 });
    expect(await row(heartFailure).textContent()).toContain('heart-failure');
    for (const p of [page, colleague, heartFailure]) await p.close();
  });

  it('discharges her from the other ward after confirmation: she leaves, and her device’s readings are refused', async () => {
    const page = await openConsole(lead, { ward: 'ward-hf', bypassCSP: true });
    expect(await page.locator('#ward-select').inputValue()).toBe('ward-hf');
    await row(page).locator('[data-testid="patient-open"]').click();
    await page.locator('[data-testid="discharge-button"]').click();
    const form = page.locator('[data-testid="discharge-form"]');
    await form.waitFor();
    expect(await focused(page)).toBe('discharge-outcome');
    // No outcome: said beside the field.
    await form.locator('[data-testid="discharge-form-submit"]').click();
    expect(await form.locator('[data-testid="error-outcome"]').textContent()).toBe('Choose how the stay ended.');
    await form.locator('[data-testid="discharge-outcome"]').selectOption('care-completed');
    await form.locator('[data-testid="discharge-form-submit"]').click();
    // Asked first; going back sends nothing.
    const question = form.locator('[data-testid="discharge-question"]');
    await question.waitFor();
    expect(await question.textContent()).toContain('Discharge Lou Stable from Heart Failure Virtual Ward?');
    expect(await focused(page)).toBe('discharge-question');
    expect(await axeViolations(page)).toEqual([]);
    await form.locator('[data-testid="discharge-back"]').click();
    expect(await question.isHidden()).toBe(true);
    expect(await focused(page)).toBe('discharge-outcome');
    expect(await row(page).count()).toBe(1);

    await form.locator('[data-testid="discharge-form-submit"]').click();
    await form.locator('[data-testid="discharge-confirm"]').click();
    await expect.poll(() => page.locator('[data-testid="flow-result"]').textContent(), { timeout: 10_000 }).toContain('Discharged Lou Stable from Heart Failure Virtual Ward (care completed: back to usual care).');
    await row(page).waitFor({ state: 'detached', timeout: 10_000 });

    // The oximeter is back in the cupboard: its readings are refused and reach nobody.
    const refused = await metricOf(app.httpUrl, 'vw_readings_rejected_total', 'reason="device_not_enrolled"');
    await publish(DEVICE, { measurement: 'pulse_oximetry', time: new Date().toISOString(), spo2: 81, pulseRate: 130 });
    // Two readings refused: SpO₂ and pulse rate.
    await expect.poll(() => metricOf(app.httpUrl, 'vw_readings_rejected_total', 'reason="device_not_enrolled"'), { timeout: 10_000 }).toBe(refused + 2);
    expect((await app.store.latest(PATIENT)).spo2?.value).toBe(93);
    expect(await row(page).count()).toBe(0);
    expect(await page.locator('td[data-label="SpO₂"]', { hasText: '81' }).count()).toBe(0);
    await page.close();
  });

  it('warns when an admission takes the ward beyond its commissioned beds, and still records it', async () => {
    const page = await openConsole(lead, { ward: 'ward-hf' });
    // Fill Heart Failure Virtual Ward (25 beds) through the API: patients not in the registry, counted but on no console list.
    let answer = await postFlow({ kind: 'admit', patientId: 'pt-full-0', wardId: 'ward-hf', pathway: 'heart-failure', admission: 'step-down', source: 'acute-discharge', at: new Date().toISOString() });
    for (let i = 1; answer.status === 202 && (answer.body.occupied as number) < (answer.body.capacity as number); i++) {
      answer = await postFlow({ kind: 'admit', patientId: `pt-full-${i}`, wardId: 'ward-hf', pathway: 'heart-failure', admission: 'step-down', source: 'acute-discharge', at: new Date().toISOString() });
    }
    expect(answer.body).toMatchObject({ occupied: 25, capacity: 25, overCapacity: false });
    await page.locator('[data-testid="admit-button"]').click();
    const dialog = page.locator('[data-testid="admit-dialog"]');
    await dialog.locator('[data-testid="admit-patient"]').fill('pt-full-extra');
    await dialog.locator('[data-testid="admit-pathway"]').selectOption('heart-failure');
    await dialog.locator('[data-testid="admission-step-up"]').check();
    await dialog.locator('[data-testid="admit-source"]').selectOption('gp');
    await dialog.locator('[data-testid="admit-form-submit"]').click();
    await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
    const warning = page.locator('[data-testid="flow-result"] [data-testid="flow-warning"]');
    await warning.waitFor({ timeout: 10_000 });
    expect(await warning.textContent()).toBe('Over commissioned capacity: 26 of 25 beds in use.');
    expect(await page.locator('[data-testid="flow-result-text"]').textContent()).toContain('The patient is not in the registry, so they are counted in the beds but not listed on this console.');
    await page.close();
  });

  it('offers a nurse without the ward lead role no admit, discharge or transfer, and the server refuses her anyway', async () => {
    const page = await openConsole(nurse);
    await page.locator('[data-testid="patient-open"]').first().click();
    await page.locator('[data-testid="patient-header"]').waitFor();
    expect(await page.locator('[data-testid="admit-button"]').isHidden()).toBe(true);
    expect(await page.locator('[data-testid="discharge-button"]').count()).toBe(0);
    expect(await page.locator('[data-testid="transfer-button"]').count()).toBe(0);
    expect(await page.locator('[data-testid="admit-dialog"]').count()).toBe(0);
    expect((await postFlow({ kind: 'discharge', patientId: 'pt-0001', wardId: 'ward-ari', outcome: 'care-completed', at: new Date().toISOString() }, nurse)).status).toBe(403);
    await page.close();
  });
});
