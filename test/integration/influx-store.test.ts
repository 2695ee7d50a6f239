import { expect, it } from 'vitest';
import { InfluxDB } from '@influxdata/influxdb-client';
import type { Alert, CapacitySnapshot, Reading, Referral, ScoreEvent } from '../../src/domain/index.ts';
import { createInfluxStore, StoreOverflowError } from '../../src/store/influx-store.ts';
import { describeWith, runPrefix, services } from '../support/services.ts';

describeWith(['INFLUX_URL', 'INFLUX_TOKEN', 'INFLUX_BUCKET'], 'InfluxDB store on a real server (v2 write API, Flux)', () => {
  const run = runPrefix().replace(/\.$/, '');
  const patient = `${run}-pt1`;
  const store = () => createInfluxStore({ ...services.influx!, maxBufferPoints: 10_000, retry: { attempts: 3, initialMs: 50, maxMs: 200 } });
  const base = Date.now() - 10 * 60_000;
  const reading = (type: Reading['type'], value: Reading['value'], minute: number, extra: Partial<Reading> = {}): Reading => {
    const ts = new Date(base + minute * 60_000).toISOString();
    const unit = typeof value === 'number' ? (type === 'temperature' ? 'Cel' : '/min') : type === 'consciousness' ? '{ACVPU}' : '{boolean}';
    return { readingId: `${type}-${minute}`, patientId: patient, wardId: 'ward-x', deviceId: 'dev-1', type, value, unit, ts, receivedAt: ts, ...extra } as Reading;
  };

  it('writes readings and reads the series and latest values back with Flux, absorbing duplicates', async () => {
    const s = store();
    const hr = [reading('heart_rate', 70, 0), reading('heart_rate', 74, 1), reading('heart_rate', 81, 2, { flags: ['irregular_pulse_during_measurement'] })];
    await s.writeReadings([...hr, reading('consciousness', 'C', 2), reading('supplemental_oxygen', true, 2), reading('temperature', 38.4, 1)]);
    await s.writeReadings([hr[1]!]);
    const series = await s.series(patient, 'heart_rate', { since: new Date(base - 1000) });
    expect(series.map((p) => p.value)).toEqual([70, 74, 81]);
    expect(series[0]!.ts).toBe(hr[0]!.ts);
    const limited = await s.series(patient, 'heart_rate', { since: new Date(base - 1000), limit: 2 });
    expect(limited.map((p) => p.value)).toEqual([74, 81]);
    const latest = await s.latest(patient);
    expect(latest.heart_rate).toEqual(hr[2]);
    expect(latest.consciousness?.value).toBe('C');
    expect(latest.supplemental_oxygen?.value).toBe(true);
    expect(latest.temperature?.value).toBe(38.4);
  });

  it('keeps scores whole', async () => {
    const s = store();
    const ts = new Date(base).toISOString();
    const score: ScoreEvent = {
      scoreId: 's1', patientId: patient, wardId: 'ward-x', ruleId: 'news2', ruleVersion: '1.0.0', ts, total: 5, band: 'medium',
      spo2Scale: 1, partial: true, missing: ['consciousness'], inputs: { heart_rate: { readingId: 'r', value: 120, ts, subscore: 2 } }, receivedAt: ts,
    };
    await s.writeScores([score]);
    expect(await s.scores(patient, { since: new Date(base - 1000) })).toEqual([score]);
  });

  it('keeps every referral revision and answers with the newest of each, per ward', async () => {
    const s = store();
    const ward = `${run}-ward`;
    const at = (minute: number) => new Date(base + minute * 60_000).toISOString();
    const referral = (id: string, revision: number, state: Referral['state'], minute: number, wardId = ward): Referral => ({
      referralId: `${run}-${id}`.replace(/[^A-Za-z0-9-]/g, '-'), patientId: patient, wardId, route: 'urgent-community-response', routeTitle: 'Urgent community response (2-hour)', routesVersion: '1.0.0',
      priority: 'asap', urgency: 'within 2 hours', alertIds: [], reason: 'NEWS2 7', evidence: [], requestedBy: 'nurse.a', requestedAt: at(0), state, revision, updatedAt: at(minute),
      history: [{ state: 'requested', at: at(0), by: 'nurse.a' }], delivery: { status: revision ? 'delivered' : 'pending', attempts: revision ? 1 : 0 },
    });
    const first = [referral('aaaa0001', 0, 'requested', 0), referral('aaaa0001', 1, 'sent', 1), referral('aaaa0001', 2, 'accepted', 2)];
    await s.writeReferrals([...first, referral('bbbb0002', 0, 'requested', 3), referral('cccc0003', 0, 'requested', 3, `${run}-other`)]);
    await s.writeReferrals([first[1]!]);
    const found = await s.referrals(ward, { since: new Date(base - 1000) });
    expect(found.map((r) => [r.referralId.slice(-8), r.revision, r.state])).toEqual([['aaaa0001', 2, 'accepted'], ['bbbb0002', 0, 'requested']]);
    expect(found[0]).toEqual(first[2]);
  });

  it('answers the same capacity report from flow events as the pure measures do', async () => {
    const { FLOW_EVENTS, FLOW_WARDS, FLOW_SYSTEMS, FLOW_FROM, FLOW_TO } = await import('../fixtures/flow-history.ts');
    const { flowReport } = await import('../../src/reports/flow-measures.ts');
    const s = store();
    // Ward ids of this run, so runs never see each other's events.
    const ward = (id: string) => `${run}-${id}`;
    const events = FLOW_EVENTS.map((e) => ({ ...e, eventId: `${run}-${e.eventId}`, wardId: ward(e.wardId), ...(e.kind === 'transfer' ? { fromWardId: ward(e.fromWardId) } : {}) }));
    const wards = FLOW_WARDS.map((w) => ({ ...w, wardId: ward(w.wardId) }));
    await s.writeFlowEvents(events);
    await s.writeFlowEvents(events.slice(0, 2));
    const read = await s.flowEvents(wards.map((w) => w.wardId), { since: new Date('2026-03-01T00:00:00Z'), until: new Date('2026-04-30T00:00:00Z') });
    expect(read).toEqual([...events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.eventId.localeCompare(b.eventId)));
    const fromStore = flowReport({ events: read, wards, systems: FLOW_SYSTEMS }, { from: FLOW_FROM, to: FLOW_TO });
    const direct = flowReport({ events, wards, systems: FLOW_SYSTEMS }, { from: FLOW_FROM, to: FLOW_TO });
    expect(fromStore).toEqual(direct);
    expect(fromStore.groups.find((g) => g.id === ward('ward-b'))!.occupancy.daily.map((d) => d.occupied)).toEqual([0, 1, 2, 2]);
  });

  it('counts the hours patients sent readings in on the server, and gives the same adherence as the pure measures', async () => {
    const { FLOW_EVENTS, FLOW_READING_HOURS, FLOW_WARDS, FLOW_SYSTEMS, FLOW_FROM, FLOW_TO, flowHistoryReadings } = await import('../fixtures/flow-history.ts');
    const { flowReport } = await import('../../src/reports/flow-measures.ts');
    const s = store();
    const ward = (id: string) => `${run}-${id}`;
    const patientOf = (p: string) => `${run}-${p}`;
    const readings = flowHistoryReadings(patientOf, ward);
    await s.writeReadings(readings);
    await s.writeReadings(readings.slice(0, 3));
    const wardIds = FLOW_WARDS.map((w) => ward(w.wardId));
    const hours = await s.readingHours(wardIds, { since: FLOW_FROM, until: FLOW_TO });
    const byKey = (a: { patientId: string; hour: number }, b: { patientId: string; hour: number }) => a.hour - b.hour || a.patientId.localeCompare(b.patientId);
    expect([...hours].sort(byKey)).toEqual(FLOW_READING_HOURS.map(({ patientId, hour }) => ({ patientId: patientOf(patientId), hour })).sort(byKey));
    expect(await s.readingHours([ward('ward-b')], { since: FLOW_FROM, until: FLOW_TO })).toEqual([{ patientId: patientOf('p3'), hour: Date.parse('2026-03-31T09:00:00Z') }]);
    const events = FLOW_EVENTS.map((e) => ({ ...e, patientId: patientOf(e.patientId), wardId: ward(e.wardId), ...(e.kind === 'transfer' ? { fromWardId: ward(e.fromWardId) } : {}) }));
    const wards = FLOW_WARDS.map((w) => ({ ...w, wardId: ward(w.wardId) }));
    const report = flowReport({ events, wards, systems: FLOW_SYSTEMS, readingHours: hours }, { from: FLOW_FROM, to: FLOW_TO });
    expect(report.groups[0]!.monitoring).toEqual({ expectedEveryHours: 24, expectedDays: 8, daysWithReadings: 4, percent: 50, hoursMissing: 61, hoursMissingPerPatientDay: 8.74 });
  });

  it('keeps the newest revision of each alert as one point, and answers by wards and when raised', async () => {
    const s = store();
    const ward = `${run}-ward-al`;
    const at = (minute: number) => new Date(base + minute * 60_000).toISOString();
    const alert = (id: string, revision: number, raisedMinute: number, extra: Partial<Alert> = {}): Alert => ({
      alertId: `${run}-${id}`, patientId: patient, wardId: ward, cause: 'news2', ruleId: 'news2', ruleVersion: '1.0.0', severity: 'medium', state: revision ? 'acknowledged' : 'open',
      revision, raisedAt: at(raisedMinute), updatedAt: at(raisedMinute + revision), eventTs: at(raisedMinute), score: 5, partial: false, explanation: 'NEWS2 5', response: 'urgent review',
      evidence: [{ readingId: 'r1', type: 'heart_rate', value: 121, ts: at(raisedMinute), threshold: '>= 111' }], history: [{ state: 'open', at: at(raisedMinute), by: 'rules' }],
      receivedAt: at(raisedMinute), ...extra,
    });
    const a1 = [alert('a1', 0, 0), alert('a1', 1, 0, { severity: 'high', state: 'escalated' }), alert('a1', 2, 0, { severity: 'high' })];
    await s.writeAlerts([...a1, alert('a2', 0, 2), alert('a3', 0, 4, { wardId: `${run}-other` })]);
    // Redelivered, in bus order; and a batch holding an older revision after a newer one.
    await s.writeAlerts([a1[1]!, a1[2]!]);
    await s.writeAlerts([alert('a2', 1, 2), alert('a2', 0, 2)]);
    const found = await s.alerts([ward], { since: new Date(base - 1000) });
    expect(found.map((a) => [a.alertId.slice(-2), a.revision, a.severity])).toEqual([['a1', 2, 'high'], ['a2', 1, 'medium']]);
    expect(found[0]).toEqual(a1[2]);
    expect((await s.alerts([ward, `${run}-other`], { since: new Date(at(1)), until: new Date(at(4)) })).map((a) => a.alertId.slice(-2))).toEqual(['a2', 'a3']);
    expect((await s.alerts([ward, `${run}-other`], { since: new Date(base - 1000), limit: 1 })).map((a) => a.alertId.slice(-2))).toEqual(['a3']);
    expect(await s.alerts([], { since: new Date(base - 1000) })).toEqual([]);
    // A change of severity did not start a second series: the alert is one series with one point.
    const { url, token, org, bucket } = services.influx!;
    const counts = await new InfluxDB({ url, token }).getQueryApi(org).collectRows<{ _value: number }>(`from(bucket: ${JSON.stringify(bucket)})
  |> range(start: ${new Date(base - 60_000).toISOString()})
  |> filter(fn: (r) => r._measurement == "alert" and r.alert_id == ${JSON.stringify(`${run}-a1`)} and r._field == "revision")
  |> count()`);
    expect(counts.map((r) => r._value)).toEqual([1]);
  });

  it('keeps each capacity snapshot once and answers by providers in time order', async () => {
    const s = store();
    const icb = `${run}-ICB`;
    const trust = `${run}-RYA`;
    const at = (minute: number) => new Date(base + minute * 60_000).toISOString();
    const opel = (providerId: string, minute: number, opelLevel: number): CapacitySnapshot => ({ service: 'system', providerId, ts: at(minute), opelLevel });
    const amb: CapacitySnapshot = {
      service: 'ambulance', providerId: trust, ts: at(1), reapLevel: 3, crewsAvailable: 4, incidentsWaiting: 17,
      responses: { c1: { meanMinutes: 8.5, p90Minutes: 15.2 }, c2: { meanMinutes: 41, p90Minutes: 90 }, c3: { meanMinutes: 120, p90Minutes: 300 }, c4: { meanMinutes: 150, p90Minutes: 400 } },
    };
    const nhs111: CapacitySnapshot = { service: 'nhs111', providerId: trust, ts: at(1), callsWaiting: 30, answeredWithin60sPct: 62.5 };
    await s.writeCapacity([opel(icb, 3, 2), opel(icb, 0, 1), amb, nhs111, opel(`${run}-other`, 2, 4)]);
    await s.writeCapacity([opel(icb, 0, 1), amb]);
    expect(await s.capacity([icb, trust], { since: new Date(base - 1000) })).toEqual([opel(icb, 0, 1), amb, nhs111, opel(icb, 3, 2)]);
    expect(await s.capacity([icb, `${run}-other`], { since: new Date(at(1)), until: new Date(at(3)) })).toEqual([opel(`${run}-other`, 2, 4), opel(icb, 3, 2)]);
    expect(await s.capacity([icb], { since: new Date(base - 1000), limit: 1 })).toEqual([opel(icb, 3, 2)]);
    expect(await s.capacity([], { since: new Date(base - 1000) })).toEqual([]);
  });

  it('retries a failed write with back-off, then fails loudly', async () => {
    const retries: number[] = [];
    const dead = createInfluxStore({ url: 'http://127.0.0.1:9', token: 'x', org: '-', bucket: 'x', maxBufferPoints: 100, retry: { attempts: 3, initialMs: 10, maxMs: 20 }, onRetry: (a) => retries.push(a), timeoutMs: 1000 });
    await expect(dead.writeReadings([reading('heart_rate', 70, 3)])).rejects.toThrow();
    expect(retries).toEqual([1, 2]);
    expect(dead.healthy()).toBe(false);
  });

  it('refuses, counts and reports a write that would overflow its buffer', async () => {
    const overflows: number[] = [];
    const small = createInfluxStore({ ...services.influx!, maxBufferPoints: 2, retry: { attempts: 1, initialMs: 10, maxMs: 10 }, onOverflow: (n) => overflows.push(n) });
    await expect(small.writeReadings([reading('heart_rate', 70, 4), reading('heart_rate', 71, 5), reading('heart_rate', 72, 6)])).rejects.toBeInstanceOf(StoreOverflowError);
    expect(overflows).toEqual([3]);
  });
});
