import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createMemoryBus } from '../../src/bus/memory-bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import type { RegistryData } from '../../src/domain/index.ts';
import { DEFAULT_DECODE_LIMITS } from '../../src/ingest/decode.ts';
import { startIngestRole } from '../../src/ingest/ingest-role.ts';
import type { DeviceMessageSource, InboundMessage } from '../../src/ingest/message-source.ts';
import { deviceTopic } from '../../src/ingest/topic.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { createRegistry } from '../../src/registry/registry.ts';

/**
 * Hostile input against the ingest role on the embedded bus (issue 13): twelve 260 KB arrays of
 * invalid items, in one batch, from three devices, once with items each refused on its own (2,000
 * implausible readings a message) and once with tiny items past the per-payload item limit (~23,000 a
 * message, refused whole). Reports time, the longest event-loop stall (what /healthz would wait),
 * dead letters kept, and heap and RSS growth. Before the fix this took 226 MB to 2.1 GB and stalled
 * the loop for 1.9 s.
 */
export interface HostileFigures {
  refused: number;
  deadLetters: number;
  deadLetterBytes: number;
  seconds: number;
  maxStallMs: number;
  heapGrowthMiB: number;
  rssGrowthMiB: number;
}

const KIB_260 = 260_000;

/** A JSON array of ~260 KB of copies of `item`, with `pad` chosen to fill it. */
export function hostileArray(item: (pad: string) => object, count: number): Buffer {
  const bare = JSON.stringify(item('')).length + 1;
  const pad = 'x'.repeat(Math.max(0, Math.floor(KIB_260 / count) - bare));
  return Buffer.from(JSON.stringify(Array.from({ length: count }, () => item(pad))));
}

export function hostileBatch(now = Date.now()): InboundMessage[] {
  const ts = new Date(now - 30_000).toISOString();
  const perItem = hostileArray((note) => ({ type: 'heart_rate', value: 900, unit: '/min', ts, note }), 2_000);
  const tiny = Buffer.from(`[${Array.from({ length: Math.floor(KIB_260 / 11) }, () => '{"type":1}').join(',')}]`);
  return Array.from({ length: 12 }, (_, i) => ({ topic: deviceTopic(`hostile-${i % 3}`), payload: i % 2 ? tiny : perItem }));
}

export const hostileRegistry = (): RegistryData => ({
  wards: [{ wardId: 'w', name: 'Ward', organisation: 'RXX', capacity: 10 }],
  patients: [{ patientId: 'p', displayName: 'P', spo2Scale: 1 }],
  devices: [0, 1, 2].map((i) => ({ deviceId: `hostile-${i}`, kind: 'companion_app' as const, medicalGrade: false })),
  enrolments: [0, 1, 2].map((i) => ({ deviceId: `hostile-${i}`, patientId: 'p', wardId: 'w', pathway: 'ari' as const, from: '2026-01-01T00:00:00Z' })),
});

export async function benchHostile(rounds = 1): Promise<HostileFigures> {
  const bus = createMemoryBus({ partitions: 8 });
  const metrics = createMetrics({ defaultMetrics: false });
  let onBatch: ((m: InboundMessage[]) => Promise<void>) | undefined;
  const source: DeviceMessageSource = { start: async (h) => void (onBatch = h), connected: () => true, stop: async () => undefined };
  const role = await startIngestRole({ bus, registry: createRegistry(hostileRegistry()), metrics, logger: createLogger({ level: 'silent' }), source, limits: DEFAULT_DECODE_LIMITS });
  const batch = hostileBatch();
  globalThis.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const start = performance.now();
  for (let r = 0; r < rounds; r++) await onBatch!(batch);
  const seconds = (performance.now() - start) / 1000;
  loop.disable();
  globalThis.gc?.();
  const heap1 = process.memoryUsage().heapUsed;
  const rss1 = process.memoryUsage().rss;
  const offsets = await bus.offsets(Topics.deadLetter);
  const deadLetters = offsets.reduce((n, p) => n + p.high - p.low, 0);
  const text = await metrics.registry.metrics();
  const refused = text.split('\n').filter((l) => l.startsWith('vw_readings_rejected_total')).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
  // Size of what the dead-letter topic holds, read back as a consumer would.
  let deadLetterBytes = 0;
  const { on } = await import('../../src/bus/bus.ts');
  const seen = await bus.consume({ groupId: 'hostile-bench', fromBeginning: true, topics: [on(Topics.deadLetter, async ({ value }) => void (deadLetterBytes += JSON.stringify(value).length))] });
  for (let i = 0; i < 200 && deadLetterBytes === 0 && deadLetters > 0; i++) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 50));
  await seen.stop();
  await role.stop();
  await bus.close();
  return {
    refused,
    deadLetters,
    deadLetterBytes,
    seconds,
    maxStallMs: loop.max / 1e6,
    heapGrowthMiB: (heap1 - heap0) / 2 ** 20,
    rssGrowthMiB: (rss1 - rss0) / 2 ** 20,
  };
}

export function hostileReport(f: HostileFigures): string[] {
  const mib = (n: number) => `${n.toFixed(1)} MiB`;
  return [
    `| hostile input: 12 × 260 KB arrays of invalid items | ${f.seconds.toFixed(2)} s, longest event-loop stall ${Math.round(f.maxStallMs)} ms |`,
    `| hostile input: refusals counted / dead letters kept | ${f.refused.toLocaleString('en-GB')} / ${f.deadLetters} (${Math.round(f.deadLetterBytes / 1024)} KiB) |`,
    `| hostile input: heap / RSS growth | ${mib(f.heapGrowthMiB)} / ${mib(f.rssGrowthMiB)} |`,
  ];
}
