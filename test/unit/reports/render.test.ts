import { describe, expect, it } from 'vitest';
import type { Alert, FlowEvent, Referral } from '../../../src/domain/index.ts';
import { FLOW_READING_HOURS, FLOW_SYSTEMS, FLOW_WARDS, flowHistoryEvents } from '../../fixtures/flow-history.ts';
import { capacityReport } from '../../../src/reports/capacity-report.ts';
import { flowReport, type FlowInput } from '../../../src/reports/flow-measures.ts';
import { monthlyReports, weeklyReports } from '../../../src/reports/monthly.ts';
import { csvField, reportCsv } from '../../../src/reports/render-csv.ts';
import { NOT_MEASURED_TEXT, reportHtml, scriptJson } from '../../../src/reports/render-html.ts';
import { bedsFor, commissionedBeds, planBeds } from '../../../src/reports/planning.ts';
import { dailyPressure, periodPressure } from '../../../src/reports/pressure.ts';
import { suppressReports } from '../../../src/reports/suppress.ts';
import type { CapacitySnapshot } from '../../../src/domain/index.ts';

/**
 * The worked history of flow-measures.test.ts (28–31 March 2026, across the clock change), with ids
 * that cannot occur by chance in the page, so a leak of any of them would show.
 */
const wards = FLOW_WARDS;
const systems = FLOW_SYSTEMS;
const by = 'ward.lead';
const P = ['pt-zqx-001', 'pt-zqx-002', 'pt-zqx-003', 'pt-zqx-004'] as const;
const events: FlowEvent[] = flowHistoryEvents(P, (n) => `ev-zqx-${n}`);
const referral = (id: string, patientId: string, route: string, state: Referral['state'], requestedAt: string): Referral => ({
  referralId: id, patientId, wardId: 'ward-b', route, routeTitle: route, routesVersion: '1.0.0', priority: 'urgent', urgency: 'today', alertIds: [], reason: 'r', evidence: [],
  requestedBy: 'nurse', requestedAt, state, revision: 2, updatedAt: requestedAt, history: [], delivery: { status: 'delivered', attempts: 1 },
});
const alert = (id: string, patientId: string, wardId: string, ruleId: string, severity: Alert['severity'], raisedAt: string, ackAt?: string): Alert => ({
  alertId: id, patientId, wardId, cause: ruleId, ruleId, ruleVersion: '1.0.0', severity, state: ackAt ? 'acknowledged' : 'open', revision: ackAt ? 1 : 0, raisedAt, updatedAt: ackAt ?? raisedAt, eventTs: raisedAt,
  partial: false, explanation: 'x', response: 'y', evidence: [], history: [{ state: 'open', at: raisedAt, by: 'vw' }, ...(ackAt ? [{ state: 'acknowledged' as const, at: ackAt, by: 'nurse' }] : [])], receivedAt: raisedAt,
});
const input: FlowInput = {
  events,
  wards,
  systems,
  referrals: [referral('ref-zqx-1', P[3], 'urgent-community-response', 'accepted', '2026-03-30T08:00:00Z'), referral('ref-zqx-2', P[2], 'ambulance-999', 'completed', '2026-03-29T12:00:00Z')],
  alerts: [
    alert('alert-zqx-1', P[2], 'ward-b', 'news2', 'high', '2026-03-29T10:00:00Z', '2026-03-29T10:12:00Z'),
    alert('alert-zqx-2', P[3], 'ward-b', 'spo2-urgent-review', 'medium', '2026-03-30T09:00:00Z', '2026-03-30T10:00:00Z'),
    alert('alert-zqx-3', P[0], 'ward-a', 'news2', 'medium', '2026-03-28T10:00:00Z'),
  ],
};
/** The hours the history's patients sent readings in (FLOW_READING_HOURS, p1 to p4 as P). */
const readingHours = FLOW_READING_HOURS.map(({ patientId, hour }) => ({ patientId: P[Number(patientId.slice(1)) - 1]!, hour }));
/**
 * The history ten times over (ten patients in each one's place, each sending readings as that one
 * did): every count 0 or 10 or more, and 10 patients at a census, so nothing is withheld.
 */
const tenfold: FlowInput = (() => {
  const copies = Array.from({ length: 10 }, (_, k) => ['1', '2', '3', '4'].map((n) => `pt-zqx-${k}-${n}`) as [string, string, string, string]);
  return {
    events: copies.flatMap((c, k) => flowHistoryEvents(c, (n) => `ev-zqx-${k}-${n}`)),
    wards,
    systems,
    readingHours: copies.flatMap((c) => FLOW_READING_HOURS.map(({ patientId, hour }) => ({ patientId: c[Number(patientId.slice(1)) - 1]!, hour }))),
  };
})();
const from = new Date('2026-03-28T00:00:00Z');
const to = new Date('2026-03-31T23:00:00Z');
const options = { title: 'Capacity of Test ICS', generatedAt: new Date('2026-04-01T09:00:00Z') };
/** The report, months and weeks of `i` through disclosure control (suppress.ts), as capacityReport gives them to the renderers. */
const shown = (i: FlowInput = input, plan?: Parameters<typeof suppressReports>[0]['plan']) =>
  suppressReports({ report: flowReport(i, { from, to, censusHour: 8 }), monthly: monthlyReports(i, from, to, { censusHour: 8 }), weekly: weeklyReports(i, from, to, { censusHour: 8 }), wards: i.wards, ...(plan ? { plan } : {}) });
const render = (i: FlowInput = input) => {
  const s = shown(i);
  return reportHtml(s.report, s.monthly!, { ...options, weekly: s.weekly! });
};

/** The cells of the table row whose header is `name`, in the table with `caption`. */
function row(html: string, caption: string, name: string): string[] {
  const table = html.slice(html.indexOf(`<caption>${caption}</caption>`));
  const tr = table.slice(table.indexOf(`<th scope="row">${name}`));
  return [...tr.slice(0, tr.indexOf('</tr>')).matchAll(/<td>(.*?)<\/td>/g)].map((m) => m[1]!);
}

describe('monthly reports', () => {
  it('splits a period at UK month starts, clipped to the period, and adds up to the whole', () => {
    const start = new Date('2026-02-20T00:00:00Z');
    const months = monthlyReports(input, start, to);
    expect(months.periods.map((m) => [m.period, m.from, m.to])).toEqual([
      ['2026-02', '2026-02-20T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
      ['2026-03', '2026-03-01T00:00:00.000Z', '2026-03-31T23:00:00.000Z'],
    ]);
    const whole = flowReport(input, { from: start, to }).groups.find((g) => g.level === 'ics')!;
    const parts = months.periods.map((m) => m.report.groups.find((g) => g.level === 'ics')!);
    expect(parts.reduce((n, g) => n + g.admissions.total, 0)).toBe(whole.admissions.total);
    expect(months.providers).toEqual({ RXA: ['QXX'], RXB: ['QXX'] });
  });

  it('splits weeks on Mondays (UK), the first one clipped', () => {
    expect(weeklyReports(input, from, to).periods.map((w) => w.period)).toEqual(['2026-03-28', '2026-03-30']);
  });
});

describe('capacityReport JSON', () => {
  // The tenfold history over three weeks and a bit, Wednesday 18 March to Wednesday 8 April 2026
  // (inclusive, UK days): across the clock change, the first and last weeks clipped.
  const weeksFrom = new Date('2026-03-18T00:00:00Z');
  const weeksTo = new Date('2026-04-08T23:00:00Z');
  const json = JSON.parse(
    capacityReport({ ...tenfold, alerts: [], referrals: [] }, { ics: 'QXX', from: weeksFrom, to: weeksTo, fromDate: '2026-03-18', toDate: '2026-04-08', format: 'json', censusHour: 8, targetOccupancy: 0.85, probability: 0.95, surgeFactor: 1.6 }).output,
  );
  type Admissions = { total: number | null; stepUp: number | null; stepDown: number | null };
  type Group = { level: string; id: string; admissions: Admissions; suppressed: string[] };
  const weekly = json.weekly as Array<{ period: string; from: string; to: string; groups: Group[] }>;

  it('has the ICS’s weeks beside its months, the weeks from Monday (UK), the first and last clipped to the period', () => {
    expect(Object.keys(json)).toEqual(['ics', 'disclosureControl', 'report', 'monthly', 'weekly', 'plan', 'pressure']);
    expect(weekly.map((w) => [w.period, w.from, w.to])).toEqual([
      ['2026-03-18', '2026-03-18T00:00:00.000Z', '2026-03-23T00:00:00.000Z'],
      // Monday 30 March starts at 00:00 BST, 23:00 UTC the day before.
      ['2026-03-23', '2026-03-23T00:00:00.000Z', '2026-03-29T23:00:00.000Z'],
      ['2026-03-30', '2026-03-29T23:00:00.000Z', '2026-04-05T23:00:00.000Z'],
      ['2026-04-06', '2026-04-05T23:00:00.000Z', '2026-04-08T23:00:00.000Z'],
    ]);
    for (const w of weekly.slice(1)) expect(new Date(`${w.period}T12:00:00Z`).getUTCDay(), w.period).toBe(1);
    // At the ICS level only, as the HTML report's chart has them.
    for (const w of weekly) expect(w.groups.map((g) => [g.level, g.id])).toEqual([['ics', 'QXX']]);
  });

  it('gives each week’s step-up and step-down admissions, adding up to the period’s when none is withheld', () => {
    const ics = (json.report.groups as Group[]).find((g) => g.level === 'ics')!;
    const weeks = weekly.map((w) => w.groups[0]!);
    // Ten of each patient: P1 (step-up) on the 27th, P2 (step-down) and P3 (step-up) on the 28th, P4 (step-up) on the 30th.
    expect(weeks.map((g) => [g.admissions.stepUp, g.admissions.stepDown])).toEqual([[0, 0], [20, 10], [10, 0], [0, 0]]);
    for (const g of [ics, ...weeks]) expect(g.suppressed.filter((p) => p.startsWith('admissions.'))).toEqual([]);
    expect(ics.admissions).toMatchObject({ total: 40, stepUp: 30, stepDown: 10 });
    for (const key of ['total', 'stepUp', 'stepDown'] as const) expect(weeks.reduce((n, g) => n + g.admissions[key]!, 0), key).toBe(ics.admissions[key]);
    // The months are as they were.
    expect((json.monthly as Array<{ period: string }>).map((m) => m.period)).toEqual(['2026-03', '2026-04']);
  });

  it('withholds a week’s small counts, as the HTML report’s chart does', () => {
    const few = JSON.parse(capacityReport({ ...input, alerts: [], referrals: [] }, { ics: 'QXX', from, to, fromDate: '2026-03-28', toDate: '2026-03-31', format: 'json', censusHour: 8, targetOccupancy: 0.85, probability: 0.95, surgeFactor: 1.6 }).output);
    const weeks = (few.weekly as typeof weekly).map((w) => [w.period, w.groups[0]!.admissions.stepUp, w.groups[0]!.admissions.stepDown]);
    expect(weeks).toEqual([['2026-03-28', null, null], ['2026-03-30', null, 0]]);
  });
});

describe('reportCsv', () => {
  it('works out the month’s figures of the ICS and each provider', () => {
    const month = monthlyReports(input, from, to, { censusHour: 8 }).periods[0]!.report.groups;
    // The columns of the rows below, before disclosure control.
    const columns = (level: string, id: string) => {
      const g = month.find((x) => x.level === level && x.id === id)!;
      return [g.capacity, g.occupancy.meanPercent, g.capacityPer100kAdults, g.occupancy.meanOccupied, g.admissions.total, g.admissions.stepUp, g.admissions.stepDown, g.discharges.total, g.acuteAdmissions, g.lengthOfStayDays.median, g.lengthOfStayDays.p90, g.patientDays, g.referrals.per100PatientDays, g.alerts.perPatientDay];
    };
    // ICS: census 1, 2, 3, 2 of 9 beds; P1, P2, P3 discharged (3.08, 0.33, 2.44 days); 6.98 patient-days,
    // 2 referrals (28.66 per 100) and 3 alerts (0.43 a day).
    expect(columns('ics', 'QXX')).toEqual([9, 22.2, 9, 2, 3, 2, 1, 3, 1, 2.4, 3.1, 6.98, 28.66, 0.43]);
    // RXA (ward A): census 1, 1, 1, 0 of 4; no referrals in 3.13 patient-days; one alert.
    expect(columns('provider', 'RXA')).toEqual([4, 18.8, null, 0.75, 2, 1, 1, 2, 0, 1.7, 3.1, 3.13, 0, 0.32]);
    // RXB (wards B and C, 5 beds): census 0, 1, 2, 2; P3 arrived by transfer, so one admission (P4).
    expect(columns('provider', 'RXB')).toEqual([5, 25, null, 1.25, 1, 1, 0, 1, 1, 2.4, 2.4, 3.85, 51.89, 0.52]);
  });

  it('writes the publication columns, then vw’s, one row per month for the ICS and each provider, withheld figures as *', () => {
    const csv = reportCsv(shown().monthly!);
    expect(csv.endsWith('\r\n')).toBe(true);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(
      'period,icb,icb_name,provider,capacity,occupancy_percent,capacity_per_100k_adults,mean_occupied,admissions,step_up,step_down,discharges,acute_admissions,los_median_days,los_p90_days,patient_days,referrals_per_100_patient_days,alerts_per_patient_day,device_adherence_percent,hours_missing_per_patient_day,c2_mean_minutes,reap_max,nhs111_answered_60s_percent,opel_max',
    );
    // The counts above are all 1 to 4: withheld, with the medians and rates worked out from them; bed
    // use shown. No readings: device adherence and hours missing not measured, empty. No capacity
    // snapshots: the pressure columns are empty.
    expect(lines[1]).toBe('2026-03,QXX,Test ICS,,9,22.2,9,2,*,*,*,*,*,*,*,6.98,*,*,,,,,,');
    // RXA has no referrals (0, shown) and no acute admissions.
    expect(lines[2]).toBe('2026-03,QXX,Test ICS,RXA,4,18.8,,0.75,*,*,*,*,0,*,*,3.13,0,*,,,,,,');
    // RXB: no step-down admissions.
    expect(lines[3]).toBe('2026-03,QXX,Test ICS,RXB,5,25,,1.25,*,*,0,*,*,*,*,3.85,*,*,,,,,,');
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe('');
  });

  it('adds the month’s ambulance, 111 and OPEL pressure to the ICS rows', () => {
    const monthly = shown().monthly!;
    const csv = reportCsv(monthly, { pressure: periodPressure(SNAPSHOTS, PROVIDERS, monthly.periods) });
    const lines = csv.split('\r\n');
    // C2 means 20 and 31 (25.5); REAP 2 then 3; 111 answered 90% and 81% (85.5); OPEL 2 then 3: not of
    // the wards' patients, never withheld.
    expect(lines[1]).toBe('2026-03,QXX,Test ICS,,9,22.2,9,2,*,*,*,*,*,*,*,6.98,*,*,,,25.5,3,85.5,3');
    expect(lines[2]!.endsWith(',3.13,0,*,,,,,,')).toBe(true);
  });

  it('gives device adherence and hours missing per patient-day, withheld (*) where they could be of fewer than 5 patients', () => {
    const column = (csv: string, name: string) => {
      const [head, ...rows] = csv.trimEnd().split('\r\n').map((l) => l.split(','));
      return rows.map((r) => r[head!.indexOf(name)]);
    };
    // The hand-worked history with its readings: the ICS's adherence is 50% (4 of 8 patient-days) and
    // 61 hours were missing (8.74 a patient-day), but 8 patient-days at census over 4 days could be 2
    // patients: withheld, as is every provider's.
    const few = shown({ ...input, readingHours });
    expect(few.monthly!.periods[0]!.report.groups.find((g) => g.level === 'ics')!.monitoring).toMatchObject({ expectedDays: 8, percent: null, hoursMissingPerPatientDay: null });
    const small = reportCsv(few.monthly!);
    expect(column(small, 'device_adherence_percent')).toEqual(['*', '*', '*']);
    expect(column(small, 'hours_missing_per_patient_day')).toEqual(['*', '*', '*']);
    // Ten times over, shown: 40 of 80 days, 50%; 610 hours missing in 69.79 patient-days, 8.74 a day.
    // RXA is ward A (P1: 2 of 3 days, 11 hours missing in 3.125 patient-days); RXB wards B and C (P3,
    // P4: 2 of 5 days; 50 hours in 3.854).
    const csv = reportCsv(shown(tenfold).monthly!);
    expect(column(csv, 'device_adherence_percent')).toEqual(['50', '66.7', '40']);
    expect(column(csv, 'hours_missing_per_patient_day')).toEqual(['8.74', '3.52', '12.97']);
    // The national columns first, as ever (ten patients in each bed's place: 222.2% of 9 beds); no
    // referrals or alerts; no capacity snapshots.
    expect(csv.split('\r\n')[1]).toBe('2026-03,QXX,Test ICS,,9,222.2,9,20,30,20,10,30,10,2.4,3.1,69.79,0,0,50,8.74,,,,');
  });

  it('quotes fields by RFC 4180', () => {
    expect(csvField('North, East "and" Cumbria')).toBe('"North, East ""and"" Cumbria"');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(12.5)).toBe('12.5');
    const csv = reportCsv(shown({ ...input, systems: [{ icsId: 'QXX', name: 'North, "East"' }] }).monthly!);
    expect(csv.split('\r\n')[1]).toMatch(/^2026-03,QXX,"North, ""East""",,9,/);
  });
});

/** Pressure on the 29th and 30th; none on the 28th or 31st. The 29th is the clock change (BST from 01:00 UTC). */
const PROVIDERS = { ambulance: 'RX9', nhs111: '111-X', ics: 'QXX' };
const c2 = (meanMinutes: number, p90Minutes: number) => ({ c1: { meanMinutes: 7, p90Minutes: 13 }, c2: { meanMinutes, p90Minutes }, c3: { meanMinutes: 60, p90Minutes: 120 }, c4: { meanMinutes: 90, p90Minutes: 200 } });
const SNAPSHOTS: CapacitySnapshot[] = [
  { service: 'ambulance', providerId: 'RX9', ts: '2026-03-29T10:00:00Z', reapLevel: 2, responses: c2(20, 41), handover: { meanMinutes: 18, over30: 1, over60: 0, handovers: 9 } },
  { service: 'ambulance', providerId: 'RX9', ts: '2026-03-30T10:00:00Z', reapLevel: 3, responses: c2(31, 66) },
  { service: 'nhs111', providerId: '111-X', ts: '2026-03-29T10:00:00Z', callsWaiting: 12, answeredWithin60sPct: 90 },
  { service: 'nhs111', providerId: '111-X', ts: '2026-03-30T10:00:00Z', callsWaiting: 30, answeredWithin60sPct: 81 },
  { service: 'system', providerId: 'QXX', ts: '2026-03-29T08:00:00Z', opelLevel: 2 },
  { service: 'system', providerId: 'QXX', ts: '2026-03-30T08:00:00Z', opelLevel: 3 },
];

describe('reportHtml', () => {
  const html = render();

  it('shows counts of 1 to 4, and figures worked out from them, as withheld, and 0 as 0', () => {
    // Ward A: 2 admissions (1 step-up, 1 step-down), no transfer in, 1 out, 2 discharges (1 care
    // completed, 1 self-discharged).
    const W = 'withheld';
    expect(row(html, 'Admissions and discharges by ward, provider and ICS', 'Ward A')).toEqual([W, W, W, '0', W, W, W, '0', '0', '0', W]);
    expect(row(html, 'Length of stay, referrals and alerts by ward, provider and ICS', 'Ward B')).toEqual([W, W, W, W, W, W]);
    // Capacity and occupancy are bed use, not counts of patients: shown.
    expect(row(html, 'Capacity and occupancy by ward, provider and ICS', 'Ward A')).toEqual(['RXA', '4', '0.75', '18.8%', '3.13']);
    expect(row(html, 'Capacity and use of each integrated care system (ICS)', 'Test ICS')).toEqual(['9', '9', '22.2%', W, W, W, '6.98']);
    // Rates that would give a small count back appear nowhere, in the tables or the chart data.
    for (const hidden of ['51.89', '28.66', '25.95', '0.52', '0.43']) expect(html).not.toContain(hidden);
    expect(row(html, 'Admissions by deprivation of the patient’s home (Index of Multiple Deprivation decile)', '2')).toEqual([W]);
    expect(row(html, 'Admissions by deprivation of the patient’s home (Index of Multiple Deprivation decile)', '5')).toEqual(['0']);
    expect(html).toContain('a figure shown as “withheld” is a count of 1 to 4 people or events');
  });

  it('shows counts of 5 and more', () => {
    // Six patients on ward C, and no one else: no figure beside theirs to give a small one away.
    const more: FlowEvent[] = [];
    for (let i = 0; i < 6; i++) {
      more.push({ kind: 'admit', eventId: `ev-more-${i}`, patientId: `pt-more-${i}`, wardId: 'ward-c', pathway: 'ari', admission: 'step-up', source: 'gp', at: `2026-03-29T1${i}:00:00Z`, by });
      more.push({ kind: 'discharge', eventId: `ev-more-d${i}`, patientId: `pt-more-${i}`, wardId: 'ward-c', outcome: 'care-completed', at: `2026-03-30T1${i}:00:00Z`, by });
    }
    const page = render({ ...input, events: more, referrals: [], alerts: [] });
    expect(row(page, 'Admissions and discharges by ward, provider and ICS', 'Ward C').slice(0, 3)).toEqual(['6', '6', '0']);
    // Six stays of exactly one day.
    expect(row(page, 'Length of stay, referrals and alerts by ward, provider and ICS', 'Ward C').slice(0, 2)).toEqual(['1', '1']);
  });

  it('never writes a patient id, or an event, alert or referral id', () => {
    expect(html).not.toMatch(/zqx/i);
    expect(render(tenfold)).not.toMatch(/zqx/i);
  });

  it('says plainly that device adherence was not measured without readings, never 0%', () => {
    expect(NOT_MEASURED_TEXT).toBe('Device adherence not measured: the report was made without readings');
    // In the summary and in the equity section; no adherence column anywhere.
    expect(html.split(NOT_MEASURED_TEXT)).toHaveLength(3);
    expect(html).not.toContain('<th scope="col">Device adherence</th>');
    expect(html).not.toContain('Hours of expected data missing');
    expect(row(html, 'Capacity and occupancy by ward, provider and ICS', 'Ward A')).toEqual(['RXA', '4', '0.75', '18.8%', '3.13']);
  });

  it('shows device adherence and hours of expected data missing, withheld where of fewer than 5 patients', () => {
    const W = 'withheld';
    const page = render({ ...input, readingHours });
    expect(page).not.toContain(NOT_MEASURED_TEXT);
    // The summary says the interval; the ICS's 8 patient-days at census are occupancy's, shown; its 4
    // days with readings (50%) and 61 hours missing could be of 2 patients: withheld.
    expect(page).toContain('at least one reading every 24 hours');
    const summary = 'Device adherence and hours of expected data missing of each ICS (at least one reading every 24 hours expected)';
    expect(row(page, summary, 'Test ICS')).toEqual(['8', W, W, W, W]);
    for (const hidden of ['50%', '8.74', '61', '66.7%', '40%', '3.52', '12.97']) expect(page).not.toContain(`<td>${hidden}</td>`);
    // Ward C had no one at a census: no adherence to give ("–"), not withheld, not 0%.
    const wardsCaption = 'Capacity, occupancy and device adherence by ward, provider and ICS';
    expect(row(page, wardsCaption, 'Ward A')).toEqual(['RXA', '4', '0.75', '18.8%', '3.13', W, W]);
    expect(row(page, wardsCaption, 'Ward C')).toEqual(['RXB', '3', '0', '0%', '0', '–', '–']);
    expect(row(page, 'Use of each clinical pathway, across the wards', 'heart-failure').slice(-2)).toEqual([W, W]);
    const equity = 'Admissions and device adherence by deprivation of the patient’s home (Index of Multiple Deprivation decile)';
    // Decile 2 (P4): admissions, patient-days at census and adherence withheld; decile 5: none, 0 and "–".
    expect(row(page, equity, '2')).toEqual([W, W, W]);
    expect(row(page, equity, '5')).toEqual(['0', '0', '–']);
  });

  it('shows them where enough patients were on the wards: the summary, wards, pathways, months and deciles', () => {
    const page = render(tenfold);
    // Ten times the hand-worked history: 40 of 80 patient-days at census with a reading (50%), 610 hours
    // of expected data missing, 8.74 for each of the 69.79 patient-days.
    const summary = 'Device adherence and hours of expected data missing of each ICS (at least one reading every 24 hours expected)';
    expect(row(page, summary, 'Test ICS')).toEqual(['80', '40', '50%', '610', '8.74']);
    const wardsCaption = 'Capacity, occupancy and device adherence by ward, provider and ICS';
    // Ward A: P1 2 of 3 days, 11 hours missing in 3.125 patient-days; ward B: P3 and P4 2 of 5, 50 hours in 3.854.
    expect(row(page, wardsCaption, 'Ward A').slice(-2)).toEqual(['66.7%', '3.52']);
    expect(row(page, wardsCaption, 'Ward B').slice(-2)).toEqual(['40%', '12.97']);
    expect(row(page, wardsCaption, 'Ward C').slice(-2)).toEqual(['–', '–']);
    expect(row(page, wardsCaption, 'Test ICS').slice(-2)).toEqual(['50%', '8.74']);
    // Pathways: ARI is P1 (P2 came and went between censuses), COPD P3 (the 29th and 31st of 3), heart failure P4 (none of 2).
    const pathways = 'Use of each clinical pathway, across the wards';
    expect(row(page, pathways, 'ari').at(-2)).toBe('66.7%');
    expect(row(page, pathways, 'copd').at(-2)).toBe('66.7%');
    expect(row(page, pathways, 'heart-failure').at(-2)).toBe('0%');
    expect(row(page, 'Each month’s figures: the national virtual ward publication’s, with flow, length of stay and device adherence', 'March 2026: Test ICS').at(-1)).toBe('50%');
    // By decile: P4's decile 2 sent nothing on its 20 patient-days; the rest (not known) 40 of 60.
    const equity = 'Admissions and device adherence by deprivation of the patient’s home (Index of Multiple Deprivation decile)';
    expect(row(page, equity, '2')).toEqual(['10', '20', '0%']);
    expect(row(page, equity, 'Not known')).toEqual(['20', '60', '66.7%']);
    expect(row(page, equity, '1 (most deprived)')).toEqual(['0', '0', '–']);
  });

  it('is one self-contained, accessible page', () => {
    expect(html).toMatch(/^<!doctype html>\n<html lang="en-GB">/);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
    const headings = [...html.matchAll(/<h([1-6])[ >]/g)].map((m) => Number(m[1]));
    expect(headings[0]).toBe(1);
    for (let i = 1; i < headings.length; i++) expect(headings[i]! - headings[i - 1]!).toBeLessThanOrEqual(1);
    const charts = [...html.matchAll(/<div class="chart" id="([^"]+)" data-kind="[^"]+" role="img" aria-label="([^"]+)">/g)];
    expect(charts.map((m) => m[1])).toEqual(['chart-occupancy-0', 'chart-admissions-0', 'chart-los-0']);
    expect(charts[0]![2]).toMatch(/mean 22\.2%, lowest 11\.1%, highest 33\.3%, on 0 of 4 days at or above the 80% target/);
  });

  it('escapes every name: a </script> in one cannot end a script or add an element', () => {
    const evil = '</script><script>window.pwned=1</script><!--';
    const page = render({ ...input, wards: wards.map((w) => (w.wardId === 'ward-a' ? { ...w, name: evil } : w)), systems: [{ ...systems[0]!, name: evil }] });
    expect(page).not.toContain('<script>window.pwned');
    expect(page.match(/<\/script>/g)).toHaveLength(3);
    expect(page).toContain('<th scope="row">&lt;/script&gt;&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;!--</th>');
    const open = '<script type="application/json" id="report-data">';
    const json = page.slice(page.indexOf(open) + open.length, page.indexOf('</script>'));
    expect(json).toContain('<\\/script>');
    expect(JSON.parse(json).charts[0].title).toBe(`Daily occupancy of ${evil}`);
    expect(scriptJson({ a: '</SCRIPT' })).toBe('{"a":"<\\/SCRIPT"}');
  });
});

describe('reportHtml planning and pressure', () => {
  // Six frailty patients on ward C for a day each: the only pathway with a ward of its own, and with
  // enough completed spells to show its mean stay.
  const more: FlowEvent[] = [...events];
  for (let i = 0; i < 6; i++) {
    more.push({ kind: 'admit', eventId: `ev-fr-${i}`, patientId: `pt-zqx-fr-${i}`, wardId: 'ward-c', pathway: 'frailty', admission: 'step-up', source: 'gp', at: `2026-03-29T1${i}:00:00Z`, by });
    more.push({ kind: 'discharge', eventId: `ev-fr-d${i}`, patientId: `pt-zqx-fr-${i}`, wardId: 'ward-c', outcome: 'care-completed', at: `2026-03-30T1${i}:00:00Z`, by });
  }
  const withMore = { ...input, events: more };
  const plan = { ...planBeds(more, { from, to, targetOccupancy: 0.85, probability: 0.95, surgeFactor: 1.6 }), commissionedBeds: commissionedBeds(more, wards, { from, to }) };
  const pressure = { providers: PROVIDERS, daily: dailyPressure(SNAPSHOTS, PROVIDERS, from, to) };
  const s = shown(withMore, { plan, events: more });
  const page = reportHtml(s.report, s.monthly!, { ...options, weekly: s.weekly!, plan: s.plan!, pressure });
  const caption = 'Beds needed by pathway at 85% target occupancy with 95% probability, and with a 1.6× surge';

  it('tells which pathways have wards of their own', () => {
    expect(plan.commissionedBeds).toEqual([
      { pathway: 'ari', wards: ['ward-a'], beds: null, sharedWards: ['ward-a'] },
      { pathway: 'copd', wards: ['ward-a', 'ward-b'], beds: null, sharedWards: ['ward-a', 'ward-b'] },
      { pathway: 'frailty', wards: ['ward-c'], beds: 3, sharedWards: [] },
      { pathway: 'heart-failure', wards: ['ward-b'], beds: null, sharedWards: ['ward-b'] },
    ]);
  });

  it('tables the plan per pathway: rates and beds shown, a mean stay of fewer than 5 spells not', () => {
    // 6 admissions in the 95 hours of the period: 1.52 a day, each staying 1 day.
    const beds = bedsFor(6 / (95 / 24), 0.85, 0.95);
    expect(beds).toBe(5);
    expect(plan.pathways.find((p) => p.pathway === 'frailty')).toMatchObject({ arrivalsPerDay: 1.52, stepUpFromAmbulanceAnd111PerDay: 0, meanStayDays: 1, offeredLoad: 1.5, bedsNeeded: 5, surge: { arrivalsPerDay: 1.52, bedsNeeded: 5 } });
    // Six admissions and six completed spells: shown, with the rates and load worked out from them.
    const W = 'withheld';
    expect(row(page, caption, 'frailty')).toEqual(['1.52', '0', '1', '1.5', '5', '1.52', '5', '3']);
    // ARI: one admission in the period (P2), two spells completed (P1, P2).
    const ari = row(page, caption, 'ari');
    expect(ari.slice(0, 4)).toEqual([W, '0', W, W]);
    expect(ari[7]).toBe('not the pathway’s own: Ward A also takes other pathways');
    expect(row(page, caption, 'heart-failure').slice(0, 2)).toEqual([W, W]);
    expect(row(page, caption, 'All pathways')).toEqual(['', '', '', W, '11', '', '12', '']);
    expect(page).toContain('<h2>Planning</h2>');
    expect(page).toContain('<h3>The model and its assumptions</h3>');
    expect(page).toMatch(/M\/G\/∞ queue/);
    expect(page).not.toMatch(/zqx/i);
  });

  it('charts beds needed now, with the surge and commissioned, and the pressure beside occupancy on the same days', () => {
    const charts = [...page.matchAll(/<div class="chart" id="([^"]+)" data-kind="([^"]+)" role="img" aria-label="([^"]+)">/g)];
    expect(charts.map((m) => m[1])).toEqual(['chart-occupancy-0', 'chart-admissions-0', 'chart-los-0', 'chart-planning', 'chart-pressure-occupancy', 'chart-pressure']);
    expect(charts[3]![3]).toContain('frailty now 5, with the surge 5, commissioned 3');
    expect(charts[3]![3]).toContain('ari now');
    expect(charts[5]![3]).toContain('mean of the days 25.5 minutes, lowest 20, highest 31 on 30 March 2026');
    expect(charts[5]![3]).toContain('level 1 on 0 days, level 2 on 1 day, level 3 on 1 day, level 4 on 0 days. No data on 2 of 4 days.');
    const open = '<script type="application/json" id="report-data">';
    const json = JSON.parse(page.slice(page.indexOf(open) + open.length, page.indexOf('</script>')));
    const byId = Object.fromEntries(json.charts.map((c: { id: string }) => [c.id, c]));
    expect(byId['chart-planning'].xLabels).toEqual(['ari', 'copd', 'frailty', 'heart-failure']);
    expect(byId['chart-planning'].series.map((s: { values: unknown[] }) => s.values)[2]).toEqual([null, null, 3, null]);
    expect(byId['chart-pressure'].x).toEqual(byId['chart-pressure-occupancy'].x);
    expect(byId['chart-pressure'].series.map((s: { values: unknown[] }) => s.values)).toEqual([
      [null, 20, 31, null],
      [null, 41, 66, null],
      [null, 2, 3, null],
    ]);
    expect(row(page, 'Occupancy and ambulance, NHS 111 and system pressure each day', '2026-03-29')).toEqual(['22.2%', '20', '41', '18', '2', '90%', '12', '2']);
    expect(row(page, 'Occupancy and ambulance, NHS 111 and system pressure each day', '2026-03-31')).toEqual(['22.2%', '', '', '', '', '', '', '']);
    const headings = [...page.matchAll(/<h([1-6])[ >]/g)].map((m) => Number(m[1]));
    for (let i = 1; i < headings.length; i++) expect(headings[i]! - headings[i - 1]!).toBeLessThanOrEqual(1);
  });

  it('leaves both sections out without a plan or snapshots', () => {
    const html = render();
    expect(html).not.toContain('<h2>Planning</h2>');
    expect(html).not.toContain('Ambulance and NHS 111 pressure');
  });
});
