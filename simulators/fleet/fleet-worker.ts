/**
 * One worker process of the load fleet (fleet.ts): one MQTT client per device, connected in bounded
 * concurrency, then publishing at QoS 1 at this worker's share of the rate, paced in 10 ms slots and
 * round-robin over its devices. Back-pressure is honest: a device with too many PUBACKs outstanding is
 * passed over (deferred), and when no device can take a payload the worker falls behind, dropping what
 * is more than a second late (missed) instead of buffering it, so its report shows the rate achieved.
 *
 * Started by fleet.ts with child_process.fork; speaks the IPC protocol defined there.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic } from '../../src/ingest/topic.ts';
import { devicePassword } from '../../src/mqtt/credentials.ts';
import { ParentMessage, type StartOptions, type WorkerCounters, type WorkerMessage } from './fleet.ts';
import { createEventClock, loadPayload, MIN_GAP_MS } from './load-payload.ts';

const SLOT_MS = 10;
const STATS_EVERY_MS = 1000;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The soft limit on open files, from /proc (Linux); Node raises it to the hard limit at start-up. */
function fdLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}

function cpuMicros(since?: NodeJS.CpuUsage) {
  const cpu = process.cpuUsage(since);
  return { user: cpu.user, system: cpu.system };
}

let options: StartOptions | undefined;
let clients: MqttClient[] = [];
let publishing: Promise<void> | undefined;
let stopping = false;
/** The last error any client or publish reported: refused connections, resets, failed publishes. */
let lastError: string | undefined;

async function connectAll(start: StartOptions): Promise<void> {
  const began = performance.now();
  const cpuStart = process.cpuUsage();
  const firstConnect: Array<Promise<boolean>> = [];
  let next = 0;
  clients = new Array<MqttClient>(start.devices.length);
  const connectOne = (i: number): Promise<boolean> => {
    const { deviceId } = start.devices[i]!;
    const client = mqtt.connect(start.mqttUrl, {
      clientId: deviceId,
      username: deviceId,
      ...(start.secret ? { password: devicePassword(start.secret, deviceId) } : {}),
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 1000,
      keepalive: 60,
      connectTimeout: start.connectTimeoutMs,
    });
    // Without a listener an error (refused CONNACK, socket reset) would take the worker down.
    client.on('error', (error) => void (lastError = errorText(error)));
    clients[i] = client;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), start.connectTimeoutMs);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  };
  // `connectConcurrency` lanes, each connecting one device at a time.
  const lanes = Array.from({ length: Math.min(start.connectConcurrency, start.devices.length) }, async () => {
    while (next < start.devices.length && !stopping) {
      const i = next++;
      const first = connectOne(i);
      firstConnect.push(first);
      await first;
    }
  });
  await Promise.all(lanes);
  const outcomes = await Promise.all(firstConnect);
  const connected = outcomes.filter(Boolean).length;
  const cpu = cpuMicros(cpuStart);
  send({
    type: 'connected',
    pid: process.pid,
    connected,
    failed: start.devices.length - connected,
    seconds: (performance.now() - began) / 1000,
    cpuMicros: cpu.user + cpu.system,
    rssBytes: process.memoryUsage.rss(),
    ...(lastError ? { lastError } : {}),
  });
}

async function publishAll(start: StartOptions): Promise<void> {
  const n = start.devices.length;
  const topics = start.devices.map((d) => deviceTopic(d.deviceId));
  const inFlight = new Uint16Array(n);
  const seq = new Uint32Array(n);
  const clock = createEventClock(n, MIN_GAP_MS[start.mode]);
  const rate = start.readingsPerSecond;
  const total = Math.floor(rate * start.durationSeconds);
  /** More than this many readings behind schedule, and the excess is dropped as missed. */
  const maxBacklog = Math.max(1, Math.ceil(rate));
  const c = {
    payloads: 0,
    readings: 0,
    acked: 0,
    ackedReadings: 0,
    errors: 0,
    deferred: 0,
    missed: 0,
    outstanding: 0,
    devicesPublished: 0,
    firstPublishMs: null as number | null,
    lastPublishMs: null as number | null,
    lastAckMs: null as number | null,
  };
  const cpuStart = process.cpuUsage();
  const counters = (): WorkerCounters => {
    const cpu = cpuMicros(cpuStart);
    return {
      pid: process.pid,
      devices: n,
      connected: clients.filter((client) => client.connected).length,
      payloads: c.payloads,
      readings: c.readings,
      acked: c.acked,
      ackedReadings: c.ackedReadings,
      errors: c.errors,
      deferred: c.deferred,
      missed: c.missed,
      outstanding: c.outstanding,
      devicesPublished: c.devicesPublished,
      firstPublishMs: c.firstPublishMs,
      lastPublishMs: c.lastPublishMs,
      lastAckMs: c.lastAckMs,
      maxLeadMs: clock.maxLeadMs(),
      cpuUserMicros: cpu.user,
      cpuSystemMicros: cpu.system,
      rssBytes: process.memoryUsage.rss(),
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      ...(lastError ? { lastError } : {}),
    };
  };
  const stats = setInterval(() => send({ type: 'stats', ...counters() }), STATS_EVERY_MS);

  let cursor = 0;
  /** The next device that can take a payload now, or -1 when none can (the worker falls behind). */
  const pick = (): number => {
    for (let tries = 0; tries < n; tries++) {
      const i = cursor;
      cursor = cursor + 1 === n ? 0 : cursor + 1;
      if (clients[i]!.connected && inFlight[i]! < start.maxInFlightPerDevice) return i;
      c.deferred++;
    }
    return -1;
  };
  const publishOne = (i: number): boolean => {
    const { atMs, intervalMs } = clock.next(i, Date.now());
    const payload = loadPayload(start.mode, start.devices[i]!.kind, start.devices[i]!.deviceId, atMs, seq[i]!, intervalMs);
    if (payload.readings === 0) return false;
    if (seq[i] === 0) c.devicesPublished++;
    seq[i]!++;
    inFlight[i]!++;
    c.outstanding++;
    c.payloads++;
    c.readings += payload.readings;
    const now = Date.now();
    c.firstPublishMs ??= now;
    c.lastPublishMs = now;
    clients[i]!.publish(topics[i]!, payload.body, { qos: 1 }, (error) => {
      inFlight[i]!--;
      c.outstanding--;
      if (error) {
        c.errors++;
        lastError = errorText(error);
      } else {
        c.acked++;
        c.ackedReadings += payload.readings;
        c.lastAckMs = Date.now();
      }
    });
    return true;
  };

  const began = performance.now();
  for (;;) {
    const elapsed = Math.min(performance.now() - began, start.durationSeconds * 1000);
    const scheduled = Math.min(total, Math.floor((elapsed / 1000) * rate));
    const behind = scheduled - c.missed - c.readings;
    if (behind > maxBacklog) c.missed += behind - maxBacklog;
    const due = scheduled - c.missed;
    while (c.readings < due && !stopping) {
      const i = pick();
      if (i < 0) break;
      if (!publishOne(i)) break;
    }
    if (elapsed >= start.durationSeconds * 1000 || stopping) break;
    await sleep(SLOT_MS);
  }
  // What the schedule offered in the last slot and no device could take is missed too.
  if (!stopping) c.missed += Math.max(0, total - c.missed - c.readings);

  // The final report waits for the PUBACKs still outstanding, or gives up after the drain timeout.
  const drainUntil = performance.now() + start.drainTimeoutMs;
  while (c.outstanding > 0 && performance.now() < drainUntil && !stopping) await sleep(20);
  clearInterval(stats);
  send({ type: 'final', ...counters() });
}

async function stop(): Promise<void> {
  stopping = true;
  await publishing?.catch(() => undefined);
  // After the final report nothing should be outstanding; a stuck client is closed by force.
  await Promise.all(
    clients.filter(Boolean).map((client) =>
      Promise.race([client.endAsync(false), sleep(2000).then(() => client.endAsync(true))]).catch(() => undefined),
    ),
  );
  send({ type: 'stopped', pid: process.pid });
  process.disconnect?.();
  process.exit(0);
}

process.on('message', (raw) => {
  const parsed = ParentMessage.safeParse(raw);
  if (!parsed.success) {
    send({ type: 'failed', pid: process.pid, error: `bad message: ${parsed.error.issues[0]?.message ?? 'invalid'}` });
    return;
  }
  const message = parsed.data;
  switch (message.type) {
    case 'start':
      if (options) return send({ type: 'failed', pid: process.pid, error: 'already started' });
      options = message;
      connectAll(message).catch((error) => send({ type: 'failed', pid: process.pid, error: errorText(error) }));
      return;
    case 'go':
      if (!options || publishing) return send({ type: 'failed', pid: process.pid, error: publishing ? 'already running' : 'go before start' });
      publishing = publishAll(options);
      publishing.catch((error) => send({ type: 'failed', pid: process.pid, error: errorText(error) }));
      return;
    case 'stop':
      void stop();
      return;
  }
});
// An orphan (the fleet's process died) stops rather than load a broker for nobody.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', pid: process.pid, fdLimit: fdLimit() });
