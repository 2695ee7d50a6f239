import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CapacitySnapshot, FlowEvent, Reading, RegistryData } from '../../../src/domain/index.ts';
import { flowReport, londonInstant, spellsFromEvents } from '../../../src/reports/flow-measures.ts';
import { londonOffset } from '../../../src/time/calendar.ts';
import { generateIcsFlow, jsonl, parseIcsFlowScenario } from '../../../simulators/ics-flow.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const FILE = 'simulators/scenarios/ics-90-days.yaml';
const scenario = parseIcsFlowScenario(FILE, readFileSync(join(ROOT, FILE), 'utf8'));
const flow = generateIcsFlow(scenario);
const { registry, events, capacity, readings } = flow;

const DAY = 86_400_000;
const day0 = Date.parse(`${scenario.start}T00:00:00Z`) / DAY;
const start = londonInstant(day0, 0);
const surgeStart = londonInstant(day0 + scenario.surge!.startDay, 0);
const end = londonInstant(day0 + scenario.days, 0);
const admits = events.filter((e): e is Extract<FlowEvent, { kind: 'admit' }> => e.kind === 'admit');
const inPeriod = admits.filter((e) => Date.parse(e.at) >= start);
const input = { events, wards: registry.wards, systems: registry.systems ?? [] };
const ics = (from: number, to: number) => flowReport(input, { from: new Date(from), to: new Date(to), levels: ['ics'] }).groups.find((g) => g.level === 'ics')!;

describe('ICS flow simulator', () => {
  it('gives byte-identical output for the same seed, and other output for another', () => {
    const text = JSON.stringify(flow);
    expect(JSON.stringify(generateIcsFlow(parseIcsFlowScenario(FILE, readFileSync(join(ROOT, FILE), 'utf8'))))).toBe(text);
    const other = generateIcsFlow({ ...scenario, seed: scenario.seed + 1 });
    expect(JSON.stringify(other.events)).not.toBe(JSON.stringify(events));
    expect(JSON.stringify(other.registry)).not.toBe(JSON.stringify(registry));
  });

  it('writes events, registry and capacity snapshots that vw accepts', () => {
    for (const e of events) expect(FlowEvent.parse(e)).toEqual(e);
    expect(() => RegistryData.parse(registry)).not.toThrow();
    for (const s of capacity) CapacitySnapshot.parse(s);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    const patients = new Set(registry.patients.map((p) => p.patientId));
    expect(events.every((e) => patients.has(e.patientId))).toBe(true);
    expect(patients.size).toBe(new Set(events.map((e) => e.patientId)).size);
    const wards = new Set(registry.wards.map((w) => w.wardId));
    expect(events.every((e) => wards.has(e.wardId) && (e.kind !== 'transfer' || wards.has(e.fromWardId)))).toBe(true);
    expect(registry.systems).toEqual([{ icsId: 'QXX', name: 'Northshire Integrated Care System', adultPopulation: 1_200_000 }]);
  });

  it('ships an ICS of at least 5 wards over 2 trusts with at least 3,000 admissions in 90 days', () => {
    expect(registry.wards.length).toBeGreaterThanOrEqual(5);
    expect(new Set(registry.wards.map((w) => w.organisation)).size).toBeGreaterThanOrEqual(2);
    expect(registry.wards.every((w) => w.ics === 'QXX')).toBe(true);
    expect(inPeriod.length).toBeGreaterThanOrEqual(3000);
    expect(scenario.days).toBe(90);
  });

  it('keeps events in time order, within the period, mostly admitted in daytime UK hours', () => {
    const times = events.map((e) => Date.parse(e.at));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
    expect(times.at(-1)!).toBeLessThan(end);
    // Only the spells on the wards at the start were admitted before it.
    expect(admits.length - inPeriod.length).toBeLessThan(400);
    const ukHour = (at: string) => new Date(Date.parse(at) + londonOffset(Date.parse(at))).getUTCHours();
    const daytime = inPeriod.filter((e) => ukHour(e.at) >= 8 && ukHour(e.at) < 20).length;
    expect(daytime / inPeriod.length).toBeGreaterThan(0.85);
  });

  it('discharges every admission later, or leaves it open at the end, with no patient on two wards at once', () => {
    const { spells, problems } = spellsFromEvents(events);
    expect(problems).toEqual([]);
    expect(spells.length).toBe(admits.length);
    for (const s of spells) if (s.dischargedAt !== undefined) expect(s.dischargedAt).toBeGreaterThan(s.admittedAt);
    const open = spells.filter((s) => s.dischargedAt === undefined);
    expect(open.length).toBeGreaterThan(100);
    expect(new Set(open.map((s) => s.patientId)).size).toBe(open.length);
    // Some patients come back: several spells, never overlapping (spellsFromEvents would have said so).
    expect(new Set(spells.map((s) => s.patientId)).size).toBeLessThan(spells.length);
  });

  it('runs the wards mostly 60-95% full, fuller in the surge, with more step-up admissions a day', () => {
    const all = ics(start, end);
    const before = ics(start, surgeStart);
    const surge = ics(surgeStart, end);
    expect(all.occupancy.meanPercent!).toBeGreaterThan(50);
    expect(all.occupancy.meanPercent!).toBeLessThan(110);
    expect(before.occupancy.meanPercent!).toBeGreaterThan(60);
    expect(before.occupancy.meanPercent!).toBeLessThan(95);
    expect(surge.occupancy.meanPercent!).toBeGreaterThan(before.occupancy.meanPercent!);
    // Over the commissioned beds on some days of the surge.
    expect(Math.max(...surge.occupancy.daily.map((d) => d.percent!))).toBeGreaterThan(100);
    const perDay = (g: typeof all, from: number, to: number) => g.admissions.stepUp / ((to - from) / DAY);
    expect(perDay(surge, surgeStart, end)).toBeGreaterThan(perDay(before, start, surgeStart) * 1.15);
    const urgent = (g: typeof all) => (g.admissions.bySource.ambulance ?? 0) + (g.admissions.bySource.nhs111 ?? 0);
    expect(urgent(surge) / ((end - surgeStart) / DAY)).toBeGreaterThan((urgent(before) / ((surgeStart - start) / DAY)) * 1.3);
    expect(all.capacityPer100kAdults).toBeCloseTo((290 / 1_200_000) * 100_000, 1);
  });

  it('ends about one spell in ten with an acute admission, and most with care completed', () => {
    const { byOutcome, total } = ics(start, end).discharges;
    expect(byOutcome['admitted-acute']! / total).toBeGreaterThan(0.05);
    expect(byOutcome['admitted-acute']! / total).toBeLessThan(0.15);
    expect(byOutcome['care-completed']! / total).toBeGreaterThan(0.75);
    expect(byOutcome.died).toBeGreaterThan(0);
    expect(byOutcome.died! / total).toBeLessThan(0.03);
  });

  it('feeds ambulance, 111 and OPEL hourly through the same days, under more pressure in the surge', () => {
    const providers = new Set(capacity.map((s) => `${s.service}:${s.providerId}`));
    expect(providers).toEqual(new Set(['ambulance:RX9', 'nhs111:111-NSHIRE', 'system:QXX']));
    expect(Date.parse(capacity[0]!.ts)).toBe(start);
    expect(Date.parse(capacity.at(-1)!.ts)).toBeLessThan(end);
    expect(capacity.length).toBe(3 * Math.ceil((end - start) / 3_600_000));
    const opel = (from: number, to: number) => {
      const xs = capacity.filter((s) => s.service === 'system' && Date.parse(s.ts) >= from && Date.parse(s.ts) < to).map((s) => (s.service === 'system' ? s.opelLevel : 0));
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    expect(opel(surgeStart + 10 * DAY, end)).toBeGreaterThan(opel(start, surgeStart));
    expect(registry.wards.every((w) => w.ambulanceService === 'RX9' && w.nhs111Provider === '111-NSHIRE')).toBe(true);
  });

  it('sends readings only while the patient is on the ward it names, less often from more deprived homes', () => {
    for (const r of readings.slice(0, 2000)) expect(Reading.parse(r)).toEqual(r);
    expect(new Set(readings.map((r) => r.readingId)).size).toBe(readings.length);
    const { stays } = spellsFromEvents(events);
    const staysOf = new Map<string, typeof stays>();
    for (const s of stays) staysOf.set(s.patientId, [...(staysOf.get(s.patientId) ?? []), s]);
    for (const r of readings) {
      const t = Date.parse(r.ts);
      expect(t).toBeLessThan(end);
      expect(staysOf.get(r.patientId)!.some((s) => s.wardId === r.wardId && s.from <= t && (s.until === undefined || t < s.until))).toBe(true);
    }
    const readingHours = readings.map((r) => ({ patientId: r.patientId, hour: Date.parse(r.ts) - (Date.parse(r.ts) % 3_600_000) }));
    const g = flowReport({ ...input, readingHours }, { from: new Date(start), to: new Date(end), levels: ['ics'] }).groups[0]!;
    // About four patient-days in five have readings; the most deprived decile sends on fewer days than the least.
    expect(g.monitoring!.percent).toBeGreaterThan(70);
    expect(g.monitoring!.percent).toBeLessThan(92);
    expect(g.equity.adherenceByImdDecile!['1']!.percent!).toBeLessThan(g.equity.adherenceByImdDecile!['10']!.percent! - 5);
  });

  it('refuses a ward taking a pathway with no flow', () => {
    const text = readFileSync(join(ROOT, FILE), 'utf8').replace('pathways: { hypertension: 1 }', 'pathways: { hypertension: 1, post-op: 1 }');
    expect(() => parseIcsFlowScenario('bad.yaml', text)).toThrow(/post-op/);
  });

  it('writes registry.yaml, flow.jsonl, capacity.jsonl and readings.jsonl from the command line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vw-ics-flow-'));
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'simulators/ics-flow.ts', '--scenario', FILE, '--out-dir', dir], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`${registry.wards.length} wards, ${inPeriod.length} admissions .*${events.length} events`));
    expect(readFileSync(join(dir, 'flow.jsonl'), 'utf8')).toBe(jsonl(events));
    expect(readFileSync(join(dir, 'capacity.jsonl'), 'utf8')).toBe(jsonl(capacity));
    expect(readFileSync(join(dir, 'readings.jsonl'), 'utf8')).toBe(jsonl(readings));
    expect(RegistryData.parse(parse(readFileSync(join(dir, 'registry.yaml'), 'utf8')))).toEqual(registry);
  });
});
