import { timingSafeEqual } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type Client } from 'aedes';
import type { CapacityCredentials } from '../capacity/credentials.ts';
import { CAPACITY_TOPIC_FILTER, parseCapacityTopic } from '../capacity/topic.ts';
import type { DeviceMessageSource, InboundMessage } from '../ingest/message-source.ts';
import { deviceTopic, parseDeviceTopic } from '../ingest/topic.ts';
import type { Logger } from '../observability/logger.ts';
import { devicePassword } from './credentials.ts';

/** Who a connected client signed in as. */
type Identity = { kind: 'device'; deviceId: string } | { kind: 'capacity'; sourceId: string } | { kind: 'reader' };

/** The devices that may sign in, and the secret their passwords derive from. */
export interface EmbeddedDeviceCredentials {
  secret: string;
  /** Whether the device is in the registry (any registered device may sign in: lending follows admissions). */
  registered(deviceId: string): boolean;
}

/**
 * An in-process MQTT 3.1.1 broker for the embedded default, as strict as the generated Mosquitto
 * password file and ACL (src/mqtt/credentials.ts):
 *
 * - Every client signs in. A device: username = client id = its device id, password
 *   `devicePassword(secret, deviceId)`, and only a device in the registry. A capacity source: its
 *   source id and token, with a client id of its own (the source id, or the source id and a hyphen). Anonymous clients, unknown usernames and wrong passwords are refused with
 *   CONNACK 5 (not authorized), before any session is taken over, so a client holding a device's id
 *   without its password cannot disconnect the device.
 * - A device may publish only on its own readings topic, a capacity source only on its own capacity
 *   topic; nobody on `$SYS`. The retain flag is cleared: the broker keeps no message for later.
 * - No device or capacity source may subscribe to anything (the SUBACK carries 0x80). Ingest takes
 *   device messages in-process (`deviceMessages()`), without a connection. Only a `reader`, when the
 *   caller names one (vw itself never does; tests and benchmarks may), may read device readings, as
 *   Mosquitto's ingest user does.
 *
 * The broker speaks MQTT 3.1.1 (aedes refuses MQTT 5 at CONNECT), which has no reason codes in PUBACK
 * or CONNACK properties: a refused publish closes the device's connection, the 3.1.1 way.
 */
export async function startEmbeddedBroker(options: {
  host: string;
  port: number;
  logger: Logger;
  /** Without it no device can sign in. */
  devices?: EmbeddedDeviceCredentials;
  capacity?: { credentials: CapacityCredentials; onMessage(topic: string, payload: Buffer): Promise<void> };
  /** A client that may read device readings (and nothing else), like Mosquitto's ingest user. */
  reader?: { username: string; password: string };
  /** PEM certificate (chain) and key: listen for MQTT over TLS (mqtts://) instead of plain TCP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}) {
  const log = options.logger.child({ component: 'embedded-mqtt' });
  const handover = createHandover();
  const identities = new WeakMap<Client, Identity>();
  const same = (a: string, b: string) => {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  };
  const broker = await Aedes.createBroker({
    authenticate(client, username, password, callback) {
      const refuse = (why: string) => {
        log.warn({ clientId: client.id, username }, `sign-in refused: ${why}`);
        // 5, not authorized, whatever the cause, as Mosquitto answers MQTT 3.1.1 clients: the answer
        // does not tell a guessed username from a wrong password.
        callback(Object.assign(new Error('not authorized'), { returnCode: 5 }), false);
      };
      const given = password?.toString('utf8');
      if (!username || !given) return refuse('no username or password');
      // Only a device may use a device's id as its client id: a taken-over session is the device's.
      const heldId = () => options.devices?.registered(client.id) === true && client.id !== username;
      const capacity = options.capacity?.credentials;
      if (capacity?.source(username)) {
        if (!capacity.authenticate(username, given)) return refuse('wrong capacity token');
        if (heldId()) return refuse('a capacity source may not use a device id as its client id');
        // Nor another source's or client's id: a capacity source's sessions are its own (`ID` or `ID-…`).
        if (client.id !== username && !client.id.startsWith(`${username}-`)) return refuse('a capacity source\'s client id must be its source id, or start with it and a hyphen');
        identities.set(client, { kind: 'capacity', sourceId: username });
        return callback(null, true);
      }
      // The reader's username is its own, whatever devices are registered.
      const reader = options.reader;
      if (reader && username === reader.username) {
        if (!same(given, reader.password)) return refuse('wrong reader password');
        if (heldId()) return refuse('the reader may not use a device id as its client id');
        identities.set(client, { kind: 'reader' });
        return callback(null, true);
      }
      const devices = options.devices;
      if (devices?.registered(username)) {
        if (!same(given, devicePassword(devices.secret, username))) return refuse('wrong device password');
        if (client.id !== username) return refuse('a device\'s client id must be its device id');
        identities.set(client, { kind: 'device', deviceId: username });
        return callback(null, true);
      }
      refuse('unknown username');
    },
    authorizeSubscribe(client, subscription, callback) {
      const identity = client ? identities.get(client) : undefined;
      // Only the reader subscribes, and only to device readings: never capacity (vw takes it
      // in-process), never `#`, never `$SYS`.
      if (identity?.kind === 'reader' && readsOnlyDeviceReadings(subscription.topic) && !filtersOverlap(subscription.topic, CAPACITY_TOPIC_FILTER)) {
        return callback(null, subscription);
      }
      log.warn({ clientId: client?.id, filter: subscription.topic }, 'subscription refused');
      // A null subscription answers with a failure code (0x80) in the SUBACK, keeping the connection.
      callback(null, null);
    },
    authorizeForward(client, packet) {
      // Belt and braces: whatever a subscription matched, only the reader is sent device readings.
      const identity = identities.get(client);
      return identity?.kind === 'reader' && parseDeviceTopic(packet.topic) !== undefined ? packet : null;
    },
    authorizePublish(client, packet, callback) {
      const identity = client ? identities.get(client) : undefined;
      // Nothing is kept for later subscribers: a retained reading would be handed to whoever asked.
      packet.retain = false;
      if (packet.topic.startsWith('$')) {
        log.warn({ clientId: client?.id }, 'publish refused: $ topics are the broker\'s');
        return callback(new Error('not authorised to publish to this topic'));
      }
      const capacitySource = parseCapacityTopic(packet.topic);
      if (capacitySource !== undefined || packet.topic.startsWith('vw/v1/capacity/')) {
        // A topic naming no valid source id is nobody's: undefined must not match a client signed in as no source.
        if (!options.capacity || capacitySource === undefined || identity?.kind !== 'capacity' || identity.sourceId !== capacitySource) {
          log.warn({ clientId: client?.id }, 'publish refused: only a signed-in capacity source may publish on its capacity topic');
          return callback(new Error('not authorised to publish to this topic'));
        }
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        // The PUBACK waits until the snapshot, or its refusal, is on the bus.
        options.capacity.onMessage(packet.topic, payload).then(() => callback(null), (error: Error) => callback(error));
        return;
      }
      // A device publishes on its own readings topic and nowhere else; a capacity source or the reader never as a device.
      if (identity?.kind !== 'device' || packet.topic !== deviceTopic(identity.deviceId)) {
        log.warn({ clientId: client?.id }, 'publish refused: a device may publish only on its own readings topic');
        return callback(new Error('not authorised to publish to this topic'));
      }
      // The device's PUBACK waits for the callback, so it is sent only once ingest has the message on the bus.
      const state = handover.state();
      if (state === 'attached') return handover.take({ topic: packet.topic, payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload) }, callback);
      // With ingest stopped, refuse rather than acknowledge what nobody will handle: the device sends it again.
      if (state === 'stopped') return callback(new Error('ingest is not running'));
      callback(null);
    },
  });
  const server = options.tls ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, broker.handle) : createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `${options.tls ? 'mqtts' : 'mqtt'}://${options.host}:${address.port}`;
  log.info({ url }, 'embedded MQTT broker listening');
  return {
    url,
    port: address.port,
    /** Device messages for ingest straight from the broker, without a subscriber connection. */
    deviceMessages: (): DeviceMessageSource => handover.source(),
    /**
     * Every message the broker accepts on topics matching `filter`, seen in-process (no client may
     * subscribe): for checks and tests. Returns the function that stops it.
     */
    observe(filter: string, onMessage: (topic: string, payload: Buffer) => void): () => Promise<void> {
      const deliver = (packet: { topic: string; payload: Buffer | string }, done: () => void) => {
        if (!packet.topic.startsWith('$')) onMessage(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
        done();
      };
      broker.subscribe(filter, deliver as Parameters<typeof broker.subscribe>[1], () => {});
      return () => new Promise<void>((resolve) => broker.unsubscribe(filter, deliver as Parameters<typeof broker.unsubscribe>[1], () => resolve()));
    },
    /** The topics of the retained messages the broker holds under a filter (it should hold none): for checks, in-process. */
    async retainedTopics(filter = '#'): Promise<string[]> {
      const topics: string[] = [];
      const persistence = (broker as unknown as { persistence: { createRetainedStream(pattern: string): AsyncIterable<{ topic: string }> } }).persistence;
      for await (const packet of persistence.createRetainedStream(filter)) topics.push(packet.topic);
      return topics;
    },
    async close(): Promise<void> {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Whether every topic a filter matches is a device's readings topic: `vw/v1/devices/{id or +}/readings`. */
function readsOnlyDeviceReadings(filter: string): boolean {
  const levels = filter.split('/');
  return levels.length === 5 && levels[0] === 'vw' && levels[1] === 'v1' && levels[2] === 'devices' && levels[4] === 'readings' && levels[3] !== '#' && levels[3] !== '' && (levels[3] === '+' || parseDeviceTopic(filter) !== undefined);
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
