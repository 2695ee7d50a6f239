import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAckingSubscriber, type InboundMessage } from '../../src/mqtt/acking-subscriber.ts';
import { startEmbeddedBroker } from '../../src/mqtt/embedded-broker.ts';
import { createLogger } from '../../src/observability/logger.ts';

const logger = createLogger({ level: 'silent' });
let broker: Awaited<ReturnType<typeof startEmbeddedBroker>>;

beforeAll(async () => {
  broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger });
});
afterAll(async () => broker.close());

async function publishAll(deviceId: string, bodies: string[]): Promise<void> {
  const device = await mqtt.connectAsync(broker.url, { clientId: deviceId, protocolVersion: 4 });
  for (const body of bodies) await device.publishAsync(`vw/v1/devices/${deviceId}/readings`, body, { qos: 1 });
  await device.endAsync();
}

const text = (batches: InboundMessage[][]) => batches.flat().map((m) => m.payload.toString());

describe('acking MQTT subscriber', () => {
  it('hands messages over in order, in batches, and a batch that fails comes again', async () => {
    const batches: InboundMessage[][] = [];
    let failures = 1;
    const subscriber = createAckingSubscriber({
      url: broker.url,
      clientId: 'ack-test-1',
      filter: 'vw/v1/devices/+/readings',
      logger,
      reconnectMs: 50,
      async onBatch(messages) {
        batches.push(messages);
        if (failures-- > 0) throw new Error('bus unavailable');
      },
    });
    await subscriber.ready;
    const bodies = Array.from({ length: 20 }, (_, i) => `m${i}`);
    await publishAll('dev-a', bodies);
    // The first batch failed: it was not acknowledged, so the broker sent it again after the reconnect.
    await expect.poll(() => new Set(text(batches.slice(1))).size, { timeout: 5_000 }).toBe(20);
    const first = text([batches[0]!]);
    expect(text(batches.slice(1)).slice(0, first.length)).toEqual(first);
    expect([...new Set(text(batches.slice(1)))]).toEqual(bodies);
    await subscriber.stop();
  });

  it('keeps its session: what arrives while it is away is delivered when it comes back', async () => {
    const seen: string[] = [];
    const options = { url: broker.url, clientId: 'ack-test-2', filter: 'vw/v1/devices/+/readings', logger, onBatch: async (m: InboundMessage[]) => void seen.push(...m.map((x) => x.payload.toString())) };
    const first = createAckingSubscriber(options);
    await first.ready;
    await first.stop();
    await publishAll('dev-b', ['while-away-1', 'while-away-2']);
    const second = createAckingSubscriber(options);
    await second.ready;
    await expect.poll(() => seen, { timeout: 5_000 }).toEqual(['while-away-1', 'while-away-2']);
    await second.stop();
  });

  it('refuses to start when the broker refuses the connection', async () => {
    const refused = createAckingSubscriber({ url: 'mqtt://127.0.0.1:1', clientId: 'x', filter: 'a/#', logger, onBatch: async () => {} });
    await expect(refused.ready).rejects.toThrow();
    await refused.stop();
  });
});
