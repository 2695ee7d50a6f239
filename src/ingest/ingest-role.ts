import type { Bus } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import type { DeadLetter, Reading } from '../domain/index.ts';
import type { DeviceMessageSource, InboundMessage } from './message-source.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Registry } from '../registry/registry.ts';
import { decodeDevicePayload, type DecodeLimits, type DecodeResult } from './decode.ts';
import { parseDeviceTopic } from './topic.ts';

export const INGEST_GROUP = 'vw-ingest';
const MAX_DEAD_LETTER_PAYLOAD = 4096;

/**
 * The ingest role: device messages from MQTT to canonical readings on the bus, refusals to the
 * dead-letter topic. Messages are taken in batches as they arrive; a batch's PUBACKs are sent only
 * after its readings and refusals are published, so the broker redelivers anything ingest had not
 * finished with when it stopped.
 */
export async function startIngestRole(deps: {
  bus: Bus;
  registry: Registry;
  metrics: Metrics;
  logger: Logger;
  source: DeviceMessageSource;
  limits: DecodeLimits;
}): Promise<{ stop(): Promise<void>; connected(): boolean }> {
  const { bus, registry, metrics, source } = deps;
  const log = deps.logger.child({ role: 'ingest' });

  interface Decoded {
    readings: Array<{ key: string; value: Reading }>;
    letters: DeadLetter[];
    outcomes: Array<{ deviceId: string | undefined; result: DecodeResult }>;
  }

  /** What a batch of device messages holds: canonical readings, and a dead letter for each refusal. */
  function decodeBatch(messages: InboundMessage[]): Decoded {
    const receivedAt = new Date();
    const decoded: Decoded = { readings: [], letters: [], outcomes: [] };
    for (const { topic, payload } of messages) {
      const deviceId = parseDeviceTopic(topic);
      const result: DecodeResult = deviceId
        ? decodeDevicePayload({ topicDeviceId: deviceId, payload, receivedAt }, { registry, limits: deps.limits })
        : { readings: [], rejections: [{ reason: 'unknown_topic', detail: 'topic is not vw/v1/devices/{deviceId}/readings' }] };
      decoded.outcomes.push({ deviceId, result });
      for (const r of result.readings) decoded.readings.push({ key: r.patientId, value: r });
      if (!result.rejections.length) continue;
      const truncated = payload.length > MAX_DEAD_LETTER_PAYLOAD;
      const payloadBase64 = payload.subarray(0, MAX_DEAD_LETTER_PAYLOAD).toString('base64');
      for (const r of result.rejections) {
        decoded.letters.push({
          reason: r.reason,
          detail: r.detail,
          source: { kind: 'mqtt', topic },
          ...(deviceId ? { deviceId } : {}),
          ...(r.item !== undefined ? { item: r.item } : {}),
          receivedAt: receivedAt.toISOString(),
          payloadBase64,
          payloadTruncated: truncated,
        });
      }
    }
    return decoded;
  }

  async function publish({ readings, letters }: Decoded): Promise<void> {
    if (readings.length) await bus.publish(Topics.readings, readings);
    // Dead letters are keyed by device: the patient may be unknown, and a device's refusals stay in order.
    if (letters.length) await bus.publish(Topics.deadLetter, letters.map((l) => ({ key: l.deviceId ?? l.source.topic, value: l })));
  }

  /** Counted once published, so a retried batch is not counted twice. */
  function count({ outcomes }: Decoded): void {
    for (const { deviceId, result } of outcomes) {
      metrics.mqttMessages.inc();
      for (const r of result.readings) metrics.readingsIngested.inc({ shape: result.shape ?? 'unknown', type: r.type });
      for (const r of result.rejections) {
        metrics.readingsRejected.inc({ reason: r.reason });
        // The detail may quote a measured value: it goes to the dead letter, not the log.
        log.warn({ deviceId, reason: r.reason, item: r.item }, 'device input refused');
      }
    }
  }

  let stopping = false;
  /**
   * Decodes a batch once, then publishes it, retrying while the bus is unavailable and holding the
   * PUBACKs, so no message is lost or acknowledged early. A retry may republish readings that did get
   * through: downstream absorbs them by reading id.
   */
  async function handleUntilDone(messages: InboundMessage[]): Promise<void> {
    const decoded = decodeBatch(messages);
    for (let wait = 100; ; wait = Math.min(wait * 2, 5_000)) {
      try {
        await publish(decoded);
        return count(decoded);
      } catch (error) {
        // Unfinished at shutdown: not acknowledged, so the broker redelivers it to the next session.
        if (stopping) throw error;
        log.error({ err: error }, 'could not publish device input to the bus; will retry');
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  await source.start(handleUntilDone);
  log.info('ingest taking device messages');

  return {
    connected: () => source.connected(),
    async stop() {
      stopping = true;
      await source.stop();
    },
  };
}
