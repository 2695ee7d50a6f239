import mqtt, { type MqttClient } from 'mqtt';
import type { DeviceKind, RegistryData } from '../src/domain/index.ts';
import { deviceTopic } from '../src/ingest/topic.ts';
import type { Logger } from '../src/observability/logger.ts';
import { CADENCE, encodeDevicePayload, type DeviceOptions } from './devices.ts';
import { vitalsAt, type Persona, type PersonaTiming } from './personas.ts';
import { rngFor } from './rng.ts';
import type { Scenario } from './scenario.ts';

interface SimulatedDevice {
  deviceId: string;
  kind: DeviceKind;
  patientId: string;
  persona: Persona;
  timing: PersonaTiming;
  options: DeviceOptions;
}

export interface Publication {
  deviceId: string;
  topic: string;
  body: string;
}

/**
 * The ward's devices for a scenario: every device enrolled to a scenario patient at the start, with
 * the patient's persona.
 */
export function planDevices(registry: RegistryData, scenario: Scenario, atMs: number): SimulatedDevice[] {
  const devices = new Map(registry.devices.map((d) => [d.deviceId, d]));
  return scenario.patients.flatMap((p) =>
    registry.enrolments
      .filter((e) => e.patientId === p.patientId && Date.parse(e.from) <= atMs && (!e.until || atMs < Date.parse(e.until)))
      .map((e) => ({
        deviceId: e.deviceId,
        kind: devices.get(e.deviceId)!.kind,
        patientId: p.patientId,
        persona: p.persona,
        timing: { onsetSeconds: p.onsetSeconds, rampSeconds: p.rampSeconds },
        options: scenario.devices[e.deviceId] ?? {},
      })),
  );
}

/**
 * What every device publishes at a tick: a pure function of the scenario, its seed and the tick, so
 * the same seed always gives the same stream.
 */
export function createTickPlan(registry: RegistryData, scenario: Scenario, simStartMs: number) {
  const devices = planDevices(registry, scenario, simStartMs);
  const intervalMs = scenario.intervalSeconds * 1000;
  const crossed = (tick: number, everySeconds: number | undefined) => {
    if (!everySeconds || tick === 0) return false;
    const t = tick * scenario.intervalSeconds;
    return Math.floor(t / everySeconds) > Math.floor((t - scenario.intervalSeconds) / everySeconds);
  };
  return {
    devices,
    simTimeMs: (tick: number) => simStartMs + tick * intervalMs,
    payloadsForTick(tick: number): Publication[] {
      const atMs = simStartMs + tick * intervalMs;
      const out: Publication[] = [];
      for (const d of devices) {
        const cadence = CADENCE[d.kind];
        if (tick % cadence !== 0) continue;
        // Vitals are drawn per patient and second, so two devices measuring the same moment agree.
        const vitals = (ms: number) =>
          vitalsAt(d.persona, (ms - simStartMs) / 1000, rngFor(scenario.seed, `${d.patientId}:vitals`, Math.floor(ms / 1000)), d.timing);
        const payload = encodeDevicePayload(d.kind, d.deviceId, atMs, intervalMs * cadence, vitals, rngFor(scenario.seed, d.deviceId, tick), d.options);
        if (payload) out.push({ deviceId: d.deviceId, topic: deviceTopic(d.deviceId), body: JSON.stringify(payload) });
      }
      const faults = scenario.faults;
      if (faults && crossed(tick, faults.malformedEverySeconds)) {
        out.push({ deviceId: faults.deviceId, topic: deviceTopic(faults.deviceId), body: '{"heartRate": [{"time": "' });
      }
      if (faults && crossed(tick, faults.implausibleEverySeconds)) {
        const body = JSON.stringify({ deviceId: faults.deviceId, sentAt: new Date(atMs).toISOString(), heartRate: [{ time: new Date(atMs).toISOString(), bpm: 900 }] });
        out.push({ deviceId: faults.deviceId, topic: deviceTopic(faults.deviceId), body });
      }
      return out;
    },
  };
}

/**
 * Runs a scenario against an MQTT broker: one client per device (client id = username = device id),
 * publishing at QoS 1 on its own topic, on a timer scaled by the scenario's speed.
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
      const simStart = scenario.speed === 1 ? realStart : realStart - (scenario.durationSeconds ?? 0) * 1000;
      const plan = createTickPlan(options.registry, scenario, simStart);
      const lastTick = scenario.durationSeconds ? Math.floor(scenario.durationSeconds / scenario.intervalSeconds) : Infinity;
      const tickRealMs = (scenario.intervalSeconds * 1000) / scenario.speed;
      running = true;
      let tick = 0;
      const run = () => {
        if (!running) return;
        for (const p of plan.payloadsForTick(tick)) {
          client(p.deviceId).publish(p.topic, p.body, { qos: 1 }, (error) => {
            if (error) options.logger?.warn({ deviceId: p.deviceId, err: error }, 'simulated device: publish failed');
          });
          published++;
        }
        tick++;
        if (tick > lastTick) return;
        // Scheduled against the start time, so ticks do not drift however long publishing takes.
        timer = setTimeout(run, Math.max(0, realStart + tick * tickRealMs - now()));
      };
      options.logger?.info({ scenario: scenario.name, devices: plan.devices.length }, 'ward simulator started');
      run();
    },
    async stop(): Promise<void> {
      running = false;
      if (timer) clearTimeout(timer);
      await Promise.all([...clients.values()].map((c) => c.endAsync()));
      clients.clear();
    },
    published: () => published,
  };
}
