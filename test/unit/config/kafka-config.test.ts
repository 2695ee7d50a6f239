import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/config.ts';

describe('Kafka topic durability settings', () => {
  it('leaves min.insync.replicas to the brokers unless it is set', () => {
    const config = loadConfig({});
    expect(config.kafka.replicationFactor).toBe(1);
    expect(config.kafka.minInsyncReplicas).toBeUndefined();
  });

  it('takes the replication factor and min.insync.replicas from the environment', () => {
    const config = loadConfig({ VW_KAFKA_REPLICATION_FACTOR: '3', VW_KAFKA_MIN_INSYNC_REPLICAS: '2' });
    expect(config.kafka).toMatchObject({ replicationFactor: 3, minInsyncReplicas: 2 });
  });

  it('takes them from the file too', () => {
    expect(loadConfig({}, { 'kafka.replicationFactor': 3, 'kafka.minInsyncReplicas': 3 }).kafka).toMatchObject({ replicationFactor: 3, minInsyncReplicas: 3 });
  });

  it('refuses a value that is not a positive whole number, naming the variable', () => {
    for (const value of ['0', '-1', '1.5', 'two']) {
      expect(() => loadConfig({ VW_KAFKA_REPLICATION_FACTOR: '3', VW_KAFKA_MIN_INSYNC_REPLICAS: value })).toThrow(/kafka\.minInsyncReplicas \(VW_KAFKA_MIN_INSYNC_REPLICAS\)/);
    }
  });

  it('refuses more in-sync replicas than replicas: no write could be acknowledged', () => {
    expect(() => loadConfig({ VW_KAFKA_MIN_INSYNC_REPLICAS: '2' })).toThrow(ConfigError);
    expect(() => loadConfig({ VW_KAFKA_MIN_INSYNC_REPLICAS: '2' })).toThrow(/kafka\.minInsyncReplicas \(VW_KAFKA_MIN_INSYNC_REPLICAS\): 2 is more than the replication factor \(1\)/);
    expect(loadConfig({ VW_KAFKA_REPLICATION_FACTOR: '2', VW_KAFKA_MIN_INSYNC_REPLICAS: '2' }).kafka.minInsyncReplicas).toBe(2);
  });
});
