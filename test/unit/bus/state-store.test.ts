import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTopic, type Bus } from '../../../src/bus/bus.ts';
import { createMemoryBus } from '../../../src/bus/memory-bus.ts';
import { partitionFor } from '../../../src/bus/partitioner.ts';
import { createStateStore } from '../../../src/bus/state-store.ts';

const Count = z.object({ patientId: z.string(), n: z.number().int() });
const changelog = defineTopic('test.store-changelog', Count, { compacted: true });
const patients = Array.from({ length: 24 }, (_, i) => `pt-${i}`);
const store = (bus: Bus, options: { logged?: boolean } = {}) =>
  createStateStore({ name: 'counts', bus, changelog, partitions: 4, ...options });

describe('a changelog-backed state store', () => {
  it('holds puts at once and writes them at flush, newest per key, only for the partitions flushed', async () => {
    const bus = createMemoryBus({ partitions: 4, topics: [changelog] });
    const counts = store(bus);
    for (const patientId of patients) for (let n = 1; n <= 3; n++) counts.put(patientId, { patientId, n });
    expect(counts.get('pt-5')).toEqual({ patientId: 'pt-5', n: 3 });
    expect(counts.size()).toBe(24);
    const offsets = async () => (await bus.offsets(changelog)).reduce((n, o) => n + o.high, 0);
    expect(await offsets()).toBe(0);
    await counts.flush([0]);
    const inZero = patients.filter((p) => partitionFor(p, 4) === 0).length;
    expect(await offsets()).toBe(inZero);
    await counts.flush();
    expect(await offsets()).toBe(24);
    await counts.flush();
    expect(await offsets()).toBe(24);
    await bus.close();
  });

  it('restores only the partitions asked for, from what another instance flushed', async () => {
    const bus = createMemoryBus({ partitions: 4, topics: [changelog] });
    const writer = store(bus);
    for (const patientId of patients) writer.put(patientId, { patientId, n: patientId.length });
    await writer.flush();
    writer.put('pt-1', { patientId: 'pt-1', n: 100 });
    await writer.flush();

    const reader = store(bus);
    const summary = await reader.restore([1, 3]);
    const wanted = patients.filter((p) => [1, 3].includes(partitionFor(p, 4)));
    expect(summary).toMatchObject({ store: 'counts', partitions: [1, 3], keys: wanted.length });
    expect(reader.size()).toBe(wanted.length);
    expect([...reader.keys(1), ...reader.keys(3)].sort()).toEqual(wanted.sort());
    expect([...reader.keys(0)]).toEqual([]);
    for (const p of wanted) expect(reader.get(p)).toEqual(writer.get(p));
    for (const p of patients.filter((x) => !wanted.includes(x))) expect(reader.get(p)).toBeUndefined();

    reader.release([1]);
    expect([...reader.keys(1)]).toEqual([]);
    expect(reader.size()).toBe(patients.filter((p) => partitionFor(p, 4) === 3).length);
    await bus.close();
  });

  it('keeps what a stale writer published after a newer value, when told how to tell them apart', async () => {
    // Kafka hands back superseded records until it compacts them: a plain topic stands for that here.
    const uncompacted = defineTopic('test.store-uncompacted', Count);
    const bus = createMemoryBus({ partitions: 4, topics: [uncompacted] });
    const p = partitionFor('pt-1', 4);
    await bus.publish(uncompacted, [{ key: 'pt-1', value: { patientId: 'pt-1', n: 9 } }]);
    await bus.publish(uncompacted, [{ key: 'pt-1', value: { patientId: 'pt-1', n: 4 } }]);
    const newestWins = createStateStore({ name: 'counts', bus, changelog: uncompacted, partitions: 4 });
    expect((await newestWins.restore([p])).records).toBe(2);
    expect(newestWins.get('pt-1')?.n).toBe(4);
    const highestWins = createStateStore({ name: 'counts', bus, changelog: uncompacted, partitions: 4, supersedes: (held, incoming) => incoming.n >= held.n });
    await highestWins.restore([p]);
    expect(highestWins.get('pt-1')?.n).toBe(9);
    await bus.close();
  });

  it('writes again at the next flush what a failed flush did not write, unless a newer value was put', async () => {
    const bus = createMemoryBus({ partitions: 4, topics: [changelog] });
    let refuse = true;
    const flaky: Bus = { ...bus, publish: async (topic, records) => (refuse ? Promise.reject(new Error('broker away')) : bus.publish(topic, records)) };
    const counts = store(flaky);
    counts.put('pt-1', { patientId: 'pt-1', n: 1 });
    counts.put('pt-2', { patientId: 'pt-2', n: 1 });
    await expect(counts.flush()).rejects.toThrow('broker away');
    counts.put('pt-2', { patientId: 'pt-2', n: 2 });
    refuse = false;
    await counts.flush();
    const written: Array<{ patientId: string; n: number }> = [];
    await bus.readPartitions(changelog, [0, 1, 2, 3], ({ value }) => void written.push(value));
    expect(written.sort((a, b) => a.patientId.localeCompare(b.patientId))).toEqual([
      { patientId: 'pt-1', n: 1 },
      { patientId: 'pt-2', n: 2 },
    ]);
    await bus.close();
  });

  it('unlogged, keeps values in memory alone: nothing is written and a restore finds nothing', async () => {
    const bus = createMemoryBus({ partitions: 4, topics: [changelog] });
    const counts = store(bus, { logged: false });
    counts.put('pt-1', { patientId: 'pt-1', n: 1 });
    await counts.flush();
    expect((await bus.offsets(changelog)).every((o) => o.high === 0)).toBe(true);
    expect(counts.get('pt-1')?.n).toBe(1);
    expect((await store(bus, { logged: false }).restore([0, 1, 2, 3])).records).toBe(0);
    await bus.close();
  });
});
