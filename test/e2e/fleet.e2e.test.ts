import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceKind } from '../../src/domain/index.ts';
import { DEVICE_TOPIC_FILTER, parseDeviceTopic } from '../../src/ingest/topic.ts';
import { startEmbeddedBroker } from '../../src/mqtt/embedded-broker.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createFleet, type FleetReport } from '../../simulators/fleet/fleet.ts';
import { until } from '../support/wait.ts';

/**
 * The load fleet against the embedded broker: 1,000 devices over two worker processes at 1,000
 * readings/s for 3 s. What the fleet says it published is what the broker received, every payload is
 * acknowledged, and every device took part.
 */
const DEVICES = 1000;
const RATE = 1000;
const SECONDS = 3;
const DEVICE_SECRET = 'fleet-e2e-device-secret-0123456789';
const COUNTER = { username: 'fleet-e2e-counter', password: 'fleet-e2e-counter-password-0123' };

let broker: Awaited<ReturnType<typeof startEmbeddedBroker>>;
let counter: MqttClient;
let fleet: ReturnType<typeof createFleet>;
const received = new Map<string, number>();
let total = 0;

beforeAll(async () => {
  // The fleet's devices sign in as on Mosquitto; the counter reads device readings as the reader.
  broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    logger: createLogger({ level: 'silent' }),
    devices: { secret: DEVICE_SECRET, registered: (deviceId) => /^fleet-\d{5}$/.test(deviceId) },
    reader: COUNTER,
  });
  // Counts what the broker accepted on the device topics, as ingest would see it.
  counter = await mqtt.connectAsync(broker.url, { clientId: 'fleet-e2e-counter', ...COUNTER, protocolVersion: 4, reconnectPeriod: 0 });
  counter.on('message', (topic) => {
    const deviceId = parseDeviceTopic(topic);
    if (!deviceId) return;
    received.set(deviceId, (received.get(deviceId) ?? 0) + 1);
    total++;
  });
  await counter.subscribeAsync(DEVICE_TOPIC_FILTER, { qos: 1 });
});

afterAll(async () => {
  await fleet?.stop();
  await counter?.endAsync();
  await broker?.close();
});

describe('load fleet', () => {
  it('drives 1,000 devices over 2 workers at 1,000 readings/s: every payload reaches the broker and is acknowledged', async () => {
    const devices = Array.from({ length: DEVICES }, (_, i) => ({ deviceId: `fleet-${String(i).padStart(5, '0')}`, kind: DeviceKind.options[i % DeviceKind.options.length]! }));
    const stats: FleetReport[] = [];
    fleet = createFleet({ mqttUrl: broker.url, devices, readingsPerSecond: RATE, durationSeconds: SECONDS, mode: 'canonical', workers: 2, secret: DEVICE_SECRET, onStats: (r) => stats.push(r) });

    const connected = await fleet.connect();
    expect(connected.connected).toBe(DEVICES);
    const pids = fleet.pids();
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(process.pid);

    const report = await fleet.run();
    await until(() => total >= report.payloads, 10_000);

    expect(report.devices).toBe(DEVICES);
    expect(report.connected).toBe(DEVICES);
    expect(report.errors).toBe(0);
    expect(report.outstanding).toBe(0);
    expect(report.missed).toBe(0);
    expect(report.workerPids).toEqual(pids);
    // Canonical mode: one reading per payload, and the schedule's 3,000 readings all offered.
    expect(report.readings).toBe(report.payloads);
    expect(report.payloads).toBe(RATE * SECONDS);
    expect(total).toBe(report.payloads);
    expect(report.acked).toBe(report.payloads);
    expect(report.ackedReadings).toBe(report.readings);
    expect(report.devicesPublished).toBe(DEVICES);
    expect(received.size).toBe(DEVICES);
    expect(Math.min(...received.values())).toBeGreaterThanOrEqual(1);
    expect(report.offeredPerSecond).toBeCloseTo(RATE, 0);
    // Paced, not dumped: the publishes span the run.
    expect(report.lastPublishMs! - report.firstPublishMs!).toBeGreaterThan((SECONDS - 0.5) * 1000);
    expect(stats.length).toBeGreaterThanOrEqual(2);
    expect(report.workers.every((w) => w.rssMiB > 0 && w.cpuSeconds > 0)).toBe(true);
  });
});
