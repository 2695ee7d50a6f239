import { describe, expect, it } from 'vitest';
import type { Alert, Referral } from '../../../src/domain/index.ts';
import { FLOW_EVENTS, FLOW_READING_HOURS, FLOW_SYSTEMS, FLOW_WARDS } from '../../fixtures/flow-history.ts';
import { flowReport, londonInstant, median, percentile, spellsFromEvents, type GroupReport } from '../../../src/reports/flow-measures.ts';
import { londonDay } from '../../../src/time/calendar.ts';

/**
 * Every measure against a small ward history worked out by hand. The period is 28–31 March 2026 (UK),
 * across the clock change (01:00 UTC on Sunday 29 March); occupancy is counted at 08:00 UK time:
 * 08:00Z on the 28th, 07:00Z from the 29th. Ward C is commissioned and empty throughout.
 *
 * P1: on A from before the period (27th 10:00Z) to discharge on the 30th 12:00Z (care completed).
 * P2: admitted to A on the 28th 09:00Z and discharged at 17:00Z the same day (self-discharged).
 * P3: admitted to A on the 28th 23:30Z, across midnight and the clock change; transferred to B on the
 *     29th 06:30Z (before that day's census at 07:00Z); discharged from B to an acute bed on the 31st 10:00Z.
 * P4: admitted to B on the 30th 06:00Z (IMD decile 2), still there at the end.
 */
const wards = FLOW_WARDS;
const systems = FLOW_SYSTEMS;
const events = FLOW_EVENTS;
const by = 'ward.lead';

const referral = (id: string, patientId: string, route: string, state: Referral['state'], requestedAt: string): Referral => ({
  referralId: id, patientId, wardId: 'ward-b', route, routeTitle: route, routesVersion: '1.0.0', priority: 'urgent', urgency: 'today', alertIds: [], reason: 'r', evidence: [],
  requestedBy: 'nurse', requestedAt, state, revision: 2, updatedAt: requestedAt, history: [], delivery: { status: 'delivered', attempts: 1 },
});
const alert = (id: string, patientId: string, wardId: string, ruleId: string, severity: Alert['severity'], raisedAt: string, ackAt?: string): Alert => ({
  alertId: id, patientId, wardId, cause: ruleId, ruleId, ruleVersion: '1.0.0', severity, state: ackAt ? 'acknowledged' : 'open', revision: ackAt ? 1 : 0, raisedAt, updatedAt: ackAt ?? raisedAt, eventTs: raisedAt,
  partial: false, explanation: 'x', response: 'y', evidence: [], history: [{ state: 'open', at: raisedAt, by: 'vw' }, ...(ackAt ? [{ state: 'acknowledged' as const, at: ackAt, by: 'nurse' }] : [])], receivedAt: raisedAt,
});

// The period: 00:00 UK on 28 March (GMT) to 00:00 UK on 1 April (BST, so 23:00Z on the 31st).
const from = new Date('2026-03-28T00:00:00Z');
const to = new Date('2026-03-31T23:00:00Z');
const report = flowReport(
  {
    events,
    wards,
    systems,
    referrals: [referral('r1', 'p4', 'urgent-community-response', 'accepted', '2026-03-30T08:00:00Z'), referral('r2', 'p3', 'ambulance-999', 'completed', '2026-03-29T12:00:00Z')],
    alerts: [
      alert('a1', 'p3', 'ward-b', 'news2', 'high', '2026-03-29T10:00:00Z', '2026-03-29T10:12:00Z'),
      alert('a2', 'p4', 'ward-b', 'spo2-urgent-review', 'medium', '2026-03-30T09:00:00Z', '2026-03-30T10:00:00Z'),
      alert('a3', 'p1', 'ward-a', 'news2', 'medium', '2026-03-28T10:00:00Z'),
    ],
  },
  { from, to, censusHour: 8 },
);
const group = (level: GroupReport['level'], id: string) => report.groups.find((g) => g.level === level && g.id === id)!;

describe('flow measures', () => {
  it('counts UK census times across the clock change', () => {
    const day = londonDay(Date.parse('2026-03-28T12:00:00Z'));
    expect(new Date(londonInstant(day, 8)).toISOString()).toBe('2026-03-28T08:00:00.000Z');
    expect(new Date(londonInstant(day + 1, 8)).toISOString()).toBe('2026-03-29T07:00:00.000Z');
    expect(new Date(londonInstant(day + 3, 8)).toISOString()).toBe('2026-03-31T07:00:00.000Z');
  });

  it('counts occupancy each day at the census time, with its mean and the month’s', () => {
    const a = group('ward', 'ward-a');
    expect(a.occupancy.daily).toEqual([
      { date: '2026-03-28', occupied: 1, percent: 25 },
      { date: '2026-03-29', occupied: 1, percent: 25 },
      { date: '2026-03-30', occupied: 1, percent: 25 },
      { date: '2026-03-31', occupied: 0, percent: 0 },
    ]);
    expect(a.occupancy.meanOccupied).toBe(0.75);
    expect(a.occupancy.meanPercent).toBe(18.8);
    const b = group('ward', 'ward-b');
    // P3 is on B at the 29th's census (moved at 06:30Z, counted at 07:00Z); P4 from the 30th.
    expect(b.occupancy.daily.map((d) => d.occupied)).toEqual([0, 1, 2, 2]);
    expect(b.occupancy.meanPercent).toBe(62.5);
    expect(b.occupancy.monthly).toEqual([{ month: '2026-03', meanOccupied: 1.25, meanPercent: 62.5 }]);
    const ics = group('ics', 'QXX');
    expect(ics.capacity).toBe(9);
    expect(ics.capacityPer100kAdults).toBe(9);
    expect(ics.occupancy.daily.map((d) => d.occupied)).toEqual([1, 2, 3, 2]);
    expect(ics.occupancy.meanPercent).toBe(22.2);
    expect(ics.name).toBe('Test ICS');
  });

  it('reports an empty ward with zeros, not gaps', () => {
    const c = group('ward', 'ward-c');
    expect(c.occupancy.daily.map((d) => d.occupied)).toEqual([0, 0, 0, 0]);
    expect(c.occupancy.meanPercent).toBe(0);
    expect(c.patientDays).toBe(0);
    expect(c.admissions.total).toBe(0);
    expect(c.lengthOfStayDays).toEqual({ spells: 0, median: null, p90: null });
    expect(c.referrals.per100PatientDays).toBeNull();
    expect(c.alerts.perPatientDay).toBeNull();
  });

  it('counts admissions, transfers and discharges in the period, and patient-days within it', () => {
    const a = group('ward', 'ward-a');
    expect(a.admissions).toEqual({ total: 2, stepUp: 1, stepDown: 1, bySource: { 'acute-discharge': 1, nhs111: 1 } });
    expect(a.transfers).toEqual({ in: 0, out: 1 });
    expect(a.discharges).toEqual({ total: 2, byOutcome: { 'care-completed': 1, 'self-discharged': 1 } });
    // P1 2.5 days (from the start of the period), P2 8 h, P3 7 h before the transfer.
    expect(a.patientDays).toBe(3.13);
    const b = group('ward', 'ward-b');
    expect(b.admissions.total).toBe(1);
    expect(b.transfers).toEqual({ in: 1, out: 0 });
    expect(b.discharges.byOutcome).toEqual({ 'admitted-acute': 1 });
    expect(b.acuteAdmissions).toBe(1);
    // P3 2 d 3.5 h on B, P4 1 d 17 h to the end of the period.
    expect(b.patientDays).toBe(3.85);
    const ics = group('ics', 'QXX');
    expect(ics.admissions.total).toBe(3);
    expect(ics.patientDays).toBe(6.98);
    // A transfer within the ICS is neither an admission nor a discharge of the ICS.
    expect(ics.discharges.total).toBe(3);
  });

  it('measures length of stay from admission to discharge, across transfers', () => {
    // P1 3 d 2 h (3.08), P2 8 h (0.33), P3 2 d 10.5 h (2.44): median 2.44, 90th centile 3.08.
    expect(group('ics', 'QXX').lengthOfStayDays).toEqual({ spells: 3, median: 2.4, p90: 3.1 });
    // Ward A discharged P1 and P2: the median of two is their mean (1.71).
    expect(group('ward', 'ward-a').lengthOfStayDays).toEqual({ spells: 2, median: 1.7, p90: 3.1 });
    expect(group('ward', 'ward-b').lengthOfStayDays).toEqual({ spells: 1, median: 2.4, p90: 2.4 });
  });

  it('gives referrals per 100 patient-days by route and outcome', () => {
    const b = group('ward', 'ward-b');
    expect(b.referrals.total).toBe(2);
    expect(b.referrals.per100PatientDays).toBe(51.89);
    expect(b.referrals.byRoute['ambulance-999']).toEqual({ count: 1, per100PatientDays: 25.95, byOutcome: { completed: 1 } });
    expect(b.referrals.byRoute['urgent-community-response']!.byOutcome).toEqual({ accepted: 1 });
  });

  it('gives alerts per patient-day by rule and the time to acknowledge by severity', () => {
    const b = group('ward', 'ward-b');
    expect(b.alerts.perPatientDay).toBe(0.52);
    expect(Object.keys(b.alerts.byRule).sort()).toEqual(['news2', 'spo2-urgent-review']);
    expect(b.alerts.minutesToAcknowledge).toEqual({ high: { acknowledged: 1, notAcknowledged: 0, median: 12, p90: 12 }, medium: { acknowledged: 1, notAcknowledged: 0, median: 60, p90: 60 } });
    const ics = group('ics', 'QXX');
    expect(ics.alerts.total).toBe(3);
    expect(ics.alerts.minutesToAcknowledge.medium).toEqual({ acknowledged: 1, notAcknowledged: 1, median: 60, p90: 60 });
  });

  it('groups by pathway without beds, and admissions by deprivation decile', () => {
    const copd = group('pathway', 'copd');
    expect(copd.capacity).toBeNull();
    expect(copd.occupancy.daily.map((d) => d.occupied)).toEqual([0, 1, 1, 1]);
    expect(copd.occupancy.meanPercent).toBeNull();
    expect(group('ics', 'QXX').equity.admissionsByImdDecile).toEqual({ unknown: 2, 2: 1 });
    expect(report.groups.map((g) => `${g.level}:${g.id}`)).toEqual([
      'ics:QXX', 'provider:RXA', 'provider:RXB', 'ward:ward-a', 'ward:ward-b', 'ward:ward-c', 'pathway:ari', 'pathway:copd', 'pathway:heart-failure',
    ]);
  });

  it('measures device adherence and hours of expected data missing from the hours readings arrived in', () => {
    // The hours of FLOW_READING_HOURS (test/fixtures/flow-history.ts); P4 (IMD decile 2) sent none.
    const readingHours = FLOW_READING_HOURS.map(({ patientId, hour }) => ({ patientId, hour }));
    const withReadings = flowReport({ events, wards, systems, readingHours }, { from, to, censusHour: 8 });
    const g = (level: GroupReport['level'], id: string) => withReadings.groups.find((x) => x.level === level && x.id === id)!;
    // Expected days are census days on the ward: P1 28th–30th on A; P3 29th–31st on B; P4 30th–31st on B.
    // With readings: P1 the 28th and 29th (UK day 29th is 00:00Z–23:00Z); P3 the 29th and 31st.
    expect(g('ward', 'ward-a').monitoring).toMatchObject({ expectedDays: 3, daysWithReadings: 2, percent: 66.7 });
    expect(g('ward', 'ward-b').monitoring).toMatchObject({ expectedDays: 5, daysWithReadings: 2, percent: 40 });
    expect(g('ward', 'ward-c').monitoring).toMatchObject({ expectedDays: 0, daysWithReadings: 0, percent: null, hoursMissing: 0 });
    // Overdue beyond 24 h: P1 from 09:00Z on the 29th to the 20:00Z reading (11 h); P3 on B from 00:00Z
    // on the 30th to 09:00Z on the 31st (33 h), the clock running on from its reading on A; P4 from
    // 06:00Z on the 31st, a day after admission, to the end of the period at 23:00Z (17 h).
    expect(g('ward', 'ward-a').monitoring?.hoursMissing).toBe(11);
    expect(g('ward', 'ward-b').monitoring?.hoursMissing).toBe(50);
    const ics = g('ics', 'QXX');
    expect(ics.monitoring).toEqual({ expectedEveryHours: 24, expectedDays: 8, daysWithReadings: 4, percent: 50, hoursMissing: 61, hoursMissingPerPatientDay: 8.74 });
    expect(ics.equity.adherenceByImdDecile).toEqual({ unknown: { expectedDays: 6, daysWithReadings: 4, percent: 66.7 }, 2: { expectedDays: 2, daysWithReadings: 0, percent: 0 } });
    // A longer expected interval forgives P1's 35 h gap; P3's 57 h runs 21 h over 36, P4's 41 h 5 h over.
    const lenient = flowReport({ events, wards, systems, readingHours, expectedEveryHours: 36 }, { from, to, censusHour: 8 });
    expect(lenient.groups.find((x) => x.level === 'ics')!.monitoring?.hoursMissing).toBe(26);
    // Without readings monitoring is not measured, rather than measured as none.
    expect(group('ics', 'QXX').monitoring).toBeNull();
    expect(group('ics', 'QXX').equity.adherenceByImdDecile).toBeNull();
  });

  it('leaves out events that make no sense in order, and says which', () => {
    const { spells, problems } = spellsFromEvents([
      ...events,
      { kind: 'discharge', eventId: 'x1', patientId: 'p9', wardId: 'ward-a', outcome: 'died', at: '2026-03-29T00:00:00Z', by },
      { kind: 'admit', eventId: 'x2', patientId: 'p4', wardId: 'ward-a', pathway: 'ari', admission: 'step-up', source: 'gp', at: '2026-03-31T00:00:00Z', by },
      events[0]!,
    ]);
    expect(spells).toHaveLength(4);
    expect(problems).toEqual(['x1: discharge from ward-a, where the patient is not', 'x2: admission while already on ward-b']);
  });

  it('takes percentiles by nearest rank', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
    expect(median([1, 2, 3, 4])).toBe(2.5);
    expect(median([])).toBeNull();
  });
});
