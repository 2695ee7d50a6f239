/// <reference lib="dom" />
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Bundle, Observation, ServiceRequest } from '@medplum/fhirtypes';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startReferralReceiver } from '../../simulators/referral-receiver.ts';
import { launchChromium } from '../support/chromium.ts';
import { ago, deterioratePt0002, publishAs } from '../support/ward-actions.ts';
import { testDataDir } from '../support/data-dir.ts';

/**
 * The nurse escalating from the console, in a real browser on the embedded pipeline: live capacity
 * posted through the capacity API, a referral from an alert to a real HTTP receiver that accepts it,
 * keyboard-only use, a phone-width screen, and an accessibility audit.
 */
let app: VwApp;
let browser: Browser;
let receiver: Awaited<ReturnType<typeof startReferralReceiver>>;
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** Snapshots go stale after this long, so the test can watch one turn stale. */
const STALE_SECONDS = 6;
const WEBHOOK_SECRET = 'webhook-secret-for-the-test';

const publish = (deviceId: string, payload: unknown) => publishAs(app, deviceId, payload);

async function postCapacity(sourceId: string, snapshot: unknown): Promise<number> {
  const response = await fetch(`${app.httpUrl}/api/v1/capacity`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${app.capacityCredentials.tokenFor(sourceId)}` },
    body: JSON.stringify(snapshot),
  });
  return response.status;
}

const deteriorate = () => deterioratePt0002(app);

beforeAll(async () => {
  receiver = await startReferralReceiver({ name: 'Northshire community response team', webhookSecret: WEBHOOK_SECRET });
  const config = loadConfig({}, { dataDir: testDataDir(),
    'http.port': 0,
    'mqtt.embeddedPort': 0,
    'feed.tokenSecret': 'console-escalation-secret-console-escalation',
    'capacity.secret': 'capacity-secret-for-the-test',
    'capacity.staleMinutes': STALE_SECONDS / 60,
    // The community team has a receiver; 999 has none here, so a 999 referral is kept, not sent.
    'referrals.endpoints': { 'urgent-community-response': `${receiver.url}/ucr` },
    'notify.webhooks': { 'virtual ward consultant': `${receiver.url}/notify/consultant` },
    'notify.secret': WEBHOOK_SECRET,
  });
  app = await startVw(config, { logger: createLogger({ level: 'silent' }) });
  browser = await launchChromium();
  await deteriorate();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await receiver?.close();
});

async function openConsole(options: { width?: number; height?: number; bypassCSP?: boolean } = {}): Promise<Page> {
  const token = await app.tokens.issue({ sub: 'nurse.okafor', wards: ['ward-ari'] });
  const page = await browser.newPage({ viewport: { width: options.width ?? 1280, height: options.height ?? 900 }, ...(options.bypassCSP ? { bypassCSP: true } : {}) });
  await page.goto(`${app.httpUrl}/#token=${token}`);
  await page.locator('[data-testid="patient-row"]').first().waitFor({ timeout: 10_000 });
  return page;
}

const highAlert = (page: Page) => page.locator('[data-testid="patient-alerts"][data-patient-id="pt-0002"] [data-testid="alert-item"][data-severity="high"][data-rule="news2"]');

describe('escalation from the console', () => {
  it('shows a posted capacity snapshot with its age, then marks it stale', async () => {
    const page = await openConsole();
    expect(
      await postCapacity('cap-rx9-ambulance', {
        service: 'ambulance',
        providerId: 'RX9',
        ts: new Date().toISOString(),
        reapLevel: 3,
        responses: { c1: { meanMinutes: 9, p90Minutes: 16 }, c2: { meanMinutes: 52, p90Minutes: 118 }, c3: { meanMinutes: 80, p90Minutes: 200 }, c4: { meanMinutes: 100, p90Minutes: 260 } },
        handover: { meanMinutes: 41, over30: 6, over60: 2, handovers: 14 },
      }),
    ).toBe(202);
    const c2 = page.locator('[data-testid="capacity-c2"]');
    await expect.poll(() => c2.textContent(), { timeout: 10_000 }).toContain('52 min mean');
    expect(await c2.getAttribute('data-status')).toBe('red');
    expect(await c2.getAttribute('data-stale')).toBe('false');
    expect(await c2.textContent()).toMatch(/updated \d+ s ago/);
    // Past the stale limit the figure is marked stale, never shown as now.
    await expect.poll(() => c2.getAttribute('data-stale'), { timeout: 15_000 }).toBe('true');
    expect(await c2.textContent()).toContain('STALE');
    // A bad post is refused naming the field, and counted.
    expect(await postCapacity('cap-rx9-ambulance', { service: 'ambulance', providerId: 'RX9', ts: new Date().toISOString(), reapLevel: 9 })).toBe(400);
    expect(await (await fetch(`${app.httpUrl}/metrics`)).text()).toMatch(/vw_capacity_rejected_total\{reason="schema_violation"\} [1-9]/);
    await page.close();
  });

  it('refers the patient from an alert to urgent community response; the receiver gets the evidence and accepts', async () => {
    await postCapacity('cap-rx9-ambulance', { service: 'ambulance', providerId: 'RX9', ts: new Date().toISOString(), reapLevel: 3, responses: { c1: { meanMinutes: 9, p90Minutes: 16 }, c2: { meanMinutes: 47, p90Minutes: 98 }, c3: { meanMinutes: 80, p90Minutes: 200 }, c4: { meanMinutes: 100, p90Minutes: 260 } } });
    const page = await openConsole();
    const alert = highAlert(page);
    await alert.waitFor({ timeout: 15_000 });
    await alert.locator('[data-testid="refer-button"]').click();
    const form = alert.locator('[data-testid="referral-form"]');
    await form.waitFor();
    // Beside 999, the live C2 wait, so the nurse can weigh it against a 2-hour community response.
    const ambulance = form.locator('.route-option', { has: page.locator('[data-route="ambulance-999"]') });
    await expect.poll(() => ambulance.locator('[data-testid="route-capacity"]').textContent()).toContain('C2 mean 47 min');
    expect(await form.locator('[data-testid="route-option"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-route')))).toEqual(['ambulance-999', 'sdec-ed', 'urgent-community-response']);
    await form.locator('[data-route="urgent-community-response"]').check();
    await form.locator('[data-testid="referral-reason"]').fill('NEWS2 12, lives alone; community team to attend');
    await form.locator('[data-testid="referral-send"]').click();

    const item = page.locator('[data-testid="patient-alerts"][data-patient-id="pt-0002"] [data-testid="referral-item"]').first();
    await expect.poll(() => item.getAttribute('data-state'), { timeout: 15_000 }).toBe('accepted');
    expect(await item.textContent()).toContain('Northshire community response team');
    expect(await item.getAttribute('data-delivery')).toBe('delivered');

    const received = receiver.received();
    expect(received).toHaveLength(1);
    const bundle = received[0]!.bundle as Bundle;
    expect(bundle.type).toBe('message');
    const resources = bundle.entry!.map((e) => e.resource!);
    expect(resources[0]!.resourceType).toBe('MessageHeader');
    const request = resources.find((r): r is ServiceRequest => r.resourceType === 'ServiceRequest')!;
    expect(request.priority).toBe('asap');
    expect(request.reasonCode?.[0]?.text).toBe('NEWS2 12, lives alone; community team to attend');
    const patient = resources.find((r) => r.resourceType === 'Patient');
    expect(JSON.stringify(patient)).toContain('9990000026');
    // The evidence travels as vital-signs Observations with LOINC codes and UCUM units.
    const observations = resources.filter((r): r is Observation => r.resourceType === 'Observation');
    const rr = observations.find((o) => o.code.coding?.[0]?.code === '9279-1');
    expect(rr?.valueQuantity).toMatchObject({ value: 27, system: 'http://unitsofmeasure.org', code: '/min' });
    expect(observations.find((o) => o.code.coding?.[0]?.code === '8310-5')?.valueQuantity).toMatchObject({ value: 39.3, code: 'Cel' });
    expect(request.supportingInfo).toHaveLength(observations.length);
    await page.close();
  });

  it('keeps a referral to a route with no receiver as not sent, and says so', async () => {
    const page = await openConsole();
    const alert = highAlert(page);
    await alert.waitFor({ timeout: 15_000 });
    await alert.locator('[data-testid="refer-button"]').click();
    await alert.locator('[data-route="ambulance-999"]').check();
    await alert.locator('[data-testid="referral-send"]').click();
    const item = page.locator('[data-testid="referral-item"]', { hasText: '999 emergency ambulance' }).first();
    await expect.poll(() => item.getAttribute('data-delivery'), { timeout: 10_000 }).toBe('no_endpoint');
    expect(await item.locator('[data-testid="referral-delivery"]').textContent()).toContain('NOT SENT');
    expect(await item.getAttribute('data-state')).toBe('requested');
    await page.close();
  });

  it('works by keyboard alone, keeping the focus after an action', async () => {
    const page = await openConsole();
    await highAlert(page).waitFor({ timeout: 15_000 });
    // A patient row opens by keyboard.
    await page.locator('[data-testid="patient-open"]').first().focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="patient-header"]').waitFor();
    expect(await page.locator('[data-testid="patient-open"]').first().getAttribute('aria-expanded')).toBe('true');
    // Tab reaches the acknowledge button of an alert; Enter acknowledges; the focus stays on the alert's action.
    const ack = page.locator('[data-testid="ack-button"]').first();
    const alertId = await ack.locator('xpath=ancestor::li[@data-alert-id][1]').getAttribute('data-alert-id');
    let reached = false;
    for (let i = 0; i < 80 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'ack-button');
    }
    expect(reached).toBe(true);
    const focusedAlert = await page.evaluate(() => document.activeElement?.closest('[data-alert-id]')?.getAttribute('data-alert-id'));
    expect(focusedAlert).toBe(alertId);
    await page.keyboard.press('Enter');
    const acked = page.locator(`[data-testid="alert-item"][data-alert-id="${alertId}"][data-state="acknowledged"]`);
    await acked.waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-focus-key'))).toBe(`act:${alertId}`);
    // The referral form by keyboard: open it, choose a route with the arrow keys, send.
    const referButton = page.locator(`[data-alert-id="${alertId}"] [data-testid="refer-button"]`);
    await referButton.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type)).toBe('radio');
    await page.keyboard.press('ArrowDown');
    const chosen = await page.evaluate(() => (document.activeElement as HTMLInputElement).value);
    expect(chosen).not.toBe('');
    await page.locator(`[data-alert-id="${alertId}"] [data-testid="referral-send"]`).focus();
    const before = await page.locator('[data-testid="referral-item"]').count();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('[data-testid="referral-item"]').count(), { timeout: 10_000 }).toBeGreaterThan(before);
    await page.close();
  });

  it('sends a signed webhook for an alert nobody acknowledged in time, records it on the alert and shows the consultant a banner', async () => {
    // Readings taken 12 minutes ago: NEWS2 high, whose ladder tells the consultant after 10 minutes unacknowledged.
    const old = (s: number) => ago(12 * 60 + s);
    await publish('app-0001', [
      { type: 'respiratory_rate', value: 26, unit: '/min', ts: old(20) },
      { type: 'consciousness', value: 'A', ts: old(20) },
      { type: 'supplemental_oxygen', value: false, ts: old(20) },
    ]);
    await publish('oxi-0001', { measurement: 'pulse_oximetry', time: old(15), spo2: 90, pulseRate: 128 });
    await publish('bp-0001', { measurement: 'blood_pressure', time: old(12), systolic: 95, diastolic: 60, pulse: 127 });
    await publish('temp-0001', { measurement: 'body_temperature', time: old(10), temperature: 39.4, unit: 'C' });
    const token = await app.tokens.issue({ sub: 'dr.adeyemi', wards: ['ward-ari'], roles: ['virtual ward consultant'] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${app.httpUrl}/#token=${token}`);
    // The rules role's timers run every 15 s: the escalation is due at once, the webhook follows.
    await expect.poll(() => receiver.webhooks().length, { timeout: 40_000 }).toBeGreaterThanOrEqual(1);
    const hook = receiver.webhooks()[0]!;
    expect(hook.signed).toBe(true);
    expect(hook.body).toMatchObject({ target: 'virtual ward consultant', patientId: 'pt-0001', wardId: 'ward-ari', severity: 'high' });
    const notice = page.locator('[data-testid="notice"][data-kind="to-you"]');
    await notice.waitFor({ timeout: 10_000 });
    expect(await notice.textContent()).toContain('Escalated to you (virtual ward consultant): Ada Stable');
    const recorded = page.locator('[data-testid="patient-alerts"][data-patient-id="pt-0001"] [data-testid="notification"]').first();
    await expect.poll(() => recorded.getAttribute('data-status'), { timeout: 10_000 }).toBe('delivered');
    expect(await recorded.textContent()).toContain('Notified virtual ward consultant: delivered');
    await page.close();
  }, 60_000);

  it('keeps handover notes with who wrote them and when, for every console on the ward', async () => {
    const page = await openConsole();
    const colleague = await openConsole();
    for (const p of [page, colleague]) {
      await p.locator('[data-testid="patient-row"][data-patient-id="pt-0003"] [data-testid="patient-open"]').click();
      await p.locator('[data-testid="patient-header"]').waitFor();
    }
    // The patient header: NHS number in its groups, the agreed escalation plan, whom to call.
    const header = page.locator('[data-testid="patient-header"]');
    expect(await header.locator('[data-testid="nhs-number"]').textContent()).toBe('999 000 0034');
    expect(await header.textContent()).toContain('Rescue pack at home');
    expect(await header.textContent()).toMatch(/Contacts.*07700 900003/);
    await page.locator('[data-testid="note-text"]').fill('Daughter visiting at 18:00; prefers phone calls to her mobile.');
    await page.locator('[data-testid="note-add"]').click();
    for (const p of [page, colleague]) {
      const note = p.locator('[data-testid="handover-note"]').first();
      await expect.poll(() => note.textContent(), { timeout: 10_000 }).toContain('Daughter visiting at 18:00');
      expect(await note.textContent()).toContain('nurse.okafor');
    }
    expect(await page.locator('[data-testid="note-text"]').inputValue()).toBe('');
    // A console that opens later gets the note in its snapshot.
    const later = await openConsole();
    await later.locator('[data-testid="patient-row"][data-patient-id="pt-0003"] [data-testid="patient-open"]').click();
    await expect.poll(() => later.locator('[data-testid="handover-note"]').first().textContent(), { timeout: 10_000 }).toContain('Daughter visiting');
    for (const p of [page, colleague, later]) await p.close();
  });

  it('fits a 390 px phone: no sideways scrolling, Acknowledge on screen', async () => {
    const page = await openConsole({ width: 390, height: 844 });
    await page.locator('[data-testid="alert-item"]').first().waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const button = page.locator('[data-testid="ack-button"], [data-testid="resolve-button"]').first();
    await button.scrollIntoViewIfNeeded();
    const box = await button.boundingBox();
    expect(box).not.toBeNull();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    await page.close();
  });

  it('has no serious or critical accessibility violations when signed in (axe-core)', async () => {
    const page = await openConsole({ bypassCSP: true });
    await highAlert(page).waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="patient-open"]').first().click();
    await page.locator('[data-testid="patient-header"]').waitFor();
    await page.locator('[data-testid="refer-button"]').first().click();
    await page.evaluate(axeSource);
    const result = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
      return axe.run(document, { resultTypes: ['violations'] });
    });
    const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
    expect(serious).toEqual([]);
    await page.close();
  });
});
