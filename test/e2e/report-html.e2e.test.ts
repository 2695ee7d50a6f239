import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FLOW_SYSTEMS, FLOW_WARDS, flowHistoryEvents } from '../fixtures/flow-history.ts';
import type { Alert, CapacitySnapshot, FlowEvent, Ward } from '../../src/domain/index.ts';
import { commissionedBeds, planBeds } from '../../src/reports/planning.ts';
import { dailyPressure } from '../../src/reports/pressure.ts';
import { flowReport, type FlowInput } from '../../src/reports/flow-measures.ts';
import { monthlyReports, weeklyReports } from '../../src/reports/monthly.ts';
import { reportCsv } from '../../src/reports/render-csv.ts';
import { reportHtml } from '../../src/reports/render-html.ts';
import { capacityReport } from '../../src/reports/capacity-report.ts';
import { suppressReports } from '../../src/reports/suppress.ts';
import { launchChromium } from '../support/chromium.ts';

/**
 * The capacity report as a planner gets it: the HTML file opened from disk with no network, its charts
 * drawn by the inlined uPlot; and `vw report capacity` run as a process on the same history as files.
 * The history is the worked one of test/unit/reports/flow-measures.test.ts (28–31 March 2026), with
 * wards of a second ICS the report must leave out.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const wards: Ward[] = [...FLOW_WARDS, { wardId: 'ward-z', name: 'Elsewhere', organisation: 'RZZ', capacity: 7, ics: 'QZZ' }];
const systems = [...FLOW_SYSTEMS, { icsId: 'QZZ', name: 'Other ICS' }];
const by = 'ward.lead';
const events: FlowEvent[] = [
  ...flowHistoryEvents(['pt-e2e-1', 'pt-e2e-2', 'pt-e2e-3', 'pt-e2e-4']),
  // Another ICS's patient: in the files, never in QXX's report.
  { kind: 'admit', eventId: 'z1', patientId: 'pt-e2e-9', wardId: 'ward-z', pathway: 'ari', admission: 'step-up', source: 'gp', at: '2026-03-29T10:00:00Z', by },
];
const alert = (id: string, patientId: string, wardId: string, ruleId: string, severity: Alert['severity'], raisedAt: string, ackAt?: string): Alert => ({
  alertId: id, patientId, wardId, cause: ruleId, ruleId, ruleVersion: '1.0.0', severity, state: ackAt ? 'acknowledged' : 'open', revision: ackAt ? 1 : 0, raisedAt, updatedAt: ackAt ?? raisedAt, eventTs: raisedAt,
  partial: false, explanation: 'x', response: 'y', evidence: [], history: [{ state: 'open', at: raisedAt, by: 'vw' }, ...(ackAt ? [{ state: 'acknowledged' as const, at: ackAt, by: 'nurse' }] : [])], receivedAt: raisedAt,
});
const alerts: Alert[] = [
  alert('a1', 'pt-e2e-3', 'ward-b', 'news2', 'high', '2026-03-29T10:00:00Z'),
  // A later revision of a1 (acknowledged): the report counts the alert once.
  alert('a1', 'pt-e2e-3', 'ward-b', 'news2', 'high', '2026-03-29T10:00:00Z', '2026-03-29T10:12:00Z'),
  alert('a2', 'pt-e2e-4', 'ward-b', 'spo2-urgent-review', 'medium', '2026-03-30T09:00:00Z', '2026-03-30T10:00:00Z'),
  alert('a3', 'pt-e2e-1', 'ward-a', 'news2', 'medium', '2026-03-28T10:00:00Z'),
  alert('a9', 'pt-e2e-9', 'ward-z', 'news2', 'medium', '2026-03-29T11:00:00Z'),
];
const from = new Date('2026-03-28T00:00:00Z');
const to = new Date('2026-03-31T23:00:00Z');
const c2 = (meanMinutes: number, p90Minutes: number) => ({ c1: { meanMinutes: 7, p90Minutes: 13 }, c2: { meanMinutes, p90Minutes }, c3: { meanMinutes: 60, p90Minutes: 120 }, c4: { meanMinutes: 90, p90Minutes: 200 } });
const snapshots: CapacitySnapshot[] = [
  { service: 'ambulance', providerId: 'RX9', ts: '2026-03-29T10:00:00Z', reapLevel: 2, responses: c2(20, 41) },
  { service: 'ambulance', providerId: 'RX9', ts: '2026-03-30T10:00:00Z', reapLevel: 3, responses: c2(31, 66) },
  { service: 'nhs111', providerId: '111-X', ts: '2026-03-30T10:00:00Z', callsWaiting: 30, answeredWithin60sPct: 81 },
  { service: 'system', providerId: 'QXX', ts: '2026-03-29T08:00:00Z', opelLevel: 2 },
  { service: 'system', providerId: 'QXX', ts: '2026-03-30T08:00:00Z', opelLevel: 3 },
];
const qxx: FlowInput = { events: events.slice(0, 8), wards: wards.slice(0, 3), systems: systems.slice(0, 1), alerts: [alerts[1]!, ...alerts.slice(2, 4)] };

let dir: string;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vw-report-e2e-'));
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe('the capacity report in a browser, offline', () => {
  it('draws the planning and pressure charts', async () => {
    const file = join(dir, 'planning.html');
    const plan = { ...planBeds(qxx.events, { from, to }), commissionedBeds: commissionedBeds(qxx.events, qxx.wards, { from, to }) };
    const s = suppressReports({ report: flowReport(qxx, { from, to, censusHour: 8 }), monthly: monthlyReports(qxx, from, to), plan: { plan, events: qxx.events }, wards: qxx.wards });
    const providers = { ambulance: 'RX9', nhs111: '111-X', ics: 'QXX' };
    writeFileSync(
      file,
      reportHtml(s.report, s.monthly!, { title: 'Capacity of Test ICS', generatedAt: new Date('2026-04-01T09:00:00Z'), plan: s.plan!, pressure: { providers, daily: dailyPressure(snapshots, providers, from, to) } }),
    );
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.route('**', (r) => (r.request().url().startsWith('file:') ? r.continue() : r.abort()));
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => document.querySelectorAll('.chart[data-drawn="true"]').length === 5, undefined, { timeout: 15_000 });
    const charts = await page.$$eval('.chart', (boxes) =>
      boxes.map((b) => ({ id: b.id, canvas: (b.querySelector('canvas') as HTMLCanvasElement | null)?.width ?? 0, legend: Array.from(b.querySelectorAll('.u-label'), (l) => l.textContent), label: b.getAttribute('aria-label') })),
    );
    expect(charts.map((c) => c.id)).toEqual(['chart-occupancy-0', 'chart-los-0', 'chart-planning', 'chart-pressure-occupancy', 'chart-pressure']);
    for (const c of charts) expect(c.canvas).toBeGreaterThan(0);
    expect(charts.slice(2).map((c) => c.legend)).toEqual([
      ['Pathway', 'Beds needed now', 'Beds needed with the surge (×1.6)', 'Commissioned beds'],
      ['Date', 'Occupancy %', 'Target 80%'],
      ['Date', 'C2 mean (minutes)', 'C2 90th centile, mean (minutes)', 'OPEL (highest of the day)'],
    ]);
    expect(charts[4]!.label).toMatch(/highest 31 on 30 March 2026/);
    // The pressure chart has its OPEL axis on the right, and both pressure charts span the same days.
    const axes = await page.$$eval('#chart-pressure .u-axis', (a) => a.length);
    expect(axes).toBe(3);
    // The daily figures are there as a table for anyone who cannot see the charts.
    await page.click('details summary');
    const rows = await page.$$eval('details table tbody tr', (trs) => trs.map((tr) => Array.from(tr.children, (c) => c.textContent)));
    expect(rows[2]).toEqual(['2026-03-30', '33.3%', '31', '66', '', '3', '81%', '30', '3']);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('opens from file:// with no network, draws every chart and shows the figures', async () => {
    const file = join(dir, 'report.html');
    const s = suppressReports({ report: flowReport(qxx, { from, to, censusHour: 8 }), monthly: monthlyReports(qxx, from, to), weekly: weeklyReports(qxx, from, to, { levels: ['ics'] }), wards: qxx.wards });
    writeFileSync(file, reportHtml(s.report, s.monthly!, { title: 'Capacity of Test ICS', generatedAt: new Date('2026-04-01T09:00:00Z'), weekly: s.weekly! }));
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const online: string[] = [];
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.route('**', (r) => {
      if (r.request().url().startsWith('file:')) return r.continue();
      online.push(r.request().url());
      return r.abort();
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => document.querySelectorAll('.chart[data-drawn="true"]').length === 3, undefined, { timeout: 15_000 });

    const charts = await page.$$eval('.chart', (boxes) =>
      boxes.map((b) => ({ id: b.id, role: b.getAttribute('role'), label: b.getAttribute('aria-label'), canvas: (b.querySelector('canvas') as HTMLCanvasElement | null)?.width ?? 0, axes: Array.from(b.querySelectorAll('.u-label'), (l) => l.textContent) })),
    );
    expect(charts.map((c) => c.id)).toEqual(['chart-occupancy-0', 'chart-admissions-0', 'chart-los-0']);
    for (const c of charts) {
      expect(c.canvas).toBeGreaterThan(0);
      expect(c.role).toBe('img');
      expect(c.label!.length).toBeGreaterThan(40);
    }
    // The legends (the axis titles are drawn on the canvas).
    expect(charts.map((c) => c.axes)).toEqual([['Date', 'Occupancy %', 'Target 80%'], ['Date', 'Step-up', 'Step-down'], ['Date', 'Median', '90th centile']]);
    expect(errors).toEqual([]);
    expect(online).toEqual([]);

    const cells = (caption: string) =>
      page.$$eval('table', (tables, caption) => {
        const table = tables.find((t) => t.caption?.textContent === caption)!;
        return Array.from(table.querySelectorAll('tbody tr'), (tr) => Array.from(tr.children, (c) => c.textContent));
      }, caption);
    const W = 'withheld';
    expect(await cells('Capacity and use of each integrated care system (ICS)')).toEqual([['Test ICS (ICS, all wards)', '9', '9', '22.2%', W, W, W, '6.98']]);
    expect(await cells('Capacity and occupancy by ward, provider and ICS')).toEqual([
      ['Ward A', 'RXA', '4', '0.75', '18.8%', '3.13'],
      ['Ward B', 'RXB', '2', '1.25', '62.5%', '3.85'],
      ['Ward C', 'RXB', '3', '0', '0%', '0'],
      ['RXA (Provider)', '', '4', '0.75', '18.8%', '3.13'],
      ['RXB (Provider)', '', '5', '1.25', '25%', '3.85'],
      ['Test ICS (ICS, all wards)', '', '9', '2', '22.2%', '6.98'],
    ]);
    expect((await cells('Admissions and discharges by ward, provider and ICS'))[0]).toEqual(['Ward A', W, W, W, '0', W, W, W, '0', '0', '0', W]);
    expect(await page.locator('html').getAttribute('lang')).toBe('en-GB');
    expect(await page.$$eval('h1', (h) => h.map((x) => x.textContent))).toEqual(['Capacity of Test ICS']);
    expect(await page.textContent('body')).not.toMatch(/pt-e2e/);
    // Made without readings: said in words, in the summary and the equity section, never as 0%.
    expect(await page.locator('p.not-measured').allTextContents()).toEqual([
      expect.stringMatching(/^Device adherence not measured: the report was made without readings/),
      expect.stringMatching(/^Device adherence not measured: the report was made without readings/),
    ]);
    await page.close();
  });
});

/** `node --import tsx src/cli/main.ts …` from the repository, as the test support starts roles. */
function vw(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

// Each check runs vw as a process, some several times: on a loaded machine each start takes seconds.
describe('vw report capacity', { timeout: 120_000 }, () => {
  let files: { seeds: string; flow: string; alerts: string };
  beforeAll(() => {
    files = { seeds: join(dir, 'registry.yaml'), flow: join(dir, 'flow.jsonl'), alerts: join(dir, 'alerts.jsonl') };
    writeFileSync(files.seeds, stringify({ systems, wards, patients: [], devices: [], enrolments: [] }));
    writeFileSync(files.flow, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
    writeFileSync(files.alerts, `${alerts.map((a) => JSON.stringify(a)).join('\n')}\n`);
  });
  const args = (format: string, ...more: string[]) => ['report', 'capacity', '--ics', 'QXX', '--from', '2026-03-28', '--to', '2026-03-31', '--format', format, '--seeds', files.seeds, '--flow', files.flow, '--alerts', files.alerts, ...more];

  it('writes the monthly CSV of the ICS, UK dates with --to inclusive', async () => {
    const run = await vw(args('csv'));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(capacityReport({ wards, systems, events, alerts, referrals: [] }, { ics: 'QXX', from, to, fromDate: '2026-03-28', toDate: '2026-03-31', format: 'csv', censusHour: 8, targetOccupancy: 0.85, probability: 0.95, surgeFactor: 1.6 }).output);
    const lines = run.stdout.split('\r\n');
    expect(lines[0]).toMatch(/^period,icb,icb_name,provider,capacity,occupancy_percent,capacity_per_100k_adults,mean_occupied,/);
    // Counts of 1 to 4 withheld (*), with the medians and rates worked out from them; no referrals (0).
    // Without --readings, device adherence and hours missing are not measured: empty.
    expect(lines[1]).toBe('2026-03,QXX,Test ICS,,9,22.2,9,2,*,*,*,*,*,*,*,6.98,0,*,,,,,,');
    expect(run.stdout).not.toMatch(/QZZ|RZZ/);
  }, 60_000);

  it('writes JSON, and to --out', async () => {
    const out = join(dir, 'report.json');
    const run = await vw(args('json', '--out', out, '--census-hour', '8'));
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
    const json = JSON.parse(readFileSync(out, 'utf8'));
    expect(json.report.from).toBe('2026-03-28T00:00:00.000Z');
    expect(json.report.to).toBe('2026-03-31T23:00:00.000Z');
    expect(json.report.groups.map((g: { level: string; id: string }) => `${g.level}:${g.id}`)).toEqual(flowReport(qxx, { from, to }).groups.map((g) => `${g.level}:${g.id}`));
    const ics = json.report.groups.find((g: { level: string }) => g.level === 'ics');
    expect(ics).toMatchObject({ id: 'QXX', capacity: 9, patientDays: 6.98, admissions: { total: null }, alerts: { total: null } });
    expect(ics.suppressed).toEqual(expect.arrayContaining(['admissions.total', 'alerts.total', 'alerts.perPatientDay']));
    expect(json.disclosureControl).toMatchObject({ threshold: 5 });
    expect(json.monthly.map((m: { period: string }) => m.period)).toEqual(['2026-03']);
  }, 60_000);

  it('adds the plan and, with --capacity, the pressure of the wards’ ambulance service, 111 provider and ICS', async () => {
    const seeds = join(dir, 'registry-escalation.yaml');
    writeFileSync(seeds, stringify({ systems, wards: wards.map((w) => (w.ics === 'QXX' ? { ...w, ambulanceService: 'RX9', nhs111Provider: '111-X' } : w)), patients: [], devices: [], enrolments: [] }));
    const capacity = join(dir, 'capacity.jsonl');
    writeFileSync(capacity, `${[...snapshots, { service: 'ambulance', providerId: 'RZ9', ts: '2026-03-30T10:00:00Z', reapLevel: 4 }].map((s) => JSON.stringify(s)).join('\n')}\n`);
    const more = ['--seeds', seeds, '--capacity', capacity, '--surge-factor', '2', '--target-occupancy', '0.8'];
    const json = await vw(args('json', ...more));
    expect(json.stderr).toBe('');
    const out = JSON.parse(json.stdout);
    expect(out.plan).toMatchObject({ targetOccupancy: 0.8, probability: 0.95, surgeFactor: 2 });
    expect(out.plan.pathways.map((p: { pathway: string }) => p.pathway)).toEqual(['ari', 'copd', 'heart-failure']);
    expect(out.pressure.providers).toEqual({ ambulance: 'RX9', nhs111: '111-X', ics: 'QXX' });
    expect(out.pressure.daily.map((d: { date: string; reapMax: number | null }) => [d.date, d.reapMax])).toEqual([['2026-03-28', null], ['2026-03-29', 2], ['2026-03-30', 3], ['2026-03-31', null]]);
    const csv = await vw(args('csv', ...more));
    expect(csv.stdout.split('\r\n')[1]).toBe('2026-03,QXX,Test ICS,,9,22.2,9,2,*,*,*,*,*,*,*,6.98,0,*,,,25.5,3,81,3');
    const bad = join(dir, 'bad-capacity.jsonl');
    writeFileSync(bad, [JSON.stringify(snapshots[0]), JSON.stringify({ ...snapshots[1], reapLevel: 7 })].join('\n'));
    const refused = await vw(args('csv', '--capacity', bad));
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/bad-capacity\.jsonl line 2: not a capacity snapshot \(.*reapLevel/);
    const flag = await vw(args('csv', '--probability', '1.5'));
    expect(flag.stderr).toMatch(/--probability must be a probability above 0 and below 1/);
  }, 60_000);

  it('refuses a bad line naming it, and bad arguments, in one line with no stack', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, [JSON.stringify(events[0]), JSON.stringify({ ...events[1], outcome: 'went-home' }), '{"kind":'].join('\n'));
    const run = await vw(['report', 'capacity', '--ics', 'QXX', '--from', '2026-03-28', '--to', '2026-03-31', '--format', 'csv', '--seeds', files.seeds, '--flow', bad]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/bad\.jsonl line 2: not a flow event \(.*outcome/);
    expect(run.stderr).toMatch(/bad\.jsonl line 3: not valid JSON/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const date = await vw(args('csv').map((a) => (a === '2026-03-31' ? '2026-02-30' : a)));
    expect(date.status).toBe(1);
    expect(date.stderr).toBe('vw: vw report: --to 2026-02-30 is not a calendar date\n');
    const ics = await vw(args('csv').map((a) => (a === 'QXX' ? 'QNO' : a)));
    expect(ics.stderr).toBe('vw: vw report: no ward of ICS QNO in ' + files.seeds + ' (its wards belong to QXX, QZZ)\n');
  }, 60_000);
});
