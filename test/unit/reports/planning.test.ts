import { describe, expect, it } from 'vitest';
import type { FlowEvent } from '../../../src/domain/index.ts';
import { bedsFor, planBeds, poissonCdf, poissonQuantile } from '../../../src/reports/planning.ts';
import { mulberry32 } from '../../../simulators/rng.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-10-01T00:00:00Z');

function poissonDraw(mean: number, next: () => number): number {
  let k = 0;
  let p = Math.exp(-mean);
  let s = p;
  const u = next();
  while (u > s) {
    k++;
    p *= mean / k;
    s += p;
  }
  return k;
}

describe('bed planning', () => {
  it('computes Poisson probabilities and quantiles, small and large', () => {
    expect(poissonCdf(2, 2)).toBeCloseTo(5 * Math.exp(-2), 10);
    expect(poissonQuantile(0.95, 2)).toBe(5);
    expect(poissonQuantile(0.5, 0)).toBe(0);
    // For a large mean the quantile is close to the normal one: 400 + 1.645 × 20.
    expect(Math.abs(poissonQuantile(0.95, 400) - 433)).toBeLessThanOrEqual(1);
    expect(bedsFor(20, 0.85, 0.95)).toBe(Math.ceil(poissonQuantile(0.95, 20) / 0.85));
  });

  it('plans from the arrivals and stays in the data, and shows what a rise in step-up referrals needs', () => {
    // 30 days; each day 10 ARI admissions (4 step-up from ambulance or 111), each staying 5 days.
    const events: FlowEvent[] = [];
    for (let d = 0; d < 60; d++) {
      for (let i = 0; i < 10; i++) {
        const id = `p${d}-${i}`;
        const at = T0 - 30 * DAY + d * DAY + i * 60_000;
        const source = i < 2 ? 'ambulance' : i < 4 ? 'nhs111' : 'gp';
        events.push({ kind: 'admit', eventId: `${id}-a`, patientId: id, wardId: 'w', pathway: 'ari', admission: 'step-up', source, at: new Date(at).toISOString(), by: 'x' });
        events.push({ kind: 'discharge', eventId: `${id}-d`, patientId: id, wardId: 'w', outcome: 'care-completed', at: new Date(at + 5 * DAY).toISOString(), by: 'x' });
      }
    }
    const plan = planBeds(events, { from: new Date(T0), to: new Date(T0 + 30 * DAY), targetOccupancy: 0.85, probability: 0.95, surgeFactor: 1.5 });
    const ari = plan.pathways[0]!;
    expect(ari).toMatchObject({ pathway: 'ari', arrivalsPerDay: 10, stepUpFromAmbulanceAnd111PerDay: 4, meanStayDays: 5, offeredLoad: 50 });
    expect(ari.bedsNeeded).toBe(bedsFor(50, 0.85, 0.95));
    expect(ari.surge).toMatchObject({ factor: 1.5, arrivalsPerDay: 12, offeredLoad: 60 });
    expect(ari.surge.bedsNeeded).toBeGreaterThan(ari.bedsNeeded);
    expect(plan.total).toEqual({ offeredLoad: 50, bedsNeeded: ari.bedsNeeded, surgeOfferedLoad: 60, surgeBedsNeeded: ari.surge.bedsNeeded });
  });

  it('keeps occupancy at or under the target on the stated share of days in a simulated ward', () => {
    // Poisson arrivals of 6 a day, stays of 1 to 11 days (mean 6): offered load 36.
    const next = mulberry32(7);
    const beds = bedsFor(36, 0.85, 0.95);
    const leaving: number[] = [];
    let onWard = 0;
    let within = 0;
    const days = 4000;
    for (let d = 0; d < days; d++) {
      onWard -= leaving[d] ?? 0;
      const arrivals = poissonDraw(6, next);
      for (let i = 0; i < arrivals; i++) {
        const stay = 1 + Math.floor(next() * 11);
        leaving[d + stay] = (leaving[d + stay] ?? 0) + 1;
      }
      onWard += arrivals;
      if (d >= 50 && onWard <= 0.85 * beds) within++;
    }
    const share = within / (days - 50);
    // The share of days within the target is the 95% planned for (0.960 with this seed), give or take
    // the rounding up of beds and the simulation's noise.
    expect(share).toBeGreaterThan(0.94);
    expect(share).toBeLessThan(0.99);
  });
});
