import { performance } from 'node:perf_hooks';
import type { Bus } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import type { DeadLetter, Reading, RejectionReason } from '../domain/index.ts';
import type { DeviceMessageSource, InboundMessage } from './message-source.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Registry } from '../registry/registry.ts';
import { decodeDevicePayload, type DecodeLimits, type DecodeResult } from './decode.ts';
import { createDeadLetterBudget, createRefusalLog, DEFAULT_REFUSAL_POLICY, type RefusalPolicy } from './refusals.ts';
import { parseDeviceTopic } from './topic.ts';
import { RECONNECT_BACKOFF, retry } from '../time/retry.ts';

export const INGEST_GROUP = 'vw-ingest';
/** Bytes of a refused payload kept in each of its dead letters: enough to diagnose, never a whole large payload. */
export const DEAD_LETTER_EXCERPT_BYTES = 512;
/** A topic is input too: a dead letter keeps at most this much of one that is not a device topic. */
const MAX_TOPIC_CHARS = 256;
const MAX_DETAIL_CHARS = 400;
/** Decoding yields to timers and sockets (health checks, PUBACKs) after this long on one batch. */
const YIELD_AFTER_MS = 10;

/**
 * The ingest role: device messages from MQTT to canonical readings on the bus, refusals to the
 * dead-letter topic. Messages are taken in batches as they arrive; a batch's PUBACKs are sent only
 * after its readings and refusals are published, so the broker redelivers anything ingest had not
 * finished with when it stopped. Each message of a batch succeeds or fails alone: one that ingest
 * cannot handle is refused (`internal_error`), never its batch, so no other device is disconnected.
 */
export async function startIngestRole(deps: {
  bus: Bus;
  registry: Registry;
  metrics: Metrics;
  logger: Logger;
  source: DeviceMessageSource;
  limits: DecodeLimits;
  refusals?: Partial<RefusalPolicy>;
}): Promise<{ stop(): Promise<void>; connected(): boolean }> {
  const { bus, registry, metrics, source } = deps;
  const log = deps.logger.child({ role: 'ingest' });
  const policy = { ...DEFAULT_REFUSAL_POLICY, ...deps.refusals };
  const budget = createDeadLetterBudget({ perSender: policy.deadLettersPerDevice, windowMs: policy.windowMs });
  const refusalLog = createRefusalLog({ logger: log, intervalMs: policy.logIntervalMs });
  let lastInternalErrorLog = -Infinity;

  /** A message's outcome, as counted once its batch is published: counts only, not the refusals themselves. */
  interface Outcome {
    deviceId: string | undefined;
    shape: string;
    readingTypes: Map<string, number>;
    /** Per reason: refused, and how many of those have a dead letter. */
    refused: Map<RejectionReason, { refused: number; deadLettered: number }>;
  }
  interface Decoded {
    readings: Array<{ key: string; value: Reading }>;
    letters: DeadLetter[];
    outcomes: Outcome[];
  }

  function safeItem(item: number | undefined): { item?: number } {
    return item !== undefined && Number.isSafeInteger(item) && item >= 0 ? { item } : {};
  }

  /** One message: its readings, and a dead letter for each refusal within its device's budget. */
  function decodeMessage({ topic, payload }: InboundMessage, receivedAt: Date): { readings: Decoded['readings']; letters: DeadLetter[]; outcome: Outcome } {
    const deviceId = parseDeviceTopic(topic);
    const result: DecodeResult = deviceId
      ? decodeDevicePayload({ topicDeviceId: deviceId, payload, receivedAt }, { registry, limits: deps.limits })
      : { readings: [], rejections: [{ reason: 'unknown_topic', detail: 'topic is not vw/v1/devices/{deviceId}/readings' }] };
    const outcome: Outcome = { deviceId, shape: result.shape ?? 'unknown', readingTypes: new Map(), refused: new Map() };
    const readings = result.readings.map((r) => ({ key: r.patientId, value: r }));
    for (const r of result.readings) outcome.readingTypes.set(r.type, (outcome.readingTypes.get(r.type) ?? 0) + 1);
    const letters: DeadLetter[] = [];
    let excerpt: { payloadBase64: string; payloadTruncated: boolean } | undefined;
    for (const r of result.rejections) {
      const tally = outcome.refused.get(r.reason) ?? { refused: 0, deadLettered: 0 };
      outcome.refused.set(r.reason, tally);
      tally.refused++;
      // Every refusal is counted; only a device's first few in a window are written out in full.
      if (!budget.take(deviceId)) continue;
      tally.deadLettered++;
      excerpt ??= {
        payloadBase64: Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.byteLength, DEAD_LETTER_EXCERPT_BYTES)).toString('base64'),
        payloadTruncated: payload.byteLength > DEAD_LETTER_EXCERPT_BYTES,
      };
      letters.push({
        reason: r.reason,
        detail: r.detail.slice(0, MAX_DETAIL_CHARS),
        source: { kind: 'mqtt', topic: topic.slice(0, MAX_TOPIC_CHARS) },
        ...(deviceId ? { deviceId } : {}),
        ...safeItem(r.item),
        receivedAt: receivedAt.toISOString(),
        ...excerpt,
      });
    }
    return { readings, letters, outcome };
  }

  /** What a batch of device messages holds; a message ingest fails on is refused alone. */
  async function decodeBatch(messages: InboundMessage[]): Promise<Decoded> {
    const receivedAt = new Date();
    const decoded: Decoded = { readings: [], letters: [], outcomes: [] };
    let sliceStart = performance.now();
    for (const message of messages) {
      let one: ReturnType<typeof decodeMessage>;
      try {
        one = decodeMessage(message, receivedAt);
      } catch (error) {
        one = internalError(message, receivedAt, error);
      }
      decoded.readings.push(...one.readings);
      decoded.letters.push(...one.letters);
      decoded.outcomes.push(one.outcome);
      if (performance.now() - sliceStart > YIELD_AFTER_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
    return decoded;
  }

  /** The refusal of a message ingest itself failed on; built from nothing the message could have broken. */
  function internalError(message: InboundMessage, receivedAt: Date, error: unknown): ReturnType<typeof decodeMessage> {
    let topic = '';
    let deviceId: string | undefined;
    let excerpt = { payloadBase64: '', payloadTruncated: true };
    try {
      topic = String(message.topic).slice(0, MAX_TOPIC_CHARS);
      deviceId = parseDeviceTopic(topic);
      const { payload } = message;
      excerpt = { payloadBase64: Buffer.from(payload.subarray(0, DEAD_LETTER_EXCERPT_BYTES)).toString('base64'), payloadTruncated: payload.byteLength > DEAD_LETTER_EXCERPT_BYTES };
    } catch {
      // Not even the topic or bytes could be read: the dead letter carries what could.
    }
    const name = error instanceof Error ? error.name : typeof error;
    // One stack a minute at most; the message is left out, as it may quote input.
    if (Date.now() - lastInternalErrorLog > policy.logIntervalMs) {
      lastInternalErrorLog = Date.now();
      log.error({ deviceId, error: name, stack: error instanceof Error ? error.stack?.split('\n').slice(1, 8).join('\n') : undefined }, 'ingest failed on a device message; refused that message alone');
    }
    const lettered = budget.take(deviceId);
    const letters: DeadLetter[] = lettered
      ? [{ reason: 'internal_error', detail: `ingest failed on this message (${name})`, source: { kind: 'mqtt', topic }, ...(deviceId ? { deviceId } : {}), receivedAt: receivedAt.toISOString(), ...excerpt }]
      : [];
    return { readings: [], letters, outcome: { deviceId, shape: 'unknown', readingTypes: new Map(), refused: new Map([['internal_error', { refused: 1, deadLettered: lettered ? 1 : 0 }]]) } };
  }

  async function publish({ readings, letters }: Decoded): Promise<void> {
    if (readings.length) await bus.publish(Topics.readings, readings);
    // Dead letters are keyed by device: the patient may be unknown, and a device's refusals stay in order.
    if (letters.length) await bus.publish(Topics.deadLetter, letters.map((l) => ({ key: l.deviceId ?? l.source.topic, value: l })));
  }

  /** Counted once published, so a retried batch is not counted twice. */
  function count({ outcomes }: Decoded): void {
    for (const { deviceId, shape, readingTypes, refused } of outcomes) {
      metrics.mqttMessages.inc();
      for (const [type, n] of readingTypes) metrics.readingsIngested.inc({ shape, type }, n);
      for (const [reason, tally] of refused) {
        metrics.readingsRejected.inc({ reason }, tally.refused);
        if (tally.refused > tally.deadLettered) metrics.deadLettersSuppressed.inc({ reason }, tally.refused - tally.deadLettered);
        refusalLog.record(deviceId, reason, tally.refused, tally.deadLettered);
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
    const decoded = await decodeBatch(messages);
    await retry(() => publish(decoded), {
      backoff: RECONNECT_BACKOFF,
      onFailure: (error) => {
        // Unfinished at shutdown: not acknowledged, so the broker redelivers it to the next session.
        if (stopping) return false;
        log.error({ err: error }, 'could not publish device input to the bus; will retry');
      },
    });
    return count(decoded);
  }

  await source.start(handleUntilDone);
  log.info('ingest taking device messages');

  return {
    connected: () => source.connected(),
    async stop() {
      stopping = true;
      await source.stop();
      refusalLog.stop();
    },
  };
}
