import { mkdirSync, writeFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { on, type Bus, type TopicSpec } from '../../src/bus/bus.ts';
import { createKafkaBus } from '../../src/bus/kafka-bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import type { Alert, AlertSeverity } from '../../src/domain/index.ts';
import { createTokenAuthority } from '../../src/feed/auth.ts';
import { devicePassword } from '../../src/mqtt/credentials.ts';
import { createInfluxStore } from '../../src/store/influx-store.ts';
import { connectConsole, isType } from '../support/console-client.ts';
import { metricOf, startRole, type RoleProcess } from '../support/processes.ts';
import { controlService, describeWith, freshInfluxBucket, roleEnvOnServices, runPrefix, services } from '../support/services.ts';

/**
 * vw survives faults of the services it runs on and of its own processes (issue 13, item 6): each
 * test drives a few patients through a known deterioration (NEWS2 low-medium, then medium, then high)
 * over Mosquitto while one fault happens mid-stream, then asserts that every reading the devices
 * published is stored in InfluxDB or counted as rejected (exactly; redelivered copies carry the same
 * reading id and event time and are absorbed), and that each patient has exactly one alert whose
 * revisions are exactly the three expected rises, once each. The pause each fault caused (from the
 * fault to the first reading published after it being stored) is printed for the CI log.
 */
const CI = process.env.CI === 'true';
const INFLUX_DOWN_SECONDS = Number(process.env.VW_FAULT_INFLUX_DOWN_SECONDS ?? (CI ? 300 : 60));
const ROUND_MS = 500;
const EXPECTED: AlertSeverity[] = ['low-medium', 'medium', 'high'];
/** The alerts the deterioration raises on the ari pathway (rules/news2.yaml, rules/oximetry.yaml): each exactly once. */
const EXPECTED_CAUSES = ['news2', 'spo2-emergency', 'spo2-urgent-review'];
type Phase = 0 | 1 | 2;
/** RR 26 scores 3 (low-medium); with SpO2 91 (3) the total is 6 (medium); with HR 135 (3) it is 9 (high). */
const readingsOf = (phase: Phase, ts: string) => [
  { type: 'respiratory_rate', value: 26, unit: '/min', ts },
  ...(phase >= 1 ? [{ type: 'spo2', value: 91, unit: '%', ts }] : []),
  ...(phase >= 2 ? [{ type: 'heart_rate', value: 135, unit: '/min', ts }] : []),
];

describeWith(
  ['MQTT_URL', 'MQTT_USERNAME', 'MQTT_PASSWORD', 'VW_MQTT_DEVICE_SECRET', 'KAFKA_BROKERS', 'INFLUX_URL', 'INFLUX_TOKEN', 'INFLUX_BUCKET'],
  'vw survives faults of Mosquitto, Kafka, InfluxDB and its own processes',
  () => {
    const prefix = runPrefix();
    const tokenSecret = 'faults-secret-faults-secret-faults-secret';
    const env: Record<string, string> = {};
    const roles: Record<string, RoleProcess> = {};
    /** Every incarnation of every role, for the logs written after the run. */
    const incarnations: Array<{ name: string; role: RoleProcess }> = [];
    const devices = new Map<string, MqttClient>();
    let store: ReturnType<typeof createInfluxStore>;
    let dropBucket = async () => {};
    let observer: Bus | undefined;
    const alertsSeen: Alert[] = [];
    /** Rejections counted by ingest processes that have since been killed (their /metrics died with them). */
    let rejectedByKilledIngest = 0;
    const pauses: Array<{ fault: string; pauseMs: number; note?: string }> = [];

    const start = async (name: string, role: string, extra: Record<string, string> = {}) => {
      const started = await startRole(role, { ...env, ...extra });
      roles[name] = started;
      incarnations.push({ name, role: started });
      return started;
    };
    const rejectedTotal = async () => rejectedByKilledIngest + (await metricOf(roles.ingest!.url, 'vw_readings_rejected_total'));
    const until = async (what: string | (() => string), predicate: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 250) => {
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

    /**
     * A device as a real one behaves: a persistent session (clean: false) and automatic reconnects, so
     * a QoS 1 message the broker had not acknowledged is sent again, with the same payload, on the next
     * connection.
     */
    const device = async (deviceId: string): Promise<MqttClient> => {
      let client = devices.get(deviceId);
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
        devices.set(deviceId, client);
      }
      return client;
    };

    interface StreamResult {
      faultAt: number;
      pauseMs: number;
      published: number;
      lastTs: string;
      patients: string[];
    }

    /**
     * Drives `patients` (numbers in the integration ward) through the deterioration with `fault`
     * happening in the medium phase: phase 0 until every patient's low-medium alert is out, phase 1
     * while the fault lasts, then phase 2. Returns once every reading is accounted for and every
     * patient's alert has reached high; asserts both.
     */
    async function stream(fault: string, numbers: number[], inject: (down: () => void) => Promise<void>, options: { afterRounds?: number; storeTimeoutMs?: number } = {}): Promise<StreamResult> {
      const ids = numbers.map((n) => String(n).padStart(3, '0'));
      const patients = ids.map((id) => `it-p${id}`);
      await Promise.all(ids.map((id) => device(`it-app${id}`)));
      const rejectedBefore = await rejectedTotal();
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
          publishes.push(devices.get(`it-app${id}`)!.publishAsync(`vw/v1/devices/it-app${id}/readings`, JSON.stringify(readings), { qos: 1 }));
        }
      };
      const tick = () => new Promise((r) => setTimeout(r, ROUND_MS));
      const hasSeverity = (patientId: string, severity: AlertSeverity) => alertsSeen.some((a) => a.patientId === patientId && a.cause === 'news2' && a.severity === severity);

      // Phase 0 until every patient has its low-medium alert: the fault then meets live alert state.
      let sinceAlert = 0;
      while (!patients.every((p) => hasSeverity(p, 'low-medium'))) {
        round(0);
        await tick();
        if (++sinceAlert > 120) throw new Error(`${fault}: no low-medium alert for ${patients.filter((p) => !hasSeverity(p, 'low-medium')).join(',')} before the fault`);
      }

      // The fault, while phase 1 goes on being published. The pause runs from the moment the fault has
      // taken effect (the service stopped, the process killed) to the first reading published after
      // that moment reaching InfluxDB.
      let faultAt = 0;
      let firstStoredAfter: number | undefined;
      let markDown!: () => void;
      const down = new Promise<void>((resolve) => (markDown = () => {
        faultAt ||= Date.now();
        resolve();
      }));
      const watcher = (async () => {
        await down;
        while (firstStoredAfter === undefined) {
          try {
            const found = await store.series(patients[0]!, 'spo2', { since: new Date(faultAt) });
            if (found.length) firstStoredAfter = Date.now();
          } catch {
            // InfluxDB may itself be the fault
          }
          if (firstStoredAfter === undefined) await new Promise((r) => setTimeout(r, 200));
          if (Date.now() - faultAt > 30 * 60_000) return;
        }
      })();
      let faultDone = false;
      let faultError: unknown;
      const injected = inject(markDown).then(
        () => void (faultDone = true),
        (error) => {
          faultError = error;
          faultDone = true;
        },
      );
      let during = 0;
      while (!faultDone || during < 4) {
        round(1);
        during++;
        await tick();
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
      await until('every device publish acknowledged', async () => {
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
        () => `every reading stored or rejected (${fault}: published ${published}, stored ${storedNow.size}, rejected ${rejected}; fault took effect at ${new Date(faultAt).toISOString()}; missing ${[...sent].filter((k) => !storedNow.has(k)).slice(0, 30).join(' ')})`,
        async () => {
          rejected = (await rejectedTotal()) - rejectedBefore;
          storedNow = await stored();
          return storedNow.size + rejected >= published;
        },
        options.storeTimeoutMs ?? 180_000,
        1_000,
      );
      const missing = [...sent].filter((k) => !storedNow.has(k));
      const extra = [...storedNow].filter((k) => !sent.has(k));
      if (missing.length) console.info(`[fault] ${fault}: ${missing.length} readings missing (fault at ${new Date(faultAt).toISOString()}): ${missing.slice(0, 40).join(' ')}`);
      expect({ fault, extra }).toEqual({ fault, extra: [] });
      expect({ fault, published, accounted: storedNow.size + rejected }).toEqual({ fault, published, accounted: published });
      expect({ fault, rejected, missing: missing.length }).toEqual({ fault, rejected: 0, missing: 0 });

      // Every patient's alert reached high, then: exactly one alert, its three rises once each.
      const news2High = (p: string) => alertsSeen.some((a) => a.patientId === p && a.cause === 'news2' && a.severity === 'high');
      await until(() => `every ${fault} patient's NEWS2 alert at high (missing: ${patients.filter((p) => !news2High(p)).join(',')})`, () => patients.every(news2High), 120_000);
      for (const p of patients) {
        const mine = alertsSeen.filter((a) => a.patientId === p);
        const byAlert = new Map<string, Map<number, Alert>>();
        for (const a of mine) {
          const revisions = byAlert.get(a.alertId) ?? new Map<number, Alert>();
          byAlert.set(a.alertId, revisions);
          const held = revisions.get(a.revision);
          // A redelivered copy of a revision is absorbed by revision, but must be the same alert.
          if (held) expect({ patient: p, copy: a }).toEqual({ patient: p, copy: held });
          else revisions.set(a.revision, a);
        }
        // One alert per cause, each cause once, its revisions 0..n with none missing.
        const alerts = [...byAlert.values()].map((revisions) => {
          const numbers = [...revisions.keys()].sort((a, b) => a - b);
          const first = revisions.get(numbers[0]!)!;
          return { cause: first.cause, revisions: numbers, severities: numbers.map((r) => revisions.get(r)!.severity) };
        });
        expect({ fault, patient: p, causes: alerts.map((a) => a.cause).sort() }).toEqual({ fault, patient: p, causes: EXPECTED_CAUSES });
        for (const a of alerts) expect({ fault, patient: p, cause: a.cause, revisions: a.revisions }).toEqual({ fault, patient: p, cause: a.cause, revisions: a.revisions.map((_, i) => i) });
        // The deterioration itself: NEWS2 low-medium, then medium, then high, each rise exactly once.
        expect({ fault, patient: p, news2: alerts.find((a) => a.cause === 'news2')?.severities }).toEqual({ fault, patient: p, news2: EXPECTED });
        // SpO2 91 twice raises the oximetry alerts, at their own severities.
        expect({ fault, patient: p, urgent: alerts.find((a) => a.cause === 'spo2-urgent-review')?.severities[0], emergency: alerts.find((a) => a.cause === 'spo2-emergency')?.severities[0] }).toEqual({
          fault,
          patient: p,
          urgent: 'medium',
          emergency: 'high',
        });
      }
      // The sink stored each alert at its newest revision.
      await until(`${fault}: the newest alert revisions in InfluxDB`, async () => {
        const inStore = (await store.alerts(['ward-it'], { since: new Date(firstTs - 60_000) })).filter((a) => patients.includes(a.patientId) && a.cause === 'news2');
        return inStore.length === patients.length && inStore.every((a) => a.revision === 2 && a.severity === 'high');
      }, 60_000, 1_000);

      await watcher;
      const pauseMs = firstStoredAfter! - faultAt;
      pauses.push({ fault, pauseMs });
      console.info(`[fault] ${fault}: pause ${(pauseMs / 1000).toFixed(1)} s from the fault to the first reading stored after it; ${published} readings published, ${storedNow.size} stored, ${rejected} rejected`);
      return { faultAt, pauseMs, published, lastTs: new Date(lastTs).toISOString(), patients };
    }

    /** SIGKILLs a role mid-stream and starts a new process of it on the same configuration. */
    const killAndRestart = (name: string, role: string) => async (down: () => void) => {
      if (name === 'ingest') rejectedByKilledIngest += await metricOf(roles.ingest!.url, 'vw_readings_rejected_total');
      await roles[name]!.kill('SIGKILL');
      down();
      // The stream goes on without it for a moment before it comes back.
      await new Promise((r) => setTimeout(r, 2_000));
      await start(name, role);
    };

    beforeAll(async () => {
      Object.assign(env, roleEnvOnServices(prefix, tokenSecret));
      const fresh = await freshInfluxBucket(prefix);
      dropBucket = fresh.drop;
      env.VW_INFLUX_BUCKET = fresh.bucket;
      store = createInfluxStore({ ...services.influx!, bucket: fresh.bucket, maxBufferPoints: 10_000, retry: { attempts: 1, initialMs: 100, maxMs: 100 } });
      // The ingest process creates the topics; the others start once they exist.
      await start('ingest', 'ingest');
      await Promise.all([start('rules', 'rules'), start('sink', 'sink'), start('feed', 'feed')]);
      observer = await createKafkaBus({
        brokers: services.kafkaBrokers!.split(','),
        clientId: 'vw-fault-observer',
        prefix,
        partitions: 8,
        replicationFactor: 1,
        topics: Object.values(Topics) as TopicSpec<unknown>[],
      });
      await observer.consume({ groupId: 'observer-alerts', fromBeginning: true, topics: [on(Topics.alerts, async ({ value }) => void alertsSeen.push(value))] });
    }, 180_000);

    afterAll(async () => {
      mkdirSync('test-results', { recursive: true });
      const count = new Map<string, number>();
      for (const { name, role } of incarnations) {
        const n = (count.get(name) ?? 0) + 1;
        count.set(name, n);
        writeFileSync(`test-results/faults-${name}-${n}.log`, role.output());
      }
      if (pauses.length) console.info(`[fault] pauses:\n${pauses.map((p) => `  ${p.fault}: ${(p.pauseMs / 1000).toFixed(1)} s`).join('\n')}`);
      await Promise.all([...devices.values()].map((c) => c.endAsync(true).catch(() => {})));
      await observer?.close().catch(() => {});
      await Promise.all(Object.values(roles).map((r) => r.kill('SIGTERM')));
      await dropBucket().catch(() => {});
    }, 90_000);

    it('loses no reading and duplicates no alert when the Kafka broker restarts mid-stream', async () => {
      await stream('Kafka restarted', [2, 3, 4, 5, 6, 7], async (down) => {
        await controlService('stop', 'kafka');
        down();
        await controlService('start', 'kafka');
      }, { afterRounds: 20 });
      for (const [name, role] of Object.entries(roles)) expect({ name, exit: role.child.exitCode }).toEqual({ name, exit: null });
    }, 600_000);

    it(`holds and retries readings while InfluxDB is down (${INFLUX_DOWN_SECONDS} s)`, async () => {
      const { pauseMs } = await stream(`InfluxDB down ${INFLUX_DOWN_SECONDS} s`, [8, 9, 10, 11, 12, 13], async (down) => {
        await controlService('stop', 'influxdb');
        down();
        await new Promise((r) => setTimeout(r, INFLUX_DOWN_SECONDS * 1000));
        await controlService('start', 'influxdb');
      }, { storeTimeoutMs: 300_000 });
      expect(pauseMs).toBeGreaterThanOrEqual(INFLUX_DOWN_SECONDS * 1000);
      expect(roles.sink!.child.exitCode).toBeNull();
    }, INFLUX_DOWN_SECONDS * 1000 + 600_000);

    it('loses no reading when Mosquitto restarts: devices and ingest reconnect, re-sent messages are absorbed', async () => {
      await stream('Mosquitto restarted', [14, 15, 16, 17, 18, 19], async (down) => {
        await controlService('stop', 'mosquitto');
        down();
        await controlService('start', 'mosquitto');
      });
      expect(roles.ingest!.child.exitCode).toBeNull();
    }, 600_000);

    it('loses no reading when the sink is killed mid-stream and restarted', async () => {
      await stream('sink killed', [20, 21, 22, 23, 24, 25], killAndRestart('sink', 'sink'));
    }, 600_000);

    it('loses no reading when ingest is killed mid-stream and restarted', async () => {
      await stream('ingest killed', [32, 33, 34, 35, 36, 37], killAndRestart('ingest', 'ingest'));
    }, 600_000);

    it('gives a reconnecting console a correct snapshot when the feed is killed mid-stream and restarted', async () => {
      const token = await createTokenAuthority({ secret: tokenSecret, issuer: 'vw' }).issue({ sub: 'nurse.faults', wards: ['ward-it'] });
      const open = async () => {
        const ward = await connectConsole(roles.feed!.url);
        ward.send({ type: 'hello', token });
        ward.send({ type: 'subscribe', wardId: 'ward-it' });
        await ward.waitFor(isType('snapshot'), 30_000);
        return ward;
      };
      const before = await open();
      let reconnectedAt = 0;
      let firstLiveAfter = 0;
      let consoleAfter: Awaited<ReturnType<typeof open>> | undefined;
      const numbers = [26, 27, 28, 29, 30, 31];
      const result = await stream('feed killed', numbers, async (down) => {
        const killedAt = Date.now();
        await killAndRestart('feed', 'feed')(down);
        // The console's socket went with the process; it connects to the new one.
        await before.waitClosed(10_000);
        consoleAfter = await open();
        reconnectedAt = Date.now() - killedAt;
        // A live reading after the reconnect: the console is following the ward again.
        const live = await consoleAfter.waitFor((f): f is Extract<typeof f, { type: 'reading' }> => f.type === 'reading' && numbers.some((n) => f.reading.patientId === `it-p${String(n).padStart(3, '0')}`), 60_000);
        firstLiveAfter = Date.now() - killedAt;
        expect(live.reading.wardId).toBe('ward-it');
      });
      console.info(`[fault] feed killed: console reconnected with a snapshot after ${(reconnectedAt / 1000).toFixed(1)} s, first live reading after ${(firstLiveAfter / 1000).toFixed(1)} s`);
      // A console connecting now gets the ward as it is: each patient's one alert at its newest
      // revision (high), and the last readings published.
      let problems: string[] = [];
      await until(() => `a correct snapshot (${problems.join('; ')})`, async () => {
        const ward = await open();
        const snapshot = (await ward.waitFor(isType('snapshot'), 30_000));
        ward.close();
        problems = [];
        for (const p of result.patients) {
          const alerts = snapshot.alerts.filter((a) => a.patientId === p && a.cause === 'news2');
          const causes = snapshot.alerts.filter((a) => a.patientId === p).map((a) => a.cause).sort();
          if (JSON.stringify(causes) !== JSON.stringify(EXPECTED_CAUSES)) problems.push(`${p} alert causes ${causes.join(',')}`);
          if (alerts.length !== 1 || alerts[0]!.revision !== 2 || alerts[0]!.severity !== 'high') problems.push(`${p} alerts ${JSON.stringify(alerts.map((a) => [a.revision, a.severity]))}`);
          const view = snapshot.patients.find((v) => v.patientId === p);
          for (const type of ['respiratory_rate', 'spo2', 'heart_rate'] as const) {
            if (view?.latest[type]?.ts !== result.lastTs) problems.push(`${p} latest ${type} ${view?.latest[type]?.ts} not ${result.lastTs}`);
          }
        }
        return problems.length === 0;
      }, 60_000, 1_000);
      consoleAfter?.close();
    }, 600_000);
  },
);
