import { readFileSync } from 'node:fs';
import { InfluxDB } from '@influxdata/influxdb-client';
import { expect, it } from 'vitest';
import type { Alert, CapacitySnapshot, FlowEvent, Referral } from '../../src/domain/index.ts';
import { createInfluxStore } from '../../src/store/influx-store.ts';
import { dashboard, PANELS } from '../../dashboards/grafana/build.ts';
import { flowHistoryEvents, flowHistoryReadings } from '../fixtures/flow-history.ts';
import { describeWith, runPrefix, services } from '../support/services.ts';

/**
 * The Grafana dashboard's Flux, run against a real InfluxDB holding what the sink writes: every panel's
 * query parses and answers, and the occupancy panel gives the worked history's ward occupancy.
 */
describeWith(['INFLUX_URL', 'INFLUX_TOKEN', 'INFLUX_BUCKET'], 'Grafana dashboard on a real InfluxDB', () => {
  const run = runPrefix().replace(/[^A-Za-z0-9-]/g, '-').replace(/-+$/, '');
  // A window of its own, years back, so other runs' points never fall in it.
  const shiftMs = (3000 + (Date.now() % 3000)) * 86_400_000;
  const shift = (iso: string) => new Date(Date.parse(iso) - shiftMs).toISOString();
  const ward = (id: string) => `${run}-${id}`;

  it('is the dashboard the build script writes', () => {
    expect(JSON.parse(readFileSync('dashboards/grafana/virtual-ward-capacity.json', 'utf8'))).toEqual(dashboard());
  });

  it('answers every panel, and draws the ward occupancy the flow gives', async () => {
    const store = createInfluxStore({ ...services.influx!, maxBufferPoints: 10_000, retry: { attempts: 3, initialMs: 50, maxMs: 200 } });
    const events: FlowEvent[] = flowHistoryEvents([`${run}-p1`, `${run}-p2`, `${run}-p3`, `${run}-p4`], (n) => `${run}-e${n}`).map((e) => ({
      ...e,
      at: shift(e.at),
      wardId: ward(e.wardId),
      ...(e.kind === 'transfer' ? { fromWardId: ward(e.fromWardId) } : {}),
    }));
    await store.writeFlowEvents(events);
    await store.writeReadings(flowHistoryReadings((p) => `${run}-${p}`, ward).map((r) => ({ ...r, readingId: `${run}-${r.readingId}`, ts: shift(r.ts), receivedAt: shift(r.receivedAt) })));
    const t = shift('2026-03-30T09:00:00Z');
    const referral: Referral = {
      referralId: `${run}-ref-0001`.slice(-60), patientId: `${run}-p4`, wardId: ward('ward-b'), route: 'urgent-community-response', routeTitle: 'UCR', routesVersion: '1.0.0', priority: 'asap', urgency: 'within 2 hours',
      alertIds: [], reason: 'r', evidence: [], requestedBy: 'n', requestedAt: t, state: 'requested', revision: 0, updatedAt: t, history: [], delivery: { status: 'pending', attempts: 0 },
    };
    await store.writeReferrals([referral]);
    const alert: Alert = {
      alertId: `${run}-al-1`, patientId: `${run}-p4`, wardId: ward('ward-b'), cause: 'news2', ruleId: 'news2', ruleVersion: '1.1.0', severity: 'high', state: 'open', revision: 0, raisedAt: t, updatedAt: t, eventTs: t,
      partial: false, explanation: 'x', response: 'y', evidence: [], history: [{ state: 'open', at: t, by: 'vw' }], receivedAt: t,
    };
    await store.writeAlerts([alert]);
    const snapshots: CapacitySnapshot[] = [
      { service: 'ambulance', providerId: `${run}-amb`, ts: t, reapLevel: 3, responses: { c1: { meanMinutes: 8, p90Minutes: 14 }, c2: { meanMinutes: 41, p90Minutes: 90 }, c3: { meanMinutes: 60, p90Minutes: 150 }, c4: { meanMinutes: 90, p90Minutes: 200 } } },
      { service: 'nhs111', providerId: `${run}-111`, ts: t, callsWaiting: 12, answeredWithin60sPct: 81.5 },
      { service: 'system', providerId: `${run}-ics`, ts: t, opelLevel: 3 },
    ];
    await store.writeCapacity(snapshots);

    const query = new InfluxDB({ url: services.influx!.url, token: services.influx!.token }).getQueryApi(services.influx!.org);
    const start = shift('2026-03-27T00:00:00Z');
    const stop = shift('2026-04-01T00:00:00Z');
    const results = new Map<string, Array<Record<string, unknown>>>();
    for (const panel of PANELS) {
      const flux = panel.flux.replaceAll('"vitals"', JSON.stringify(services.influx!.bucket)).replaceAll('v.timeRangeStart', start).replaceAll('v.timeRangeStop', stop);
      results.set(panel.title, await query.collectRows<Record<string, unknown>>(flux));
    }
    // Ward B: P3 in at 06:30 on the 29th, P4 in on the 30th, P3 out on the 31st: 1, 2, 1 at the end of each day.
    const occupancy = results.get('Patients on each virtual ward')!.filter((r) => r.ward_id === ward('ward-b')).map((r) => r._value);
    expect(occupancy).toEqual([1, 2, 1]);
    const wardA = results.get('Patients on each virtual ward')!.filter((r) => r.ward_id === ward('ward-a')).map((r) => r._value);
    expect(wardA.at(-1)).toBe(0);
    // Ward A: P1 and P2 sent on the 28th, P1 and P3 on the 29th; ward B: P3 on the 31st.
    const sending = (w: string) => results.get('Patients sending readings, a day')!.filter((r) => r.ward_id === ward(w)).map((r) => r._value);
    expect(sending('ward-a')).toEqual([2, 2]);
    expect(sending('ward-b')).toEqual([1]);
    expect(results.get('Referrals a day by route')!.some((r) => r.route === 'urgent-community-response' && r._value === 1)).toBe(true);
    expect(results.get('Alerts raised a day by rule')!.some((r) => r.rule === 'news2' && Number(r._value) >= 1)).toBe(true);
    expect(results.get('Ambulance C2 mean response (minutes)')!.find((r) => r.provider_id === `${run}-amb`)?._value).toBe(41);
    expect(results.get('NHS 111 calls answered within 60 seconds (%)')!.find((r) => r.provider_id === `${run}-111`)?._value).toBe(81.5);
    expect(results.get('System pressure (OPEL) and ambulance REAP')!.filter((r) => String(r.provider_id).startsWith(run)).map((r) => `${r._field}:${r._value}`).sort()).toEqual(['opel_level:3', 'reap_level:3']);
    expect(results.get('Admissions and discharges a day')!.some((r) => r.kind === 'admit' && Number(r._value) >= 1)).toBe(true);
  });
});
