import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaClientOptions, producerSequenceBroken } from '../../../src/bus/kafka-bus.ts';

/** What the bus hands the kafkajs constructor: TLS and SASL only when configured. */
describe('kafkajs client options', () => {
  const base = { clientId: 'vw', brokers: ['kafka-1:9093', 'kafka-2:9093'] };

  it('are plaintext and unauthenticated by default', () => {
    const options = kafkaClientOptions(base);
    expect(options).toMatchObject({ clientId: 'vw', brokers: ['kafka-1:9093', 'kafka-2:9093'] });
    expect(options).not.toHaveProperty('ssl');
    expect(options).not.toHaveProperty('sasl');
    expect(kafkaClientOptions({ ...base, ssl: false })).not.toHaveProperty('ssl');
  });

  it('turn on TLS with the system CAs, or with a given CA', () => {
    expect(kafkaClientOptions({ ...base, ssl: true }).ssl).toBe(true);
    expect(kafkaClientOptions({ ...base, ssl: {} }).ssl).toBe(true);
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n');
    expect(kafkaClientOptions({ ...base, ssl: { ca } }).ssl).toEqual({ ca: [ca] });
  });

  it('pass each SASL mechanism with its username and password', () => {
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
      const options = kafkaClientOptions({ ...base, ssl: true, sasl: { mechanism, username: 'vw', password: 'pw' } });
      expect(options.sasl).toEqual({ mechanism, username: 'vw', password: 'pw' });
      expect(options.ssl).toBe(true);
    }
  });
});

describe('a producer the broker no longer takes sequences from', () => {
  // kafkajs's own errors, as its protocol layer builds them from the broker's error codes.
  const { createErrorFromCode } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { createErrorFromCode: (code: number) => Error };
  const { KafkaJSProtocolError, KafkaJSNonRetriableError } = kafkajs;

  it('is recognised from the broker’s answer, also when kafkajs wraps it', () => {
    expect(producerSequenceBroken(new KafkaJSProtocolError(createErrorFromCode(45)))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(producerSequenceBroken(new KafkaJSProtocolError(createErrorFromCode(59)))).toBe('UNKNOWN_PRODUCER_ID');
    expect(producerSequenceBroken(Object.assign(new KafkaJSNonRetriableError('retries ended'), { cause: new KafkaJSProtocolError(createErrorFromCode(47)) }))).toBe('INVALID_PRODUCER_EPOCH');
  });

  it('is not confused with errors a retry or a failover mends', () => {
    expect(producerSequenceBroken(new KafkaJSProtocolError(createErrorFromCode(6)))).toBeUndefined(); // NOT_LEADER_FOR_PARTITION
    expect(producerSequenceBroken(new KafkaJSProtocolError(createErrorFromCode(46)))).toBeUndefined(); // DUPLICATE_SEQUENCE_NUMBER: already written
    expect(producerSequenceBroken(new Error('connection closed'))).toBeUndefined();
    expect(producerSequenceBroken(undefined)).toBeUndefined();
  });
});
