import mqtt, { type MqttClient } from 'mqtt';
import type { RegistryData } from '../src/domain/index.ts';
import type { Logger } from '../src/observability/logger.ts';
import type { Scenario } from './scenario.ts';
import { generateWard, planDevices, withGeneratedWard, type GeneratedWard } from './ward-plan.ts';
import { createWardStream } from './ward-stream.ts';

/** How often the live simulator releases what is due, in real milliseconds. */
const STEP_MS = 50;
/** How long stopping waits for a device's unacknowledged publishes before closing it anyway. */
const STOP_GRACE_MS = 2_000;

/**
 * Disconnects a device: cleanly once its QoS 1 publishes are acknowledged, or by closing the socket
 * when some are still unacknowledged after the grace period. A clean end waits for every PUBACK, and
 * a busy broker does not always send them all, which would hold stop() (and the demo's exit) forever.
 */
async function endDevice(c: MqttClient): Promise<void> {
  const deadline = Date.now() + STOP_GRACE_MS;
  while (Object.keys(c.outgoing).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, STEP_MS));
  await c.endAsync(Object.keys(c.outgoing).length > 0);
}

/**
 * The registry a scenario runs against: the given seeds plus the scenario's generated ward. vw must
 * load the same registry (`npx tsx simulators/cli.ts --write-seeds FILE` writes it).
 */
export function scenarioRegistry(base: RegistryData | undefined, scenario: Scenario): { registry: RegistryData; generated: GeneratedWard } {
  const generated = generateWard(scenario);
  return { registry: withGeneratedWard(base, generated), generated };
}

/** The scenario's stream from simulated `startMs`: devices planned from the registry and the generated ward. */
export function scenarioStream(base: RegistryData | undefined, scenario: Scenario, startMs: number) {
  const { registry, generated } = scenarioRegistry(base, scenario);
  const devices = planDevices(registry, scenario, startMs, generated);
  return { registry, devices, stream: createWardStream(devices, scenario, startMs) };
}

/**
 * Runs a scenario against an MQTT broker: one client per device (client id = username = device id),
 * publishing at QoS 1 on its own topic, each report when its simulated delivery time comes round at
 * the scenario's speed.
 */
export function createWardSimulator(options: {
  mqttUrl: string;
  registry: RegistryData;
  scenario: Scenario;
  now?: () => number;
  logger?: Logger;
  credentials?: (deviceId: string) => string;
}) {
  const { scenario } = options;
  const now = options.now ?? Date.now;
  const clients = new Map<string, MqttClient>();
  let timer: NodeJS.Timeout | undefined;
  let published = 0;
  let running = false;
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => (finished = resolve));

  function client(deviceId: string): MqttClient {
    let c = clients.get(deviceId);
    if (!c) {
      const password = options.credentials?.(deviceId);
      c = mqtt.connect(options.mqttUrl, {
        clientId: deviceId,
        username: deviceId,
        ...(password ? { password } : {}),
        protocolVersion: 4,
        reconnectPeriod: 1000,
        clean: true,
      });
      c.on('error', (error) => options.logger?.warn({ deviceId, err: error }, 'simulated device: mqtt error'));
      clients.set(deviceId, c);
    }
    return c;
  }

  return {
    async start(): Promise<void> {
      const realStart = now();
      const durationMs = (scenario.durationSeconds ?? Infinity) * 1000;
      // Accelerated runs end now, so no event time lies in the future.
      const simStart = scenario.speed === 1 ? realStart : realStart - durationMs;
      const { devices, stream } = scenarioStream(options.registry, scenario, simStart);
      const simEnd = simStart + durationMs;
      running = true;
      const run = () => {
        if (!running) return;
        const simNow = Math.min(simEnd, simStart + (now() - realStart) * scenario.speed);
        for (const e of stream.take(simNow)) {
          client(e.deviceId).publish(e.topic, e.body, { qos: 1 }, (error) => {
            if (error) options.logger?.warn({ deviceId: e.deviceId, err: error }, 'simulated device: publish failed');
          });
          published++;
        }
        if (simNow >= simEnd) {
          finished();
          return;
        }
        timer = setTimeout(run, STEP_MS);
      };
      options.logger?.info({ scenario: scenario.name, devices: devices.length }, 'ward simulator started');
      run();
    },
    /** Resolves when a scenario with a duration has released its last report. */
    finished: () => done,
    async stop(): Promise<void> {
      running = false;
      if (timer) clearTimeout(timer);
      finished();
      await Promise.all([...clients.values()].map(endDevice));
      clients.clear();
    },
    published: () => published,
  };
}
