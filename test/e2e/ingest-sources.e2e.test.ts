import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAckingSubscriber, type InboundMessage } from '../../src/mqtt/acking-subscriber.ts';
import { startEmbeddedBroker } from '../../src/mqtt/embedded-broker.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { deviceSignIn } from '../support/ward-actions.ts';

const logger = createLogger({ level: 'silent' });
let broker: Awaited<ReturnType<typeof startEmbeddedBroker>>;
/** Devices sign in as on Mosquitto; the subscriber signs in as the reader, as ingest does on Mosquitto. */
const DEVICE_SECRET = 'ingest-sources-device-secret-0123456789';
const devices = { secret: DEVICE_SECRET, registered: (deviceId: string) => deviceId.startsWith('dev-') };
const reader = { username: 'ack-reader', password: 'ack-reader-password-0123456789' };
const signedIn = (url: string, deviceId: string) => deviceSignIn({ mqttUrl: url, deviceSecret: DEVICE_SECRET }, deviceId);

beforeAll(async () => {
  broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger, devices, reader });
});
afterAll(async () => broker.close());

async function publishAll(deviceId: string, bodies: string[]): Promise<void> {
  const device = await mqtt.connectAsync(broker.url, { ...signedIn(broker.url, deviceId), reconnectPeriod: 1000 });
  for (const body of bodies) await device.publishAsync(`vw/v1/devices/${deviceId}/readings`, body, { qos: 1 });
  await device.endAsync();
}

const text = (batches: InboundMessage[][]) => batches.flat().map((m) => m.payload.toString());

describe('acking MQTT subscriber', () => {
  it('hands messages over in order, in batches, and a batch that fails comes again', async () => {
    const options = { url: broker.url, clientId: 'ack-test-1', ...reader, filter: 'vw/v1/devices/+/readings', logger, reconnectMs: 50 };
    // The session first; then every message is published while the subscriber is away, so the broker
    // holds them all before it comes back and sends them in the order they were published. (Messages
    // published while a session is being resumed can be sent interleaved with the ones the embedded
    // broker replays: that order is the broker's, not the subscriber's, and is not what is tested here.)
    const session = createAckingSubscriber({ ...options, onBatch: async () => {} });
    await session.ready;
    await session.stop();
    const bodies = Array.from({ length: 20 }, (_, i) => `m${i}`);
    await publishAll('dev-a', bodies);
    const batches: InboundMessage[][] = [];
    let failures = 1;
    const subscriber = createAckingSubscriber({
      ...options,
      async onBatch(messages) {
        batches.push(messages);
        if (failures-- > 0) throw new Error('bus unavailable');
      },
    });
    await subscriber.ready;
    // The first batch failed: it was not acknowledged, so the broker sent it again after the reconnect.
    await expect.poll(() => new Set(text(batches.slice(1))).size, { timeout: 10_000 }).toBe(20);
    const first = text([batches[0]!]);
    expect(text(batches.slice(1)).slice(0, first.length)).toEqual(first);
    expect([...new Set(text(batches.slice(1)))]).toEqual(bodies);
    await subscriber.stop();
  });

  it('hands on nothing that came after a failed batch before the failed batch comes again, and nothing twice', async () => {
    const handled: string[] = [];
    let release!: () => void;
    const published = new Promise<void>((resolve) => (release = resolve));
    let failures = 1;
    const subscriber = createAckingSubscriber({
      url: broker.url,
      clientId: 'ack-test-failed-batch',
      ...reader,
      filter: 'vw/v1/devices/+/readings',
      logger,
      reconnectMs: 50,
      // As ingest's handler: a round trip to the bus, which fails once, after more messages have come in
      // on the same connection meanwhile.
      async onBatch(messages) {
        if (failures-- > 0) {
          await published;
          throw new Error('bus unavailable');
        }
        handled.push(...messages.map((m) => m.payload.toString()));
      },
    });
    await subscriber.ready;
    const device = await mqtt.connectAsync(broker.url, { ...signedIn(broker.url, 'dev-f'), reconnectPeriod: 1000 });
    for (let i = 0; i < 5; i++) await device.publishAsync('vw/v1/devices/dev-f/readings', `f${i}`, { qos: 1 });
    release();
    await expect.poll(() => handled.includes('f4'), { timeout: 10_000 }).toBe(true);
    // A later message handed on proves the redelivery is over: then each came once, in order.
    await device.publishAsync('vw/v1/devices/dev-f/readings', 'f5', { qos: 1 });
    await expect.poll(() => handled.includes('f5'), { timeout: 10_000 }).toBe(true);
    expect(handled).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5']);
    await device.endAsync();
    await subscriber.stop();
  });

  it('keeps its session: what arrives while it is away is delivered when it comes back', async () => {
    const seen: string[] = [];
    const options = { url: broker.url, clientId: 'ack-test-2', ...reader, filter: 'vw/v1/devices/+/readings', logger, onBatch: async (m: InboundMessage[]) => void seen.push(...m.map((x) => x.payload.toString())) };
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

describe('embedded broker handing device messages to ingest', () => {
  it('acknowledges a device only once ingest has handled its message, in batches, in order', async () => {
    const own = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger, devices });
    const batches: string[][] = [];
    let release: () => void = () => {};
    let held = new Promise<void>((resolve) => (release = resolve));
    const source = own.deviceMessages();
    await source.start(async (messages) => {
      batches.push(messages.map((m) => m.payload.toString()));
      await held;
    });
    const device = await mqtt.connectAsync(own.url, { ...signedIn(own.url, 'dev-h'), reconnectPeriod: 1000 });
    let acked = 0;
    const sends = ['h1', 'h2', 'h3'].map((body) => device.publishAsync('vw/v1/devices/dev-h/readings', body, { qos: 1 }).then(() => acked++));
    await expect.poll(() => batches.length, { timeout: 5_000 }).toBe(1);
    // Ingest has not finished with the first message: no PUBACK yet. Shown after a whole exchange with
    // the broker on a connection of its own, begun once ingest had the batch: a PUBACK the broker had
    // sent the device before then would have reached it first.
    await (await mqtt.connectAsync(own.url, signedIn(own.url, 'dev-probe'))).endAsync();
    expect(acked).toBe(0);
    held = Promise.resolve();
    release();
    await Promise.all(sends);
    expect(acked).toBe(3);
    expect(batches.flat()).toEqual(['h1', 'h2', 'h3']);
    await device.endAsync();
    await source.stop();
    await own.close();
  });

  it('refuses device messages once ingest has stopped, so devices keep them', async () => {
    const own = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger, devices });
    const source = own.deviceMessages();
    await source.start(async () => {});
    await source.stop();
    const device = await mqtt.connectAsync(own.url, signedIn(own.url, 'dev-s'));
    const outcome = await Promise.race([
      device.publishAsync('vw/v1/devices/dev-s/readings', 'x', { qos: 1 }).then(() => 'acknowledged', () => 'refused'),
      new Promise((r) => device.once('close', () => r('refused'))),
    ]);
    expect(outcome).toBe('refused');
    device.end(true);
    await own.close();
  });
});
