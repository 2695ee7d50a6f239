import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import type { CapacityCredentials } from '../capacity/credentials.ts';
import { CAPACITY_TOPIC_FILTER, parseCapacityTopic } from '../capacity/topic.ts';
import type { DeviceMessageSource, InboundMessage } from '../ingest/message-source.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * An in-process MQTT 3.1.1 broker for the embedded default. Like the generated Mosquitto ACL, it lets
 * a client publish only under its own device topic (the client id is the device id), so a device
 * cannot publish as another. Capacity sources sign in with their source id and token and may publish
 * only on their own capacity topic; their messages go straight to the capacity edge.
 */
export async function startEmbeddedBroker(options: {
  host: string;
  port: number;
  logger: Logger;
  capacity?: { credentials: CapacityCredentials; onMessage(topic: string, payload: Buffer): Promise<void> };
}) {
  const log = options.logger.child({ component: 'embedded-mqtt' });
  const handover = createHandover();
  /** Clients signed in as a capacity source, and which. */
  const capacitySources = new WeakMap<object, string>();
  const broker = await Aedes.createBroker({
    authenticate(client, username, password, callback) {
      const credentials = options.capacity?.credentials;
      // A username naming a capacity source must come with that source's token.
      if (username && credentials?.source(username)) {
        if (!password || !credentials.authenticate(username, password.toString('utf8'))) {
          log.warn({ sourceId: username }, 'capacity source refused: wrong token');
          const error = Object.assign(new Error('bad user name or password'), { returnCode: 4 });
          return callback(error, false);
        }
        capacitySources.set(client, username);
      }
      callback(null, true);
    },
    authorizeSubscribe(client, subscription, callback) {
      // Capacity is for vw alone (it takes it in-process): no client may subscribe to it, even by wildcard.
      if (filtersOverlap(subscription.topic, CAPACITY_TOPIC_FILTER)) {
        log.warn({ clientId: client?.id }, 'subscription refused: capacity topics are not for clients');
        // A null subscription answers with a failure code (0x80) in the SUBACK, keeping the connection.
        return callback(null, null);
      }
      callback(null, subscription);
    },
    authorizePublish(client, packet, callback) {
      const capacitySource = parseCapacityTopic(packet.topic);
      if (capacitySource !== undefined || packet.topic.startsWith('vw/v1/capacity/')) {
        // A topic naming no valid source id is nobody's: undefined must not match a client signed in as no source.
        if (!client || !options.capacity || capacitySource === undefined || capacitySources.get(client) !== capacitySource) {
          log.warn({ clientId: client?.id }, 'publish refused: only a signed-in capacity source may publish on its capacity topic');
          return callback(new Error('not authorised to publish to this topic'));
        }
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        // The PUBACK waits until the snapshot, or its refusal, is on the bus.
        options.capacity.onMessage(packet.topic, payload).then(() => callback(null), (error: Error) => callback(error));
        return;
      }
      const own = client ? `vw/v1/devices/${client.id}/` : undefined;
      if (!own || !packet.topic.startsWith(own)) {
        log.warn({ clientId: client?.id }, 'publish refused: a device may publish only under its own topic');
        return callback(new Error('not authorised to publish to this topic'));
      }
      // A capacity source is not a device: it may not publish readings under any device's id.
      if (client && capacitySources.has(client)) {
        log.warn({ clientId: client.id }, 'publish refused: a capacity source may not publish device readings');
        return callback(new Error('not authorised to publish to this topic'));
      }
      // The device's PUBACK waits for the callback, so it is sent only once ingest has the message on the bus.
      if (!packet.topic.endsWith('/readings')) return callback(null);
      const state = handover.state();
      if (state === 'attached') return handover.take({ topic: packet.topic, payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload) }, callback);
      // With ingest stopped, refuse rather than acknowledge what nobody will handle: the device sends it again.
      if (state === 'stopped') return callback(new Error('ingest is not running'));
      callback(null);
    },
  });
  const server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `mqtt://${options.host}:${address.port}`;
  log.info({ url }, 'embedded MQTT broker listening');
  return {
    url,
    port: address.port,
    /** Device messages for ingest straight from the broker, without a subscriber connection. */
    deviceMessages: (): DeviceMessageSource => handover.source(),
    async close(): Promise<void> {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Device messages handed to ingest in-process: each is held (its PUBACK with it) until the batch it
 * joined has been handled. Batches are handled one after another, in arrival order.
 */
function createHandover() {
  let onBatch: ((messages: InboundMessage[]) => Promise<void>) | undefined;
  let waiting: Array<{ message: InboundMessage; done: (error: Error | null) => void }> = [];
  let flushing: Promise<void> | undefined;
  let stopped = false;

  async function flush(): Promise<void> {
    // Let the messages of this turn of the event loop join the batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (waiting.length && onBatch && !stopped) {
      const batch = waiting;
      waiting = [];
      try {
        await onBatch(batch.map((w) => w.message));
        for (const w of batch) w.done(null);
      } catch (error) {
        // Refused to the device, which then sends it again: nothing is acknowledged unhandled.
        for (const w of batch) w.done(error as Error);
      }
    }
  }

  function schedule(): void {
    flushing ??= flush().finally(() => {
      flushing = undefined;
      // A message taken after the loop's last look, before this ran, starts the next round.
      if (waiting.length && !stopped) schedule();
    });
  }

  return {
    /** `none`: a plain broker (nothing attached); `attached`: ingest takes device messages; `stopped`: it has gone. */
    state: (): 'none' | 'attached' | 'stopped' => (stopped ? 'stopped' : onBatch ? 'attached' : 'none'),
    take(message: InboundMessage, done: (error: Error | null) => void): void {
      waiting.push({ message, done });
      schedule();
    },
    source(): DeviceMessageSource {
      return {
        async start(handler) {
          onBatch = handler;
          stopped = false;
        },
        connected: () => onBatch !== undefined && !stopped,
        async stop() {
          stopped = true;
          for (const w of waiting.splice(0)) w.done(new Error('ingest stopping'));
          await flushing;
        },
      };
    },
  };
}

/** Whether some topic could match both MQTT topic filters (each with + and # wildcards). */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === '#' || y[i] === '#') return true;
    if (x[i] === undefined || y[i] === undefined) return false;
    if (x[i] !== '+' && y[i] !== '+' && x[i] !== y[i]) return false;
  }
  return true;
}
