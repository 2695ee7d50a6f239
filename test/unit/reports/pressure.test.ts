import { describe, expect, it } from 'vitest';
import type { CapacitySnapshot } from '../../../src/domain/index.ts';
import { dailyPressure, periodPressure } from '../../../src/reports/pressure.ts';

/**
 * Snapshots over 24–26 October 2026, across the clock change (01:00 UTC on Sunday 25 October, when UK
 * time goes from BST back to GMT, so the 25th is 25 hours long). Worked by hand below.
 */
const amb = (ts: string, reapLevel: number, c2?: [number, number], handover?: number, providerId = 'RX9'): CapacitySnapshot => ({
  service: 'ambulance',
  providerId,
  ts,
  reapLevel,
  ...(c2 ? { responses: { c1: { meanMinutes: 8, p90Minutes: 14 }, c2: { meanMinutes: c2[0], p90Minutes: c2[1] }, c3: { meanMinutes: 90, p90Minutes: 200 }, c4: { meanMinutes: 120, p90Minutes: 300 } } } : {}),
  ...(handover !== undefined ? { handover: { meanMinutes: handover, over30: 1, over60: 0, handovers: 10 } } : {}),
});
const nhs111 = (ts: string, callsWaiting: number, answeredWithin60sPct?: number): CapacitySnapshot => ({ service: 'nhs111', providerId: '111-X', ts, callsWaiting, ...(answeredWithin60sPct !== undefined ? { answeredWithin60sPct } : {}) });
const opel = (ts: string, opelLevel: number, providerId = 'QXX'): CapacitySnapshot => ({ service: 'system', providerId, ts, opelLevel });

const snapshots: CapacitySnapshot[] = [
  amb('2026-10-22T12:00:00Z', 4, [99, 199], 99), // before the period
  amb('2026-10-23T23:30:00Z', 2, [20, 40], 15), // 00:30 BST on the 24th
  amb('2026-10-24T12:00:00Z', 3, [30, 60]), // the 24th, no handover figures
  amb('2026-10-24T12:00:00Z', 4, [100, 200], 90, 'RYY-AMB'), // another ambulance service
  amb('2026-10-24T23:30:00Z', 1, [18, 35], 20), // 00:30 BST on the 25th
  amb('2026-10-25T23:30:00Z', 2, undefined, 30), // 23:30 GMT on the 25th, no response times
  amb('2026-10-27T00:00:00Z', 4, [99, 199], 99), // 00:00 GMT on the 27th: after the period
  nhs111('2026-10-24T10:00:00Z', 10, 90),
  nhs111('2026-10-24T20:00:00Z', 25, 80),
  nhs111('2026-10-25T00:30:00Z', 5), // 01:30 BST on the 25th, the first of its two 01:30s
  opel('2026-10-24T07:00:00Z', 2),
  opel('2026-10-24T15:00:00Z', 3),
  opel('2026-10-25T09:00:00Z', 4, 'QYY'), // another ICS
];
const providers = { ambulance: 'RX9', nhs111: '111-X', ics: 'QXX' };
// 00:00 BST on the 24th to 00:00 GMT on the 27th.
const from = new Date('2026-10-23T23:00:00Z');
const to = new Date('2026-10-27T00:00:00Z');

describe('dailyPressure', () => {
  it('gives each UK day its own snapshots’ maxima and means, across the clock change, and a day with none empty', () => {
    expect(dailyPressure(snapshots, providers, from, to)).toEqual([
      {
        date: '2026-10-24',
        snapshots: { ambulance: 2, nhs111: 2, system: 2 },
        reapMax: 3,
        c2MeanMinutes: 25, // (20 + 30) / 2
        c2P90MeanMinutes: 50, // (40 + 60) / 2
        handoverMeanMinutes: 15, // the one snapshot with handovers
        nhs111AnsweredWithin60sPct: 85, // (90 + 80) / 2
        nhs111CallsWaitingMax: 25,
        opelMax: 3,
      },
      {
        date: '2026-10-25',
        snapshots: { ambulance: 2, nhs111: 1, system: 0 },
        reapMax: 2,
        c2MeanMinutes: 18, // the one snapshot with response times
        c2P90MeanMinutes: 35,
        handoverMeanMinutes: 25, // (20 + 30) / 2
        nhs111AnsweredWithin60sPct: null,
        nhs111CallsWaitingMax: 5,
        opelMax: null, // QYY's level is another ICS's
      },
      {
        date: '2026-10-26',
        snapshots: { ambulance: 0, nhs111: 0, system: 0 },
        reapMax: null,
        c2MeanMinutes: null,
        c2P90MeanMinutes: null,
        handoverMeanMinutes: null,
        nhs111AnsweredWithin60sPct: null,
        nhs111CallsWaitingMax: null,
        opelMax: null,
      },
    ]);
  });

  it('rounds means to one decimal place, and counts nothing of a provider not named', () => {
    const three = [amb('2026-10-24T01:00:00Z', 1, [10, 20]), amb('2026-10-24T02:00:00Z', 1, [10, 20]), amb('2026-10-24T03:00:00Z', 1, [11, 20])];
    expect(dailyPressure(three, providers, from, to)[0]!.c2MeanMinutes).toBe(10.3);
    const none = dailyPressure(snapshots, { ics: 'QXX' }, from, to)[0]!;
    expect(none).toMatchObject({ snapshots: { ambulance: 0, nhs111: 0, system: 2 }, reapMax: null, c2MeanMinutes: null, nhs111CallsWaitingMax: null, opelMax: 3 });
  });
});

describe('periodPressure', () => {
  it('summarises the snapshots of each period, e.g. the report’s months', () => {
    const months = periodPressure(snapshots, providers, [
      { period: 'a', from: from.toISOString(), to: '2026-10-25T00:00:00Z' },
      { period: 'b', from: '2026-10-25T00:00:00Z', to: to.toISOString() },
    ]);
    expect(months.a).toMatchObject({ snapshots: { ambulance: 3, nhs111: 2, system: 2 }, reapMax: 3, c2MeanMinutes: 22.7, handoverMeanMinutes: 17.5, opelMax: 3 });
    expect(months.b).toMatchObject({ snapshots: { ambulance: 1, nhs111: 1, system: 0 }, reapMax: 2, c2MeanMinutes: null, handoverMeanMinutes: 30, nhs111CallsWaitingMax: 5, opelMax: null });
  });
});
