import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { loadRegistryFile } from '../../src/registry/load.ts';
import type { Reading } from '../../src/domain/index.ts';
import { londonDate } from '../../src/time/calendar.ts';
import { launchChromium } from '../support/chromium.ts';
import { testDataDir } from '../support/data-dir.ts';

/**
 * The planner's view in a real browser: /planner/ signed in with a planner's token, over the running
 * store fed through the flow and capacity APIs. Its figures are the JSON report's, after disclosure
 * control; no patient is named anywhere; it is usable by keyboard and at 390 px, and axe-core finds
 * nothing wrong.
 */
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const DAY = 86_400_000;
let app: VwApp;
let browser: Browser;
let planner: string;
const posted: string[] = [];

/** 11:00 UTC `days` ago: inside the default period (the last 28 days to yesterday) for 1 ≤ days ≤ 28. */
const daysAgo = (days: number, hour = 11) => {
  const d = new Date(Date.now() - days * DAY);
  d.setUTCHours(hour, 0, 0, 0);
  return d.toISOString();
};
const yesterday = londonDate(Date.now() - DAY);
const firstDay = londonDate(Date.parse(`${yesterday}T12:00:00Z`) - 27 * DAY);

beforeAll(async () => {
  app = await startVw(loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'planner-view-secret-planner-view-secret', 'capacity.secret': 'planner-view-capacity-secret' }), { logger: createLogger({ level: 'silent' }) });
  browser = await launchChromium();
  const wards = app.registry.wards().filter((w) => w.ics === 'QXX').map((w) => w.wardId);
  planner = await app.tokens.issue({ sub: 'planner.ng', wards, roles: ['planner'] });
  const lead = await app.tokens.issue({ sub: 'lead.jones', wards, roles: ['ward lead'] });
  const post = async (path: string, token: string, body: unknown) => {
    const res = await fetch(`${app.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    if (res.status !== 202) throw new Error(`${path} ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
  };
  // ARI: 9 step-up admissions 20 to 4 days ago, 7 discharged after 2 days (one to an acute bed).
  for (let i = 0; i < 9; i++) {
    const patientId = `pt-plan-ari-${i}`;
    posted.push(patientId);
    await post('/api/v1/flow', lead, { kind: 'admit', patientId, wardId: 'ward-ari', pathway: 'ari', admission: 'step-up', source: i % 2 ? 'ambulance' : 'nhs111', imdDecile: (i % 10) + 1, at: daysAgo(20 - 2 * i) });
    if (i < 7) await post('/api/v1/flow', lead, { kind: 'discharge', patientId, wardId: 'ward-ari', outcome: i === 3 ? 'admitted-acute' : 'care-completed', at: daysAgo(18 - 2 * i, 15) });
  }
  // Heart failure: 6 step-down admissions 15 to 10 days ago, 5 discharged after 4 days: so that 11
  // days ago 5 patients (4 of them heart failure) are on the wards at the census, and the ICS's device
  // adherence can be shown (docs/reports.md, "Small numbers").
  for (let i = 0; i < 6; i++) {
    const patientId = `pt-plan-hf-${i}`;
    posted.push(patientId);
    await post('/api/v1/flow', lead, { kind: 'admit', patientId, wardId: 'ward-hf', pathway: 'heart-failure', admission: 'step-down', source: 'acute-discharge', at: daysAgo(15 - i) });
    if (i < 5) await post('/api/v1/flow', lead, { kind: 'discharge', patientId, wardId: 'ward-hf', outcome: 'care-completed', at: daysAgo(11 - i, 16) });
  }
  // One hypertension admission: a count of 1 on its ward and pathway, withheld everywhere.
  posted.push('pt-plan-htn-0');
  await post('/api/v1/flow', lead, { kind: 'admit', patientId: 'pt-plan-htn-0', wardId: 'ward-htn', pathway: 'hypertension', admission: 'step-up', source: 'gp', at: daysAgo(6) });
  // Ambulance, 111 and OPEL on the last 10 days.
  const responses = (c2: number) => ({ c1: { meanMinutes: 8, p90Minutes: 15 }, c2: { meanMinutes: c2, p90Minutes: c2 * 2 }, c3: { meanMinutes: 70, p90Minutes: 180 }, c4: { meanMinutes: 90, p90Minutes: 240 } });
  for (let d = 1; d <= 10; d++) {
    await post('/api/v1/capacity', app.capacityCredentials.tokenFor('cap-rx9-ambulance'), { service: 'ambulance', providerId: 'RX9', ts: daysAgo(d, 10), reapLevel: d < 4 ? 3 : 2, responses: responses(20 + d * 3) });
    await post('/api/v1/capacity', app.capacityCredentials.tokenFor('cap-111-nwest'), { service: 'nhs111', providerId: '111-NWEST', ts: daysAgo(d, 10), callsWaiting: 10 + d, answeredWithin60sPct: 60 + d * 3 });
    await post('/api/v1/capacity', app.capacityCredentials.tokenFor('cap-qxx-opel'), { service: 'system', providerId: 'QXX', ts: daysAgo(d, 9), opelLevel: d < 3 ? 4 : 2 });
  }
  // Readings, as the sink stores them from the pipeline: one at 12:00 UTC on each day of each stay
  // (ARI and hypertension), and on the heart-failure patients' first two days only, so that device
  // adherence and hours of expected data missing are measured, and not all 100% and 0.
  const stays = [
    ...Array.from({ length: 9 }, (_, i) => ({ patientId: `pt-plan-ari-${i}`, wardId: 'ward-ari', first: 20 - 2 * i, last: i < 7 ? 18 - 2 * i : 1 })),
    ...Array.from({ length: 6 }, (_, i) => ({ patientId: `pt-plan-hf-${i}`, wardId: 'ward-hf', first: 15 - i, last: 14 - i })),
    { patientId: 'pt-plan-htn-0', wardId: 'ward-htn', first: 6, last: 1 },
  ];
  const readings: Reading[] = stays.flatMap(({ patientId, wardId, first, last }) =>
    Array.from({ length: first - last + 1 }, (_, k) => {
      const ts = daysAgo(first - k, 12);
      return { readingId: `rd-${patientId}-${k}`, patientId, wardId, deviceId: `dev-${patientId}`, type: 'spo2' as const, value: 96, unit: '%', ts, receivedAt: ts };
    }),
  );
  await app.store.writeReadings(readings);
  // Until the sink has stored them all.
  for (let tries = 0; ; tries++) {
    const json = await reportJson();
    if (json.report.groups.find((g) => g.level === 'ics')?.admissions.total === 16 && json.pressure?.daily.filter((d) => d.opelMax !== null).length === 10) break;
    if (tries > 150) throw new Error('the flow and capacity posted did not reach the store');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

interface Group {
  level: string; id: string; name: string; capacity: number | null; capacityPer100kAdults: number | null; occupancy: { meanOccupied: number; meanPercent: number | null };
  admissions: { total: number | null; stepUp: number | null; stepDown: number | null }; lengthOfStayDays: { spells: number | null; median: number | null; p90: number | null };
  referrals: { total: number | null; per100PatientDays: number | null }; alerts: { total: number | null; perPatientDay: number | null };
  monitoring: { expectedDays: number; daysWithReadings: number | null; percent: number | null; expectedEveryHours: number; hoursMissing: number | null; hoursMissingPerPatientDay: number | null } | null;
  equity: { admissionsByImdDecile: Record<string, number | null>; adherenceByImdDecile: Record<string, { expectedDays: number | null; daysWithReadings: number | null; percent: number | null }> | null };
  suppressed: string[];
}
interface ReportJson { report: { groups: Group[] }; monthly: Array<{ period: string; groups: Group[] }>; weekly: Array<{ period: string; from: string; to: string; groups: Group[] }>; plan: { total: { bedsNeeded: number; surgeBedsNeeded: number } }; pressure: { daily: Array<{ date: string; opelMax: number | null }> } | null }

async function reportJson(from = firstDay, to = yesterday): Promise<ReportJson> {
  const res = await fetch(`${app.httpUrl}/api/v1/reports/capacity?ics=QXX&from=${from}&to=${to}&format=json`, { headers: { authorization: `Bearer ${planner}` } });
  return (await res.json()) as ReportJson;
}

/** A figure as the page writes it. */
const shown = (g: { suppressed: string[] }, path: string, v: number | null) => (g.suppressed.includes(path) ? 'withheld' : v === null ? '–' : v.toLocaleString('en-GB', { maximumFractionDigits: 2 }));

async function openPlanner(token: string, viewport = { width: 1280, height: 900 }, options: { bypassCSP?: boolean } = {}): Promise<Page> {
  const page = await browser.newPage({ viewport, ...options });
  await page.goto(`${app.httpUrl}/planner/#token=${token}`);
  return page;
}

async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}

/**
 * The weekly admissions chart's step-up (#005eb8) and step-down (#c25e00) bars as drawn: for each, the
 * rows of the canvas holding its colour (how tall the tallest bar is; a week of 0 is a line a pixel or
 * so high) and the runs of columns (one a week drawn; a withheld week has none).
 */
async function bars(page: Page): Promise<Array<{ rows: number; runs: number }>> {
  return page.$eval('#chart-admissions canvas', (c) => {
    const canvas = c as HTMLCanvasElement;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const colours = [[0x00, 0x5e, 0xb8], [0xc2, 0x5e, 0x00]];
    return colours.map(([r, g, b]) => {
      const rows = new Set<number>();
      const columns = new Set<number>();
      for (let i = 0; i < data.length; i += 4) {
        if (data[i] !== r || data[i + 1] !== g || data[i + 2] !== b || data[i + 3] !== 255) continue;
        rows.add(Math.floor(i / 4 / canvas.width));
        columns.add((i / 4) % canvas.width);
      }
      const runs = [...columns].filter((x) => !columns.has(x - 1)).length;
      return { rows: rows.size, runs };
    });
  });
}

/** The weeks of the JSON, each with its ICS group, and the figures the page's text summary gives for each. */
async function weeklyFigures(page: Page, json: ReportJson) {
  const ics = json.report.groups.find((g) => g.level === 'ics')!;
  const summary = (await page.getAttribute('#chart-admissions', 'aria-label'))!;
  const said = [...summary.matchAll(/week from (\d{1,2} \w+ \d{4}) step-up ([\w,]+), step-down ([\w,]+)/g)].map((m) => m.slice(1));
  const longDate = (date: string) => new Date(`${date}T12:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  const weeks = json.weekly.map((w) => ({ period: w.period, g: w.groups.find((x) => x.level === 'ics' && x.id === ics.id)! }));
  const expected = weeks.map(({ period, g }) => [longDate(period), shown(g, 'admissions.stepUp', g.admissions.stepUp), shown(g, 'admissions.stepDown', g.admissions.stepDown)]);
  return { ics, summary, said, weeks, expected };
}

describe('planner view', () => {
  it('shows the JSON report’s headline figures, draws the charts, and names no patient', async () => {
    const page = await openPlanner(planner);
    const errors: string[] = [];
    const urls: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => urls.push(r.url()));
    await page.locator('#chart-occupancy[data-drawn="true"]').waitFor({ timeout: 15_000 });
    // The token left the address bar; the default period is the last 28 days to yesterday.
    expect(page.url()).not.toContain('token');
    expect(await page.inputValue('#from')).toBe(firstDay);
    expect(await page.inputValue('#to')).toBe(yesterday);

    const json = await reportJson();
    const ics = json.report.groups.find((g) => g.level === 'ics')!;
    const text = (testid: string) => page.locator(`[data-testid="${testid}"]`).textContent();
    expect(await text('headline-capacity')).toBe(shown(ics, 'capacity', ics.capacity));
    expect(await text('headline-occupancy')).toBe(shown(ics, 'occupancy.meanPercent', ics.occupancy.meanPercent));
    expect(await text('headline-mean-occupied')).toBe(shown(ics, 'occupancy.meanOccupied', ics.occupancy.meanOccupied));
    expect(await text('headline-per100k')).toBe(shown(ics, 'capacityPer100kAdults', ics.capacityPer100kAdults));
    expect(await text('headline-admissions')).toBe(shown(ics, 'admissions.total', ics.admissions.total));
    expect(await text('headline-step-up')).toBe(shown(ics, 'admissions.stepUp', ics.admissions.stepUp));
    expect(await text('headline-step-down')).toBe(shown(ics, 'admissions.stepDown', ics.admissions.stepDown));
    expect(await text('headline-los-median')).toBe(shown(ics, 'lengthOfStayDays.median', ics.lengthOfStayDays.median));
    expect(await text('headline-los-p90')).toBe(shown(ics, 'lengthOfStayDays.p90', ics.lengthOfStayDays.p90));
    expect(await text('headline-beds-now')).toBe(String(json.plan.total.bedsNeeded));
    expect(await text('headline-beds-surge')).toBe(String(json.plan.total.surgeBedsNeeded));
    // The figures themselves, worked out here: 95 beds; 16 admissions (9 + 1 step-up, 6 step-down);
    // 12 discharges, their stays 2 or 3 days and a bit.
    expect(ics.capacity).toBe(95);
    expect(await text('headline-admissions')).toBe('16');
    expect([await text('headline-step-up'), await text('headline-step-down')]).toEqual(['10', '6']);
    expect(Number(await text('headline-los-median'))).toBeGreaterThanOrEqual(2);

    // Device adherence and hours of expected data missing, from the readings in the store: measured,
    // shown for the ICS (5 patients at one census), and the page's figures the JSON's.
    const m = ics.monitoring!;
    expect(m).toMatchObject({ expectedEveryHours: 24, percent: expect.any(Number), hoursMissingPerPatientDay: expect.any(Number) });
    expect(m.percent).toBeGreaterThan(0);
    expect(m.percent).toBeLessThan(100);
    expect(await text('headline-adherence')).toBe(shown(ics, 'monitoring.percent', m.percent));
    expect(await text('headline-days-with-readings')).toBe(shown(ics, 'monitoring.daysWithReadings', m.daysWithReadings));
    expect(await text('headline-missing')).toBe(shown(ics, 'monitoring.hoursMissingPerPatientDay', m.hoursMissingPerPatientDay));
    expect(await text('headline-hours-missing')).toBe(shown(ics, 'monitoring.hoursMissing', m.hoursMissing));
    expect(await page.locator('[data-testid="headline"]').textContent()).toContain('(at least one reading every 24 hours expected)');
    // The same figure in the wards table's ICS row, and each ward's as the JSON has it.
    const cells = (table: string, name: string) => page.locator(`#${table} tbody tr`, { has: page.locator('th', { hasText: name }) }).locator('td').allTextContents();
    const percent = (g: Group, path: string, v: number | null) => (g.suppressed.includes(path) || v === null ? shown(g, path, v) : `${shown(g, path, v)}%`);
    const wardsHead = await page.locator('#wards-table thead th').allTextContents();
    const adherenceAt = wardsHead.indexOf('Device adherence') - 1;
    expect(adherenceAt).toBeGreaterThan(0);
    for (const g of json.report.groups.filter((x) => x.level === 'ward' || x.level === 'ics')) {
      expect((await cells('wards-table', g.name))[adherenceAt], g.id).toBe(percent(g, 'monitoring.percent', g.monitoring!.percent));
    }
    expect((await cells('wards-table', ics.name))[adherenceAt]).toBe(`${shown(ics, 'monitoring.percent', m.percent)}%`);

    // Equity: admissions and device adherence by IMD decile, a table with a caption, the JSON's figures.
    expect(await page.locator('#equity-table caption').textContent()).toBe('Admissions and device adherence by deprivation of the patient’s home (Index of Multiple Deprivation decile)');
    expect(await page.locator('#equity-table thead th').allTextContents()).toEqual(['Decile', 'Admissions', 'Patient-days at census', 'Device adherence']);
    const equity = await page.locator('#equity-table tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (c) => c.textContent)));
    expect(equity.map((r) => r[0])).toEqual(['1 (most deprived)', '2', '3', '4', '5', '6', '7', '8', '9', '10 (least deprived)', 'Not known']);
    const deciles = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', 'unknown'];
    deciles.forEach((d, i) => {
      const a = ics.equity.adherenceByImdDecile?.[d];
      expect(equity[i]![1], d).toBe(shown(ics, `equity.admissionsByImdDecile.${d}`, ics.equity.admissionsByImdDecile[d] ?? 0));
      expect(equity[i]![3], d).toBe(percent(ics, `equity.adherenceByImdDecile.${d}.percent`, a ? a.percent : null));
    });
    // By month: one row a month of the period, its occupancy and admissions the JSON's.
    const months = await page.locator('#months-table tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (c) => c.textContent)));
    expect(months).toHaveLength(json.monthly.length);
    json.monthly.forEach((mo, i) => {
      const g = mo.groups.find((x) => x.level === 'ics')!;
      expect(months[i]![2]).toBe(g.occupancy.meanPercent === null ? '–' : `${shown(g, 'occupancy.meanPercent', g.occupancy.meanPercent)}%`);
      expect(months[i]![4]).toBe(shown(g, 'admissions.total', g.admissions.total));
    });
    // Referrals and alerts, as in the HTML report (none here: 0, with no rate to withhold).
    expect((await cells('care-table', ics.name)).slice(2)).toEqual([shown(ics, 'referrals.total', ics.referrals.total), shown(ics, 'referrals.per100PatientDays', ics.referrals.per100PatientDays), shown(ics, 'alerts.total', ics.alerts.total), shown(ics, 'alerts.perPatientDay', ics.alerts.perPatientDay)]);

    // The hypertension ward's one admission is withheld, in words a planner can read, and explained.
    const htn = page.locator('#flow-table tbody tr', { has: page.locator('th', { hasText: 'Hypertension and Cardiology Virtual Ward' }) });
    expect(await htn.locator('td').nth(0).textContent()).toBe('withheld');
    expect(await text('withheld-note')).toMatch(/fewer than 5 people or events/);
    // Tables with captions; the plan's totals are the JSON's.
    expect(await page.locator('table caption').count()).toBe(await page.locator('table').count());
    expect(await text('plan-beds-now')).toBe(String(json.plan.total.bedsNeeded));

    // Both charts drawn by uPlot, on canvases of some size.
    for (const id of ['chart-occupancy', 'chart-pressure', 'chart-111']) {
      const size = await page.$eval(`#${id} canvas`, (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height, c.getBoundingClientRect().width]);
      expect(size.every((n) => n > 0), id).toBe(true);
      expect(await page.getAttribute(`#${id}`, 'aria-label')).toMatch(/^Line chart/);
    }
    // Admissions per week, step-up and step-down: drawn, and its text summary the JSON's weeks, each
    // withheld figure "withheld" (and not drawn), as in the HTML report.
    const weekly = await page.$eval('#chart-admissions canvas', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height, c.getBoundingClientRect().width]);
    expect(weekly.every((n) => n > 0), 'chart-admissions').toBe(true);
    expect(await page.getAttribute('#chart-admissions', 'role')).toBe('img');
    const { summary, said, weeks, expected } = await weeklyFigures(page, json);
    expect(summary.startsWith(`Bar chart of admissions per week (weeks from Monday, the first and last clipped to the period) to ${ics.name}, step-up and step-down: week from `), summary).toBe(true);
    expect(said).toEqual(expected);
    // The weeks of the 28 days: Mondays after the first, which starts on the period's first day; 16 admissions among them.
    expect(weeks[0]!.period).toBe(firstDay);
    for (const { period } of weeks.slice(1)) expect(new Date(`${period}T12:00:00Z`).getUTCDay(), period).toBe(1);
    expect(weeks.length).toBeGreaterThanOrEqual(4);
    const anyWithheld = weeks.some(({ g }) => g.admissions.stepUp === null || g.admissions.stepDown === null);
    expect(summary.endsWith('. Withheld weeks are not drawn.')).toBe(anyWithheld);
    expect(await page.isVisible('[data-testid="admissions-withheld"]')).toBe(anyWithheld);
    expect(await page.locator('#legend-admissions li').allTextContents()).toEqual(['Step-up', 'Step-down']);
    // Here every week's figure is 0 or withheld (a few a week): no bar rises above the axis, a 0 is a
    // line along it, and a withheld figure is not drawn.
    expect(weeks.every(({ g }) => !g.admissions.stepUp && !g.admissions.stepDown)).toBe(true);
    const drawn = await bars(page);
    for (const { rows } of drawn) expect(rows).toBeLessThanOrEqual(2);
    expect(drawn.map(({ runs }) => runs)).toEqual([weeks.filter(({ g }) => g.admissions.stepUp !== null).length, weeks.filter(({ g }) => g.admissions.stepDown !== null).length]);

    // Aggregates only: no patient id, name or NHS number of the registry, nor any id posted.
    const { data } = await loadRegistryFile('seeds/demo-ward.yaml');
    const identifiers = [...data.patients.flatMap((p) => [p.patientId, p.displayName, p.nhsNumber]), ...posted].filter((x): x is string => Boolean(x));
    expect(identifiers.length).toBeGreaterThan(30);
    await page.click('details.daily summary');
    const pageText = (await page.textContent('body')) ?? '';
    const source = await page.content();
    for (const id of identifiers) {
      expect(pageText, id).not.toContain(id);
      expect(source, id).not.toContain(id);
    }

    // The downloads are fetched with the token in a header, never in a URL.
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="download-csv"]')]);
    expect(csv.suggestedFilename()).toBe(`vw-capacity-QXX-${firstDay}-${yesterday}.csv`);
    const body = readFileSync((await csv.path())!, 'utf8');
    expect(body.split('\r\n')[0]).toMatch(/^period,icb,icb_name,provider,capacity,/);
    const [html] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="download-html"]')]);
    expect(html.suggestedFilename()).toMatch(/\.html$/);
    expect(readFileSync((await html.path())!, 'utf8')).toMatch(/^<!doctype html>/i);
    expect(urls.some((u) => u.includes(planner) || /token=/.test(u))).toBe(false);
    expect(errors).toEqual([]);

    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/planner-desktop.png', fullPage: true });
    await page.close();
  }, 60_000);

  it('works by keyboard alone: choose the period and show it', async () => {
    const page = await openPlanner(planner);
    await page.locator('#chart-occupancy[data-drawn="true"]').waitFor({ timeout: 15_000 });
    const weekAgo = londonDate(Date.now() - 7 * DAY);
    await page.focus('#from');
    await page.fill('#from', weekAgo);
    // On through the date's day, month and year to the button, by Tab alone.
    const focused = () => page.evaluate(() => document.activeElement?.id);
    for (let i = 0; i < 8 && (await focused()) !== 'show'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('show');
    await page.keyboard.press('Enter');
    const spoken = new Date(`${weekAgo}T12:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
    await expect.poll(() => page.textContent('#period')).toContain(spoken);
    const json = await reportJson(weekAgo, yesterday);
    const ics = json.report.groups.find((g) => g.level === 'ics')!;
    expect(await page.textContent('[data-testid="headline-admissions"]')).toBe(shown(ics, 'admissions.total', ics.admissions.total));
    // A period the wrong way round is refused with a message, and nothing is fetched.
    await page.fill('#from', yesterday);
    await page.fill('#to', weekAgo);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.textContent('[data-testid="error"]')).toMatch(/on or before/);
    await page.close();
  }, 30_000);

  it('has no accessibility violations (axe-core) at 1280 and 390 px, and no sideways scroll at 390 px', async () => {
    for (const width of [1280, 390]) {
      const page = await openPlanner(planner, { width, height: 900 }, { bypassCSP: true });
      await page.locator('#chart-occupancy[data-drawn="true"]').waitFor({ timeout: 15_000 });
      await page.click('details.daily summary');
      expect(await axeViolations(page), `${width} px`).toEqual([]);
      if (width === 390) {
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
        // Wide tables scroll inside their own container, which the keyboard can reach.
        expect(await page.getAttribute('#wards-table >> xpath=..', 'tabindex')).toBe('0');
        for (const id of ['chart-occupancy', 'chart-admissions']) {
          const right = await page.$eval(`#${id} canvas`, (c) => c.getBoundingClientRect().right);
          expect(right, id).toBeLessThanOrEqual(390);
        }
        await page.screenshot({ path: 'test-results/planner-390.png', fullPage: true });
      }
      await page.close();
    }
  }, 60_000);

  it('tells someone without a planner’s token why, and offers the sign-in form', async () => {
    const nurse = await app.tokens.issue({ sub: 'nurse.patel', wards: ['ward-ari'] });
    for (const [token, message] of [[nurse, /not a planner’s/], ['not-a-valid-token', /not valid/]] as const) {
      const page = await openPlanner(token, { width: 390, height: 800 });
      const error = page.locator('[data-testid="auth-error"]');
      await error.waitFor({ state: 'visible', timeout: 10_000 });
      expect(await error.textContent()).toMatch(message);
      expect(await page.isVisible('#signin-form')).toBe(true);
      expect(await page.isVisible('#planner')).toBe(false);
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('token-input');
      // Signing in there with a planner's token shows the report.
      await page.fill('#token-input', planner);
      await page.click('#signin-form button[type="submit"]');
      await page.locator('[data-testid="headline-capacity"]').waitFor({ timeout: 10_000 });
      expect(await page.textContent('[data-testid="headline-capacity"]')).toBe('95');
      await page.close();
    }
  }, 30_000);

  // Last, as it adds admissions: 10 step-up and 10 step-down yesterday, in the period's last week.
  it('draws the weekly admissions whose figures are shown, step-up and step-down, and not those withheld', async () => {
    const lead = await app.tokens.issue({ sub: 'lead.jones', wards: ['ward-ari', 'ward-hf'], roles: ['ward lead'] });
    const post = async (body: unknown) => {
      const res = await fetch(`${app.httpUrl}/api/v1/flow`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${lead}` }, body: JSON.stringify(body) });
      expect(res.status).toBe(202);
    };
    for (let i = 0; i < 10; i++) {
      await post({ kind: 'admit', patientId: `pt-plan-week-up-${i}`, wardId: 'ward-ari', pathway: 'ari', admission: 'step-up', source: 'gp', at: daysAgo(1, 9) });
      await post({ kind: 'admit', patientId: `pt-plan-week-down-${i}`, wardId: 'ward-hf', pathway: 'heart-failure', admission: 'step-down', source: 'acute-discharge', at: daysAgo(1, 10) });
    }
    await expect.poll(async () => (await reportJson()).report.groups.find((g) => g.level === 'ics')?.admissions.total, { timeout: 15_000 }).toBe(36);
    const json = await reportJson();
    for (const width of [1280, 390]) {
      const page = await openPlanner(planner, { width, height: 900 });
      await page.locator('#chart-admissions[data-drawn="true"]').waitFor({ timeout: 15_000 });
      const { said, weeks, expected } = await weeklyFigures(page, json);
      expect(said, `${width} px`).toEqual(expected);
      // The last week's figures, 10 and more, are shown, and drawn; the earlier weeks' are as before.
      const last = weeks.at(-1)!.g.admissions;
      expect(last.stepUp).toBeGreaterThanOrEqual(10);
      expect(last.stepDown).toBeGreaterThanOrEqual(10);
      // Bars of 10 and more, most of the plot's height, as tall as each other as their figures; one bar
      // (or line, for a 0) a week shown, none for a week withheld.
      const [up, down] = await bars(page);
      expect(Math.min(up!.rows, down!.rows), `${width} px`).toBeGreaterThan(60);
      expect(up!.rows / down!.rows, `${width} px`).toBeCloseTo(last.stepUp! / last.stepDown!, 1);
      expect(weeks.some(({ g }) => g.admissions.stepUp === null), 'a week withheld').toBe(true);
      expect([up!.runs, down!.runs], `${width} px`).toEqual([weeks.filter(({ g }) => g.admissions.stepUp !== null).length, weeks.filter(({ g }) => g.admissions.stepDown !== null).length]);
      const right = await page.$eval('#chart-admissions canvas', (c) => c.getBoundingClientRect().right);
      expect(right).toBeLessThanOrEqual(width);
      await page.close();
    }
  }, 45_000);
});
