import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { on } from '../../src/bus/bus.ts';
import { createMemoryBus, openDurableMemoryBus } from '../../src/bus/memory-bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import { VW_TOPICS } from '../../src/app/adapters.ts';
import type { Reading } from '../../src/domain/index.ts';
import { openDurableMemoryStore } from '../../src/store/durable-store.ts';
import { createMemoryStore } from '../../src/store/memory-store.ts';

/**
 * What keeping the embedded default on disk costs: readings published to the in-process bus by many
 * devices at once (each publish resolved only once on disk, syncs shared), and written to the store
 * in the sink's batches, beside the same without a journal; then how long a restart takes to read
 * it all back, and the disk it takes.
 */
export interface DurableFigures {
  readings: number;
  bus: { plainPerSecond: number; durablePerSecond: number; diskBytes: number; recoveryMs: number; recoveredEntries: number };
  store: { plainPerSecond: number; durablePerSecond: number; diskBytes: number; recoveryMs: number };
}

const TOPICS = VW_TOPICS;

function readings(count: number, patients: number): Reading[] {
  const start = Date.now() - count * 100;
  return Array.from({ length: count }, (_, i) => {
    const ts = new Date(start + i * 100).toISOString();
    return { readingId: `r-${i}`, patientId: `bp-${i % patients}`, deviceId: `bd-${i % patients}`, wardId: 'bench', type: 'heart_rate', value: 60 + (i % 40), unit: '/min', ts, receivedAt: ts };
  });
}

async function publishAll(bus: ReturnType<typeof createMemoryBus>, list: Reading[], devicesAtOnce: number): Promise<number> {
  let consumed = 0;
  const done = new Promise<void>((resolve) => {
    void bus.consume({ groupId: 'bench-sink', topics: [on(Topics.readings, async () => void (++consumed === list.length && resolve()))] });
  });
  const started = performance.now();
  let next = 0;
  // Each device publishes its message's readings and waits for the answer before the next, as ingest does per MQTT message.
  await Promise.all(
    Array.from({ length: devicesAtOnce }, async () => {
      while (next < list.length) {
        const batch = list.slice(next, (next += 3));
        await bus.publish(Topics.readings, batch.map((r) => ({ key: r.patientId, value: r })));
      }
    }),
  );
  await done;
  return list.length / ((performance.now() - started) / 1000);
}

export async function benchDurable(count = 100_000): Promise<DurableFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'vw-bench-durable-'));
  const list = readings(count, 1_000);
  try {
    const plainBus = createMemoryBus({ partitions: 8 });
    const plainPerSecond = await publishAll(plainBus, list, 200);
    await plainBus.close();
    const durable = await openDurableMemoryBus({ dir: join(dir, 'bus'), partitions: 8, topics: TOPICS });
    const durablePerSecond = await publishAll(durable.bus, list, 200);
    const busDisk = durable.diskBytes();
    await durable.bus.close();
    let started = performance.now();
    const reopened = await openDurableMemoryBus({ dir: join(dir, 'bus'), partitions: 8, topics: TOPICS });
    const busRecoveryMs = performance.now() - started;
    await reopened.bus.close();

    const limits = { retentionHours: 72, maxPointsPerSeries: 10_000, maxPoints: 2_000_000 };
    const writeAll = async (store: ReturnType<typeof createMemoryStore>) => {
      const t0 = performance.now();
      for (let i = 0; i < list.length; i += 500) await store.writeReadings(list.slice(i, i + 500));
      return list.length / ((performance.now() - t0) / 1000);
    };
    const plainStore = await writeAll(createMemoryStore(limits));
    const store = await openDurableMemoryStore({ ...limits, dir: join(dir, 'store') });
    const durableStore = await writeAll(store.store);
    const storeDisk = store.diskBytes();
    await store.store.close();
    started = performance.now();
    const storeAgain = await openDurableMemoryStore({ ...limits, dir: join(dir, 'store') });
    const storeRecoveryMs = performance.now() - started;
    if (storeAgain.store.pointCount() !== count) throw new Error(`the store read back ${storeAgain.store.pointCount()} points of ${count}`);
    await storeAgain.store.close();
    return {
      readings: count,
      bus: { plainPerSecond, durablePerSecond, diskBytes: busDisk, recoveryMs: busRecoveryMs, recoveredEntries: reopened.recovered.entries },
      store: { plainPerSecond: plainStore, durablePerSecond: durableStore, diskBytes: storeDisk, recoveryMs: storeRecoveryMs },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function durableReport(f: DurableFigures): string[] {
  const n = (x: number) => Math.round(x).toLocaleString('en-GB');
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  return [
    `| in-process bus, 200 devices publishing 3 readings a message | ${n(f.bus.durablePerSecond)} readings/s kept on disk (each publish synced before it resolves), ${n(f.bus.plainPerSecond)} readings/s in memory only |`,
    `| in-process bus on disk after ${n(f.readings)} readings, and its restart | ${mb(f.bus.diskBytes)}; read back in ${n(f.bus.recoveryMs)} ms (${n(f.bus.recoveredEntries)} entries) |`,
    `| embedded store, sink batches of 500 | ${n(f.store.durablePerSecond)} readings/s kept on disk, ${n(f.store.plainPerSecond)} readings/s in memory only |`,
    `| embedded store on disk after ${n(f.readings)} readings, and its restart | ${mb(f.store.diskBytes)}; read back in ${n(f.store.recoveryMs)} ms |`,
  ];
}
