import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AmbulanceCapacity, CapacitySnapshot, Nhs111Capacity } from '../../../src/domain/index.ts';
import { capacityAt, capacitySeries, parseCapacityScenario, startCapacityFeed } from '../../../simulators/capacity.ts';

const normal = parseCapacityScenario('capacity.yaml', readFileSync('simulators/scenarios/capacity.yaml', 'utf8'));
const winter = parseCapacityScenario('capacity-winter-surge.yaml', readFileSync('simulators/scenarios/capacity-winter-surge.yaml', 'utf8'));
/** A Monday in December, 00:00 UTC (UK winter time). */
const START = Date.parse('2026-12-07T00:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const ambulance = (s: CapacitySnapshot[]) => s.filter((x): x is AmbulanceCapacity => x.service === 'ambulance');
const nhs111 = (s: CapacitySnapshot[]) => s.filter((x): x is Nhs111Capacity => x.service === 'nhs111');
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Snapshots at the given UTC hours of the given days. */
function at(scenario: typeof normal, days: number[], hours: number[]): CapacitySnapshot[] {
  return days.flatMap((d) => hours.flatMap((h) => scenario.providers.map((p) => capacityAt(scenario, p, START + d * DAY + h * HOUR, START))));
}

describe('capacity feeds', () => {
  it('gives the same feed for the same seed, and another for another seed', () => {
    const a = JSON.stringify(capacitySeries(normal, START, START, 2 * DAY));
    expect(JSON.stringify(capacitySeries(normal, START, START, 2 * DAY))).toBe(a);
    expect(JSON.stringify(capacitySeries({ ...normal, seed: normal.seed + 1 }, START, START, 2 * DAY))).not.toBe(a);
  });

  it('reports every measure within its range, and a 90th centile no shorter than the mean', () => {
    for (const s of [...capacitySeries(normal, START, START, 7 * DAY), ...capacitySeries(winter, START, START, 7 * DAY)]) {
      if (s.service === 'ambulance') {
        for (const c of Object.values(s.responses!)) expect(c.p90Minutes).toBeGreaterThanOrEqual(c.meanMinutes);
        expect(s.handover!.over60).toBeLessThanOrEqual(s.handover!.over30);
        expect(s.handover!.over30).toBeLessThanOrEqual(s.handover!.handovers);
      } else if (s.service === 'system') {
        expect(s.opelLevel).toBeGreaterThanOrEqual(1);
      } else {
        expect(s.answeredWithin60sPct!).toBeGreaterThanOrEqual(0);
        expect(s.answeredWithin60sPct!).toBeLessThanOrEqual(100);
      }
    }
  });

  it('rises and falls through an ordinary weekday: calm before dawn, pressed in the evening', () => {
    const weekdays = [0, 1, 2, 3, 4];
    const night = at(normal, weekdays, [3, 4, 5]);
    const evening = at(normal, weekdays, [17, 18, 19]);
    expect(mean(ambulance(evening).map((s) => s.responses!.c2.meanMinutes))).toBeGreaterThan(mean(ambulance(night).map((s) => s.responses!.c2.meanMinutes)) + 3);
    expect(Math.max(...ambulance(night).map((s) => s.reapLevel))).toBe(1);
    expect(Math.max(...ambulance(evening).map((s) => s.reapLevel))).toBeGreaterThanOrEqual(2);
    expect(mean(nhs111(evening).map((s) => s.callsOffered!))).toBeGreaterThan(1.5 * mean(nhs111(night).map((s) => s.callsOffered!)));
    // An ordinary day stays out of extreme pressure.
    expect(Math.max(...ambulance(at(normal, weekdays, Array.from({ length: 24 }, (_, h) => h))).map((s) => s.reapLevel))).toBeLessThanOrEqual(3);
  });

  it('in a winter surge, waits and queues grow on both services and REAP reaches 4', () => {
    const calm = { ...winter, surge: undefined };
    const days = [5, 6];
    const hours = [10, 14, 18];
    const surged = at(winter, days, hours);
    const unsurged = at(calm, days, hours);
    expect(mean(ambulance(surged).map((s) => s.responses!.c2.meanMinutes))).toBeGreaterThan(1.5 * mean(ambulance(unsurged).map((s) => s.responses!.c2.meanMinutes)));
    expect(Math.max(...ambulance(surged).map((s) => s.reapLevel))).toBe(4);
    expect(mean(nhs111(surged).map((s) => s.callsWaiting))).toBeGreaterThan(2 * mean(nhs111(unsurged).map((s) => s.callsWaiting)));
    // Before the surge starts, the two are the same service on the same day.
    expect(JSON.stringify(at(winter, [0], hours))).toBe(JSON.stringify(at(calm, [0], hours)));
  });

  it('sets OPEL once a day, higher in the surge than before it', () => {
    const opel = (scenario: typeof winter, day: number) => at(scenario, [day], [9, 15, 21]).filter((s) => s.service === 'system').map((s) => (s.service === 'system' ? s.opelLevel : 0));
    const before = opel(winter, 1);
    expect(new Set(before).size).toBe(1);
    expect(Math.min(...opel(winter, 6))).toBeGreaterThan(Math.max(...before));
    expect(Math.max(...opel(winter, 6))).toBe(4);
  });

  it('sends each provider’s snapshot every interval', async () => {
    const seen: CapacitySnapshot[] = [];
    const feed = startCapacityFeed({ send: async (s) => void seen.push(s), scenario: { ...normal, intervalSeconds: 60, speed: 600 } });
    await expect.poll(() => seen.length, { timeout: 3_000 }).toBeGreaterThanOrEqual(6);
    await feed.stop();
    expect(new Set(seen.map((s) => `${s.service}:${s.providerId}`))).toEqual(new Set(['ambulance:RX9', 'nhs111:111-NWEST', 'system:QXX']));
  });
});
