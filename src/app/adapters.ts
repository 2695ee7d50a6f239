import type { Bus, TopicSpec } from '../bus/bus.ts';
import { createKafkaBus } from '../bus/kafka-bus.ts';
import { Topics } from '../bus/topics.ts';
import { RulesStateTopic } from '../rules/state-record.ts';
import type { BusEvents } from '../bus/events.ts';
import { createMemoryBus, openDurableMemoryBus } from '../bus/memory-bus.ts';
import { join } from 'node:path';
import { openDurableMemoryStore } from '../store/durable-store.ts';
import { readPemFiles, serverTls, type Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import { startEmbeddedBroker, type EmbeddedDeviceCredentials } from '../mqtt/embedded-broker.ts';
import type { DeviceMessageSource } from '../ingest/message-source.ts';
import { subscriptionSource } from '../mqtt/subscription-source.ts';
import { DEVICE_TOPIC_FILTER } from '../ingest/topic.ts';
import { createInfluxStore } from '../store/influx-store.ts';
import { createMemoryStore } from '../store/memory-store.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { CapacityCredentials } from '../capacity/credentials.ts';
import type { CapacityEdge } from '../capacity/edge.ts';
import { receiveCapacityMessage } from '../capacity/broker-message.ts';
import { startCapacitySubscription } from '../mqtt/capacity-subscription.ts';
import type { TimeSeriesStore } from '../store/store.ts';

/**
 * The only place that knows which bus, store and broker are configured. Roles receive the small
 * interfaces and never branch on the implementation behind them.
 */
/** Every topic vw's roles use: the contracts between them, and the rules role's changelog. */
export const VW_TOPICS: TopicSpec<unknown>[] = [...(Object.values(Topics) as TopicSpec<unknown>[]), RulesStateTopic as TopicSpec<unknown>];

export async function createBus(config: Config, events: BusEvents, logger: Logger): Promise<Bus> {
  switch (config.bus.kind) {
    case 'memory': {
      if (!config.durable) return createMemoryBus({ partitions: config.bus.partitions, events });
      const dir = join(config.dataDir, 'bus');
      const log = logger.child({ component: 'bus-journal' });
      const opened = await openDurableMemoryBus({
        dir,
        partitions: config.bus.partitions,
        events,
        topics: VW_TOPICS,
        onSkipped: (file, line, reason) => log.warn({ file, line, reason }, 'skipped a damaged line of the bus journal'),
      });
      log.info({ dir, entries: opened.recovered.entries, skipped: opened.recovered.skipped, bytes: opened.diskBytes() }, 'in-process bus kept in the data directory');
      return opened.bus;
    }
    case 'kafka':
      return createKafkaBus({
        brokers: config.kafka.brokers,
        clientId: config.kafka.clientId,
        prefix: config.kafka.prefix,
        partitions: config.bus.partitions,
        replicationFactor: config.kafka.replicationFactor,
        ...(config.kafka.minInsyncReplicas !== undefined ? { minInsyncReplicas: config.kafka.minInsyncReplicas } : {}),
        topics: VW_TOPICS,
        events,
        ...(config.kafka.ssl ? { ssl: config.kafka.caFile ? { ca: readPemFiles({ ca: config.kafka.caFile }).ca! } : true } : {}),
        ...(config.kafka.saslMechanism && config.kafka.saslUsername && config.kafka.saslPassword
          ? { sasl: { mechanism: config.kafka.saslMechanism, username: config.kafka.saslUsername, password: config.kafka.saslPassword } }
          : {}),
      });
  }
}

export async function createStore(config: Config, metrics: Metrics, logger: Logger): Promise<TimeSeriesStore> {
  switch (config.store.kind) {
    case 'memory': {
      const limits = { retentionHours: config.store.retentionHours, maxPointsPerSeries: config.store.maxPointsPerSeries, maxPoints: config.store.maxPoints };
      if (!config.durable) return createMemoryStore(limits);
      const dir = join(config.dataDir, 'store');
      const log = logger.child({ component: 'store-journal' });
      const opened = await openDurableMemoryStore({ ...limits, dir, onSkipped: (file, line, reason) => log.warn({ file, line, reason }, 'skipped a damaged line of the store journal') });
      log.info({ dir, entries: opened.recovered.entries, skipped: opened.recovered.skipped, bytes: opened.diskBytes() }, 'in-memory store kept in the data directory');
      return opened.store;
    }
    case 'influxdb': {
      const log = logger.child({ component: 'influxdb' });
      return createInfluxStore({
        url: config.influx.url,
        token: config.influx.token,
        org: config.influx.org,
        bucket: config.influx.bucket,
        maxBufferPoints: config.influx.maxBufferPoints,
        ...(config.influx.caFile ? { ca: readPemFiles({ ca: config.influx.caFile }).ca! } : {}),
        retry: { attempts: config.influx.retryAttempts, initialMs: 200, maxMs: 5_000 },
        onRetry: (attempt, error) => {
          metrics.storeWriteRetries.inc();
          log.warn({ attempt, err: error }, 'InfluxDB write failed; retrying');
        },
        onOverflow: (points) => {
          metrics.storeOverflow.inc(points);
          log.error({ points, max: config.influx.maxBufferPoints }, 'InfluxDB write buffer full: write refused; the bus will redeliver');
        },
      });
    }
  }
}

/**
 * Where ingest's device messages come from: the embedded broker hands them over in-process; an
 * external broker's are taken by subscription (shared when several ingest processes form a group).
 * The embedded broker signs devices in with `devices` (their passwords derived from its secret).
 */
export async function deviceMessageSource(
  config: Config,
  logger: Logger,
  capacity: { credentials: CapacityCredentials; edge: CapacityEdge },
  devices: () => Promise<EmbeddedDeviceCredentials>,
): Promise<{ url: string; source: DeviceMessageSource; close(): Promise<void>; connected(): boolean; embedded?: { retainedTopics(filter?: string): Promise<string[]>; observe(filter: string, onMessage: (topic: string, payload: Buffer) => void): () => Promise<void> } }> {
  if (config.mqtt.url === 'embedded') {
    const tls = serverTls(config);
    const broker = await startEmbeddedBroker({
      host: config.mqtt.embeddedHost,
      port: config.mqtt.embeddedPort,
      logger,
      devices: await devices(),
      capacity: { credentials: capacity.credentials, onMessage: (topic, payload) => receiveCapacityMessage({ ...capacity, logger }, topic, payload) },
      ...(tls ? { tls } : {}),
    });
    return { url: broker.url, source: broker.deviceMessages(), close: broker.close, connected: () => true, embedded: { retainedTopics: broker.retainedTopics, observe: broker.observe } };
  }
  const { mqtt } = config;
  const clientTls = mqtt.url.startsWith('mqtts://') ? readPemFiles({ ca: mqtt.caFile, cert: mqtt.clientCertFile, key: mqtt.clientKeyFile }) : undefined;
  const source = subscriptionSource({
    url: mqtt.url,
    clientId: mqtt.clientId,
    ...(mqtt.username ? { username: mqtt.username } : {}),
    ...(mqtt.password ? { password: mqtt.password } : {}),
    ...(clientTls ? { tls: clientTls } : {}),
    filter: mqtt.sharedGroup ? `$share/${mqtt.sharedGroup}/${DEVICE_TOPIC_FILTER}` : DEVICE_TOPIC_FILTER,
    logger: logger.child({ role: 'ingest' }),
  });
  // Capacity sources publish on the same broker, on topics of their own; ingest processes sharing the
  // device messages share these too, so each snapshot is taken once.
  const capacitySubscription = startCapacitySubscription({
    ...(mqtt.sharedGroup ? { sharedGroup: mqtt.sharedGroup } : {}),
    url: mqtt.url,
    clientId: `${mqtt.clientId}-capacity`,
    ...(mqtt.username ? { username: mqtt.username } : {}),
    ...(mqtt.password ? { password: mqtt.password } : {}),
    ...(clientTls ? { tls: clientTls } : {}),
    ...capacity,
    logger,
  });
  await capacitySubscription.ready;
  return { url: mqtt.url, source, close: capacitySubscription.stop, connected: capacitySubscription.connected };
}
