import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DeviceKind, Reading } from '../../../src/domain/index.ts';
import { decodeDevicePayload } from '../../../src/ingest/decode.ts';
import { PLAUSIBLE } from '../../../src/ingest/plausibility.ts';
import { createRegistry, type Registry } from '../../../src/registry/registry.ts';
import { loadNews2Rule, type News2Rule } from '../../../src/rules/news2/rule-file.ts';
import { createNews2Scorer } from '../../../src/rules/news2/scorer.ts';
import type { SimDevice } from '../../../simulators/habits.ts';
import { loadScenario, parseScenario, type Scenario } from '../../../simulators/scenario.ts';
import { scenarioStream } from '../../../simulators/ward-simulator.ts';
import { FAULT_KINDS, type Emission } from '../../../simulators/ward-stream.ts';

const START = Date.parse('2026-11-20T00:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function drain(scenario: Scenario, windowMs: number, startMs = START) {
  const s = scenarioStream(undefined, scenario, startMs);
  const end = startMs + scenario.durationSeconds! * 1000;
  const emissions: Emission[] = [];
  for (let t = startMs + windowMs; ; t += windowMs) {
    emissions.push(...s.stream.take(Math.min(t, end)));
    if (t >= end) break;
  }
  return { ...s, emissions };
}

const digest = (emissions: Emission[]) => createHash('sha256').update(emissions.map((e) => `${e.deliverAtMs} ${e.topic} ${e.body}`).join('\n')).digest('hex');

describe('ward stream: determinism', () => {
  let faults: Scenario;
  beforeAll(async () => {
    faults = await loadScenario('simulators/scenarios/faults.yaml');
  });

  it('gives the same stream for the same seed, however it is cut into windows', () => {
    const a = drain(faults, 60_000);
    const b = drain(faults, 17 * 60_000 + 3);
    expect(a.emissions.length).toBeGreaterThan(10_000);
    expect(digest(b.emissions)).toBe(digest(a.emissions));
  });

  it('gives another stream for another seed', () => {
    const short = { ...faults, durationSeconds: 6 * 3600 };
    expect(digest(drain({ ...short, seed: faults.seed + 1 }, HOUR).emissions)).not.toBe(digest(drain(short, HOUR).emissions));
  });
});

describe('ward stream: faults', () => {
  let run: ReturnType<typeof drain>;
  let registry: Registry;
  beforeAll(async () => {
    run = drain(await loadScenario('simulators/scenarios/faults.yaml'), 10 * 60_000);
    registry = createRegistry(run.registry);
  });
  const decode = (e: Emission) => decodeDevicePayload({ topicDeviceId: e.deviceId, payload: Buffer.from(e.body), receivedAt: new Date(e.deliverAtMs + 500) }, { registry });
  const timeOf = (e: Emission) => {
    const body = JSON.parse(e.body) as Record<string, unknown> | Array<Record<string, unknown>>;
    const one = Array.isArray(body) ? body[0]! : body;
    return Date.parse(String(one.time ?? one.sentAt ?? one.ts));
  };

  it('has every fault of the catalogue in the stream', () => {
    const counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, run.emissions.filter((e) => e.faults.includes(k)).length]));
    for (const kind of FAULT_KINDS) expect(counts[kind], kind).toBeGreaterThan(0);
  });

  it('duplicates: the same payload arrives twice', () => {
    const bodies = new Map<string, number>();
    for (const e of run.emissions) bodies.set(e.body, (bodies.get(e.body) ?? 0) + 1);
    for (const e of run.emissions.filter((x) => x.faults.includes('duplicate'))) expect(bodies.get(e.body)).toBe(2);
  });

  it('out of order: a device\'s later measurement arrives before an earlier one', () => {
    const byDevice = new Map<string, Emission[]>();
    for (const e of run.emissions) byDevice.set(e.deviceId, [...(byDevice.get(e.deviceId) ?? []), e]);
    const late = run.emissions.filter((e) => e.faults.includes('out_of_order'));
    const overtaken = late.filter((e) => byDevice.get(e.deviceId)!.some((o) => o.atMs > e.atMs && o.deliverAtMs < e.deliverAtMs));
    expect(overtaken.length).toBeGreaterThan(late.length / 2);
  });

  it('offline: what a device measured while offline arrives together on reconnect', () => {
    const burst = run.emissions.filter((e) => e.faults.includes('offline_burst') && !e.faults.includes('duplicate'));
    const byArrival = new Map<string, Emission[]>();
    for (const e of burst) {
      const key = `${e.deviceId}@${Math.floor(e.deliverAtMs / HOUR)}`;
      byArrival.set(key, [...(byArrival.get(key) ?? []), e]);
    }
    const biggest = [...byArrival.values()].sort((a, b) => b.length - a.length)[0]!;
    // A spell's worth of readings, measured over up to two hours, delivered within seconds, oldest first.
    expect(biggest.length).toBeGreaterThan(5);
    expect(biggest.at(-1)!.atMs - biggest[0]!.atMs).toBeGreaterThan(HOUR / 2);
    expect(biggest.at(-1)!.deliverAtMs - biggest[0]!.deliverAtMs).toBeLessThan(2 * 60_000);
    expect(biggest.map((e) => e.atMs)).toEqual([...biggest.map((e) => e.atMs)].sort((a, b) => a - b));
  });

  it('clock skew: the device stamps its readings with its own wrong time', () => {
    const skewed = run.emissions.filter((e) => e.faults.includes('clock_skew') && e.faults.length === 1);
    expect(skewed.every((e) => timeOf(e) !== e.atMs)).toBe(true);
    expect(run.emissions.filter((e) => e.faults.length === 0 && !e.body.startsWith('[')).every((e) => timeOf(e) === e.atMs)).toBe(true);
    // Skewed far enough ahead, ingest refuses a reading as from the future.
    expect(skewed.some((e) => decode(e).rejections.some((r) => r.reason === 'timestamp_in_future'))).toBe(true);
  });

  it('low battery: a watch whose owner forgets to charge it runs flat and falls silent', () => {
    const watches = run.devices.filter((d) => d.kind === 'smartwatch' && d.forgetsCharging);
    expect(watches.length).toBeGreaterThan(0);
    for (const w of watches) {
      const times = run.emissions.filter((e) => e.deviceId === w.deviceId && e.faults.length === 0).map((e) => e.atMs);
      const batteries = run.emissions.filter((e) => e.deviceId === w.deviceId && e.faults.includes('low_battery')).map((e) => JSON.parse(e.body).batteryPercent as number);
      expect(Math.min(...batteries)).toBeLessThanOrEqual(2);
      // Flat about 28 hours after the start, and silent to the end of the two days.
      expect(Math.max(...times) - START).toBeLessThan(29 * HOUR);
    }
  });

  it('malformed, oversized and impossible payloads are refused for what they are; unit variants are converted', () => {
    const reasonsOf = (kind: (typeof FAULT_KINDS)[number]) => new Set(run.emissions.filter((e) => e.faults[0] === kind).flatMap((e) => decode(e).rejections.map((r) => r.reason)));
    expect(reasonsOf('malformed')).toEqual(new Set(['malformed_json']));
    expect(reasonsOf('oversized')).toEqual(new Set(['payload_too_large']));
    expect(reasonsOf('implausible')).toEqual(new Set(['implausible_value']));
    const variants = run.emissions.filter((e) => e.faults.length === 1 && e.faults[0] === 'unit_variant');
    const units = new Set(variants.map((e) => JSON.parse(e.body).unit as string));
    expect(units.size).toBeGreaterThanOrEqual(2);
    for (const e of variants) {
      const { readings, rejections } = decode(e);
      expect(rejections).toEqual([]);
      for (const r of readings) {
        if (r.type === 'temperature') expect(r.value).toBeGreaterThan(35);
        if (r.type === 'weight') expect(r.value).toBeLessThan(130);
        if (r.type === 'systolic_bp') expect(r.value).toBeGreaterThan(90);
      }
    }
  });

  it('refuses nothing that carries no fault', () => {
    const clean = run.emissions.filter((e) => e.faults.every((k) => k === 'duplicate' || k === 'out_of_order' || k === 'offline_burst' || k === 'unit_variant' || k === 'low_battery'));
    const refused = clean.flatMap((e) => decode(e).rejections.map((r) => `${e.deviceId}: ${r.reason} ${r.detail}`));
    expect(refused).toEqual([]);
  });
});

describe('ward stream: personas and device habits over three days', () => {
  let run: ReturnType<typeof drain>;
  let readings: Map<string, Reading[]>;
  let rule: News2Rule;
  const personaOf = (persona: string) => run.devices.find((d) => d.persona === persona)!;
  const of = (d: SimDevice, type: string) => readings.get(d.patientId)!.filter((r) => r.type === type);
  const byKind = (kind: DeviceKind) => run.devices.find((d) => d.kind === kind && d.options.mode === undefined)!;

  beforeAll(async () => {
    rule = await loadNews2Rule('rules/news2.yaml');
    const scenario = parseScenario(
      'personas.yaml',
      [
        'name: personas',
        'seed: 11',
        'speed: 864',
        'durationSeconds: 259200',
        'ward:',
        '  wardId: pw',
        '  size: 9',
        '  personas: { stable: 1, deteriorating: 1, copd_stable: 1, heart_failure_stable: 1, heart_failure_decompensating: 1, hypertensive: 1, paroxysmal_af: 1, post_op_fever: 1, non_adherent: 1 }',
        '  devices: { smartwatch: 1 }',
      ].join('\n'),
    );
    run = drain(scenario, HOUR);
    const registry = createRegistry(run.registry);
    readings = new Map(run.registry.patients.map((p) => [p.patientId, []]));
    for (const e of run.emissions) {
      const result = decodeDevicePayload({ topicDeviceId: e.deviceId, payload: Buffer.from(e.body), receivedAt: new Date(e.deliverAtMs + 500) }, { registry });
      expect(result.rejections).toEqual([]);
      for (const r of result.readings) readings.get(r.patientId)!.push(r);
    }
  });

  it('stays within physiological limits', () => {
    const outside: string[] = [];
    let checked = 0;
    for (const list of readings.values()) {
      for (const r of list) {
        const limits = PLAUSIBLE[r.type as keyof typeof PLAUSIBLE];
        if (!limits) continue;
        checked++;
        if ((r.value as number) < limits.min || (r.value as number) > limits.max) outside.push(`${r.type} ${r.value}`);
      }
    }
    expect(checked).toBeGreaterThan(10_000);
    expect(outside).toEqual([]);
  });

  it('each family publishes its own shape at its own cadence', () => {
    const gaps = (kind: DeviceKind) => {
      const times = run.emissions.filter((e) => e.deviceId === byKind(kind).deviceId).map((e) => e.atMs);
      return times.slice(1).map((t, i) => t - times[i]!);
    };
    // Watch: a batch a minute (off for an hour a day on the charger), six heart-rate samples each.
    expect(Math.min(...gaps('smartwatch'))).toBe(60_000);
    const watch = run.emissions.find((e) => e.deviceId === byKind('smartwatch').deviceId)!;
    expect(JSON.parse(watch.body).heartRate).toHaveLength(6);
    expect(run.emissions.some((e) => e.body.includes('"spo2":[{'))).toBe(true);
    // Scale: once a morning. Thermometer: the observation sessions, four a day.
    expect(of(personaOf('heart_failure_decompensating'), 'weight').length).toBeGreaterThanOrEqual(2);
    expect(of(personaOf('heart_failure_decompensating'), 'weight').length).toBeLessThanOrEqual(3);
    const thermometer = run.devices.find((d) => d.kind === 'thermometer' && d.persona === 'stable')!;
    const temperatures = run.emissions.filter((e) => e.deviceId === thermometer.deviceId).length;
    expect(temperatures).toBeGreaterThanOrEqual(10);
    expect(temperatures).toBeLessThanOrEqual(12);
    const shapes = new Set(run.emissions.map((e) => (e.body.startsWith('[') ? 'canonical' : JSON.parse(e.body).measurement ?? 'smartwatch_batch')));
    expect(shapes).toEqual(new Set(['canonical', 'smartwatch_batch', 'pulse_oximetry', 'blood_pressure', 'body_temperature', 'body_weight']));
  });

  it('ECG patches and continuously worn oximeters report every second', () => {
    const second = parseScenario('continuous.yaml', 'name: c\nseed: 3\nspeed: 60\ndurationSeconds: 3600\nward: { wardId: cw, size: 2, personas: { stable: 1 }, devices: { ecg_patch: 1 }, continuousOximetry: 1 }');
    const { emissions, devices } = drain(second, 60_000);
    for (const kind of ['ecg_patch', 'pulse_oximeter'] as const) {
      for (const d of devices.filter((x) => x.kind === kind)) {
        const times = emissions.filter((e) => e.deviceId === d.deviceId).map((e) => e.atMs);
        const gaps = new Set(times.slice(1).map((t, i) => t - times[i]!));
        // Every second, bar the oximeter's half hour a day off the finger.
        expect(gaps.has(1000)).toBe(true);
        expect(times.length).toBeGreaterThan(1800);
        expect([...gaps].filter((g) => g !== 1000 && g !== 1_801_000)).toEqual([]);
      }
    }
    expect(emissions.some((e) => JSON.parse(e.body).measurement === 'ecg_summary')).toBe(true);
  });

  it('sepsis: the deteriorating patient reaches NEWS2 7 or more', () => {
    const scorer = createNews2Scorer(rule);
    const list = [...readings.get(personaOf('deteriorating').patientId)!].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
    const totals = list.map((r) => scorer.onReading(r, { spo2Scale: 1 })?.total ?? 0);
    expect(Math.max(...totals)).toBeGreaterThanOrEqual(7);
  });

  it('heart failure: weight climbs about 0.7 kg a day while decompensating', () => {
    const d = personaOf('heart_failure_decompensating');
    const onset = START + d.timing.onsetSeconds * 1000;
    const w = of(d, 'weight').filter((r) => Date.parse(r.ts) > onset);
    const days = (Date.parse(w.at(-1)!.ts) - Date.parse(w[0]!.ts)) / DAY;
    const slope = ((w.at(-1)!.value as number) - (w[0]!.value as number)) / days;
    expect(slope).toBeGreaterThan(0.4);
    expect(slope).toBeLessThan(1);
  });

  it('paroxysmal AF: irregular-rhythm notifications, heart rate 110-150 in an episode', () => {
    const d = personaOf('paroxysmal_af');
    const notices = of(d, 'irregular_rhythm').filter((r) => r.value === true);
    expect(notices.length).toBeGreaterThan(0);
    const first = Date.parse(notices[0]!.ts);
    const inEpisode = of(d, 'heart_rate').filter((r) => Date.parse(r.ts) >= first && Date.parse(r.ts) < first + HOUR);
    expect(inEpisode.length).toBeGreaterThan(10);
    for (const r of inEpisode) {
      expect(r.value).toBeGreaterThanOrEqual(105);
      expect(r.value).toBeLessThanOrEqual(155);
    }
  });

  it('hypertension: seated pairs morning and evening averaging stage 2, with severe readings', () => {
    const sys = of(personaOf('hypertensive'), 'systolic_bp');
    const dia = of(personaOf('hypertensive'), 'diastolic_bp');
    expect(sys.every((r) => r.position === 'sitting')).toBe(true);
    // Two pairs a day for three days, less any session missed.
    expect(sys.length).toBeGreaterThanOrEqual(10);
    const mean = (l: Reading[]) => l.reduce((s, r) => s + (r.value as number), 0) / l.length;
    expect(mean(sys)).toBeGreaterThanOrEqual(150);
    expect(mean(dia)).toBeGreaterThanOrEqual(95);
    expect(sys.filter((r) => (r.value as number) >= 180).length).toBeGreaterThanOrEqual(2);
  });

  it('post-op fever comes on day 3', () => {
    const t = of(personaOf('post_op_fever'), 'temperature');
    expect(Math.max(...t.filter((r) => Date.parse(r.ts) < START + 2 * DAY).map((r) => r.value as number))).toBeLessThan(38);
    expect(Math.max(...t.filter((r) => Date.parse(r.ts) >= START + 2 * DAY).map((r) => r.value as number))).toBeGreaterThanOrEqual(38);
  });

  it('COPD is on SpO2 Scale 2 with saturations of 88-92%', () => {
    const d = personaOf('copd_stable');
    expect(run.registry.patients.find((p) => p.patientId === d.patientId)!.spo2Scale).toBe(2);
    for (const r of of(d, 'spo2')) {
      expect(r.value).toBeGreaterThanOrEqual(87);
      expect(r.value).toBeLessThanOrEqual(92);
    }
  });

  it('non-adherent: a day with nothing, and missed sessions', () => {
    const d = personaOf('non_adherent');
    const times = [...new Set(readings.get(d.patientId)!.map((r) => Date.parse(r.ts)))].sort((a, b) => a - b);
    const longest = Math.max(...times.slice(1).map((t, i) => t - times[i]!));
    expect(longest).toBeGreaterThanOrEqual(DAY);
    const temps = of(d, 'temperature').length;
    expect(temps).toBeLessThan(of(personaOf('stable'), 'temperature').length);
  });
});
