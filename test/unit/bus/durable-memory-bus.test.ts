import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTopic, on, type Bus } from '../../../src/bus/bus.ts';
import { openDurableMemoryBus } from '../../../src/bus/memory-bus.ts';
import { until } from '../../support/wait.ts';

const Msg = z.object({ patient: z.string(), seq: z.number().int() });
const plain = defineTopic('test.plain', Msg);
const compacted = defineTopic('test.state', Msg, { compacted: true });
const audit = defineTopic('test.audit', Msg, { retainForever: true });
const bounded = defineTopic('test.dead', Msg, { keep: { recordsPerPartition: 10, retentionMs: 1 } });
const topics = [plain, compacted, audit, bounded];

const freshDir = () => join(mkdtempSync(join(tmpdir(), 'vw-durable-bus-')), 'bus');
const open = (dir: string, extra: { maxJournalBytes?: number } = {}) => openDurableMemoryBus({ dir, partitions: 4, topics, commitIntervalMs: 20, ...extra });
const batch = (patients: string[], from: number, count: number) =>
  patients.flatMap((patient) => Array.from({ length: count }, (_, i) => ({ key: patient, value: { patient, seq: from + i } })));

/** Every value a new group reads from the beginning of a topic, once it has caught up with `expected` records. */
async function readAll(bus: Bus, topic: typeof plain, expected: number | ((seen: ReadonlyArray<{ patient: string; seq: number }>) => boolean)) {
  const seen: Array<{ patient: string; seq: number }> = [];
  const sub = await bus.consume({ groupId: `reader-${Math.random()}`, fromBeginning: true, topics: [on(topic, async ({ value }) => void seen.push(value))] });
  await until(() => (typeof expected === 'number' ? seen.length >= expected : expected(seen)));
  await sub.stop();
  return seen;
}

describe('durable in-process bus', () => {
  it('keeps every record whose publish resolved through kill -9, each patient in order, with its offset', async () => {
    const dir = freshDir();
    const { bus } = await open(dir);
    await bus.publish(plain, batch(['a', 'b', 'c'], 0, 100));
    const before = await bus.offsets(plain);
    // What kill -9 leaves: the files as they are, the bus never closed.
    cpSync(dir, `${dir}-crashed`, { recursive: true });
    const reopened = await open(`${dir}-crashed`);
    expect(reopened.recovered.skipped).toBe(0);
    expect(await reopened.bus.offsets(plain)).toEqual(before);
    const seen = await readAll(reopened.bus, plain, 300);
    for (const p of ['a', 'b', 'c']) expect(seen.filter((v) => v.patient === p).map((v) => v.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await reopened.bus.close();
    await bus.close();
  });

  it('resumes a consumer group from its committed offsets: nothing lost, and after a clean stop nothing again', async () => {
    const dir = freshDir();
    const first = await open(dir);
    const handled: number[] = [];
    await first.bus.consume({ groupId: 'sink', topics: [on(plain, async ({ value }) => void handled.push(value.seq))] });
    await first.bus.publish(plain, batch(['a'], 0, 50));
    await until(() => handled.length === 50);
    await first.bus.close();
    const second = await open(dir);
    const again: number[] = [];
    await second.bus.consume({ groupId: 'sink', topics: [on(plain, async ({ value }) => void again.push(value.seq))] });
    await second.bus.publish(plain, batch(['a'], 50, 5));
    await until(() => again.length === 5);
    // The five published after the restart, and none of the fifty committed before it.
    expect(again).toEqual([50, 51, 52, 53, 54]);
    await second.bus.close();
  });

  it('after a crash redelivers at most what was handled since the last commit write, and loses nothing', async () => {
    const dir = freshDir();
    const first = await open(dir);
    const handled: number[] = [];
    await first.bus.consume({ groupId: 'sink', topics: [on(plain, async ({ value }) => void handled.push(value.seq))] });
    await first.bus.publish(plain, batch(['a'], 0, 200));
    await until(() => handled.length === 200);
    cpSync(dir, `${dir}-crashed`, { recursive: true });
    const second = await open(`${dir}-crashed`);
    const again: number[] = [];
    await second.bus.consume({ groupId: 'sink', topics: [on(plain, async ({ value }) => void again.push(value.seq))] });
    await second.bus.publish(plain, batch(['a'], 200, 1));
    await until(() => again.includes(200));
    // Whatever is delivered again is a tail of what was handled, in order, followed by the new record.
    const from = again[0]!;
    expect(again).toEqual(Array.from({ length: 201 - from }, (_, i) => from + i));
    await second.bus.close();
    await first.bus.close();
  });

  it('keeps the newest record per key of a compacted topic, all of an audit topic and at most the bound of a bounded one, through checkpoints', async () => {
    const dir = freshDir();
    const { bus, diskBytes } = await open(dir, { maxJournalBytes: 16_384 });
    for (let round = 0; round < 40; round++) {
      await bus.publish(compacted, batch(['a', 'b', 'c'], round, 1));
      await bus.publish(audit, batch(['a'], round, 1));
      await bus.publish(bounded, batch(['a', 'b'], round * 10, 10));
    }
    await bus.close();
    const reopened = await open(dir, { maxJournalBytes: 16_384 });
    const state = await readAll(reopened.bus, compacted, 3);
    expect(state.sort((x, y) => x.patient.localeCompare(y.patient))).toEqual([{ patient: 'a', seq: 39 }, { patient: 'b', seq: 39 }, { patient: 'c', seq: 39 }]);
    expect((await readAll(reopened.bus, audit, 40)).map((v) => v.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const offsets = await reopened.bus.offsets(bounded);
    for (const o of offsets) expect(o.high - o.low).toBeLessThanOrEqual(10);
    // 40 rounds wrote well over the journal bound; what is on disk is the state and one journal's worth.
    expect(diskBytes()).toBeLessThan(3 * 16_384);
    await reopened.bus.close();
  });

  it('reads a squeezed compacted topic back with its offsets, and goes on numbering after them', async () => {
    const dir = freshDir();
    const { bus } = await open(dir, { maxJournalBytes: 65_536 });
    for (let round = 0; round < 30; round++) await bus.publish(compacted, batch(['a', 'b', 'c', 'd'], round * 500, 500));
    const before = await bus.offsets(compacted);
    await bus.close();
    const reopened = await open(dir, { maxJournalBytes: 65_536 });
    expect(await reopened.bus.offsets(compacted)).toEqual(before);
    const held = reopened.bus.held!().get(compacted.name)!;
    expect(held).toBeGreaterThanOrEqual(4);
    expect(held).toBeLessThanOrEqual(4 * 2 * 1_025);
    // Until every key's newest record has been read: the gauge counts slots, holes not yet squeezed included.
    const newestOf = (seen: ReadonlyArray<{ patient: string; seq: number }>) => new Map(seen.map((v) => [v.patient, v.seq]));
    const state = await readAll(reopened.bus, compacted, (seen) => [...newestOf(seen).values()].filter((seq) => seq === 14_999).length === 4);
    expect(state.length).toBeLessThanOrEqual(held);
    const newest = newestOf(state);
    expect([...newest].sort()).toEqual([['a', 14_999], ['b', 14_999], ['c', 14_999], ['d', 14_999]]);
    await reopened.bus.publish(compacted, batch(['a'], 15_000, 1));
    const after = await reopened.bus.offsets(compacted);
    expect(after.reduce((n, o) => n + o.high, 0)).toBe(before.reduce((n, o) => n + o.high, 0) + 1);
    await reopened.bus.close();
  });

  it('lets a consumed topic go from disk as from memory, so a busy ward does not fill the disk', async () => {
    const dir = freshDir();
    const { bus, diskBytes } = await open(dir, { maxJournalBytes: 65_536 });
    let handled = 0;
    await bus.consume({ groupId: 'sink', topics: [on(plain, async () => void handled++)] });
    for (let round = 0; round < 30; round++) {
      await bus.publish(plain, batch(['a', 'b', 'c', 'd'], round * 500, 500));
      await until(() => handled === (round + 1) * 2_000);
    }
    // 60,000 records of about 90 bytes were journalled. Consumed ones beyond the newest 2,000 of a
    // partition are let go from memory (checked every 2,000 appended, so a partition holds at most
    // about 6,000), and from disk at the next checkpoint: disk follows what memory may hold, a snapshot
    // of it and at most one journal's bound since.
    const held = (await bus.offsets(plain)).reduce((n, o) => n + o.high - o.low, 0);
    expect(held).toBeLessThanOrEqual(4 * 6_000);
    expect(diskBytes()).toBeLessThan(4 * 6_000 * 100 + 2 * 65_536);
    expect(diskBytes()).toBeLessThan((60_000 * 90) / 2);
    await bus.close();
  });
});
