import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { ReadingType } from '../../src/domain/index.ts';
import { decodeDevicePayload } from '../../src/ingest/decode.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createRegistry } from '../../src/registry/registry.ts';
import { parseScenario } from '../../simulators/scenario.ts';
import { createWardSimulator, scenarioRegistry } from '../../simulators/ward-simulator.ts';
import { devicePassword } from '../../src/mqtt/credentials.ts';
import { metricOf } from '../support/processes.ts';
import { testDataDir } from '../support/data-dir.ts';

/**
 * A generated ward with its faults, two hours in ten seconds, through the whole embedded pipeline:
 * whatever the broker took from the devices, decoded as ingest decodes it, is in the store or was
 * refused, once each, however often, late or out of order it came.
 */
const scenario = parseScenario(
  'e2e-ward.yaml',
  `
name: e2e-ward
seed: 5
speed: 720
durationSeconds: 7200
ward:
  wardId: e2w
  size: 8
  personas: { stable: 3, deteriorating: 2, paroxysmal_af: 1, hypertensive: 1, heart_failure_stable: 1 }
  devices: { smartwatch: 1 }
  unitVariants: 0.5
faults:
  duplicates: 0.1
  outOfOrder: { share: 0.1, maxDelaySeconds: 120 }
  clockSkew: { share: 0.3, minSeconds: -600, maxSeconds: 0 }
  malformed: { everySeconds: 600 }
  oversized: { everySeconds: 1800 }
  implausible: { everySeconds: 900 }
`,
);

let app: VwApp;
const { registry } = scenarioRegistry(undefined, scenario);
const delivered: Array<{ topic: string; body: Buffer; at: Date }> = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vw-ward-'));
  writeFileSync(join(dir, 'ward.yaml'), stringify(registry));
  const config = loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'registry.seedsFile': join(dir, 'ward.yaml'), 'feed.tokenSecret': 'ward-secret-ward-secret-ward-secret-ward', logLevel: 'silent' });
  app = await startVw(config, { logger: createLogger({ level: 'silent' }) });
});

afterAll(async () => app.close());

describe('a simulated ward with faults through the embedded pipeline', () => {
  it('stores every reading the devices sent once and refuses exactly the faulty ones', async () => {
    // No client may subscribe to device readings on the embedded broker: what it accepted is watched in-process.
    const stopListening = app.embeddedBroker!.observe('vw/v1/devices/+/readings', (topic, body) => delivered.push({ topic, body, at: new Date() }));
    const secret = app.deviceSecret!;
    const simulator = createWardSimulator({ mqttUrl: app.mqttUrl, registry, scenario, credentials: (deviceId) => devicePassword(secret, deviceId) });
    await simulator.start();
    await simulator.finished();
    await simulator.stop();

    // What vw should have made of it: ingest's own decoder over what the broker delivered.
    const reg = createRegistry(registry);
    const expected = new Map<string, { patientId: string; type: ReadingType }>();
    let refusals = 0;
    for (const d of delivered) {
      const deviceId = d.topic.split('/')[3]!;
      const result = decodeDevicePayload({ topicDeviceId: deviceId, payload: d.body, receivedAt: d.at }, { registry: reg });
      for (const r of result.readings) expected.set(r.readingId, { patientId: r.patientId, type: r.type });
      refusals += result.rejections.length;
    }
    const bodies = delivered.map((d) => d.body.toString());
    // 700 to 1,100 by the time of day the run starts (the personas keep UK hours), fewer on a busy
    // machine. Enough to be worth checking either way: the assertions below hold for whatever was delivered.
    expect(delivered.length).toBeGreaterThan(300);
    expect(new Set(bodies).size).toBeLessThan(bodies.length);
    expect(refusals).toBeGreaterThan(10);

    const stored = async () => {
      let n = 0;
      const series = new Set([...expected.values()].map((e) => `${e.patientId}|${e.type}`));
      for (const key of series) {
        const [patientId, type] = key.split('|') as [string, ReadingType];
        n += (await app.store.series(patientId, type, { since: new Date(0) })).length;
      }
      return n;
    };
    await expect.poll(stored, { timeout: 20_000, interval: 250 }).toBe(expected.size);
    await expect.poll(() => metricOf(app.httpUrl, 'vw_readings_rejected_total'), { timeout: 5_000 }).toBe(refusals);
    await stopListening();
  });
});
