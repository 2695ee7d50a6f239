import { mkdirSync, writeFileSync } from 'node:fs';
import { ConfigResourceTypes, Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Bus, TopicSpec } from '../../src/bus/bus.ts';
import { createKafkaBus } from '../../src/bus/kafka-bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import { VW_TOPICS } from '../../src/app/adapters.ts';
import type { Alert } from '../../src/domain/index.ts';
import { createInfluxStore } from '../../src/store/influx-store.ts';
import { EXPECTED_CAUSES, observeTopics, persistentDevices, streamFault, until } from '../support/fault-stream.ts';
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
await describeWithCluster(
  ['MQTT_URL', 'MQTT_USERNAME', 'MQTT_PASSWORD', 'VW_MQTT_DEVICE_SECRET', 'INFLUX_URL', 'INFLUX_TOKEN', 'INFLUX_BUCKET'],
  'vw on a three-broker Kafka cluster loses nothing when a broker is killed',
  () => {
    const prefix = runPrefix();
    const tokenSecret = 'cluster-secret-cluster-secret-cluster-secret';
    const env: Record<string, string> = {};
    const roles: Record<string, RoleProcess> = {};
    /** Devices as real ones behave: persistent session, automatic reconnects (as in faults.test.ts). */
    const devices = persistentDevices(prefix);
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

    const brokersListed = async () => (await admin!.describeCluster()).brokers.length;
    const topicName = (topic: TopicSpec<unknown>) => `${prefix}${topic.name}`;

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
      observer = await observeTopics({ brokers: kafkaCluster.brokers!.split(','), clientId: 'vw-cluster-observer', prefix, replicationFactor: 3, minInsyncReplicas: 2 }, { alerts: alertsSeen });
    }, 240_000);

    afterAll(async () => {
      mkdirSync('test-results', { recursive: true });
      for (const [name, role] of Object.entries(roles)) writeFileSync(`test-results/kafka-cluster-${name}.log`, role.output());
      await devices.closeAll();
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
        topics = (await admin!.fetchTopicMetadata({ topics: VW_TOPICS.map(topicName) })).topics;
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
      const readingsTopic = topicName(Topics.readings as TopicSpec<unknown>);
      let target: number | undefined;
      let why = '';
      // Phase 1 (medium) goes on being published while the broker dies and its partitions fail over,
      // until readings published after the kill are being stored again, then a few rounds more;
      // phase 2 (high) on two brokers.
      const result = await streamFault(
        { store, devices, alertsSeen, rejectedTotal: () => metricOf(roles.ingest!.url, 'vw_readings_rejected_total') },
        [2, 3, 4, 5, 6, 7],
        async (down) => {
          await controlClusterBroker('kill', target!);
          killed = target;
          down();
        },
        {
          name: () => (target === undefined ? 'broker kill' : `node ${target} killed`),
          roundsAfterRecovery: 6,
          pauseOnAnyPatient: true,
          // The broker to kill: one leading partitions the patients' readings are written to, the active
          // controller if it is one of them, else the one leading most of those partitions.
          beforeFault: async (patients) => {
            const [metadata] = (await admin!.fetchTopicMetadata({ topics: [readingsTopic] })).topics;
            const partitionOf = Partitioners.DefaultPartitioner();
            const leaders = new Map<number, number>();
            for (const p of patients) {
              const partition = partitionOf({ topic: readingsTopic, partitionMetadata: metadata!.partitions, message: { key: p, value: null } });
              const leader = metadata!.partitions.find((m) => m.partitionId === partition)!.leader;
              leaders.set(leader, (leaders.get(leader) ?? 0) + 1);
            }
            const controller = await clusterController();
            target = leaders.has(controller) ? controller : [...leaders].sort((a, b) => b[1] - a[1])[0]![0];
            why = `leader of the readings partitions of ${leaders.get(target)} of the ${patients.length} patients${target === controller ? ', and the active controller' : ` (the controller is node ${controller})`}`;
          },
        },
      );
      const { patients, firstStoredAfter, pauseMs, published, stored, rejected, records, copies } = result;
      for (const [name, role] of Object.entries(roles)) expect({ name, exit: role.child.exitCode }).toEqual({ name, exit: null });

      expect(firstStoredAfter).toBeDefined();
      console.info(
        `[cluster] node ${target} killed (SIGKILL; ${why}): pause ${(pauseMs / 1000).toFixed(1)} s from the kill to the first reading published after it stored; ` +
          `${published} readings published, ${stored} stored, ${rejected} rejected; ${patients.length * EXPECTED_CAUSES.length} alerts as expected, in ${records} alert records (${copies} redelivered copies of a revision)`,
      );

      // The killed broker rejoins and catches up: the readings topic is fully replicated again.
      const restartAt = Date.now();
      await controlClusterBroker('start', target!);
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
