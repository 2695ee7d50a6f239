import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { Logger } from '../observability/logger.ts';
import type { InboundMessage } from '../ingest/message-source.ts';

/**
 * An MQTT 3.1.1 subscriber that acknowledges each QoS 1 message only when the caller has finished
 * with it, and takes the next messages meanwhile. MQTT.js hands a subscriber one message at a time
 * and sends its PUBACK before taking the next, so a consumer that must not acknowledge before a
 * round trip to Kafka is held to one message per round trip. Here messages arrive in batches, in the
 * order the broker sent them; each batch is handed over once the one before it is done, and its
 * PUBACKs go out together. A session is persistent (clean: false): whatever was not acknowledged when
 * a connection dropped, the broker sends again on the next one.
 */
export type { InboundMessage };

export interface AckingSubscriberOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  /** An mqtts:// broker: CA certificates to trust instead of the system's, and a client certificate and key for mutual TLS. */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  filter: string;
  /** Called with each batch in arrival order; the batch is acknowledged when it resolves. It is not retried here. */
  onBatch: (messages: InboundMessage[]) => Promise<void>;
  logger: Logger;
  keepaliveSeconds?: number;
  reconnectMs?: number;
  maxBatch?: number;
}

export interface AckingSubscriber {
  /** Resolves once connected and subscribed the first time; rejects if that first attempt is refused. */
  ready: Promise<void>;
  connected(): boolean;
  stop(): Promise<void>;
}

interface Pending {
  message: InboundMessage;
  messageId?: number;
  connection: number;
}

export function createAckingSubscriber(options: AckingSubscriberOptions): AckingSubscriber {
  const log = options.logger.child({ component: 'mqtt-subscriber' });
  const url = new URL(options.url);
  const keepalive = options.keepaliveSeconds ?? 30;
  const maxBatch = options.maxBatch ?? 1000;
  let socket: Socket | undefined;
  /** Bumped on every connection, so PUBACKs for a dropped connection's messages are never sent on a new one. */
  let connection = 0;
  let subscribed = false;
  let stopped = false;
  let everSubscribed = false;
  let pending: Pending[] = [];
  let flushing: Promise<void> | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  let pingAnswered = true;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let settleReady: { resolve: () => void; reject: (error: Error) => void } | undefined;
  const ready = new Promise<void>((resolve, reject) => (settleReady = { resolve, reject }));

  function fail(error: Error): void {
    if (!everSubscribed && settleReady) {
      settleReady.reject(error);
      settleReady = undefined;
      stopped = true;
    }
    socket?.destroy();
  }

  function send(packet: Packet): void {
    if (socket && !socket.destroyed) mqttPacket.writeToStream(packet, socket);
  }

  function open(): void {
    if (stopped) return;
    const id = ++connection;
    subscribed = false;
    const port = Number(url.port || (url.protocol === 'mqtts:' ? 8883 : 1883));
    const s = url.protocol === 'mqtts:' ? tlsConnect({ host: url.hostname, port, ...(isIP(url.hostname) ? {} : { servername: url.hostname }), ...options.tls }) : netConnect({ host: url.hostname, port });
    socket = s;
    s.setNoDelay(true);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    s.on(url.protocol === 'mqtts:' ? 'secureConnect' : 'connect', () => {
      send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: options.clientId,
        clean: false,
        keepalive,
        ...(options.username ? { username: options.username } : {}),
        ...(options.password ? { password: Buffer.from(options.password) } : {}),
      });
    });
    s.on('data', (chunk: Buffer) => parser.parse(chunk));
    parser.on('error', (error: Error) => {
      log.error({ err: error }, 'mqtt: malformed packet from the broker; reconnecting');
      s.destroy();
    });
    parser.on('packet', (packet: Packet) => {
      switch (packet.cmd) {
        case 'connack':
          if (packet.returnCode !== 0) return fail(new Error(`the MQTT broker refused the connection (return code ${packet.returnCode})`));
          send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: options.filter, qos: 1 }] });
          break;
        case 'suback':
          if (packet.granted.some((g) => (typeof g === 'number' ? g : (g as { qos?: number }).qos) === 128)) return fail(new Error(`the MQTT broker refused the subscription to ${options.filter}`));
          subscribed = true;
          if (everSubscribed) log.info('mqtt reconnected');
          everSubscribed = true;
          settleReady?.resolve();
          settleReady = undefined;
          break;
        case 'publish':
          pending.push({ message: { topic: packet.topic, payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload) }, ...(packet.qos > 0 ? { messageId: packet.messageId! } : {}), connection: id });
          // Reading pauses while a large backlog waits, so memory stays bounded; the broker holds the rest.
          if (pending.length >= maxBatch * 4) s.pause();
          scheduleFlush();
          break;
        case 'pingresp':
          pingAnswered = true;
          break;
        default:
          break;
      }
    });
    s.on('error', (error) => {
      if (!stopped) log.warn({ err: error }, 'mqtt connection error');
      if (!everSubscribed) fail(error);
    });
    s.on('close', () => {
      if (socket === s) socket = undefined;
      subscribed = false;
      // Unacknowledged messages of the lost connection will come again: drop them rather than handle twice.
      pending = pending.filter((p) => p.connection !== id);
      if (stopped) return;
      log.warn('mqtt connection lost; reconnecting');
      reconnectTimer = setTimeout(open, options.reconnectMs ?? 1000);
    });
  }

  function scheduleFlush(): void {
    if (flushing) return;
    flushing = (async () => {
      // Let a burst of packets from one read land first, then take them all.
      await new Promise((resolve) => setImmediate(resolve));
      while (pending.length && !stopped) {
        const batch = pending.splice(0, maxBatch);
        if (pending.length < maxBatch * 4) socket?.resume();
        try {
          await options.onBatch(batch.map((p) => p.message));
        } catch (error) {
          // Not acknowledged: the broker sends them again after a reconnect. What else this connection
          // brought is dropped with it at once (not when the socket's close event comes), or it would be
          // handed on before the failed batch comes again: later readings first, and then twice.
          log.error({ err: error }, 'mqtt: a batch was not handled; reconnecting so the broker redelivers it');
          const failed = batch[0]!.connection;
          pending = pending.filter((p) => p.connection !== failed);
          socket?.destroy();
          continue;
        }
        const live = batch.filter((p) => p.connection === connection && p.messageId !== undefined);
        if (socket && live.length) {
          socket.cork();
          for (const p of live) send({ cmd: 'puback', messageId: p.messageId! });
          socket.uncork();
        }
      }
    })().finally(() => {
      flushing = undefined;
      if (pending.length && !stopped) scheduleFlush();
    });
  }

  pingTimer = setInterval(() => {
    if (!socket || !subscribed) return;
    if (!pingAnswered) {
      log.warn('mqtt: no answer to the last keep-alive ping; reconnecting');
      socket.destroy();
      return;
    }
    pingAnswered = false;
    send({ cmd: 'pingreq' });
  }, (keepalive * 1000) / 2);
  pingTimer.unref();

  open();

  return {
    ready,
    connected: () => subscribed,
    async stop() {
      stopped = true;
      clearInterval(pingTimer);
      clearTimeout(reconnectTimer);
      // Finish the batch in hand, then say goodbye: anything not acknowledged comes again next session.
      await flushing?.catch(() => undefined);
      const s = socket;
      if (s && !s.destroyed) {
        send({ cmd: 'disconnect' });
        await new Promise<void>((resolve) => s.end(() => resolve()));
        s.destroy();
      }
    },
  };
}
