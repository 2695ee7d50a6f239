import mqtt, { type MqttClient } from 'mqtt';
import type { Bus } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import type { DeadLetter } from '../domain/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Registry } from '../registry/registry.ts';
import { decodeDevicePayload, type DecodeLimits, type Rejection } from './decode.ts';
import { DEVICE_TOPIC_FILTER, parseDeviceTopic } from './topic.ts';

export const INGEST_GROUP = 'vw-ingest';
const MAX_DEAD_LETTER_PAYLOAD = 4096;

export interface IngestOptions {
  mqttUrl: string;
  clientId: string;
  username?: string;
  password?: string;
  /** With a group, ingest processes share the device messages (MQTT 5 / Mosquitto shared subscription). */
  sharedGroup?: string;
  limits: DecodeLimits;
}

/**
 * The ingest role: device messages from MQTT to canonical readings on the bus, refusals to the
 * dead-letter topic. The PUBACK for a QoS 1 message is sent only after both are published, so the
 * broker redelivers anything ingest had not finished with when it stopped.
 */
export async function startIngestRole(deps: {
  bus: Bus;
  registry: Registry;
  metrics: Metrics;
  logger: Logger;
  options: IngestOptions;
}): Promise<{ stop(): Promise<void>; connected(): boolean }> {
  const { bus, registry, metrics, options } = deps;
  const log = deps.logger.child({ role: 'ingest' });

  async function handle(topic: string, payload: Buffer): Promise<void> {
    metrics.mqttMessages.inc();
    const receivedAt = new Date();
    const deviceId = parseDeviceTopic(topic);
    const result = deviceId
      ? decodeDevicePayload({ topicDeviceId: deviceId, payload, receivedAt }, { registry, limits: options.limits })
      : { readings: [], rejections: [{ reason: 'unknown_topic', detail: 'topic is not vw/v1/devices/{deviceId}/readings' } as Rejection] };
    if (result.readings.length) {
      await bus.publish(
        Topics.readings,
        result.readings.map((r) => ({ key: r.patientId, value: r })),
      );
      for (const r of result.readings) metrics.readingsIngested.inc({ shape: result.shape ?? 'unknown', type: r.type });
    }
    if (result.rejections.length) {
      const truncated = payload.length > MAX_DEAD_LETTER_PAYLOAD;
      const payloadBase64 = payload.subarray(0, MAX_DEAD_LETTER_PAYLOAD).toString('base64');
      const letters: DeadLetter[] = result.rejections.map((r) => ({
        reason: r.reason,
        detail: r.detail,
        source: { kind: 'mqtt', topic },
        ...(deviceId ? { deviceId } : {}),
        ...(r.item !== undefined ? { item: r.item } : {}),
        receivedAt: receivedAt.toISOString(),
        payloadBase64,
        payloadTruncated: truncated,
      }));
      // Dead letters are keyed by device: the patient may be unknown, and a device's refusals stay in order.
      await bus.publish(Topics.deadLetter, letters.map((l) => ({ key: l.deviceId ?? topic, value: l })));
      for (const r of result.rejections) {
        metrics.readingsRejected.inc({ reason: r.reason });
        // The detail may quote a measured value: it goes to the dead letter, not the log.
        log.warn({ deviceId, reason: r.reason, item: r.item }, 'device input refused');
      }
    }
  }

  let stopping = false;
  /**
   * Retries while the bus is unavailable, holding the PUBACK, so the message is neither lost nor
   * acknowledged early. A retry may republish readings that did get through: downstream absorbs them
   * by reading id.
   */
  async function handleUntilDone(topic: string, payload: Buffer): Promise<boolean> {
    for (let wait = 100; ; wait = Math.min(wait * 2, 5_000)) {
      try {
        await handle(topic, payload);
        return true;
      } catch (error) {
        if (stopping) return false;
        log.error({ err: error }, 'could not publish device input to the bus; will retry');
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  const client: MqttClient = mqtt.connect(options.mqttUrl, {
    clientId: options.clientId,
    // A persistent session: the broker queues QoS 1 messages for ingest while it restarts.
    clean: false,
    // 3.1.1 is spoken by every broker vw supports, the embedded one included.
    protocolVersion: 4,
    reconnectPeriod: 1000,
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
  });
  client.handleMessage = (packet, callback) => {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    void handleUntilDone(packet.topic, payload).then((done) => {
      // Unfinished at shutdown: no PUBACK, so the broker redelivers it to the next session.
      if (done) callback();
    });
  };
  client.on('error', (error) => log.error({ err: error }, 'mqtt error'));
  client.on('reconnect', () => log.warn('mqtt reconnecting'));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const filter = options.sharedGroup ? `$share/${options.sharedGroup}/${DEVICE_TOPIC_FILTER}` : DEVICE_TOPIC_FILTER;
  const granted = await client.subscribeAsync(filter, { qos: 1 });
  // A broker answers a refused subscription with QoS 128 rather than an error.
  if (granted.some((g) => g.qos === 128)) throw new Error(`the MQTT broker refused ingest's subscription to ${filter}`);
  client.on('connect', () => log.info('mqtt reconnected'));
  log.info({ filter }, 'ingest subscribed');

  return {
    connected: () => client.connected,
    async stop() {
      stopping = true;
      await client.endAsync();
    },
  };
}
