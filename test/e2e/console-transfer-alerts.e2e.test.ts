import { mkdirSync } from 'node:fs';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { ServerFrame } from '../../src/feed/protocol.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { launchChromium } from '../support/chromium.ts';
import { connectConsole, isType } from '../support/console-client.ts';
import { deterioratePt0002, postFlow as postFlowAs } from '../support/ward-actions.ts';
import { testDataDir } from '../support/data-dir.ts';

/**
 * A patient's open alert and pending referral follow her when she is transferred: on the embedded
 * pipeline, Bill Deteriorating (pt-0002) deteriorates on the Acute Respiratory Virtual Ward, is referred
 * there, and is then moved to the Heart Failure Virtual Ward. Its consoles show the alert under her name
 * and its nurse acknowledges it; the ward she left no longer shows it, and its nurse may no longer act.
 */
let app: VwApp;
let browser: Browser;
let lead: string;
let nurseAri: string;
let nurseHf: string;
const PATIENT = 'pt-0002';
const NAME = 'Bill Deteriorating';



const postFlow = (body: unknown, token = lead) => postFlowAs(app.httpUrl, token, body);

/** A console without a browser, subscribed to one ward. */
async function wsConsole(token: string, wardId: string) {
  const client = await connectConsole(app.httpUrl);
  client.send({ type: 'hello', token });
  await client.waitFor(isType('welcome'));
  client.send({ type: 'subscribe', wardId });
  const snapshot = await client.waitFor(isType('snapshot'));
  return { client, snapshot };
}

async function openConsole(token: string, ward: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${app.httpUrl}/#ward=${ward}&token=${token}`);
  await page.locator('[data-testid="patient-row"]').first().waitFor({ timeout: 10_000 });
  return page;
}

const card = (page: Page) => page.locator(`[data-testid="patient-alerts"][data-patient-id="${PATIENT}"]`);
const alertItem = (page: Page, alertId: string) => page.locator(`[data-testid="alert-item"][data-alert-id="${alertId}"]`);

beforeAll(async () => {
  const config = loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'transfer-alerts-secret-transfer-alerts-secret' });
  app = await startVw(config, { logger: createLogger({ level: 'silent' }) });
  browser = await launchChromium();
  lead = await app.tokens.issue({ sub: 'lead.jones', wards: ['ward-ari', 'ward-hf'], roles: ['ward lead'] });
  nurseAri = await app.tokens.issue({ sub: 'nurse.okafor', wards: ['ward-ari'] });
  nurseHf = await app.tokens.issue({ sub: 'nurse.bailey', wards: ['ward-hf'] });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('a transferred patient’s alerts and referrals follow her to her new ward', () => {
  it('moves the open alert and the referral to the new ward’s consoles, where they can be acted on, and away from the old ward’s', async () => {
    const ari = await wsConsole(nurseAri, 'ward-ari');
    const hf = await wsConsole(nurseHf, 'ward-hf');
    const ariPage = await openConsole(nurseAri, 'ward-ari');
    const hfPage = await openConsole(nurseHf, 'ward-hf');

    // She deteriorates on the Acute Respiratory ward: a high NEWS2 alert there.
    await deterioratePt0002(app);
    const isNews2High = (f: ServerFrame): f is Extract<ServerFrame, { type: 'alert' }> =>
      f.type === 'alert' && f.alert.patientId === PATIENT && f.alert.ruleId === 'news2' && f.alert.severity === 'high';
    const raised = await ari.client.waitFor(isNews2High, 15_000);
    const alertId = raised.alert.alertId;
    expect(raised).toMatchObject({ wardId: 'ward-ari', alert: { wardId: 'ward-ari', state: 'open' } });
    await alertItem(ariPage, alertId).waitFor({ timeout: 10_000 });
    expect(await card(ariPage).locator('.card-title').textContent()).toContain(NAME);

    // The nurse there refers her, from the alert.
    expect(raised.routes.length).toBeGreaterThan(0);
    ari.client.send({ type: 'refer', patientId: PATIENT, alertId, route: raised.routes[0], note: 'Deteriorating: needs a review today' });
    const { referralId } = await ari.client.waitFor(isType('referralAccepted'));
    await ari.client.waitFor((f): f is Extract<ServerFrame, { type: 'referral' }> => f.type === 'referral' && f.referral.referralId === referralId, 10_000);
    // The feed sends an alert to every console of its ward at once: after a round trip on the Heart
    // Failure console, an alert sent to it with Acute Respiratory's would be here.
    await hf.client.roundTrip();
    expect(hf.client.frames.some((f) => f.type === 'alert' && f.alert.patientId === PATIENT)).toBe(false);
    expect(await card(hfPage).count()).toBe(0);

    // The ward lead moves her to the Heart Failure ward.
    const moved = await postFlow({ kind: 'transfer', patientId: PATIENT, fromWardId: 'ward-ari', wardId: 'ward-hf', at: new Date().toISOString() });
    expect(moved.status).toBe(202);

    // Heart Failure's consoles get her with her alert and referral, in the roster.
    const arrived = await hf.client.waitFor(isType('roster'));
    expect(arrived.patientIds).toContain(PATIENT);
    expect(arrived.alerts.map((a) => a.alertId)).toContain(alertId);
    expect(arrived.referrals.map((r) => r.referralId)).toEqual([referralId]);
    expect((await ari.client.waitFor(isType('roster'))).transferredOut).toEqual([PATIENT]);

    // In the browser: the alert under her name, with her referral, on Heart Failure; gone from Acute Respiratory.
    await alertItem(hfPage, alertId).waitFor({ timeout: 10_000 });
    expect(await card(hfPage).locator('.card-title').textContent()).toContain(NAME);
    expect(await card(hfPage).locator(`[data-testid="referral-item"][data-referral-id="${referralId}"]`).count()).toBe(1);
    await card(ariPage).waitFor({ state: 'detached', timeout: 10_000 });
    expect(await alertItem(ariPage, alertId).count()).toBe(0);
    expect(await ariPage.locator(`[data-testid="referral-item"][data-referral-id="${referralId}"]`).count()).toBe(0);

    // A new console on each ward sees the same.
    const ariAgain = await wsConsole(nurseAri, 'ward-ari');
    expect(ariAgain.snapshot.alerts.filter((a) => a.patientId === PATIENT)).toEqual([]);
    expect(ariAgain.snapshot.referrals.filter((r) => r.patientId === PATIENT)).toEqual([]);
    const hfAgain = await wsConsole(nurseHf, 'ward-hf');
    expect(hfAgain.snapshot.alerts.find((a) => a.alertId === alertId)).toMatchObject({ patientId: PATIENT, wardId: 'ward-ari' });
    expect(hfAgain.snapshot.referrals.map((r) => r.referralId)).toEqual([referralId]);

    // The Acute Respiratory nurse may no longer act on them: refused as if they did not exist.
    const errors = () => ari.client.frames.filter(isType('error'));
    ari.client.send({ type: 'acknowledge', alertId });
    await expect.poll(() => errors().length).toBe(1);
    expect(errors()[0]).toMatchObject({ code: 'not_found' });
    ari.client.send({ type: 'cancelReferral', referralId, note: 'Not ours any more' });
    await expect.poll(() => errors().length).toBe(2);
    expect(errors()[1]).toMatchObject({ code: 'not_found' });
    expect(ari.client.frames.some(isType('accepted'))).toBe(false);

    // The Heart Failure nurse acknowledges it from her console: every Heart Failure console follows.
    await alertItem(hfPage, alertId).locator('[data-testid="ack-button"]').click();
    const acked = hfPage.locator(`[data-testid="alert-item"][data-alert-id="${alertId}"][data-state="acknowledged"]`);
    await acked.waitFor({ timeout: 10_000 });
    expect(await acked.textContent()).toContain('nurse.bailey');
    const ack = await hf.client.waitFor((f): f is Extract<ServerFrame, { type: 'alert' }> => f.type === 'alert' && f.alert.alertId === alertId && f.alert.state === 'acknowledged', 10_000);
    expect(ack.wardId).toBe('ward-hf');
    // The record keeps the ward it was raised on.
    expect(ack.alert.wardId).toBe('ward-ari');
    await ari.client.roundTrip();
    expect(ari.client.frames.some((f) => f.type === 'alert' && f.alert.alertId === alertId && f.alert.state === 'acknowledged')).toBe(false);
    expect(await alertItem(ariPage, alertId).count()).toBe(0);

    mkdirSync('test-results', { recursive: true });
    await hfPage.screenshot({ path: 'test-results/console-transfer-alerts.png', fullPage: true });
    for (const c of [ari.client, hf.client, ariAgain.client, hfAgain.client]) c.close();
    await ariPage.close();
    await hfPage.close();
  });
});
