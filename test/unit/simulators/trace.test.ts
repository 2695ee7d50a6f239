import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Reading, type RegistryData } from '../../../src/domain/index.ts';
import { loadRegistryFile } from '../../../src/registry/load.ts';
import { londonDay, londonOffset } from '../../../src/time/calendar.ts';
import { AF_EPISODE_PERIOD_SECONDS, inAfEpisode } from '../../../simulators/personas.ts';
import { loadTraceScenario, type TraceScenario } from '../../../simulators/scenario.ts';
import { generateTrace, traceJsonl, traceStartMs } from '../../../simulators/trace.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let data: RegistryData;
let scenario: TraceScenario;
let trace: Reading[];
let start: number;

beforeAll(async () => {
  ({ data } = await loadRegistryFile(join(ROOT, 'seeds/trace-ward.yaml')));
  scenario = await loadTraceScenario(join(ROOT, 'simulators/scenarios/ward-week.yaml'));
  trace = generateTrace(data, scenario);
  start = traceStartMs(scenario);
});

const of = (patientId: string, type?: string) => trace.filter((r) => r.patientId === patientId && (!type || r.type === type));
const ukHour = (ts: string) => {
  const t = Date.parse(ts);
  return ((t + londonOffset(t)) % DAY) / HOUR;
};
const dayOf = (ts: string) => londonDay(Date.parse(ts)) - londonDay(start);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('ward-week trace', () => {
  it('is the same for the same seed, and differs for another seed', () => {
    expect(traceJsonl(generateTrace(data, scenario))).toBe(traceJsonl(trace));
    const other = traceJsonl(generateTrace(data, { ...scenario, seed: scenario.seed + 1 }));
    expect(other).not.toBe(traceJsonl(trace));
  });

  it('is canonical readings, in event-time order, with unique ids, covering every patient for the 7 days', () => {
    for (const r of trace) expect(Reading.safeParse(r).success).toBe(true);
    expect(new Set(trace.map((r) => r.readingId)).size).toBe(trace.length);
    for (let i = 1; i < trace.length; i++) expect(Date.parse(trace[i]!.ts)).toBeGreaterThanOrEqual(Date.parse(trace[i - 1]!.ts));
    expect(new Set(trace.map((r) => r.patientId))).toEqual(new Set(scenario.patients.map((p) => p.patientId)));
    expect(Date.parse(trace[0]!.ts)).toBeGreaterThanOrEqual(start);
    expect(Date.parse(trace.at(-1)!.ts)).toBeLessThan(start + 7 * DAY);
    expect(start).toBe(Date.parse('2026-03-02T00:00:00Z'));
  });

  it('takes observation sets four times a day, in daytime, with every NEWS2 parameter', () => {
    const spo2 = of('tw-01', 'spo2');
    // Anyone may miss the odd session (3%), so nearly every one of the 28 is there.
    expect(spo2.length).toBeGreaterThanOrEqual(25);
    expect(spo2.length).toBeLessThanOrEqual(28);
    for (let day = 0; day < 7; day++) expect(spo2.filter((r) => dayOf(r.ts) === day).length).toBeLessThanOrEqual(4);
    for (const r of spo2) {
      expect(ukHour(r.ts)).toBeGreaterThanOrEqual(7.6);
      expect(ukHour(r.ts)).toBeLessThanOrEqual(20.4);
    }
    const types = new Set(of('tw-01').map((r) => r.type));
    expect(types).toEqual(new Set(['spo2', 'heart_rate', 'systolic_bp', 'diastolic_bp', 'temperature', 'respiratory_rate', 'consciousness', 'supplemental_oxygen']));
  });

  it('weighs heart-failure patients each morning, converting the scale set to pounds', () => {
    for (const id of ['tw-06', 'tw-07']) {
      const weights = of(id, 'weight');
      expect(weights.length).toBeGreaterThanOrEqual(6);
      expect(weights.length).toBeLessThanOrEqual(7);
      expect(new Set(weights.map((r) => dayOf(r.ts))).size).toBe(weights.length);
      for (const r of weights) {
        expect(ukHour(r.ts)).toBeGreaterThanOrEqual(6.6);
        expect(ukHour(r.ts)).toBeLessThanOrEqual(7.4);
      }
    }
    // The stable patient holds near dry weight; the decompensating one gains about 4 kg from day 3.
    expect(Math.max(...of('tw-06', 'weight').map((r) => r.value as number))).toBeLessThan(83);
    const gaining = of('tw-07', 'weight').map((r) => r.value as number);
    expect(gaining.at(-1)! - gaining[0]!).toBeGreaterThan(3);
    expect(of('tw-06', 'weight').every((r) => r.unit === 'kg')).toBe(true);
  });

  it('takes home BP as seated pairs a minute apart, morning and evening, averaging stage 2 with a severe reading', () => {
    const systolic = of('tw-08', 'systolic_bp');
    expect(systolic.every((r) => r.position === 'sitting')).toBe(true);
    expect(systolic.length % 2).toBe(0);
    for (let i = 0; i < systolic.length; i += 2) expect(Date.parse(systolic[i + 1]!.ts) - Date.parse(systolic[i]!.ts)).toBe(60_000);
    for (const r of systolic) expect(ukHour(r.ts) < 8 || ukHour(r.ts) > 19).toBe(true);
    expect(systolic.length).toBeGreaterThanOrEqual(24);
    expect(new Set(of('tw-08').map((r) => r.type))).toEqual(new Set(['systolic_bp', 'diastolic_bp', 'heart_rate']));
    const ordinary = systolic.filter((r) => (r.value as number) < 175).map((r) => r.value as number);
    const diastolic = of('tw-08', 'diastolic_bp').filter((r) => (r.value as number) < 115).map((r) => r.value as number);
    expect(mean(ordinary)).toBeGreaterThan(150);
    expect(mean(ordinary)).toBeLessThan(160);
    expect(mean(diastolic)).toBeGreaterThan(93);
    expect(mean(diastolic)).toBeLessThan(101);
    // The scenario's severe window: both readings of day 5's morning pair.
    const severe = systolic.filter((r) => (r.value as number) >= 180);
    expect(severe.length).toBeGreaterThanOrEqual(2);
    expect(severe.some((r) => dayOf(r.ts) === 4 && ukHour(r.ts) < 8)).toBe(true);
  });

  it('sends watch heart rate every 10 minutes, with irregular-rhythm notifications and 110-150 /min only in AF episodes', () => {
    const watch = trace.filter((r) => r.deviceId === 'watch-tw-12' && r.type === 'heart_rate');
    expect(watch.length).toBe(7 * 24 * 6);
    const timing = { onsetSeconds: 38 * 3600, rampSeconds: 3 * 3600 };
    const inEpisode = (ts: string) => inAfEpisode((Date.parse(ts) - start) / 1000, timing);
    for (const r of watch) {
      if (inEpisode(r.ts)) {
        expect(r.value).toBeGreaterThanOrEqual(110);
        expect(r.value).toBeLessThanOrEqual(150);
      } else expect(r.value).toBeLessThan(100);
    }
    const notifications = of('tw-12', 'irregular_rhythm');
    expect(notifications.length).toBeGreaterThanOrEqual(3);
    for (const r of notifications) {
      expect(r.value).toBe(true);
      expect(inEpisode(r.ts)).toBe(true);
    }
    // Three episodes fit in the week (hours 38, 91 and 144), each notified at its start.
    expect(AF_EPISODE_PERIOD_SECONDS).toBe(53 * 3600);
    const starts = [38, 91, 144].map((h) => new Date(start + h * HOUR).toISOString());
    for (const ts of starts) expect(notifications.some((r) => r.ts === ts && r.deviceId === 'watch-tw-12')).toBe(true);
  });

  it('runs a post-operative fever over 38 °C from day 3, not before', () => {
    const temps = of('tw-10', 'temperature');
    expect(temps.filter((r) => dayOf(r.ts) < 2).every((r) => (r.value as number) < 37.6)).toBe(true);
    const later = temps.filter((r) => Date.parse(r.ts) >= start + 2 * DAY + 8 * HOUR);
    expect(later.length).toBeGreaterThan(10);
    expect(later.every((r) => (r.value as number) > 38)).toBe(true);
  });

  it('leaves long gaps for the non-adherent patient', () => {
    const mine = of('tw-13').map((r) => Date.parse(r.ts));
    let longest = 0;
    for (let i = 1; i < mine.length; i++) longest = Math.max(longest, mine[i]! - mine[i - 1]!);
    expect(longest).toBeGreaterThanOrEqual(40 * HOUR);
    expect(of('tw-13', 'spo2').length).toBeLessThan(of('tw-01', 'spo2').length - 6);
  });

  it('writes the same trace from the command line', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'vw-trace-')), 'week.jsonl');
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'simulators/trace.ts', '--scenario', 'simulators/scenarios/ward-week.yaml', '--seeds', 'seeds/trace-ward.yaml', '--out', out],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.stderr).toMatch(new RegExp(`${trace.length} readings, 13 patients, 7 days`));
    expect(run.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(traceJsonl(trace));
  });
});
