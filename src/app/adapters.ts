import type { Bus, TopicSpec } from '../bus/bus.ts';
import { createKafkaBus } from '../bus/kafka-bus.ts';
import { Topics } from '../bus/topics.ts';
import type { BusEvents } from '../bus/events.ts';
import { createMemoryBus } from '../bus/memory-bus.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import { startEmbeddedBroker } from '../mqtt/embedded-broker.ts';
import { createInfluxStore } from '../store/influx-store.ts';
import { createMemoryStore } from '../store/memory-store.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { TimeSeriesStore } from '../store/store.ts';

/**
 * The only place that knows which bus, store and broker are configured. Roles receive the small
 * interfaces and never branch on the implementation behind them.
 */
export async function createBus(config: Config, events: BusEvents): Promise<Bus> {
  switch (config.bus.kind) {
    case 'memory':
      return createMemoryBus({ partitions: config.bus.partitions, events });
    case 'kafka':
      return createKafkaBus({
        brokers: config.kafka.brokers,
        clientId: config.kafka.clientId,
        prefix: config.kafka.prefix,
        partitions: config.bus.partitions,
        replicationFactor: config.kafka.replicationFactor,
        topics: Object.values(Topics) as TopicSpec<unknown>[],
        events,
      });
  }
}

export function createStore(config: Config, metrics: Metrics, logger: Logger): TimeSeriesStore {
  switch (config.store.kind) {
    case 'memory':
      return createMemoryStore({
        retentionHours: config.store.retentionHours,
        maxPointsPerSeries: config.store.maxPointsPerSeries,
      });
    case 'influxdb': {
      const log = logger.child({ component: 'influxdb' });
      return createInfluxStore({
        url: config.influx.url,
        token: config.influx.token,
        org: config.influx.org,
        bucket: config.influx.bucket,
        maxBufferPoints: config.influx.maxBufferPoints,
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

/** Resolves the broker URL ingest connects to, starting the embedded broker when configured. */
export async function resolveMqtt(config: Config, logger: Logger): Promise<{ url: string; close(): Promise<void> }> {
  if (config.mqtt.url !== 'embedded') return { url: config.mqtt.url, close: async () => {} };
  return startEmbeddedBroker({ host: config.mqtt.embeddedHost, port: config.mqtt.embeddedPort, logger });
}
