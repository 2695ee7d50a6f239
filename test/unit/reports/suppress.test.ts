import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AdmissionKind, AdmissionSource, DischargeOutcome, FlowEvent, Ward } from '../../../src/domain/index.ts';
import { FLOW_EVENTS, FLOW_READING_HOURS, FLOW_SYSTEMS, FLOW_WARDS } from '../../fixtures/flow-history.ts';
import { capacityReport } from '../../../src/reports/capacity-report.ts';
import { flowReport, type FlowInput, type GroupReport } from '../../../src/reports/flow-measures.ts';
import { monthlyReports, weeklyReports } from '../../../src/reports/monthly.ts';
import { planBeds } from '../../../src/reports/planning.ts';
import { reportCsv } from '../../../src/reports/render-csv.ts';
import { FIGURES, isSmall, isWithheld, suppressReports, type SuppressedGroupReport } from '../../../src/reports/suppress.ts';

/**
 * The one disclosure control of every report output (docs/reports.md, "Small numbers"): primary (1–4
 * withheld), derived (rates from a withheld count, medians of fewer than 5) and secondary (no sum left
 * with one withheld figure), and the JSON and CSV written through it.
 */
const by = 'ward.lead';
const from = new Date('2026-03-28T00:00:00Z');
const to = new Date('2026-03-31T23:00:00Z');
const wards = FLOW_WARDS;
const systems = FLOW_SYSTEMS;

/** `n` patients admitted to `wardId` on the 29th and discharged on the 30th, each a day's stay. */
function patients(prefix: string, n: number, wardId: string, options: { pathway?: 'ari' | 'frailty'; admission?: (i: number) => AdmissionKind; outcome?: (i: number) => DischargeOutcome; source?: AdmissionSource } = {}): FlowEvent[] {
  return Array.from({ length: n }, (_, i) => [
    { kind: 'admit', eventId: `${prefix}-a${i}`, patientId: `${prefix}-${i}`, wardId, pathway: options.pathway ?? 'frailty', admission: options.admission?.(i) ?? 'step-up', source: options.source ?? 'gp', at: `2026-03-29T${String(10 + i).padStart(2, '0')}:00:00Z`, by },
    { kind: 'discharge', eventId: `${prefix}-d${i}`, patientId: `${prefix}-${i}`, wardId, outcome: options.outcome?.(i) ?? 'care-completed', at: `2026-03-30T${String(10 + i).padStart(2, '0')}:00:00Z`, by },
  ] as FlowEvent[]).flat();
}

function suppressed(events: readonly FlowEvent[], more: Partial<FlowInput> = {}) {
  const input: FlowInput = { events, wards, systems, ...more };
  return suppressReports({
    report: flowReport(input, { from, to }),
    monthly: monthlyReports(input, from, to, { levels: ['ics', 'provider', 'ward'] }),
    weekly: weeklyReports(input, from, to, { levels: ['ics'] }),
    plan: { plan: planBeds(events, { from, to }), events },
    wards,
  });
}
const groupOf = (groups: readonly SuppressedGroupReport[], level: string, id: string) => groups.find((g) => g.level === level && g.id === id)!;

/** Every numeric (or withheld) figure of a group, by path, with the keys of breakdowns as `*` in `pattern`. */
function figures(value: unknown, path: string[] = []): Array<{ path: string; pattern: string; value: number | null }> {
  if (typeof value === 'number' || value === null) {
    const pattern = path.map((p, i) => (/^\d+$/.test(p) || BREAKDOWNS.has(path.slice(0, i).join('.').replace(/\.[^.]+\.byOutcome$/, '.*.byOutcome')) ? '*' : p)).join('.');
    return [{ path: path.join('.'), pattern, value }];
  }
  if (typeof value !== 'object' || value === undefined) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => (k === 'suppressed' || k === 'level' || k === 'id' || k === 'name' ? [] : figures(v, [...path, k])));
}
const BREAKDOWNS = new Set(['admissions.bySource', 'discharges.byOutcome', 'referrals.byRoute', 'referrals.byRoute.*.byOutcome', 'alerts.byRule', 'alerts.minutesToAcknowledge', 'equity.admissionsByImdDecile', 'equity.adherenceByImdDecile']);

describe('suppressReports: primary and derived', () => {
  const s = suppressed(FLOW_EVENTS);
  const ics = groupOf(s.report.groups, 'ics', 'QXX');

  it('withholds counts of 1 to 4, listing them, and shows 0', () => {
    // The worked history: 3 admissions (2 step-up, 1 step-down), 3 discharges, 1 to acute.
    expect(ics.admissions).toEqual({ total: null, stepUp: null, stepDown: null, bySource: { 'acute-discharge': null, nhs111: null, ambulance: null } });
    expect(ics.discharges.total).toBeNull();
    expect(ics.acuteAdmissions).toBeNull();
    expect(ics.suppressed).toEqual(expect.arrayContaining(['admissions.total', 'admissions.stepUp', 'discharges.total', 'acuteAdmissions', 'lengthOfStayDays.spells', 'equity.admissionsByImdDecile.2']));
    const c = groupOf(s.report.groups, 'ward', 'ward-c');
    expect(c.admissions.total).toBe(0);
    expect(c.suppressed).toEqual([]);
  });

  it('withholds medians of fewer than 5, and leaves bed use alone', () => {
    expect(ics.lengthOfStayDays).toEqual({ spells: null, median: null, p90: null });
    expect(isWithheld(ics, 'lengthOfStayDays.median')).toBe(true);
    // Capacity, occupancy and patient-days are shown as computed (docs/reports.md, "Small numbers").
    expect(ics.capacity).toBe(9);
    expect(ics.occupancy.daily.map((d) => d.occupied)).toEqual([1, 2, 3, 2]);
    expect(ics.occupancy.meanPercent).toBe(22.2);
    expect(ics.patientDays).toBe(6.98);
  });

  it('tells withheld from not computable: a null not listed is one that could not be worked out', () => {
    // No patient-days on ward C: its rates are null and not withheld.
    const c = groupOf(s.report.groups, 'ward', 'ward-c');
    expect(c.referrals.per100PatientDays).toBeNull();
    expect(isWithheld(c, 'referrals.per100PatientDays')).toBe(false);
  });

  it('withholds rates of withheld counts, and shows those of 5 or more', () => {
    const alert = (i: number, patientId: string, wardId: string) => ({
      alertId: `al-${wardId}-${i}`, patientId, wardId, cause: 'news2', ruleId: 'news2', ruleVersion: '1', severity: 'high' as const, state: 'acknowledged' as const, revision: 1,
      raisedAt: `2026-03-29T1${i}:00:00Z`, updatedAt: `2026-03-29T1${i}:10:00Z`, eventTs: `2026-03-29T1${i}:00:00Z`, partial: false, explanation: 'x', response: 'y', evidence: [],
      history: [{ state: 'open' as const, at: `2026-03-29T1${i}:00:00Z`, by: 'vw' }, { state: 'acknowledged' as const, at: `2026-03-29T1${i}:10:00Z`, by: 'nurse' }], receivedAt: `2026-03-29T1${i}:00:00Z`,
    });
    // Six alerts for P1 on ward A: shown, with their rate and minutes to acknowledge.
    const six = suppressed(FLOW_EVENTS, { alerts: [0, 1, 2, 3, 4, 5].map((i) => alert(i, 'p1', 'ward-a')) });
    const a = groupOf(six.report.groups, 'ward', 'ward-a');
    expect(a.alerts.total).toBe(6);
    expect(a.alerts.perPatientDay).toBeCloseTo(6 / a.patientDays, 1);
    expect(a.alerts.minutesToAcknowledge.high).toEqual({ acknowledged: 6, notAcknowledged: 0, median: 10, p90: 10 });
    // Five on A and one for P3 on ward B: B's is withheld, and with it its rate and time to acknowledge;
    // the ICS's 6 = A's 5 + B's ? would give it back, so A's is withheld too (and its rate).
    const split = suppressed(FLOW_EVENTS, { alerts: [...[0, 1, 2, 3, 4].map((i) => alert(i, 'p1', 'ward-a')), alert(5, 'p3', 'ward-b')] });
    const b = groupOf(split.report.groups, 'ward', 'ward-b');
    expect(b.alerts).toMatchObject({ total: null, perPatientDay: null, minutesToAcknowledge: { high: { acknowledged: null, median: null, p90: null } } });
    expect(isWithheld(b, 'alerts.perPatientDay')).toBe(true);
    expect(groupOf(split.report.groups, 'ics', 'QXX').alerts.total).toBe(6);
    expect(groupOf(split.report.groups, 'ward', 'ward-a').alerts).toMatchObject({ total: null, perPatientDay: null });
    // Five acknowledged on A: their median is shown, though their count is withheld as secondary.
    expect(groupOf(split.report.groups, 'ward', 'ward-a').alerts.minutesToAcknowledge.high!.median).toBe(10);
  });
});

describe('suppressReports: secondary', () => {
  it('withholds a second part of a total when only one would be', () => {
    // Seven admissions to ward C, one of them step-down: 7 = 6 + ? would give the 1 back.
    const s = suppressed(patients('sx', 7, 'ward-c', { admission: (i) => (i === 0 ? 'step-down' : 'step-up') }));
    const c = groupOf(s.report.groups, 'ward', 'ward-c');
    expect(c.admissions.total).toBe(7);
    expect(c.admissions.stepDown).toBeNull();
    expect(c.admissions.stepUp).toBeNull();
    expect(c.suppressed).toEqual(expect.arrayContaining(['admissions.stepUp', 'admissions.stepDown']));
    // Sources and outcomes are one each: all 7 from a GP, all completed.
    expect(c.admissions.bySource).toEqual({ gp: 7 });
  });

  it('withholds across wards, providers and the ICS, so none is the difference of the others', () => {
    // Ward A 6, ward B 2 (withheld), ward C 0: RXB (B + C) = 2 withheld; ICS 8 = RXA 6 + RXB ? would give it back.
    const s = suppressed([...patients('sa', 6, 'ward-a'), ...patients('sb', 2, 'ward-b')]);
    const figure = (level: string, id: string) => groupOf(s.report.groups, level, id).admissions.total;
    expect(figure('ward', 'ward-b')).toBeNull();
    expect(figure('provider', 'RXB')).toBeNull();
    expect(figure('ward', 'ward-c')).toBe(0);
    expect([figure('ics', 'QXX'), figure('provider', 'RXA')]).toContain(null);
    expect([figure('ics', 'QXX'), figure('ward', 'ward-a')]).toContain(null);
  });

  it('withholds across the period and its months', () => {
    // 6 admissions in March, 1 in April: the period's 7 would give April's back.
    const april = new Date('2026-04-02T23:00:00Z');
    const events = [...patients('sm', 6, 'ward-c'), { kind: 'admit', eventId: 'ap', patientId: 'ap', wardId: 'ward-c', pathway: 'frailty', admission: 'step-up', source: 'gp', at: '2026-04-01T10:00:00Z', by } as FlowEvent];
    const input: FlowInput = { events, wards, systems };
    const s = suppressReports({ report: flowReport(input, { from, to: april }), monthly: monthlyReports(input, from, april, { levels: ['ics', 'provider', 'ward'] }), wards });
    const months = s.monthly!.periods.map((p) => groupOf(p.report.groups, 'ward', 'ward-c').admissions.total);
    expect(s.monthly!.periods.map((p) => p.period)).toEqual(['2026-03', '2026-04']);
    expect(months[1]).toBeNull();
    expect([groupOf(s.report.groups, 'ward', 'ward-c').admissions.total, months[0]]).toContain(null);
  });

  it('withholds a pathway’s arrivals a day when its admissions are, and shows a mean stay of 5 or more', () => {
    const s = suppressed([...patients('sp', 6, 'ward-c'), ...FLOW_EVENTS]);
    const plan = s.plan!;
    const frailty = plan.pathways.find((p) => p.pathway === 'frailty')!;
    const ari = plan.pathways.find((p) => p.pathway === 'ari')!;
    // Six frailty admissions and spells completed, a day each: the rate, mean stay and load are shown.
    // The count of completed spells is withheld as secondary (ward C's 6 discharges and B's 1 make
    // RXB's 7, so C's are withheld, and the frailty pathway's are C's); the mean of 6 stays is not the count.
    expect(frailty).toMatchObject({ arrivalsPerDay: 1.52, meanStayDays: 1, offeredLoad: 1.5, completedSpells: null });
    expect(frailty.suppressed).toEqual(['completedSpells']);
    expect(ari).toMatchObject({ arrivalsPerDay: null, meanStayDays: null, offeredLoad: null, completedSpells: null });
    expect(ari.suppressed).toEqual(expect.arrayContaining(['arrivalsPerDay', 'meanStayDays', 'offeredLoad', 'completedSpells']));
    // Beds are shown: a capacity, not a count of anyone.
    expect(typeof ari.bedsNeeded).toBe('number');
    expect(plan.total.offeredLoad).toBeNull();
  });

  it('withholds monitoring where it could be of fewer than 5 patients', () => {
    const readingHours = FLOW_READING_HOURS.map(({ patientId, hour }) => ({ patientId, hour }));
    const s = suppressed(FLOW_EVENTS, { readingHours });
    const ics = groupOf(s.report.groups, 'ics', 'QXX');
    // 8 patient-days at census over 4 days could be 2 patients: withheld; the patient-days are occupancy's.
    expect(ics.monitoring).toMatchObject({ expectedDays: 8, daysWithReadings: null, percent: null, hoursMissing: null, hoursMissingPerPatientDay: null });
    expect(ics.equity.adherenceByImdDecile).toEqual({ unknown: { expectedDays: null, daysWithReadings: null, percent: null }, 2: { expectedDays: null, daysWithReadings: null, percent: null } });
  });

  it('leaves the report it is given as it was', () => {
    const report = flowReport({ events: FLOW_EVENTS, wards, systems }, { from, to });
    const before = JSON.stringify(report);
    suppressReports({ report, wards });
    expect(JSON.stringify(report)).toBe(before);
  });
});

describe('every figure of a group has its place in the rule', () => {
  it('classes each numeric figure of a full report (FIGURES), so a new measure cannot go out unchecked', () => {
    const readingHours = FLOW_READING_HOURS.map(({ patientId, hour }) => ({ patientId, hour }));
    const alerts = [{ alertId: 'a', patientId: 'p1', wardId: 'ward-a', cause: 'news2', ruleId: 'news2', ruleVersion: '1', severity: 'high' as const, state: 'acknowledged' as const, revision: 1, raisedAt: '2026-03-29T10:00:00Z', updatedAt: '2026-03-29T10:00:00Z', eventTs: '2026-03-29T10:00:00Z', partial: false, explanation: 'x', response: 'y', evidence: [], history: [{ state: 'acknowledged' as const, at: '2026-03-29T10:05:00Z', by: 'n' }], receivedAt: '2026-03-29T10:00:00Z' }];
    const referrals = [{ referralId: 'r', patientId: 'p3', wardId: 'ward-b', route: 'ambulance-999', routeTitle: '999', routesVersion: '1', priority: 'urgent' as const, urgency: 'today' as const, alertIds: [], reason: 'r', evidence: [], requestedBy: 'n', requestedAt: '2026-03-29T12:00:00Z', state: 'completed' as const, revision: 1, updatedAt: '2026-03-29T12:00:00Z', history: [], delivery: { status: 'delivered' as const, attempts: 1 } }];
    const report = flowReport({ events: FLOW_EVENTS, wards, systems, readingHours, alerts, referrals }, { from, to });
    const patterns = new Set(report.groups.flatMap((g) => figures(g)).map((f) => f.pattern));
    const unclassed = [...patterns].filter((p) => !(p in FIGURES));
    expect(unclassed).toEqual([]);
    // And the list names nothing a report does not have.
    expect(Object.keys(FIGURES).filter((p) => !patterns.has(p))).toEqual([]);
  });
});

/** Random histories over three wards of two providers, and over the months of a longer period. */
const history = fc.array(
  fc.record({
    ward: fc.constantFrom('ward-a', 'ward-b', 'ward-c'),
    pathway: fc.constantFrom('ari', 'copd', 'frailty'),
    admission: fc.constantFrom<AdmissionKind>('step-up', 'step-down'),
    source: fc.constantFrom<AdmissionSource>('gp', 'nhs111', 'ambulance', 'acute-discharge'),
    outcome: fc.option(fc.constantFrom<DischargeOutcome>('care-completed', 'admitted-acute', 'died'), { nil: undefined }),
    admittedHour: fc.integer({ min: 0, max: 24 * 60 }),
    stayHours: fc.integer({ min: 1, max: 24 * 20 }),
    imdDecile: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
  }),
  { maxLength: 40 },
);
const START = Date.parse('2026-02-20T00:00:00Z');
const END = new Date('2026-04-20T23:00:00Z');
const FROM = new Date('2026-03-01T00:00:00Z');

function eventsOf(rows: ReadonlyArray<{ ward: string; pathway: string; admission: AdmissionKind; source: AdmissionSource; outcome: DischargeOutcome | undefined; admittedHour: number; stayHours: number; imdDecile: number | undefined }>): FlowEvent[] {
  return rows.flatMap((r, i) => {
    const at = START + r.admittedHour * 3_600_000;
    const admit = { kind: 'admit', eventId: `a${i}`, patientId: `q${i}`, wardId: r.ward, pathway: r.pathway, admission: r.admission, source: r.source, ...(r.imdDecile ? { imdDecile: r.imdDecile } : {}), at: new Date(at).toISOString(), by } as FlowEvent;
    const out = r.outcome ? [{ kind: 'discharge', eventId: `d${i}`, patientId: `q${i}`, wardId: r.ward, outcome: r.outcome, at: new Date(at + r.stayHours * 3_600_000).toISOString(), by } as FlowEvent] : [];
    return [admit, ...out];
  });
}

describe('suppressReports on any history', () => {
  it('shows no count of 1 to 4, changes nothing it shows, lists all it withholds, and leaves no sum with one withheld figure', () => {
    fc.assert(
      fc.property(history, (rows) => {
        const events = eventsOf(rows);
        const input: FlowInput = { events, wards: wards as Ward[], systems };
        const raw = { report: flowReport(input, { from: FROM, to: END }), monthly: monthlyReports(input, FROM, END, { levels: ['ics', 'provider', 'ward'] }) };
        const s = suppressReports({ ...raw, plan: { plan: planBeds(events, { from: FROM, to: END }), events }, wards });
        const pairs: Array<[GroupReport, SuppressedGroupReport]> = [
          ...raw.report.groups.map((g, i) => [g, s.report.groups[i]!] as [GroupReport, SuppressedGroupReport]),
          ...raw.monthly.periods.flatMap((p, m) => p.report.groups.map((g, i) => [g, s.monthly!.periods[m]!.report.groups[i]!] as [GroupReport, SuppressedGroupReport])),
        ];
        for (const [before, after] of pairs) {
          const was = new Map(figures(before).map((f) => [f.path, f.value]));
          for (const f of figures(after)) {
            if (FIGURES[f.pattern] === 'count' && f.value !== null) expect(isSmall(f.value)).toBe(false);
            if (f.value !== null) expect(f.value).toBe(was.get(f.path));
            else if (was.get(f.path) !== null) expect(after.suppressed).toContain(f.path);
          }
          // Within a group: the total and its step-up and step-down; the total and its outcomes.
          const withheld = (xs: Array<number | null | undefined>) => xs.filter((x) => x === null).length;
          expect(withheld([after.admissions.total, after.admissions.stepUp, after.admissions.stepDown])).not.toBe(1);
          expect(withheld([after.discharges.total, ...Object.values(after.discharges.byOutcome)])).not.toBe(1);
        }
        // Across groups: the ICS and its wards; the period and its months.
        const total = (groups: readonly SuppressedGroupReport[], level: string, id: string) => groupOf(groups, level, id).admissions.total;
        const parts = [total(s.report.groups, 'ics', 'QXX'), ...['ward-a', 'ward-b', 'ward-c'].map((w) => total(s.report.groups, 'ward', w))];
        expect(parts.filter((x) => x === null).length).not.toBe(1);
        const byMonth = [total(s.report.groups, 'ward', 'ward-b'), ...s.monthly!.periods.map((p) => total(p.report.groups, 'ward', 'ward-b'))];
        expect(byMonth.filter((x) => x === null).length).not.toBe(1);
      }),
      { numRuns: 60 },
    );
  });
});

describe('the outputs written through it', () => {
  const input = { wards, systems, events: [...FLOW_EVENTS, ...patients('so', 6, 'ward-c', { outcome: (i) => (i === 0 ? 'died' : 'care-completed') })], alerts: [], referrals: [] };
  const options = { ics: 'QXX', from, to, fromDate: '2026-03-28', toDate: '2026-03-31', censusHour: 8, targetOccupancy: 0.85, probability: 0.95, surgeFactor: 1.6 };

  it('JSON: withheld figures null and listed, the rule stated, no count of 1 to 4 anywhere', () => {
    const json = JSON.parse(capacityReport(input, { ...options, format: 'json' }).output);
    expect(json.disclosureControl).toMatchObject({ threshold: 5 });
    const ics = json.report.groups.find((g: { level: string }) => g.level === 'ics');
    // 9 admissions, 9 discharges: shown. One died (withheld), so a second outcome is withheld too.
    expect(ics.admissions.total).toBe(9);
    expect(ics.discharges.total).toBe(9);
    expect(ics.discharges.byOutcome.died).toBeNull();
    expect(Object.values(ics.discharges.byOutcome).filter((v) => v === null).length).toBeGreaterThanOrEqual(2);
    expect(ics.suppressed).toContain('discharges.byOutcome.died');
    for (const g of [...json.report.groups, ...json.monthly.flatMap((m: { groups: unknown[] }) => m.groups)]) {
      for (const f of figures(g)) if (FIGURES[f.pattern] === 'count' && f.value !== null) expect(isSmall(f.value), `${g.level}:${g.id} ${f.path}`).toBe(false);
    }
    expect(json.plan.pathways.find((p: { pathway: string }) => p.pathway === 'ari')).toMatchObject({ arrivalsPerDay: null, suppressed: expect.arrayContaining(['arrivalsPerDay']) });
  });

  it('CSV: withheld figures as *, figures that cannot be computed empty, the same ones as in the JSON', () => {
    const csv = capacityReport(input, { ...options, format: 'csv' }).output;
    const [head, ...rows] = csv.trimEnd().split('\r\n').map((l) => l.split(','));
    const ics = Object.fromEntries(head!.map((h, i) => [h, rows[0]![i]]));
    expect(ics).toMatchObject({ period: '2026-03', capacity: '9', admissions: '9', discharges: '9', mean_occupied: '3.5', c2_mean_minutes: '' });
    // Acute admissions: 1 (P3).
    expect(ics.acute_admissions).toBe('*');
    const rxa = Object.fromEntries(head!.map((h, i) => [h, rows[1]![i]]));
    expect(rxa).toMatchObject({ provider: 'RXA', admissions: '*', step_up: '*', step_down: '*', acute_admissions: '0', los_median_days: '*' });
    // The same figures withheld as in the JSON's months.
    const json = JSON.parse(capacityReport(input, { ...options, format: 'json' }).output);
    const month = json.monthly[0].groups.find((g: { level: string; id: string }) => g.level === 'provider' && g.id === 'RXB');
    const rxb = Object.fromEntries(head!.map((h, i) => [h, rows[2]![i]]));
    expect(rxb.admissions === '*').toBe(month.admissions.total === null);
    expect(rxb.step_up === '*').toBe(month.admissions.stepUp === null);
    expect(rxb.discharges === '*').toBe(month.discharges.total === null);
  });

  it('CSV from reportCsv: the figures of 5 and more as they are', () => {
    const s = suppressed(patients('sc', 6, 'ward-c'));
    const line = reportCsv(s.monthly!).split('\r\n')[1]!;
    // ICS: 6 admissions, all step-up from a GP, 6 discharges each after a day.
    // ICS: 6 admissions, all step-up from a GP, 6 discharges each after a day; all 6 on at the census of the 30th.
    expect(line).toBe('2026-03,QXX,Test ICS,,9,16.7,9,1.5,6,6,0,6,0,1,1,6,0,0,,,,,,');
  });
});
