import mqtt, { type MqttClient } from 'mqtt';
import { expect } from 'vitest';
import { on, type Bus, type TopicSpec } from '../../src/bus/bus.ts';
import { createKafkaBus, type KafkaBusOptions } from '../../src/bus/kafka-bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import { VW_TOPICS } from '../../src/app/adapters.ts';
import type { Alert, AlertSeverity } from '../../src/domain/index.ts';
import { devicePassword } from '../../src/mqtt/credentials.ts';
import type { createInfluxStore } from '../../src/store/influx-store.ts';
import { services } from './services.ts';

/**
 * What the fault tests share (test/integration/faults.test.ts, test/integration/kafka-cluster.test.ts):
 * a few patients driven over Mosquitto through a known deterioration (NEWS2 low-medium, then medium,
 * then high) while one fault happens mid-stream, then every published reading accounted for and
 * every alert checked to have been raised exactly once. Plus the Kafka observer the integration tests
 * read vw's topics with.
 */

export const ROUND_MS = 500;
export const EXPECTED: AlertSeverity[] = ['low-medium', 'medium', 'high'];
/** The alerts the deterioration raises on the ari pathway (rules/news2.yaml, rules/oximetry.yaml): each exactly once. */
export const EXPECTED_CAUSES = ['news2', 'spo2-emergency', 'spo2-urgent-review'];
export type Phase = 0 | 1 | 2;
/** RR 26 scores 3 (low-medium); with SpO2 91 (3) the total is 6 (medium); with HR 135 (3) it is 9 (high). */
export const readingsOf = (phase: Phase, ts: string) => [
  { type: 'respiratory_rate', value: 26, unit: '/min', ts },
  ...(phase >= 1 ? [{ type: 'spo2', value: 91, unit: '%', ts }] : []),
  ...(phase >= 2 ? [{ type: 'heart_rate', value: 135, unit: '/min', ts }] : []),
];

/** Polls `predicate` (a throw counts as not yet) until it holds, or throws naming `what` after `timeoutMs`. */
export const until = async (what: string | (() => string), predicate: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 250) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = await predicate();
    } catch {
      ok = false;
    }
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
};

export interface Devices {
  /** Connects the device on first use; later calls return the same client. */
  device(deviceId: string): Promise<MqttClient>;
  readonly clients: Map<string, MqttClient>;
  /** Ends every connection (forcibly: messages still held are dropped). */
  closeAll(): Promise<void>;
}

/**
 * Devices as real ones behave: a persistent session (clean: false) and automatic reconnects, so a
 * QoS 1 message the broker had not acknowledged is sent again, with the same payload, on the next
 * connection.
 */
export function persistentDevices(prefix: string): Devices {
  const clients = new Map<string, MqttClient>();
  return {
    clients,
    async device(deviceId) {
      let client = clients.get(deviceId);
      if (!client) {
        client = await mqtt.connectAsync(services.mqttUrl!, {
          clientId: `${deviceId}-${prefix}`,
          username: deviceId,
          password: devicePassword(services.deviceSecret!, deviceId),
          protocolVersion: 4,
          clean: false,
          reconnectPeriod: 500,
          connectTimeout: 5_000,
        });
        client.on('error', () => {});
        clients.set(deviceId, client);
      }
      return client;
    },
    async closeAll() {
      await Promise.all([...clients.values()].map((c) => c.endAsync(true).catch(() => {})));
    },
  };
}

/**
 * The test's own Kafka client on vw's topics (8 partitions, all of vw's topics), reading each of
 * `collect`'s topics from the beginning into its array, in its own consumer group `observer-<topic>`.
 */
export async function observeTopics(
  options: Omit<KafkaBusOptions, 'partitions' | 'topics'>,
  collect: { alerts?: unknown[]; scores?: unknown[]; readings?: unknown[] },
): Promise<Bus> {
  const observer = await createKafkaBus({ ...options, partitions: 8, topics: VW_TOPICS });
  for (const name of ['alerts', 'scores', 'readings'] as const) {
    const into = collect[name];
    if (into) await observer.consume({ groupId: `observer-${name}`, fromBeginning: true, topics: [on(Topics[name] as TopicSpec<unknown>, async ({ value }) => void into.push(value))] });
  }
  return observer;
}

export interface FaultStreamHarness {
  store: ReturnType<typeof createInfluxStore>;
  devices: Devices;
  /** Every alert the observer has read. */
  alertsSeen: Alert[];
  /** vw_readings_rejected_total across ingest processes, a running total. */
  rejectedTotal(): Promise<number>;
}

export interface FaultStreamOptions {
  /** Names the fault in the messages of a timeout (read when one is written). */
  name: () => string;
  /** Spread into every compared object, so a failed comparison names the fault. */
  tag?: Record<string, unknown>;
  /** Runs once every patient's low-medium alert is out, before the fault (e.g. to choose what to fault). */
  beforeFault?: (patients: string[]) => Promise<void>;
  /**
   * Unset: phase 1 goes on until the fault is over, at least 4 rounds. Set: until a reading published
   * after the fault is stored again, then this many rounds more (at most 120 s), the pause watch
   * stopping once every reading is accounted for.
   */
  roundsAfterRecovery?: number;
  /** The pause ends with a reading of any patient stored (unset: of the first patient). */
  pauseOnAnyPatient?: boolean;
  afterRounds?: number;
  storeTimeoutMs?: number;
}

export interface FaultStreamResult {
  patients: string[];
  /** When the fault took effect (the `down` callback), epoch ms. */
  faultAt: number;
  /** When the first reading published after the fault was seen stored; undefined if never. */
  firstStoredAfter: number | undefined;
  pauseMs: number;
  published: number;
  stored: number;
  rejected: number;
  missing: number;
  /** Alert records the observer read for these patients, and how many were copies of a revision already read. */
  records: number;
  copies: number;
  lastTs: string;
}

/**
 * Drives the patients `numbers` (in the integration ward) through the deterioration with `inject`'s
 * fault happening in the medium phase: phase 0 until every patient's low-medium alert is out, phase 1
 * while the fault lasts, then phase 2. `inject` calls `down` once the fault has taken effect. Returns
 * once every reading is accounted for and every patient's alert has reached high; asserts both.
 */
export async function streamFault(
  harness: FaultStreamHarness,
  numbers: number[],
  inject: (down: () => void) => Promise<void>,
  options: FaultStreamOptions,
): Promise<FaultStreamResult> {
  const { store, devices, alertsSeen } = harness;
  const { name, tag = {} } = options;
  const ids = numbers.map((n) => String(n).padStart(3, '0'));
  const patients = ids.map((id) => `it-p${id}`);
  await Promise.all(ids.map((id) => devices.device(`it-app${id}`)));
  const rejectedBefore = await harness.rejectedTotal();
  /** Every reading identity published: patient|type|ts. */
  const sent = new Set<string>();
  const publishes: Array<Promise<unknown>> = [];
  let firstTs = Infinity;
  let lastTs = 0;
  const round = (phase: Phase) => {
    // Event time is the publish time; each round has its own millisecond, so its own reading ids.
    let ts = Date.now();
    if (ts <= lastTs) ts = lastTs + 1;
    firstTs = Math.min(firstTs, ts);
    lastTs = ts;
    const iso = new Date(ts).toISOString();
    for (const id of ids) {
      const readings = readingsOf(phase, iso);
      for (const r of readings) sent.add(`it-p${id}|${r.type}|${iso}`);
      // Not awaited: while the broker is away the client holds the message and sends it on reconnect.
      publishes.push(devices.clients.get(`it-app${id}`)!.publishAsync(`vw/v1/devices/it-app${id}/readings`, JSON.stringify(readings), { qos: 1 }));
    }
  };
  const tick = () => new Promise((r) => setTimeout(r, ROUND_MS));
  const hasSeverity = (patientId: string, severity: AlertSeverity) => alertsSeen.some((a) => a.patientId === patientId && a.cause === 'news2' && a.severity === severity);

  // Phase 0 until every patient has its low-medium alert: the fault then meets live alert state.
  let sinceAlert = 0;
  while (!patients.every((p) => hasSeverity(p, 'low-medium'))) {
    round(0);
    await tick();
    if (++sinceAlert > 120) throw new Error(`${name()}: no low-medium alert for ${patients.filter((p) => !hasSeverity(p, 'low-medium')).join(',')} before the fault`);
  }
  await options.beforeFault?.(patients);

  // The fault, while phase 1 goes on being published. The pause runs from the moment the fault has
  // taken effect (the service stopped, the process killed) to the first reading published after
  // that moment reaching InfluxDB.
  let faultAt = 0;
  let firstStoredAfter: number | undefined;
  let faultDone = false;
  let faultError: unknown;
  let watching = true;
  const markDown = () => {
    faultAt ||= Date.now();
  };
  const watched = options.pauseOnAnyPatient ? patients : patients.slice(0, 1);
  const watcher = (async () => {
    while (!faultAt && !faultError) await new Promise((r) => setTimeout(r, 50));
    if (faultError) return;
    while (firstStoredAfter === undefined && watching) {
      try {
        for (const p of watched) {
          if ((await store.series(p, 'spo2', { since: new Date(faultAt) })).length) {
            firstStoredAfter ??= Date.now();
            break;
          }
        }
      } catch {
        // InfluxDB may itself be the fault
      }
      if (firstStoredAfter === undefined) await new Promise((r) => setTimeout(r, 200));
      if (Date.now() - faultAt > 30 * 60_000) return;
    }
  })();
  const injected = inject(markDown).then(
    () => void (faultDone = true),
    (error) => {
      faultError = error ?? new Error(`${name()} failed`);
      faultDone = true;
    },
  );
  let during = 0;
  if (options.roundsAfterRecovery === undefined) {
    while (!faultDone || during < 4) {
      round(1);
      during++;
      await tick();
    }
  } else {
    // Until readings published after the fault are being stored again, then a few rounds more.
    const phase1Deadline = Date.now() + 120_000;
    while (!faultError && (!faultDone || firstStoredAfter === undefined || during < options.roundsAfterRecovery)) {
      round(1);
      if (faultDone && firstStoredAfter !== undefined) during++;
      await tick();
      if (Date.now() > phase1Deadline) break;
    }
  }
  await injected;
  if (faultError) throw faultError;
  markDown();
  // Phase 2 after the fault is over.
  for (let i = 0; i < (options.afterRounds ?? 10); i++) {
    round(2);
    await tick();
  }
  const published = sent.size;

  // Every device message acknowledged by the broker (sent again after a reconnect where needed).
  await until('every device publish acknowledged by Mosquitto', async () => {
    const settled = await Promise.race([Promise.allSettled(publishes).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1_000))]);
    return settled;
  }, 120_000);
  const failedPublishes = (await Promise.allSettled(publishes)).filter((p) => p.status === 'rejected');
  expect(failedPublishes.map((p) => String((p as PromiseRejectedResult).reason))).toEqual([]);

  // Every reading stored or rejected: a positive count reaching its total, with a deadline.
  const since = new Date(firstTs);
  const stop = new Date(lastTs);
  const stored = async () => {
    const found = new Set<string>();
    for (const p of patients) {
      for (const type of ['respiratory_rate', 'spo2', 'heart_rate'] as const) {
        for (const point of await store.series(p, type, { since, until: stop })) found.add(`${p}|${type}|${point.ts}`);
      }
    }
    return found;
  };
  let rejected = 0;
  let storedNow = new Set<string>();
  await until(
    () => `every reading stored or rejected (${name()}: published ${published}, stored ${storedNow.size}, rejected ${rejected}; fault took effect at ${new Date(faultAt).toISOString()}; missing ${[...sent].filter((k) => !storedNow.has(k)).slice(0, 30).join(' ')})`,
    async () => {
      rejected = (await harness.rejectedTotal()) - rejectedBefore;
      storedNow = await stored();
      return storedNow.size + rejected >= published;
    },
    options.storeTimeoutMs ?? 180_000,
    1_000,
  );
  if (options.roundsAfterRecovery !== undefined) {
    watching = false;
    await watcher;
  }
  const missing = [...sent].filter((k) => !storedNow.has(k));
  const extra = [...storedNow].filter((k) => !sent.has(k));
  if (missing.length) console.info(`[fault] ${name()}: ${missing.length} readings missing (fault at ${new Date(faultAt).toISOString()}): ${missing.slice(0, 40).join(' ')}`);
  expect({ ...tag, extra }).toEqual({ ...tag, extra: [] });
  expect({ ...tag, published, accounted: storedNow.size + rejected }).toEqual({ ...tag, published, accounted: published });
  expect({ ...tag, rejected, missing: missing.length }).toEqual({ ...tag, rejected: 0, missing: 0 });

  // Every patient's alert reached high, then: exactly one alert per cause, each rise once.
  const news2High = (p: string) => alertsSeen.some((a) => a.patientId === p && a.cause === 'news2' && a.severity === 'high');
  await until(() => `every ${name()} patient's NEWS2 alert at high (missing: ${patients.filter((p) => !news2High(p)).join(',')})`, () => patients.every(news2High), 120_000);
  let copies = 0;
  const records = alertsSeen.filter((a) => patients.includes(a.patientId)).length;
  for (const p of patients) {
    const byAlert = new Map<string, Map<number, Alert>>();
    for (const a of alertsSeen.filter((x) => x.patientId === p)) {
      const revisions = byAlert.get(a.alertId) ?? new Map<number, Alert>();
      byAlert.set(a.alertId, revisions);
      const held = revisions.get(a.revision);
      // A redelivered copy of a revision is absorbed by revision, but must be the same alert.
      if (held) {
        copies++;
        expect({ patient: p, copy: a }).toEqual({ patient: p, copy: held });
      } else revisions.set(a.revision, a);
    }
    // One alert per cause, each cause once, its revisions 0..n with none missing.
    const alerts = [...byAlert.values()].map((revisions) => {
      const numbers = [...revisions.keys()].sort((a, b) => a - b);
      return { cause: revisions.get(numbers[0]!)!.cause, revisions: numbers, severities: numbers.map((r) => revisions.get(r)!.severity) };
    });
    expect({ ...tag, patient: p, causes: alerts.map((a) => a.cause).sort() }).toEqual({ ...tag, patient: p, causes: EXPECTED_CAUSES });
    for (const a of alerts) expect({ ...tag, patient: p, cause: a.cause, revisions: a.revisions }).toEqual({ ...tag, patient: p, cause: a.cause, revisions: a.revisions.map((_, i) => i) });
    // The deterioration itself: NEWS2 low-medium, then medium, then high, each rise exactly once.
    expect({ ...tag, patient: p, news2: alerts.find((a) => a.cause === 'news2')?.severities }).toEqual({ ...tag, patient: p, news2: EXPECTED });
    // SpO2 91 twice raises the oximetry alerts, at their own severities.
    expect({ ...tag, patient: p, urgent: alerts.find((a) => a.cause === 'spo2-urgent-review')?.severities[0], emergency: alerts.find((a) => a.cause === 'spo2-emergency')?.severities[0] }).toEqual({
      ...tag,
      patient: p,
      urgent: 'medium',
      emergency: 'high',
    });
  }
  // The sink stored each NEWS2 alert at its newest revision.
  await until(`${name()}: the newest alert revisions in InfluxDB`, async () => {
    const inStore = (await store.alerts(['ward-it'], { since: new Date(firstTs - 60_000) })).filter((a) => patients.includes(a.patientId) && a.cause === 'news2');
    return inStore.length === patients.length && inStore.every((a) => a.revision === 2 && a.severity === 'high');
  }, 60_000, 1_000);

  await watcher;
  return {
    patients,
    faultAt,
    firstStoredAfter,
    pauseMs: firstStoredAfter! - faultAt,
    published,
    stored: storedNow.size,
    rejected,
    missing: missing.length,
    records,
    copies,
    lastTs: new Date(lastTs).toISOString(),
  };
}
