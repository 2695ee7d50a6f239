import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../../src/bus/bus.ts';
import { createMemoryBus } from '../../../src/bus/memory-bus.ts';
import { Topics } from '../../../src/bus/topics.ts';
import { DeadLetter, Reading } from '../../../src/domain/index.ts';
import { DEFAULT_DECODE_LIMITS } from '../../../src/ingest/decode.ts';
import { DEAD_LETTER_EXCERPT_BYTES, startIngestRole } from '../../../src/ingest/ingest-role.ts';
import type { DeviceMessageSource, InboundMessage } from '../../../src/ingest/message-source.ts';
import { deviceTopic } from '../../../src/ingest/topic.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetrics, type Metrics } from '../../../src/observability/metrics.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { registry } from './fixtures.ts';
import { until } from '../../support/wait.ts';

/**
 * The ingest role with a source we drive by hand and the in-process bus: one message's failure is
 * that message's alone, and refusals cost bounded dead letters and log lines.
 */
const recent = () => new Date(Date.now() - 30_000).toISOString();
const message = (deviceId: string, body: unknown): InboundMessage => ({
  topic: deviceTopic(deviceId),
  payload: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
});
const heartRate = (bpm: number) => ({ type: 'heart_rate', value: bpm, unit: '/min', ts: recent() });

interface Harness {
  bus: Bus;
  metrics: Metrics;
  lines: Array<Record<string, unknown>>;
  /** Hands a batch to ingest as a broker would; resolves when ingest would acknowledge it, rejects if it would not. */
  deliver(messages: InboundMessage[]): Promise<void>;
  stop(): Promise<void>;
}
let running: Harness | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function start(options: { registry?: Registry; deadLettersPerDevice?: number } = {}): Promise<Harness> {
  const bus = createMemoryBus({ partitions: 2 });
  const metrics = createMetrics({ defaultMetrics: false });
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (chunk, _, done) => void (lines.push(JSON.parse(String(chunk))), done()) }) });
  let onBatch: ((messages: InboundMessage[]) => Promise<void>) | undefined;
  const source: DeviceMessageSource = {
    start: async (handler) => void (onBatch = handler),
    connected: () => true,
    stop: async () => undefined,
  };
  const role = await startIngestRole({
    bus,
    registry: options.registry ?? registry,
    metrics,
    logger,
    source,
    limits: DEFAULT_DECODE_LIMITS,
    refusals: { deadLettersPerDevice: options.deadLettersPerDevice ?? 20, logIntervalMs: 3_600_000 },
  });
  const harness: Harness = {
    bus,
    metrics,
    lines,
    deliver: (messages) => onBatch!(messages),
    async stop() {
      await role.stop();
      await bus.close();
    },
  };
  running = harness;
  return harness;
}

async function records(bus: Bus, topic: typeof Topics.readings | typeof Topics.deadLetter): Promise<number> {
  return (await bus.offsets(topic)).reduce((n, p) => n + p.high - p.low, 0);
}
async function counter(metrics: Metrics, name: string, labels = ''): Promise<number> {
  const text = await metrics.registry.metrics();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && line.includes(labels)) total += Number(line.split(' ').at(-1));
  return total;
}
async function letters(bus: Bus): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  const { on } = await import('../../../src/bus/bus.ts');
  const subscription = await bus.consume({ groupId: `t-${Math.random()}`, fromBeginning: true, topics: [on(Topics.deadLetter, async ({ value }) => void out.push(value))] });
  const total = await records(bus, Topics.deadLetter);
  await until(() => out.length >= total, 10_000);
  await subscription.stop();
  return out;
}

describe('each message of a batch succeeds or fails alone', () => {
  it('a message ingest fails on is refused as internal_error; the rest of the batch is published and acknowledged', async () => {
    // A registry that fails for one device: a stand-in for any bug that throws while decoding a message.
    const faulty: Registry = { ...registry, device: (id: string) => (id === 'bp-1' ? (() => { throw new TypeError('boom'); })() : registry.device(id)) };
    const h = await start({ registry: faulty });
    const throwing: InboundMessage = { topic: deviceTopic('oxi-1'), get payload(): Buffer { throw new RangeError('unreadable'); } };
    await expect(
      h.deliver([message('app-1', heartRate(70)), message('bp-1', heartRate(71)), throwing, message('watch-1', { heartRate: [{ time: recent(), bpm: 72 }] })]),
    ).resolves.toBeUndefined();
    expect(await records(h.bus, Topics.readings)).toBe(2);
    expect(await counter(h.metrics, 'vw_mqtt_messages_total')).toBe(4);
    expect(await counter(h.metrics, 'vw_readings_ingested_total')).toBe(2);
    expect(await counter(h.metrics, 'vw_readings_rejected_total', 'reason="internal_error"')).toBe(2);
    const dead = await letters(h.bus);
    expect(dead.map((l) => [l.reason, l.deviceId]).sort()).toEqual([['internal_error', 'bp-1'], ['internal_error', 'oxi-1']]);
    expect(dead.every((l) => DeadLetter.safeParse(l).success && !l.detail.includes('boom') && !l.detail.includes('unreadable'))).toBe(true);
  });

  it('hostile units and keys from one device cost nothing to the others in its batch', async () => {
    const h = await start();
    const hostile = ['valueOf', '__proto__', 'constructor', 'toString', 'hasOwnProperty'].map((unit) => message('oxi-1', { type: 'heart_rate', value: 70, unit, ts: recent() }));
    await h.deliver([message('app-1', heartRate(70)), ...hostile, message('watch-1', heartRate(72))]);
    expect(await records(h.bus, Topics.readings)).toBe(2);
    expect(await counter(h.metrics, 'vw_readings_rejected_total', 'reason="unsupported_unit"')).toBe(5);
    expect(await counter(h.metrics, 'vw_mqtt_messages_total')).toBe(7);
  });
});

describe('refusals are bounded', () => {
  it('a device gets a few dead letters a minute, with a payload excerpt; every refusal is still counted', async () => {
    const h = await start({ deadLettersPerDevice: 5 });
    const bad = Array.from({ length: 1_500 }, () => ({ type: 'heart_rate', value: 900, unit: '/min', ts: recent() }));
    await h.deliver([message('app-1', bad), message('app-1', bad), message('watch-1', heartRate(900))]);
    expect(await counter(h.metrics, 'vw_readings_rejected_total', 'reason="implausible_value"')).toBe(3_001);
    expect(await counter(h.metrics, 'vw_dead_letters_suppressed_total', 'reason="implausible_value"')).toBe(2_995);
    const dead = await letters(h.bus);
    expect(dead.filter((l) => l.deviceId === 'app-1')).toHaveLength(5);
    expect(dead.filter((l) => l.deviceId === 'watch-1')).toHaveLength(1);
    for (const l of dead) expect(Buffer.from(l.payloadBase64, 'base64').length).toBeLessThanOrEqual(DEAD_LETTER_EXCERPT_BYTES);
    expect(dead.find((l) => l.deviceId === 'app-1')).toMatchObject({ payloadTruncated: true, item: 0 });
    expect(dead.find((l) => l.deviceId === 'watch-1')).toMatchObject({ payloadTruncated: false });
  });

  it('logs one line per device and reason per interval, with counts and no patient data', async () => {
    const h = await start();
    const bad = Array.from({ length: 300 }, (_, i) => ({ type: 'heart_rate', value: 900 + i, unit: '/min', ts: recent(), patientId: 'p1' }));
    await h.deliver([message('app-1', bad), message('app-1', '{not json'), message('watch-1', heartRate(901))]);
    await h.deliver([message('app-1', bad)]);
    expect(h.lines.filter((l) => l.msg === 'device input refused')).toEqual([]);
    await running!.stop();
    running = undefined;
    const refused = h.lines.filter((l) => l.msg === 'device input refused');
    expect(refused.map((l) => [l.deviceId, l.reason, l.refused, l.deadLettered]).sort()).toEqual([
      ['app-1', 'implausible_value', 600, 20],
      ['app-1', 'malformed_json', 1, 0],
      ['watch-1', 'implausible_value', 1, 1],
    ]);
    // Without the log's own time and pid, whose digits may be anything.
    const text = JSON.stringify(h.lines.map(({ time: _time, pid: _pid, ...line }) => line));
    expect(text).not.toContain('"p1"');
    expect(text).not.toContain('900');
  });
});
