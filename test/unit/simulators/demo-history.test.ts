import { describe, expect, it } from 'vitest';
import { loadRegistryFile } from '../../../src/registry/load.ts';
import { capacityReport } from '../../../src/reports/capacity-report.ts';
import { londonInstant } from '../../../src/reports/flow-measures.ts';
import { reportDataFromStore } from '../../../src/reports/store-data.ts';
import { londonDay } from '../../../src/time/calendar.ts';
import { createMemoryStore } from '../../../src/store/memory-store.ts';
import { writeDemoHistory } from '../../../simulators/demo-history.ts';

describe('the demo’s history', () => {
  it('gives the demo’s ICS four weeks of flow, pressure and readings up to now, of patients no console lists', async () => {
    const now = new Date('2026-11-30T10:30:00Z');
    const store = createMemoryStore({ retentionHours: 72, maxPointsPerSeries: 1000, now: () => now.getTime() });
    const { admissions, days } = await writeDemoHistory(store, now);
    expect(days).toBe(28);
    const { data } = await loadRegistryFile('seeds/demo-ward.yaml');
    const wards = data.wards.filter((w) => w.ics === 'QXX');
    const today = londonDay(now.getTime());
    const from = new Date(londonInstant(today - 28, 0));
    const to = new Date(londonInstant(today, 0));
    const events = await store.flowEvents(wards.map((w) => w.wardId), { since: new Date(0) });
    expect(events.every((e) => Date.parse(e.at) < now.getTime())).toBe(true);
    const registered = new Set(data.patients.map((p) => p.patientId));
    expect(events.some((e) => registered.has(e.patientId))).toBe(false);
    const report = capacityReport(await reportDataFromStore(store, { wards, system: data.systems![0]!, icsId: 'QXX' }, from, to), {
      ics: 'QXX', from, to, fromDate: '2026-11-02', toDate: '2026-11-29', format: 'json', censusHour: 8, targetOccupancy: 0.85, probability: 0.95, surgeFactor: 1.6,
    }).report;
    const ics = report.groups.find((g) => g.level === 'ics')!;
    expect(ics.admissions.total).toBe(admissions);
    expect(admissions).toBeGreaterThan(150);
    // About three-quarters of the beds, and most patient-days with a reading.
    expect(ics.occupancy.meanPercent!).toBeGreaterThan(50);
    expect(ics.occupancy.meanPercent!).toBeLessThan(95);
    expect(ics.monitoring!.percent!).toBeGreaterThan(60);
    expect(report.problems).toEqual([]);
  });

  it('is written once into a store that outlives the demo: a restart days later keeps it, not a shifted second copy', async () => {
    const first = new Date('2026-11-30T10:30:00Z');
    const later = new Date('2026-12-03T09:00:00Z');
    const store = createMemoryStore({ retentionHours: 72, maxPointsPerSeries: 1000, now: () => later.getTime() });
    const written = await writeDemoHistory(store, first);
    expect(written.kept).toBe(false);
    const { data } = await loadRegistryFile('seeds/demo-ward.yaml');
    const wards = data.wards.map((w) => w.wardId);
    const events = (await store.flowEvents(wards, { since: new Date(0) })).length;
    const again = await writeDemoHistory(store, later);
    expect(again.kept).toBe(true);
    // The admissions of the kept history in the four weeks before the restart: three days fewer of them.
    expect(again.admissions).toBeGreaterThan(written.admissions * 0.75);
    expect(again.admissions).toBeLessThanOrEqual(written.admissions);
    expect((await store.flowEvents(wards, { since: new Date(0) })).length).toBe(events);
  });
});
