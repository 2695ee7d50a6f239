import { describe, expect, it } from 'vitest';
import { createCapacityBoard } from '../../../src/capacity/board.ts';
import { CAPACITY_STANDARDS } from '../../../src/capacity/standards.ts';
import type { AmbulanceCapacity, Nhs111Capacity, SystemPressure } from '../../../src/domain/index.ts';
import { createRegistry } from '../../../src/registry/registry.ts';

/** The feed's picture of capacity: newest snapshot and a day's trend per provider, and each ward's view of it. */
const MIN = 60_000;
const HOUR = 60 * MIN;
// A quarter-hour boundary, so the buckets in the tests are easy to read.
const START = Date.parse('2026-11-22T12:00:00Z');

const registry = createRegistry({
  systems: [
    { icsId: 'QXX', name: 'Northshire ICS' },
    { icsId: 'QYY', name: 'Southshire ICS' },
  ],
  wards: [
    { wardId: 'w-ari', name: 'ARI', organisation: 'RXX', capacity: 40, ics: 'QXX', ambulanceService: 'RX9', nhs111Provider: '111-N' },
    { wardId: 'w-hf', name: 'HF', organisation: 'RXX', capacity: 25, ics: 'QXX', ambulanceService: 'RX9', nhs111Provider: '111-N' },
    { wardId: 'w-south', name: 'South', organisation: 'RYY', capacity: 10, ics: 'QYY', ambulanceService: 'RYC', nhs111Provider: '111-N' },
    { wardId: 'w-bare', name: 'Bare', organisation: 'RZZ', capacity: 5 },
  ],
  patients: [
    { patientId: 'p1', displayName: 'One', spo2Scale: 1 },
    { patientId: 'p2', displayName: 'Two', spo2Scale: 1 },
    { patientId: 'p3', displayName: 'Three', spo2Scale: 1 },
  ],
  devices: [
    { deviceId: 'd1', kind: 'pulse_oximeter', medicalGrade: true },
    { deviceId: 'd1b', kind: 'thermometer', medicalGrade: true },
    { deviceId: 'd2', kind: 'pulse_oximeter', medicalGrade: true },
    { deviceId: 'd3', kind: 'pulse_oximeter', medicalGrade: true },
  ],
  enrolments: [
    // Two devices, one patient: one bed.
    { deviceId: 'd1', patientId: 'p1', wardId: 'w-ari', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
    { deviceId: 'd1b', patientId: 'p1', wardId: 'w-ari', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
    { deviceId: 'd2', patientId: 'p2', wardId: 'w-ari', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
    // Discharged before the test's day: no longer in a bed.
    { deviceId: 'd3', patientId: 'p3', wardId: 'w-ari', pathway: 'ari', from: '2026-01-01T00:00:00Z', until: '2026-11-01T00:00:00Z' },
  ],
});

const iso = (ms: number) => new Date(ms).toISOString();
const amb = (at: number, reapLevel = 2, providerId = 'RX9'): AmbulanceCapacity => ({ service: 'ambulance', providerId, ts: iso(at), reapLevel });
const nhs111 = (at: number, callsWaiting: number): Nhs111Capacity => ({ service: 'nhs111', providerId: '111-N', ts: iso(at), callsWaiting });
const opel = (at: number, opelLevel: number, providerId = 'QXX'): SystemPressure => ({ service: 'system', providerId, ts: iso(at), opelLevel });

function board(startAt = START) {
  const clock = { now: startAt };
  return { clock, board: createCapacityBoard({ registry, staleAfterSeconds: 1800, now: () => clock.now }) };
}
const wardIds = (wards: { wardId: string }[]) => wards.map((w) => w.wardId).sort();

describe('capacity board', () => {
  it('tells the wards that escalate to the provider, and no other', () => {
    const { board: b } = board();
    expect(wardIds(b.apply(amb(START)))).toEqual(['w-ari', 'w-hf']);
    expect(wardIds(b.apply(amb(START, 2, 'RYC')))).toEqual(['w-south']);
    expect(wardIds(b.apply(nhs111(START, 3)))).toEqual(['w-ari', 'w-hf', 'w-south']);
    expect(wardIds(b.apply(opel(START, 3)))).toEqual(['w-ari', 'w-hf']);
    expect(wardIds(b.apply(opel(START, 3, 'QYY')))).toEqual(['w-south']);
    // Nobody escalates to this provider: kept, but no console needs telling.
    expect(b.apply(amb(START, 2, 'R00'))).toEqual([]);
  });

  it('shows a ward its ICS, beds commissioned and occupied, the staleness limit, the time and the standards', () => {
    const { board: b } = board();
    const view = b.forWard('w-ari');
    expect(view).toEqual({
      ics: { icsId: 'QXX', name: 'Northshire ICS' },
      beds: { commissioned: 40, occupied: 2 },
      staleAfterSeconds: 1800,
      at: iso(START),
      ambulance: { providerId: 'RX9', latest: null, trend: [] },
      nhs111: { providerId: '111-N', latest: null, trend: [] },
      system: { providerId: 'QXX', latest: null, trend: [] },
      standards: CAPACITY_STANDARDS,
    });
    // A ward that names no ICS or services has no service views, and no empty beds taken.
    expect(b.forWard('w-bare')).toMatchObject({ ics: null, beds: { commissioned: 5, occupied: 0 }, ambulance: null, nhs111: null, system: null });
  });

  it('keeps the newest snapshot as latest, per provider', () => {
    const { board: b } = board(START + HOUR);
    b.apply(amb(START, 1));
    b.apply(amb(START + 20 * MIN, 3));
    b.apply(amb(START + 10 * MIN, 2, 'RYC'));
    b.apply(nhs111(START + 5 * MIN, 40));
    const ari = b.forWard('w-ari');
    expect(ari.ambulance?.latest).toEqual(amb(START + 20 * MIN, 3));
    expect(ari.nhs111?.latest).toEqual(nhs111(START + 5 * MIN, 40));
    expect(ari.system?.latest).toBeNull();
    expect(b.forWard('w-south').ambulance?.latest).toEqual(amb(START + 10 * MIN, 2, 'RYC'));
  });

  it('does not let an older copy replace the latest, and tells no ward of it', () => {
    const { board: b } = board(START + HOUR);
    expect(wardIds(b.apply(amb(START + 30 * MIN, 4)))).toEqual(['w-ari', 'w-hf']);
    expect(b.apply(amb(START + 10 * MIN, 1))).toEqual([]);
    expect(b.forWard('w-ari').ambulance?.latest).toEqual(amb(START + 30 * MIN, 4));
    // A late arrival still fills its gap in the trend, in time order.
    expect(b.forWard('w-ari').ambulance?.trend.map((s) => s.ts)).toEqual([iso(START + 10 * MIN), iso(START + 30 * MIN)]);
    // A copy with the same time is not older: the wards hear of it again.
    expect(wardIds(b.apply(amb(START + 30 * MIN, 4)))).toEqual(['w-ari', 'w-hf']);
  });

  it('thins the trend to the newest snapshot of each quarter hour, oldest first', () => {
    const { board: b } = board(START + 2 * HOUR);
    // Every five minutes for an hour: 12:00, 12:05 … 12:55.
    for (let m = 0; m < 60; m += 5) b.apply(opel(START + m * MIN, 1 + (m % 4)));
    const trend = b.forWard('w-ari').system!.trend;
    expect(trend.map((s) => s.ts)).toEqual([iso(START + 10 * MIN), iso(START + 25 * MIN), iso(START + 40 * MIN), iso(START + 55 * MIN)]);
    expect(trend.map((s) => s.opelLevel)).toEqual([3, 2, 1, 4]);
  });

  it('keeps the newest of a quarter hour whatever order its snapshots arrive in', () => {
    const { board: b } = board(START + HOUR);
    b.apply(amb(START + 14 * MIN, 3));
    b.apply(amb(START + 2 * MIN, 1));
    b.apply(amb(START + 16 * MIN, 4));
    b.apply(amb(START + 7 * MIN, 2));
    expect(b.forWard('w-hf').ambulance?.trend).toEqual([amb(START + 14 * MIN, 3), amb(START + 16 * MIN, 4)]);
  });

  it('drops snapshots older than 24 hours from the trend, but still shows the latest', () => {
    const { board: b, clock } = board(START);
    b.apply(nhs111(START - 23 * HOUR, 5));
    b.apply(nhs111(START - 12 * HOUR, 9));
    b.apply(nhs111(START - HOUR, 20));
    // Too old on arrival: it never shows in the trend.
    b.apply(nhs111(START - 25 * HOUR, 1));
    expect(b.forWard('w-ari').nhs111?.trend.map((s) => s.callsWaiting)).toEqual([5, 9, 20]);

    clock.now = START + 2 * HOUR;
    expect(b.forWard('w-ari').nhs111?.trend.map((s) => s.callsWaiting)).toEqual([9, 20]);
    // Applying prunes what the day has left behind.
    b.apply(nhs111(START + HOUR, 30));
    clock.now = START + 23 * HOUR + 30 * MIN;
    const view = b.forWard('w-ari');
    expect(view.nhs111?.trend.map((s) => s.callsWaiting)).toEqual([30]);
    expect(view.at).toBe(iso(START + 23 * HOUR + 30 * MIN));

    clock.now = START + 3 * 24 * HOUR;
    const later = b.forWard('w-ari').nhs111!;
    expect(later.trend).toEqual([]);
    // The console shows the last word from the service as stale rather than nothing.
    expect(later.latest).toEqual(nhs111(START + HOUR, 30));
  });

  it('holds at most one snapshot per quarter hour over a day at any sending rate', () => {
    const { board: b, clock } = board(START);
    for (let t = START; t < START + 48 * HOUR; t += MIN) {
      clock.now = t;
      b.apply(amb(t, 1 + (Math.floor(t / HOUR) % 4)));
    }
    const trend = b.forWard('w-ari').ambulance!.trend;
    expect(trend.length).toBeLessThanOrEqual(97);
    expect(trend.length).toBeGreaterThanOrEqual(96);
    const buckets = trend.map((s) => Math.floor(Date.parse(s.ts) / (15 * MIN)));
    expect(new Set(buckets).size).toBe(trend.length);
    expect(buckets).toEqual([...buckets].sort((x, y) => x - y));
    expect(Date.parse(trend[0]!.ts)).toBeGreaterThanOrEqual(clock.now - 24 * HOUR);
    expect(trend.at(-1)).toEqual(amb(clock.now, 1 + (Math.floor(clock.now / HOUR) % 4)));
  });
});
