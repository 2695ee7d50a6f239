import { describe, expect, it } from 'vitest';
import type { Alert, CapacitySnapshot, Reading } from '../../../src/domain/index.ts';
import { createMemoryStore } from '../../../src/store/memory-store.ts';

const NOW = Date.parse('2026-11-22T12:00:00Z');

function hr(minutesAgo: number, value: number, id = `hr-${minutesAgo}`): Reading {
  const ts = new Date(NOW - minutesAgo * 60_000).toISOString();
  return { readingId: id, patientId: 'pt-1', wardId: 'w', deviceId: 'd', type: 'heart_rate', value, unit: '/min', ts, receivedAt: ts };
}

describe('memory store', () => {
  it('keeps series in event-time order whatever the arrival order, and absorbs duplicates', async () => {
    const store = createMemoryStore({ retentionHours: 24, maxPointsPerSeries: 100, now: () => NOW });
    await store.writeReadings([hr(5, 70), hr(1, 90), hr(3, 80)]);
    await store.writeReadings([hr(3, 80)]);
    const points = await store.series('pt-1', 'heart_rate', { since: new Date(NOW - 3600_000) });
    expect(points.map((p) => p.value)).toEqual([70, 80, 90]);
    expect((await store.latest('pt-1')).heart_rate?.value).toBe(90);
    expect(store.pointCount()).toBe(3);
  });

  it('bounds retention by age and by count', async () => {
    const store = createMemoryStore({ retentionHours: 1, maxPointsPerSeries: 3, now: () => NOW });
    await store.writeReadings([hr(120, 60), hr(50, 61), hr(40, 62), hr(30, 63), hr(20, 64)]);
    const points = await store.series('pt-1', 'heart_rate', { since: new Date(0) });
    expect(points.map((p) => p.value)).toEqual([62, 63, 64]);
  });

  it('answers ranges and limits with the most recent points', async () => {
    const store = createMemoryStore({ retentionHours: 24, maxPointsPerSeries: 100, now: () => NOW });
    await store.writeReadings([hr(50, 1), hr(40, 2), hr(30, 3), hr(20, 4), hr(10, 5)]);
    const range = await store.series('pt-1', 'heart_rate', { since: new Date(NOW - 45 * 60_000), until: new Date(NOW - 15 * 60_000) });
    expect(range.map((p) => p.value)).toEqual([2, 3, 4]);
    const last2 = await store.series('pt-1', 'heart_rate', { since: new Date(0), limit: 2 });
    expect(last2.map((p) => p.value)).toEqual([4, 5]);
    expect(await store.series('pt-unknown', 'heart_rate', { since: new Date(0) })).toEqual([]);
  });

  it('holds every series to an even share of its point budget, so a busy ward cannot exhaust memory', async () => {
    const store = createMemoryStore({ retentionHours: 24, maxPointsPerSeries: 10_000, maxPoints: 1_000, now: () => NOW });
    // Four patients' heart rates, arriving interleaved as a ward's do: 250 points a series.
    const batch: Reading[] = [];
    for (let i = 0; i < 300; i++) for (let p = 0; p < 4; p++) batch.push({ ...hr(300 - i, 60 + (i % 30), `p${p}-${i}`), patientId: `pt-${p}` });
    await store.writeReadings(batch);
    expect(store.pointCount()).toBe(1_000);
    const kept = await store.series('pt-0', 'heart_rate', { since: new Date(0) });
    expect(kept).toHaveLength(250);
    // The newest are kept, and the latest reading is still the newest one.
    expect(kept.at(-1)!.ts).toBe(hr(1, 0).ts);
    expect((await store.latest('pt-0')).heart_rate?.readingId).toBe('p0-299');
  });
});


describe('memory store: referrals', () => {
  it('keeps the newest revision of each referral, per ward, in the order they last changed', async () => {
    const store = createMemoryStore({ retentionHours: 72, maxPointsPerSeries: 100 });
    const at = (m: number) => new Date(Date.parse('2026-11-30T10:00:00Z') + m * 60_000).toISOString();
    const referral = (id: string, revision: number, state: 'requested' | 'sent' | 'accepted', minute: number, wardId = 'w1') => ({
      referralId: id, patientId: 'p1', wardId, route: 'same-day-gp', routeTitle: 'Same-day GP review', routesVersion: '1.0.0', priority: 'urgent' as const, urgency: 'today',
      alertIds: [], reason: 'review', evidence: [], requestedBy: 'n', requestedAt: at(0), state, revision, updatedAt: at(minute), history: [], delivery: { status: 'pending' as const, attempts: 0 },
    });
    await store.writeReferrals([referral('r-000001', 0, 'requested', 0), referral('r-000002', 0, 'requested', 1), referral('r-000001', 2, 'accepted', 3), referral('r-000003', 0, 'requested', 2, 'w2')]);
    await store.writeReferrals([referral('r-000001', 1, 'sent', 2)]);
    const found = await store.referrals('w1', { since: new Date(at(-1)) });
    expect(found.map((r) => [r.referralId, r.state])).toEqual([['r-000002', 'requested'], ['r-000001', 'accepted']]);
    expect(await store.referrals('w1', { since: new Date(at(2)) })).toHaveLength(1);
  });
});

describe('memory store: patient flow', () => {
  it('keeps each flow event once and answers by ward and time, a transfer under both its wards', async () => {
    const { FLOW_EVENTS } = await import('../../fixtures/flow-history.ts');
    const store = createMemoryStore({ retentionHours: 72, maxPointsPerSeries: 100 });
    await store.writeFlowEvents(FLOW_EVENTS);
    await store.writeFlowEvents(FLOW_EVENTS.slice(0, 3));
    const all = await store.flowEvents(['ward-a', 'ward-b', 'ward-c'], { since: new Date('2026-03-01T00:00:00Z') });
    expect(all.map((e) => e.eventId)).toEqual(['e1', 'e3', 'e4', 'e5', 'e6', 'e8', 'e2', 'e7']);
    expect((await store.flowEvents(['ward-b'], { since: new Date('2026-03-01T00:00:00Z') })).map((e) => e.eventId)).toEqual(['e6', 'e8', 'e7']);
    expect((await store.flowEvents(['ward-a'], { since: new Date('2026-03-29T00:00:00Z'), until: new Date('2026-03-30T23:59:59Z') })).map((e) => e.eventId)).toEqual(['e6', 'e2']);
    expect(await store.flowEvents(['ward-c'], { since: new Date('2026-03-01T00:00:00Z') })).toEqual([]);
  });

  it('keeps the hours patients sent readings in, per ward, beyond the points’ retention, for the same report', async () => {
    const { FLOW_EVENTS, FLOW_READING_HOURS, FLOW_WARDS, FLOW_SYSTEMS, FLOW_FROM, FLOW_TO, flowHistoryReadings } = await import('../../fixtures/flow-history.ts');
    const { flowReport } = await import('../../../src/reports/flow-measures.ts');
    // Points are kept an hour; the hours are what reports need, months later.
    const store = createMemoryStore({ retentionHours: 1, maxPointsPerSeries: 100, maxReadingHours: 100 });
    await store.writeReadings(flowHistoryReadings());
    await store.writeReadings(flowHistoryReadings().slice(0, 3));
    expect(store.pointCount()).toBe(0);
    const range = { since: FLOW_FROM, until: FLOW_TO };
    const hours = await store.readingHours(['ward-a', 'ward-b', 'ward-c'], range);
    expect(hours).toEqual(FLOW_READING_HOURS.map(({ patientId, hour }) => ({ patientId, hour })).sort((a, b) => a.hour - b.hour));
    expect(await store.readingHours(['ward-b'], range)).toEqual([{ patientId: 'p3', hour: Date.parse('2026-03-31T09:00:00Z') }]);
    expect(await store.readingHours(['ward-a'], { since: new Date('2026-03-29T00:00:00Z'), until: new Date('2026-03-29T23:59:59Z') })).toHaveLength(2);
    const report = flowReport({ events: FLOW_EVENTS, wards: FLOW_WARDS, systems: FLOW_SYSTEMS, readingHours: hours }, { from: FLOW_FROM, to: FLOW_TO });
    expect(report.groups[0]!.monitoring).toMatchObject({ expectedDays: 8, daysWithReadings: 4, hoursMissing: 61 });
  });

  it('holds a bounded number of patient-hours, the oldest first out', async () => {
    const store = createMemoryStore({ retentionHours: 1, maxPointsPerSeries: 100, maxReadingHours: 3, now: () => NOW });
    await store.writeReadings([hr(600, 70), hr(400, 71), hr(300, 72), hr(200, 73), hr(100, 74), hr(90, 75)]);
    const hours = await store.readingHours(['w'], { since: new Date(0) });
    expect(hours.map((h) => new Date(h.hour).toISOString())).toEqual(['2026-11-22T07:00:00.000Z', '2026-11-22T08:00:00.000Z', '2026-11-22T10:00:00.000Z']);
  });
});

const T0 = Date.parse('2026-12-01T08:00:00Z');
const atMinute = (m: number) => new Date(T0 + m * 60_000).toISOString();

function alert(id: string, revision: number, raisedMinute: number, extra: Partial<Alert> = {}): Alert {
  const raisedAt = atMinute(raisedMinute);
  const updatedAt = atMinute(raisedMinute + revision);
  return {
    alertId: id, patientId: 'pt-1', wardId: 'w1', cause: 'news2', ruleId: 'news2', ruleVersion: '1.0.0', severity: 'medium', state: revision ? 'acknowledged' : 'open',
    revision, raisedAt, updatedAt, eventTs: raisedAt, score: 5, partial: false, explanation: 'NEWS2 5', response: 'urgent review', evidence: [],
    history: [{ state: 'open', at: raisedAt, by: 'rules' }], receivedAt: raisedAt, ...extra,
  };
}

function snapshot(providerId: string, minute: number, level = 1): CapacitySnapshot {
  return { service: 'system', providerId, ts: atMinute(minute), opelLevel: level };
}

describe('memory store: alerts', () => {
  it('keeps the newest revision of each alert once, whatever the order revisions arrive in', async () => {
    const store = createMemoryStore({ retentionHours: 72, maxPointsPerSeries: 100 });
    await store.writeAlerts([alert('a1', 0, 0), alert('a1', 2, 0, { severity: 'high', state: 'escalated' }), alert('a2', 0, 5)]);
    await store.writeAlerts([alert('a1', 1, 0), alert('a1', 2, 0, { severity: 'high', state: 'escalated' }), alert('a2', 0, 5)]);
    const found = await store.alerts(['w1'], { since: new Date(T0) });
    expect(found.map((a) => [a.alertId, a.revision, a.severity])).toEqual([['a1', 2, 'high'], ['a2', 0, 'medium']]);
    expect(found[0]).toEqual(alert('a1', 2, 0, { severity: 'high', state: 'escalated' }));
  });

  it('answers by when alerts were raised, on any of the wards, oldest raised first', async () => {
    const store = createMemoryStore({ retentionHours: 72, maxPointsPerSeries: 100 });
    await store.writeAlerts([alert('a3', 0, 30), alert('a1', 0, 10), alert('a2', 0, 20, { wardId: 'w2' }), alert('a4', 0, 40, { wardId: 'w3' })]);
    // A later revision does not move an alert: it is still counted when it was raised.
    await store.writeAlerts([alert('a1', 3, 10)]);
    const range = { since: new Date(atMinute(10)), until: new Date(atMinute(30)) };
    expect((await store.alerts(['w1', 'w2'], range)).map((a) => a.alertId)).toEqual(['a1', 'a2', 'a3']);
    expect((await store.alerts(['w1'], range)).map((a) => [a.alertId, a.revision])).toEqual([['a1', 3], ['a3', 0]]);
    expect((await store.alerts(['w1', 'w2', 'w3'], { since: new Date(atMinute(11)), until: new Date(atMinute(29)) })).map((a) => a.alertId)).toEqual(['a2']);
    expect((await store.alerts(['w1', 'w2', 'w3'], { since: new Date(T0), limit: 2 })).map((a) => a.alertId)).toEqual(['a3', 'a4']);
    expect(await store.alerts([], { since: new Date(T0) })).toEqual([]);
  });

  it('holds a bounded number of alerts, letting the oldest raised go first', async () => {
    const store = createMemoryStore({ retentionHours: 72, maxPointsPerSeries: 100, maxAlerts: 3 });
    await store.writeAlerts([alert('a4', 0, 4), alert('a1', 0, 1), alert('a3', 0, 3)]);
    // A revision of a held alert takes no more room.
    await store.writeAlerts([alert('a1', 1, 1)]);
    expect((await store.alerts(['w1'], { since: new Date(T0) })).map((a) => a.alertId)).toEqual(['a1', 'a3', 'a4']);
    await store.writeAlerts([alert('a2', 0, 2), alert('a5', 0, 5)]);
    expect((await store.alerts(['w1'], { since: new Date(T0) })).map((a) => a.alertId)).toEqual(['a3', 'a4', 'a5']);
  });

  it('holds 200,000 alerts by default', async () => {
    const store = createMemoryStore({ retentionHours: 72, maxPointsPerSeries: 100 });
    const many: Alert[] = [];
    for (let i = 0; i < 200_001; i++) many.push({ ...alert(`b${i}`, 0, 0), raisedAt: new Date(T0 + i).toISOString(), history: [], explanation: '', response: '' });
    await store.writeAlerts(many);
    const held = await store.alerts(['w1'], { since: new Date(T0) });
    expect(held).toHaveLength(200_000);
    expect(held[0]!.alertId).toBe('b1');
  });
});

describe('memory store: capacity snapshots', () => {
  it('keeps each snapshot once, by provider and time, in time order', async () => {
    const store = createMemoryStore({ retentionHours: 72, maxPointsPerSeries: 100 });
    const amb: CapacitySnapshot = { service: 'ambulance', providerId: 'RYA', ts: atMinute(10), reapLevel: 3, crewsAvailable: 4 };
    await store.writeCapacity([snapshot('ICB1', 20, 2), snapshot('ICB1', 0, 1), amb, snapshot('ICB2', 10, 3)]);
    await store.writeCapacity([snapshot('ICB1', 0, 1), amb]);
    expect(await store.capacity(['ICB1', 'RYA'], { since: new Date(T0) })).toEqual([snapshot('ICB1', 0, 1), amb, snapshot('ICB1', 20, 2)]);
    // The same provider id under another service is another snapshot.
    const sameId: CapacitySnapshot = { service: 'nhs111', providerId: 'RYA', ts: atMinute(10), callsWaiting: 12 };
    await store.writeCapacity([sameId]);
    expect(await store.capacity(['RYA'], { since: new Date(T0) })).toEqual([amb, sameId]);
    expect(await store.capacity(['ICB1', 'ICB2'], { since: new Date(atMinute(5)), until: new Date(atMinute(10)) })).toEqual([snapshot('ICB2', 10, 3)]);
    expect(await store.capacity(['ICB1'], { since: new Date(T0), limit: 1 })).toEqual([snapshot('ICB1', 20, 2)]);
    expect(await store.capacity(['nobody'], { since: new Date(T0) })).toEqual([]);
  });

  it('holds a bounded number of snapshots, the oldest first out', async () => {
    const store = createMemoryStore({ retentionHours: 72, maxPointsPerSeries: 100, maxCapacitySnapshots: 3 });
    await store.writeCapacity([snapshot('ICB1', 3), snapshot('ICB1', 1), snapshot('ICB1', 4)]);
    await store.writeCapacity([snapshot('ICB1', 2), snapshot('ICB1', 5), snapshot('ICB1', 5)]);
    expect((await store.capacity(['ICB1'], { since: new Date(T0) })).map((s) => s.ts)).toEqual([atMinute(3), atMinute(4), atMinute(5)]);
  });

  it('holds 100,000 snapshots by default', async () => {
    const store = createMemoryStore({ retentionHours: 72, maxPointsPerSeries: 100 });
    const many: CapacitySnapshot[] = [];
    for (let i = 0; i < 100_005; i++) many.push({ service: 'system', providerId: 'ICB1', ts: new Date(T0 + i).toISOString(), opelLevel: 1 });
    await store.writeCapacity(many);
    const held = await store.capacity(['ICB1'], { since: new Date(T0) });
    expect(held).toHaveLength(100_000);
    expect(held[0]!.ts).toBe(new Date(T0 + 5).toISOString());
  });
});
