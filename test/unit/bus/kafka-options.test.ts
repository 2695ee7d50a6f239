import { describe, expect, it } from 'vitest';
import { kafkaClientOptions } from '../../../src/bus/kafka-bus.ts';

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
