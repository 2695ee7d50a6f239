import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RegistryData } from '../../../src/domain/index.ts';
import { decodeDevicePayload } from '../../../src/ingest/decode.ts';
import { PLAUSIBLE } from '../../../src/ingest/plausibility.ts';
import { loadRegistryFile } from '../../../src/registry/load.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { loadNews2Rule, type News2Rule } from '../../../src/rules/news2/rule-file.ts';
import { scoreNews2 } from '../../../src/rules/news2/score.ts';
import { vitalsAt, PERSONAS } from '../../../simulators/personas.ts';
import { rngFor } from '../../../simulators/rng.ts';
import { loadScenario, parseScenario, type Scenario } from '../../../simulators/scenario.ts';
import { createWardSimulator, scenarioStream } from '../../../simulators/ward-simulator.ts';

let data: RegistryData;
let registry: Registry;
let scenario: Scenario;
let rule: News2Rule;
const START = Date.parse('2026-11-22T10:00:00Z');

beforeAll(async () => {
  ({ data, registry } = await loadRegistryFile('seeds/demo-ward.yaml'));
  scenario = await loadScenario('simulators/scenarios/demo.yaml');
  rule = await loadNews2Rule('rules/news2.yaml');
});

const timing = { onsetSeconds: 0, rampSeconds: 180 };
const news2 = (persona: (typeof PERSONAS)[number], t: number, seed = 1) => {
  const v = vitalsAt(persona, t, rngFor(seed, 'p', t), timing);
  return scoreNews2(rule, { spo2Scale: persona === 'copd_stable' ? 2 : 1, ...v });
};

describe('personas', () => {
  it('stay within physiological limits at every second of a day', () => {
    for (const persona of PERSONAS) {
      for (let t = 0; t < 86_400; t += 37) {
        const v = vitalsAt(persona, t, rngFor(7, persona, t), timing);
        for (const type of ['heart_rate', 'respiratory_rate', 'spo2', 'systolic_bp', 'diastolic_bp', 'temperature', 'weight'] as const) {
          expect(v[type]).toBeGreaterThanOrEqual(PLAUSIBLE[type].min);
          expect(v[type]).toBeLessThanOrEqual(PLAUSIBLE[type].max);
        }
        expect(v.diastolic_bp).toBeLessThan(v.systolic_bp);
      }
    }
  });

  it('keep the stable patients low on NEWS2 (COPD on Scale 2) all day', () => {
    for (const persona of ['stable', 'copd_stable', 'heart_failure_stable'] as const) {
      for (let t = 0; t < 86_400; t += 113) expect(news2(persona, t).total).toBeLessThanOrEqual(2);
    }
  });

  it('COPD would score 3 for SpO2 on Scale 1: Scale 2 is what keeps the patient low', () => {
    const v = vitalsAt('copd_stable', 0, rngFor(1, 'p', 0), timing);
    expect(scoreNews2(rule, { spo2Scale: 1, ...v }).subscores.spo2).toBe(3);
  });

  it('deteriorate to NEWS2 ≥ 5 within a minute and ≥ 7 by the end of the ramp, for any seed', () => {
    for (let seed = 1; seed <= 20; seed++) {
      expect(news2('deteriorating', 0, seed).total).toBeLessThanOrEqual(3);
      expect(news2('deteriorating', 50, seed).total).toBeGreaterThanOrEqual(5);
      expect(news2('deteriorating', 180, seed).total).toBeGreaterThanOrEqual(7);
    }
  });
});

describe('demo scenario stream', () => {
  const take = (sc: Scenario, seconds: number) => scenarioStream(data, sc, START).stream.take(START + seconds * 1000);

  it('is deterministic per seed and differs between seeds', () => {
    expect(take(scenario, 150)).toEqual(take(scenario, 150));
    expect(JSON.stringify(take({ ...scenario, seed: scenario.seed + 1 }, 150))).not.toEqual(JSON.stringify(take(scenario, 150)));
  });

  it('publishes every device family in the shape ingest accepts, with nothing refused but the injected faults', () => {
    const shapes = new Map<string, Set<string>>();
    const reasons: string[] = [];
    for (const p of take(scenario, 121)) {
      const result = decodeDevicePayload({ topicDeviceId: p.deviceId, payload: Buffer.from(p.body), receivedAt: new Date(p.deliverAtMs + 500) }, { registry });
      reasons.push(...result.rejections.map((r) => r.reason));
      const kind = data.devices.find((d) => d.deviceId === p.deviceId)!.kind;
      if (result.shape && result.rejections.length === 0) shapes.set(kind, (shapes.get(kind) ?? new Set()).add(result.shape));
    }
    expect(Object.fromEntries([...shapes].map(([k, v]) => [k, [...v]]))).toEqual({
      smartwatch: ['smartwatch_batch'],
      pulse_oximeter: ['medical_device'],
      bp_cuff: ['medical_device'],
      thermometer: ['medical_device'],
      scale: ['medical_device'],
      companion_app: ['canonical'],
    });
    // Two minutes at a 45 s and a 60 s fault period: 2 malformed and 2 impossible heart rates.
    expect(reasons.sort()).toEqual(['implausible_value', 'implausible_value', 'malformed_json', 'malformed_json']);
  });

  it('sends the configured Fahrenheit thermometer in °F', () => {
    const temp = take(scenario, 1).find((p) => p.deviceId === 'temp-0003')!;
    expect(JSON.parse(temp.body)).toMatchObject({ unit: 'F', temperature: expect.any(Number) });
    expect(JSON.parse(temp.body).temperature).toBeGreaterThan(96);
  });

  it('sends a BP cuff configured for kPa in kPa, which ingest turns back into mmHg', () => {
    const cuff = data.devices.find((d) => d.kind === 'bp_cuff')!;
    const kpa = { ...scenario, devices: { ...scenario.devices, [cuff.deviceId]: { unit: 'kPa' as const } } };
    const body = JSON.parse(take(kpa, 1).find((p) => p.deviceId === cuff.deviceId)!.body);
    const mmHg = JSON.parse(take(scenario, 1).find((p) => p.deviceId === cuff.deviceId)!.body);
    expect(body).toMatchObject({ unit: 'kPa' });
    expect(body.systolic).toBeCloseTo(mmHg.systolic / 7.50062, 1);
    const readings = decodeDevicePayload({ topicDeviceId: cuff.deviceId, payload: Buffer.from(JSON.stringify(body)), receivedAt: new Date(START) }, { registry }).readings;
    expect(Math.abs(readings.find((r) => r.type === 'systolic_bp')!.value as number - mmHg.systolic)).toBeLessThanOrEqual(1);
  });

  it('refuses a scenario that would put event times in the future', () => {
    expect(() => parseScenario('fast.yaml', 'name: x\nseed: 1\nspeed: 60\npatients: [{patientId: p, persona: stable}]')).toThrow(/fast\.yaml: durationSeconds/);
  });
});

describe('over MQTT', () => {
  it('publishes each device on its own topic', async () => {
    const broker = await Aedes.createBroker();
    const server = createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const listener = await mqtt.connectAsync(url, { protocolVersion: 4 });
    const seen = new Map<string, number>();
    listener.on('message', (topic) => seen.set(topic, (seen.get(topic) ?? 0) + 1));
    await listener.subscribeAsync('vw/v1/devices/+/readings', { qos: 1 });
    const fast: Scenario = { ...scenario, speed: 100, durationSeconds: 60, faults: { duplicates: 0 } };
    const simulator = createWardSimulator({ mqttUrl: url, registry: data, scenario: fast });
    // Every device enrolled to the scenario's patients reports at the start.
    const devices = scenarioStream(data, fast, Date.now()).devices.length;
    expect(devices).toBe(data.enrolments.length);
    await simulator.start();
    await expect.poll(() => seen.size, { timeout: 5_000 }).toBe(devices);
    await simulator.stop();
    expect(simulator.published()).toBeGreaterThan(devices);
    for (const topic of seen.keys()) expect(topic).toMatch(/^vw\/v1\/devices\/[a-z]+-\d{4}\/readings$/);
    await listener.endAsync();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
