import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { on, type Bus, type ConsumedRecord, type Subscription } from '../../../src/bus/bus.ts';
import { createMemoryBus } from '../../../src/bus/memory-bus.ts';
import { Topics } from '../../../src/bus/topics.ts';
import { createCapacityEdge, MAX_SNAPSHOTS_PER_MESSAGE, type CapacityEdge } from '../../../src/capacity/edge.ts';
import type { CapacitySnapshot, CapacitySource, DeadLetter } from '../../../src/domain/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetrics, type Metrics } from '../../../src/observability/metrics.ts';

/**
 * The capacity edge on the in-process bus: what it puts on vw.capacity.v1, and how it refuses what it
 * must not (dead-lettered with the source, counted by reason, nothing of the message published).
 */
const NOW = Date.parse('2026-11-22T12:00:00Z');
const SKEW_MS = 300_000;
const AMBULANCE: CapacitySource = { sourceId: 'cap-rx9', service: 'ambulance', providerId: 'RX9' };
const HTTP = { kind: 'http', topic: 'POST /api/v1/capacity' } as const;

const at = (msAgo: number) => new Date(NOW - msAgo).toISOString();
const response = (mean: number, p90: number) => ({ meanMinutes: mean, p90Minutes: p90 });
function ambulance(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    service: 'ambulance',
    providerId: 'RX9',
    ts: at(60_000),
    reapLevel: 3,
    responses: { c1: response(8, 14), c2: response(35, 80), c3: response(90, 200), c4: response(120, 300) },
    crewsAvailable: 4,
    incidentsWaiting: 31,
    ...extra,
  };
}
const body = (json: unknown) => Buffer.from(JSON.stringify(json));

let bus: Bus;
let metrics: Metrics;
let edge: CapacityEdge;
let subscription: Subscription;
let published: ConsumedRecord<CapacitySnapshot>[];
let letters: ConsumedRecord<DeadLetter>[];

beforeEach(async () => {
  bus = createMemoryBus({ partitions: 4 });
  metrics = createMetrics({ defaultMetrics: false });
  edge = createCapacityEdge({ bus, metrics, logger: createLogger({ level: 'silent' }), maxFutureSkewMs: SKEW_MS, now: () => NOW });
  published = [];
  letters = [];
  subscription = await bus.consume({
    groupId: 'edge-test',
    fromBeginning: true,
    topics: [on(Topics.capacity, async (r) => void published.push(r)), on(Topics.deadLetter, async (r) => void letters.push(r))],
  });
});

afterEach(async () => {
  await subscription.stop();
  await bus.close();
});

/** Records on a topic right now: the in-process bus appends before publish resolves. */
async function count(topic: typeof Topics.capacity | typeof Topics.deadLetter): Promise<number> {
  return (await bus.offsets(topic)).reduce((sum, p) => sum + p.high - p.low, 0);
}

async function rejected(reason: string): Promise<number> {
  const { values } = await metrics.capacityRejected.get();
  return values.filter((v) => v.labels.reason === reason).reduce((sum, v) => sum + v.value, 0);
}

async function accepted(service: string): Promise<number> {
  const { values } = await metrics.capacitySnapshots.get();
  return values.filter((v) => v.labels.service === service).reduce((sum, v) => sum + v.value, 0);
}

/** Sends a payload that must be refused; checks the refusal is dead-lettered, counted and nothing published. */
async function refuse(payload: Buffer, source: CapacitySource = AMBULANCE) {
  const before = { letters: letters.length, capacity: await count(Topics.capacity) };
  const outcome = await edge.receive(source, payload, HTTP);
  if (outcome.ok) throw new Error(`expected a refusal, got ${JSON.stringify(outcome.accepted)}`);
  const { refusal } = outcome;
  expect(await count(Topics.capacity)).toBe(before.capacity);
  await expect.poll(() => letters.length).toBe(before.letters + 1);
  const letter = letters.at(-1)!;
  expect(letter.key).toBe(source.sourceId);
  expect(letter.value).toMatchObject({
    reason: refusal.reason,
    sourceId: source.sourceId,
    source: HTTP,
    receivedAt: new Date(NOW).toISOString(),
    payloadTruncated: payload.length > 4096,
  });
  expect(Buffer.from(letter.value.payloadBase64, 'base64').equals(payload.subarray(0, 4096))).toBe(true);
  expect(letter.value.detail).toBe(refusal.field ? `${refusal.field}: ${refusal.message}` : refusal.message);
  return refusal;
}

describe('capacity edge', () => {
  it('publishes an accepted snapshot on vw.capacity.v1 keyed by provider, and counts it by service', async () => {
    const snapshot = ambulance();
    const outcome = await edge.receive(AMBULANCE, body(snapshot), HTTP);
    expect(outcome).toEqual({ ok: true, accepted: [snapshot] });
    await expect.poll(() => published.length).toBe(1);
    expect(published[0]!.key).toBe('RX9');
    expect(published[0]!.value).toEqual(snapshot);
    expect(await accepted('ambulance')).toBe(1);
    expect(await count(Topics.deadLetter)).toBe(0);
    expect(letters).toEqual([]);
  });

  it('publishes every snapshot of an array in order, each keyed by its provider', async () => {
    const batch = [ambulance({ ts: at(120_000), reapLevel: 2 }), ambulance({ ts: at(60_000), reapLevel: 3 }), ambulance({ ts: at(0), reapLevel: 4 })];
    const outcome = await edge.receive(AMBULANCE, body(batch), HTTP);
    expect(outcome.ok && outcome.accepted.map((s) => s.ts)).toEqual(batch.map((s) => s.ts));
    await expect.poll(() => published.length).toBe(3);
    expect(published.map((r) => [r.key, (r.value as { reapLevel: number }).reapLevel])).toEqual([['RX9', 2], ['RX9', 3], ['RX9', 4]]);
    expect(await accepted('ambulance')).toBe(3);
  });

  it('accepts a 111 and a system source speaking for their own provider', async () => {
    const nhs111: CapacitySource = { sourceId: 'cap-111', service: 'nhs111', providerId: '111-NW' };
    const system: CapacitySource = { sourceId: 'cap-ics', service: 'system', providerId: 'QXX' };
    expect((await edge.receive(nhs111, body({ service: 'nhs111', providerId: '111-NW', ts: at(0), callsWaiting: 12, answeredWithin60sPct: 71.5 }), HTTP)).ok).toBe(true);
    expect((await edge.receive(system, body({ service: 'system', providerId: 'QXX', ts: at(0), opelLevel: 3 }), HTTP)).ok).toBe(true);
    await expect.poll(() => published.map((r) => r.key).sort()).toEqual(['111-NW', 'QXX']);
    expect(await accepted('nhs111')).toBe(1);
    expect(await accepted('system')).toBe(1);
  });

  it('refuses a body that is not JSON as malformed_json', async () => {
    const refusal = await refuse(Buffer.from('{"service": "ambulance",'));
    expect(refusal).toEqual({ reason: 'malformed_json', message: 'the body is not JSON' });
    expect(await rejected('malformed_json')).toBe(1);
  });

  it('names the nested field at fault in a schema violation', async () => {
    const bad = ambulance();
    (bad.responses as Record<string, unknown>).c2 = response(-1, 80);
    const refusal = await refuse(body(bad));
    expect(refusal.reason).toBe('schema_violation');
    expect(refusal.field).toBe('responses.c2.meanMinutes');
    expect(letters.at(-1)!.value.detail).toMatch(/^responses\.c2\.meanMinutes: /);
    expect(await rejected('schema_violation')).toBe(1);
  });

  it('names an unknown field and a field of the wrong type', async () => {
    expect((await refuse(body(ambulance({ reapLevel: 'high' })))).field).toBe('reapLevel');
    expect((await refuse(body(ambulance({ handover: { meanMinutes: 20, over30: 1, over60: 0, handovers: 9, extra: 1 } })))).field).toBe('handover');
    expect(await rejected('schema_violation')).toBe(2);
  });

  it('names the item of an array at fault, as [i].field, and publishes none of the array', async () => {
    const { ts: _ts, ...withoutTs } = ambulance();
    const refusal = await refuse(body([ambulance(), withoutTs, ambulance()]));
    expect(refusal.reason).toBe('schema_violation');
    expect(refusal.field).toBe('[1].ts');
    expect(published).toEqual([]);

    const deeper = ambulance();
    (deeper.responses as Record<string, unknown>).c4 = { meanMinutes: 100 };
    expect((await refuse(body([ambulance(), ambulance(), deeper]))).field).toBe('[2].responses.c4.p90Minutes');
    expect(await rejected('schema_violation')).toBe(2);
  });

  it('refuses an empty array and an array over the limit', async () => {
    expect((await refuse(body([]))).message).toBe('no snapshot given');
    const many = Array.from({ length: MAX_SNAPSHOTS_PER_MESSAGE + 1 }, (_, i) => ambulance({ ts: at(i * 1000) }));
    expect((await refuse(body(many))).message).toMatch(/at most 20 snapshots/);
    expect(await rejected('schema_violation')).toBe(2);
  });

  it('refuses a snapshot for another service or another provider as source_mismatch', async () => {
    const service = await refuse(body({ service: 'nhs111', providerId: 'RX9', ts: at(0), callsWaiting: 3 }));
    expect(service).toMatchObject({ reason: 'source_mismatch', field: 'service' });
    expect(service.message).toMatch(/cap-rx9 reports ambulance, not nhs111/);

    const provider = await refuse(body(ambulance({ providerId: 'RYY' })));
    expect(provider).toMatchObject({ reason: 'source_mismatch', field: 'providerId' });
    expect(provider.message).toMatch(/provider RX9 only/);

    // One item speaking for someone else spoils the message: nothing of it is published.
    const inArray = await refuse(body([ambulance(), ambulance({ providerId: 'RYY' })]));
    expect(inArray).toMatchObject({ reason: 'source_mismatch', field: '[1].providerId' });
    expect(published).toEqual([]);
    expect(await rejected('source_mismatch')).toBe(3);
  });

  it('refuses a snapshot stamped further ahead than the allowed clock skew, and takes one within it', async () => {
    const future = await refuse(body(ambulance({ ts: new Date(NOW + SKEW_MS + 1000).toISOString() })));
    expect(future).toMatchObject({ reason: 'timestamp_in_future', field: 'ts' });
    expect((await refuse(body([ambulance(), ambulance({ ts: new Date(NOW + 3_600_000).toISOString() })]))).field).toBe('[1].ts');
    expect(await rejected('timestamp_in_future')).toBe(2);

    expect((await edge.receive(AMBULANCE, body(ambulance({ ts: new Date(NOW + SKEW_MS - 1000).toISOString() })), HTTP)).ok).toBe(true);
    await expect.poll(() => published.length).toBe(1);
  });

  it('dead-letters only the first 4 KiB of a long payload and says it was cut', async () => {
    const payload = Buffer.from(`[${'x'.repeat(5000)}`);
    const outcome = await edge.receive(AMBULANCE, payload, { kind: 'mqtt', topic: 'vw/v1/capacity/cap-rx9/snapshots' });
    expect(outcome.ok).toBe(false);
    await expect.poll(() => letters.length).toBe(1);
    const letter = letters[0]!.value;
    expect(letter).toMatchObject({ reason: 'malformed_json', source: { kind: 'mqtt', topic: 'vw/v1/capacity/cap-rx9/snapshots' }, payloadTruncated: true });
    expect(Buffer.from(letter.payloadBase64, 'base64')).toEqual(payload.subarray(0, 4096));
  });

  it('counts an unauthenticated refusal without putting anything on the bus', async () => {
    edge.refusedUnauthenticated('unauthorized');
    edge.refusedUnauthenticated('payload_too_large');
    expect(await rejected('unauthorized')).toBe(1);
    expect(await rejected('payload_too_large')).toBe(1);
    expect(await count(Topics.deadLetter)).toBe(0);
    expect(await count(Topics.capacity)).toBe(0);
  });

  it('rejects, counting nothing, when the bus cannot take the snapshot or the refusal', async () => {
    await subscription.stop();
    await bus.close();
    await expect(edge.receive(AMBULANCE, body(ambulance()), HTTP)).rejects.toThrow(/closed/);
    await expect(edge.receive(AMBULANCE, Buffer.from('nope'), HTTP)).rejects.toThrow(/closed/);
    expect(await accepted('ambulance')).toBe(0);
    expect(await rejected('malformed_json')).toBe(0);
  });
});
