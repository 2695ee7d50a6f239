/**
 * Smoke test of the Node-RED benchmark peer: `npx tsx test/bench/peer/smoke.ts`.
 *
 * Starts vw's embedded MQTT broker in-process, the peer with three devices on three patients, and two
 * WebSocket consoles; publishes 21 payloads (23 readings) as the devices themselves: a stable patient,
 * a deteriorating one (alerts on low, medium and high), one sending a batch, a payload that is not
 * JSON and an item with a bad value (both dropped), and one from a device on no patient (dropped).
 * Prints what arrived and exits non-zero unless both consoles got exactly the expected messages.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { startEmbeddedBroker } from '../../../src/mqtt/embedded-broker.ts';
import { devicePassword } from '../../../src/mqtt/credentials.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { ensureNodeRedInstalled, startNodeRedPeer, type PeerMessage } from './node-red.ts';

type Value = number | boolean | string;
interface Step {
  device: string;
  /** Raw payload text, or readings to send (one object, or an array when batch). */
  payload: string | Array<{ type: string; value: Value; unit?: string }>;
  batch?: boolean;
  /** What the peer should send for each reading of this payload, in order. */
  expect: Array<Pick<PeerMessage, 'score' | 'band' | 'alert'>>;
}

const patientsByDevice: Record<string, string> = { 'smoke-dev-a': 'smoke-pat-a', 'smoke-dev-b': 'smoke-pat-b', 'smoke-dev-c': 'smoke-pat-c' };
const UNITS: Record<string, string | undefined> = { respiratory_rate: '/min', spo2: '%', systolic_bp: 'mm[Hg]', heart_rate: '/min', temperature: 'Cel' };
const r = (type: string, value: Value) => ({ type, value, ...(UNITS[type] ? { unit: UNITS[type] } : {}) });
const none = { score: 0, band: 'none', alert: false } as const;

const steps: Step[] = [
  // A: stable, all seven parameters, nothing scores.
  ...[r('heart_rate', 72), r('respiratory_rate', 16), r('spo2', 97), r('temperature', 37.0), r('systolic_bp', 125), r('consciousness', 'A'), r('supplemental_oxygen', false)].map(
    (reading): Step => ({ device: 'smoke-dev-a', payload: [reading], expect: [none] }),
  ),
  // B: deteriorating: low (alert), low, medium (alert), high (alert), high.
  { device: 'smoke-dev-b', payload: [r('heart_rate', 80)], expect: [none] },
  { device: 'smoke-dev-b', payload: [r('respiratory_rate', 18)], expect: [none] },
  { device: 'smoke-dev-b', payload: [r('spo2', 96)], expect: [none] },
  { device: 'smoke-dev-b', payload: [r('systolic_bp', 120)], expect: [none] },
  { device: 'smoke-dev-b', payload: [r('respiratory_rate', 22)], expect: [{ score: 2, band: 'low', alert: true }] },
  { device: 'smoke-dev-b', payload: [r('spo2', 93)], expect: [{ score: 4, band: 'low', alert: false }] },
  { device: 'smoke-dev-b', payload: [r('heart_rate', 115)], expect: [{ score: 6, band: 'medium', alert: true }] },
  { device: 'smoke-dev-b', payload: [r('temperature', 39.2)], expect: [{ score: 8, band: 'high', alert: true }] },
  { device: 'smoke-dev-b', payload: [r('consciousness', 'V')], expect: [{ score: 11, band: 'high', alert: false }] },
  // C: a batch of three, two malformed payloads, then a single parameter scoring 3 (medium, alert).
  { device: 'smoke-dev-c', payload: [r('heart_rate', 60), r('respiratory_rate', 14), r('temperature', 36.5)], batch: true, expect: [none, none, none] },
  { device: 'smoke-dev-c', payload: 'not json{', expect: [] },
  { device: 'smoke-dev-c', payload: [r('heart_rate', 'fast')], expect: [] },
  { device: 'smoke-dev-c', payload: [r('systolic_bp', 88)], expect: [{ score: 3, band: 'medium', alert: true }] },
  // A device on no patient.
  { device: 'smoke-dev-x', payload: [r('heart_rate', 70)], expect: [] },
];

function peakRssMiB(pid: number): string {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return hwm ? (Number(hwm) / 1024).toFixed(1) : '?';
}

async function main(): Promise<number> {
  const t0 = performance.now();
  await ensureNodeRedInstalled();
  const installMs = performance.now() - t0;

  // As strict as vw's embedded broker is: devices and the peer sign in.
  const deviceSecret = 'smoke-device-secret-0123456789';
  const reader = { username: 'node-red-peer', password: 'smoke-peer-reader-password' };
  const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger: createLogger({ level: 'warn', name: 'smoke' }), devices: { secret: deviceSecret, registered: (id) => id !== reader.username }, reader });
  const t1 = performance.now();
  const peer = await startNodeRedPeer({ mqttUrl: broker.url, patientsByDevice, reader, deviceSecret, log: (line) => console.log(`[node-red] ${line}`) });
  const startMs = performance.now() - t1;
  console.log(`peer up: pid ${peer.pid}, ${peer.wsUrl}; install check ${installMs.toFixed(0)} ms, start to ready ${startMs.toFixed(0)} ms`);

  const consoles = await Promise.all(
    [0, 1].map(async () => {
      const socket = new WebSocket(peer.wsUrl);
      const received: PeerMessage[] = [];
      socket.on('message', (data: WebSocket.RawData) => received.push(JSON.parse(data.toString()) as PeerMessage));
      await new Promise<void>((res, rej) => {
        socket.once('open', () => res());
        socket.once('error', rej);
      });
      return { socket, received };
    }),
  );

  // Each device publishes as itself: the embedded broker lets a client publish only under its own topic.
  const devices = [...new Set(steps.map((s) => s.device))];
  const clients = new Map(await Promise.all(devices.map(async (d) => [d, await mqtt.connectAsync(broker.url, { clientId: d, username: d, password: devicePassword(deviceSecret, d), protocolVersion: 4 })] as const)));
  const base = Date.now() - 60 * 60_000;
  const expected = new Map<string, Array<Omit<PeerMessage, 'patientId'>>>();
  let payloads = 0;
  let readings = 0;
  for (const [i, step] of steps.entries()) {
    const ts = new Date(base + i * 60_000).toISOString();
    let text: string;
    if (typeof step.payload === 'string') text = step.payload;
    else {
      const items = step.payload.map((p) => ({ ...p, ts }));
      readings += items.length;
      text = JSON.stringify(step.batch ? items : items[0]);
    }
    await clients.get(step.device)!.publishAsync(`vw/v1/devices/${step.device}/readings`, text, { qos: 1 });
    payloads++;
    const patient = patientsByDevice[step.device];
    if (!patient) continue;
    const list = expected.get(patient) ?? [];
    step.expect.forEach((e, k) => {
      const item = (step.payload as Array<{ type: string }>)[k]!;
      list.push({ deviceId: step.device, type: item.type, ts, ...e });
    });
    expected.set(patient, list);
  }
  const total = [...expected.values()].reduce((n, l) => n + l.length, 0);
  const alerts = [...expected.values()].flat().filter((m) => m.alert).length;
  console.log(`published ${payloads} payloads, ${readings} readings (1 payload not JSON, 1 reading with a bad value, 1 from a device on no patient); expecting ${total} messages, ${alerts} alerts`);

  const deadline = Date.now() + 10_000;
  while (consoles.some((c) => c.received.length < total) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  await new Promise((res) => setTimeout(res, 500)); // anything extra would show up now

  const received = consoles[0]!.received;
  for (const m of received) console.log(`  ${m.patientId} ${m.deviceId} ${m.type.padEnd(19)} score ${String(m.score).padStart(2)} ${m.band.padEnd(6)}${m.alert ? ' ALERT' : ''}`);

  const problems: string[] = [];
  for (const [n, c] of consoles.entries()) {
    if (c.received.length !== total) problems.push(`console ${n}: ${c.received.length} messages, expected ${total}`);
    for (const [patient, want] of expected) {
      const got = c.received.filter((m) => m.patientId === patient).map(({ patientId: _p, ...rest }) => rest);
      if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`console ${n}, ${patient}: got ${JSON.stringify(got)}\n  expected ${JSON.stringify(want)}`);
    }
  }
  const gotAlerts = received.filter((m) => m.alert).length;
  console.log(`received ${consoles.map((c) => c.received.length).join(' and ')} messages on two consoles, ${gotAlerts} alerts; peer peak RSS ${peakRssMiB(peer.pid)} MiB`);

  for (const c of consoles) c.socket.close();
  await Promise.all([...clients.values()].map((c) => c.endAsync()));
  const t2 = performance.now();
  await peer.stop();
  console.log(`peer stopped in ${(performance.now() - t2).toFixed(0)} ms`);
  await broker.close();

  if (problems.length > 0) {
    console.error(`FAIL\n${problems.join('\n')}`);
    return 1;
  }
  console.log('PASS');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
