import { mkdirSync, writeFileSync } from 'node:fs';
import { ConfigResourceTypes, Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { on, type Bus, type TopicSpec } from '../../src/bus/bus.ts';
import { createKafkaBus } from '../../src/bus/kafka-bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import type { Alert, AlertSeverity } from '../../src/domain/index.ts';
import { devicePassword } from '../../src/mqtt/credentials.ts';
import { createInfluxStore } from '../../src/store/influx-store.ts';
import { metricOf, startRole, type RoleProcess } from '../support/processes.ts';
import {
  clusterController,
  controlClusterBroker,
  describeWithCluster,
  freshInfluxBucket,
  kafkaCluster,
  roleEnvOnCluster,
  runPrefix,
  services,
} from '../support/services.ts';

/**
 * vw on the deployment a trust runs when one Kafka broker is not enough: three brokers (combined
 * broker and KRaft controller, `scripts/services.sh cluster up`), vw's topics replicated three times
 * with min.insync.replicas 2, producers on acks=all. Ingest, rules and sink run as their own
 * processes against the cluster, with the real Mosquitto and InfluxDB of `scripts/services.sh up`.
 *
 * Six patients go through a known deterioration over Mosquitto (NEWS2 low-medium, then medium, then
 * high, as in test/integration/faults.test.ts) while one broker is killed with SIGKILL mid-stream: the
 * broker leading partitions the patients' readings are written to, and the active controller when it
 * is one of those. Then: readings published = stored + rejected, exactly, none missing; each patient's
 * alerts raised exactly once each; every role process still running. The pause the kill caused (from
 * the kill to the first reading published after it being stored in InfluxDB) is printed.
 */
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

await describeWithCluster(
  ['MQTT_URL', 'MQTT_USERNAME', 'MQTT_PASSWORD', 'VW_MQTT_DEVICE_SECRET', 'INFLUX_URL', 'INFLUX_TOKEN', 'INFLUX_BUCKET'],
  'vw on a three-broker Kafka cluster loses nothing when a broker is killed',
  () => {
    const prefix = runPrefix();
    const tokenSecret = 'cluster-secret-cluster-secret-cluster-secret';
    const env: Record<string, string> = {};
    const roles: Record<string, RoleProcess> = {};
    const devices = new Map<string, MqttClient>();
    let store: ReturnType<typeof createInfluxStore>;
    let dropBucket = async () => {};
    let observer: Bus | undefined;
    let admin: Admin | undefined;
    const alertsSeen: Alert[] = [];
    /** The tests that passed: the run's data is deleted only when both did. */
    const passes = new Set<string>();
    const passed = () => passes.size === 2;
    /** The node killed, to start again after the test (also when it failed). */
    let killed: number | undefined;

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
    const brokersListed = async () => (await admin!.describeCluster()).brokers.length;
    const topicName = (topic: TopicSpec<unknown>) => `${prefix}${topic.name}`;

    /** A device as a real one behaves: persistent session, automatic reconnects (as in faults.test.ts). */
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

    beforeAll(async () => {
      admin = new Kafka({ clientId: 'vw-cluster-test', brokers: kafkaCluster.brokers!.split(','), logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      // A previous run that failed may have left a broker down: topics replicated three times need all three.
      await until('three brokers in the cluster', async () => (await brokersListed()) === 3, 120_000, 1_000);
      Object.assign(env, roleEnvOnCluster(prefix, tokenSecret));
      const fresh = await freshInfluxBucket(prefix);
      dropBucket = fresh.drop;
      env.VW_INFLUX_BUCKET = fresh.bucket;
      store = createInfluxStore({ ...services.influx!, bucket: fresh.bucket, maxBufferPoints: 10_000, retry: { attempts: 1, initialMs: 100, maxMs: 100 } });
      // The ingest process creates the topics (replication factor and min.insync.replicas from its
      // configuration); the others start once they exist.
      roles.ingest = await startRole('ingest', env);
      const starting = await Promise.allSettled([startRole('rules', env), startRole('sink', env)]);
      for (const [i, name] of ['rules', 'sink'].entries()) {
        const s = starting[i]!;
        if (s.status === 'fulfilled') roles[name] = s.value;
      }
      const failed = starting.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      observer = await createKafkaBus({
        brokers: kafkaCluster.brokers!.split(','),
        clientId: 'vw-cluster-observer',
        prefix,
        partitions: 8,
        replicationFactor: 3,
        minInsyncReplicas: 2,
        topics: Object.values(Topics) as TopicSpec<unknown>[],
      });
      await observer.consume({ groupId: 'observer-alerts', fromBeginning: true, topics: [on(Topics.alerts, async ({ value }) => void alertsSeen.push(value))] });
    }, 240_000);

    afterAll(async () => {
      mkdirSync('test-results', { recursive: true });
      for (const [name, role] of Object.entries(roles)) writeFileSync(`test-results/kafka-cluster-${name}.log`, role.output());
      await Promise.all([...devices.values()].map((c) => c.endAsync(true).catch(() => {})));
      await observer?.close().catch(() => {});
      await Promise.all(Object.values(roles).map((r) => r.kill('SIGTERM')));
      // A failed run's data stays for diagnosis (its topics on the cluster, its InfluxDB database).
      if (passed()) await dropBucket().catch(() => {});
      else console.warn(`[cluster] run ${prefix} failed: its topics and InfluxDB database are kept`);
      // The cluster whole again for the next run, without this run's topics.
      if (killed !== undefined) await controlClusterBroker('start', killed).catch((error) => console.warn(String(error)));
      if (admin && passed()) {
        const mine = (await admin.listTopics().catch(() => [] as string[])).filter((t) => t.startsWith(prefix));
        if (mine.length) await admin.deleteTopics({ topics: mine }).catch((error) => console.warn(`could not delete ${mine.length} topics: ${String(error)}`));
      }
      await admin?.disconnect().catch(() => {});
    }, 240_000);

    it('creates vw’s topics on all three brokers, with min.insync.replicas 2', async () => {
      // The broker asked may hear of a topic just created a moment after the others.
      let topics: Awaited<ReturnType<Admin['fetchTopicMetadata']>>['topics'] = [];
      await until('the topics’ metadata', async () => {
        topics = (await admin!.fetchTopicMetadata({ topics: (Object.values(Topics) as TopicSpec<unknown>[]).map(topicName) })).topics;
        return true;
      }, 30_000, 500);
      for (const t of topics) {
        expect({ topic: t.name, partitions: t.partitions.length }).toEqual({ topic: t.name, partitions: 8 });
        for (const p of t.partitions) expect({ topic: t.name, partition: p.partitionId, replicas: p.replicas.length }).toEqual({ topic: t.name, partition: p.partitionId, replicas: 3 });
      }
      const described = await admin!.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.name, configNames: ['min.insync.replicas'] })),
      });
      for (const r of described.resources) {
        const entry = r.configEntries.find((e) => e.configName === 'min.insync.replicas');
        expect({ topic: r.resourceName, minInsyncReplicas: entry?.configValue }).toEqual({ topic: r.resourceName, minInsyncReplicas: '2' });
      }
      // The bus sets it on the topics it creates (a topic-level setting, not only the brokers' default).
      const scratch = `${prefix}misr.`;
      const bus = await createKafkaBus({ brokers: kafkaCluster.brokers!.split(','), clientId: 'vw-cluster-scratch', prefix: scratch, partitions: 1, replicationFactor: 3, minInsyncReplicas: 2, topics: [Topics.readings as TopicSpec<unknown>] });
      await bus.close();
      let entry: { configValue: string; configSource?: number } | undefined;
      await until('the new topic’s configuration', async () => {
        const own = await admin!.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: `${scratch}${Topics.readings.name}`, configNames: ['min.insync.replicas'] }] });
        entry = own.resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas');
        return entry !== undefined;
      }, 30_000, 500);
      // configSource 1 is TOPIC_CONFIG (DescribeConfigs): set on the topic itself.
      expect({ value: entry?.configValue, source: entry?.configSource }).toEqual({ value: '2', source: 1 });
      await admin!.deleteTopics({ topics: [`${scratch}${Topics.readings.name}`] }).catch(() => {});
      passes.add('topics');
    }, 90_000);

    it('loses no reading and raises every alert exactly once when a broker is killed mid-stream', async () => {
      const ids = [2, 3, 4, 5, 6, 7].map((n) => String(n).padStart(3, '0'));
      const patients = ids.map((id) => `it-p${id}`);
      await Promise.all(ids.map((id) => device(`it-app${id}`)));
      const rejectedBefore = await metricOf(roles.ingest!.url, 'vw_readings_rejected_total');
      const sent = new Set<string>();
      const publishes: Array<Promise<unknown>> = [];
      let firstTs = Infinity;
      let lastTs = 0;
      const round = (phase: Phase) => {
        let ts = Date.now();
        if (ts <= lastTs) ts = lastTs + 1;
        firstTs = Math.min(firstTs, ts);
        lastTs = ts;
        const iso = new Date(ts).toISOString();
        for (const id of ids) {
          const readings = readingsOf(phase, iso);
          for (const r of readings) sent.add(`it-p${id}|${r.type}|${iso}`);
          publishes.push(devices.get(`it-app${id}`)!.publishAsync(`vw/v1/devices/it-app${id}/readings`, JSON.stringify(readings), { qos: 1 }));
        }
      };
      const tick = () => new Promise((r) => setTimeout(r, ROUND_MS));
      const hasSeverity = (patientId: string, severity: AlertSeverity) => alertsSeen.some((a) => a.patientId === patientId && a.cause === 'news2' && a.severity === severity);

      // Phase 0 until every patient has its low-medium alert: the kill then meets live alert state.
      let rounds = 0;
      while (!patients.every((p) => hasSeverity(p, 'low-medium'))) {
        round(0);
        await tick();
        if (++rounds > 120) throw new Error(`no low-medium alert for ${patients.filter((p) => !hasSeverity(p, 'low-medium')).join(',')} before the kill`);
      }

      // The broker to kill: one leading partitions the patients' readings are written to, the active
      // controller if it is one of them, else the one leading most of those partitions.
      const readingsTopic = topicName(Topics.readings as TopicSpec<unknown>);
      const [metadata] = (await admin!.fetchTopicMetadata({ topics: [readingsTopic] })).topics;
      const partitionOf = Partitioners.DefaultPartitioner();
      const leaders = new Map<number, number>();
      for (const p of patients) {
        const partition = partitionOf({ topic: readingsTopic, partitionMetadata: metadata!.partitions, message: { key: p, value: null } });
        const leader = metadata!.partitions.find((m) => m.partitionId === partition)!.leader;
        leaders.set(leader, (leaders.get(leader) ?? 0) + 1);
      }
      const controller = await clusterController();
      const target = leaders.has(controller) ? controller : [...leaders].sort((a, b) => b[1] - a[1])[0]![0];
      const why = `leader of the readings partitions of ${leaders.get(target)} of the ${patients.length} patients${target === controller ? ', and the active controller' : ` (the controller is node ${controller})`}`;

      // Phase 1 (medium) goes on being published while the broker dies and its partitions fail over.
      let firstStoredAfter: number | undefined;
      let killedAt = 0;
      let killError: unknown;
      const kill = controlClusterBroker('kill', target).then(
        () => {
          killedAt = Date.now();
          killed = target;
        },
        (error) => void (killError = error ?? new Error('kill failed')),
      );
      let watching = true;
      const watchDeadline = Date.now() + 600_000;
      const watcher = (async () => {
        while (!killedAt && !killError && Date.now() < watchDeadline) await new Promise((r) => setTimeout(r, 50));
        while (firstStoredAfter === undefined && watching && !killError && Date.now() < watchDeadline) {
          try {
            for (const p of patients) {
              if ((await store.series(p, 'spo2', { since: new Date(killedAt) })).length) {
                firstStoredAfter ??= Date.now();
                break;
              }
            }
          } catch {
            // InfluxDB busy: the next poll
          }
          if (firstStoredAfter === undefined) await new Promise((r) => setTimeout(r, 200));
        }
      })();
      const phase1Deadline = Date.now() + 120_000;
      let during = 0;
      // Until readings published after the kill are being stored again, then a few rounds more.
      while (!killError && (!killedAt || firstStoredAfter === undefined || during < 6)) {
        round(1);
        if (killedAt && firstStoredAfter !== undefined) during++;
        await tick();
        if (Date.now() > phase1Deadline) break;
      }
      await kill;
      if (killError) throw killError;
      // Phase 2 (high) on two brokers.
      for (let i = 0; i < 10; i++) {
        round(2);
        await tick();
      }
      const published = sent.size;

      await until('every device publish acknowledged by Mosquitto', async () => Promise.race([Promise.allSettled(publishes).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1_000))]), 120_000);
      const failedPublishes = (await Promise.allSettled(publishes)).filter((p) => p.status === 'rejected');
      expect(failedPublishes.map((p) => String((p as PromiseRejectedResult).reason))).toEqual([]);

      // Every reading stored or rejected.
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
        () => `every reading stored or rejected (published ${published}, stored ${storedNow.size}, rejected ${rejected}; node ${target} killed at ${new Date(killedAt).toISOString()}; missing ${[...sent].filter((k) => !storedNow.has(k)).slice(0, 30).join(' ')})`,
        async () => {
          rejected = (await metricOf(roles.ingest!.url, 'vw_readings_rejected_total')) - rejectedBefore;
          storedNow = await stored();
          return storedNow.size + rejected >= published;
        },
        180_000,
        1_000,
      );
      watching = false;
      await watcher;
      const missing = [...sent].filter((k) => !storedNow.has(k));
      const extra = [...storedNow].filter((k) => !sent.has(k));
      expect(extra).toEqual([]);
      expect({ published, accounted: storedNow.size + rejected }).toEqual({ published, accounted: published });
      expect({ rejected, missing: missing.length }).toEqual({ rejected: 0, missing: 0 });

      // Every patient's alert reached high; exactly one alert per cause, each rise once.
      const news2High = (p: string) => alertsSeen.some((a) => a.patientId === p && a.cause === 'news2' && a.severity === 'high');
      await until(() => `every patient's NEWS2 alert at high (missing: ${patients.filter((p) => !news2High(p)).join(',')})`, () => patients.every(news2High), 120_000);
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
        const alerts = [...byAlert.values()].map((revisions) => {
          const numbers = [...revisions.keys()].sort((a, b) => a - b);
          return { cause: revisions.get(numbers[0]!)!.cause, revisions: numbers, severities: numbers.map((r) => revisions.get(r)!.severity) };
        });
        expect({ patient: p, causes: alerts.map((a) => a.cause).sort() }).toEqual({ patient: p, causes: EXPECTED_CAUSES });
        for (const a of alerts) expect({ patient: p, cause: a.cause, revisions: a.revisions }).toEqual({ patient: p, cause: a.cause, revisions: a.revisions.map((_, i) => i) });
        expect({ patient: p, news2: alerts.find((a) => a.cause === 'news2')?.severities }).toEqual({ patient: p, news2: EXPECTED });
        expect({ patient: p, urgent: alerts.find((a) => a.cause === 'spo2-urgent-review')?.severities[0], emergency: alerts.find((a) => a.cause === 'spo2-emergency')?.severities[0] }).toEqual({
          patient: p,
          urgent: 'medium',
          emergency: 'high',
        });
      }
      // The sink stored each NEWS2 alert at its newest revision.
      await until('the newest alert revisions in InfluxDB', async () => {
        const inStore = (await store.alerts(['ward-it'], { since: new Date(firstTs - 60_000) })).filter((a) => patients.includes(a.patientId) && a.cause === 'news2');
        return inStore.length === patients.length && inStore.every((a) => a.revision === 2 && a.severity === 'high');
      }, 60_000, 1_000);
      for (const [name, role] of Object.entries(roles)) expect({ name, exit: role.child.exitCode }).toEqual({ name, exit: null });

      expect(firstStoredAfter).toBeDefined();
      const pauseMs = firstStoredAfter! - killedAt;
      console.info(
        `[cluster] node ${target} killed (SIGKILL; ${why}): pause ${(pauseMs / 1000).toFixed(1)} s from the kill to the first reading published after it stored; ` +
          `${published} readings published, ${storedNow.size} stored, ${rejected} rejected; ${patients.length * EXPECTED_CAUSES.length} alerts as expected, in ${records} alert records (${copies} redelivered copies of a revision)`,
      );

      // The killed broker rejoins and catches up: the readings topic is fully replicated again.
      const restartAt = Date.now();
      await controlClusterBroker('start', target);
      killed = undefined;
      await until('the killed broker back in every readings partition’s ISR', async () => {
        const [t] = (await admin!.fetchTopicMetadata({ topics: [readingsTopic] })).topics;
        return t!.partitions.every((p) => p.isr.length === 3);
      }, 120_000, 1_000);
      passes.add('kill');
      console.info(`[cluster] node ${target} restarted and back in sync on every readings partition ${((Date.now() - restartAt) / 1000).toFixed(1)} s after its start`);
    }, 600_000);
  },
);
