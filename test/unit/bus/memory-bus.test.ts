import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { until } from '../../support/wait.ts';
import { defineTopic, on, onBatch } from '../../../src/bus/bus.ts';
import { createMemoryBus } from '../../../src/bus/memory-bus.ts';
import { BusEvents } from '../../../src/bus/events.ts';
import { murmur2, partitionFor } from '../../../src/bus/partitioner.ts';

const Msg = z.object({ patient: z.string(), seq: z.number().int() });
const topic = defineTopic('test.msgs', Msg);


function records(patients: string[], perPatient: number) {
  return patients.flatMap((patient) =>
    Array.from({ length: perPatient }, (_, seq) => ({ key: patient, value: { patient, seq } })),
  );
}

describe('partitioner', () => {
  it('matches Kafka murmur2 reference values', () => {
    // Values from Kafka's own UtilsTest.testMurmur2.
    expect(murmur2(new TextEncoder().encode('21'))).toBe(-973932308);
    expect(murmur2(new TextEncoder().encode('foobar'))).toBe(-790332482);
    expect(murmur2(new TextEncoder().encode('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(new TextEncoder().encode(''))).toBe(275646681);
  });
  it('keeps a key on one partition', () => {
    expect(partitionFor('pt-1', 8)).toBe(partitionFor('pt-1', 8));
    expect(partitionFor('pt-1', 8)).toBeGreaterThanOrEqual(0);
  });
});

describe('memory bus', () => {
  it('delivers each key in order to a single consumer', async () => {
    const bus = createMemoryBus({ partitions: 4 });
    const seen = new Map<string, number[]>();
    await bus.consume({
      groupId: 'g',
      topics: [on(topic, async ({ value }) => {
        seen.set(value.patient, [...(seen.get(value.patient) ?? []), value.seq]);
      })],
    });
    await bus.publish(topic, records(['a', 'b', 'c', 'd', 'e'], 50));
    await until(() => [...seen.values()].reduce((n, s) => n + s.length, 0) === 250);
    for (const seqs of seen.values()) expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await bus.close();
  });

  it('splits partitions between members of a group and gives every group its own copy', async () => {
    const bus = createMemoryBus({ partitions: 4 });
    const byMember = [0, 0];
    let other = 0;
    for (const m of [0, 1]) {
      await bus.consume({ groupId: 'rules', topics: [on(topic, async () => void byMember[m]!++ )] });
    }
    await bus.consume({ groupId: 'sink', topics: [on(topic, async () => void other++ )] });
    const patients = Array.from({ length: 40 }, (_, i) => `pt-${i}`);
    await bus.publish(topic, records(patients, 5));
    await until(() => byMember[0]! + byMember[1]! === 200 && other === 200);
    expect(byMember[0]).toBeGreaterThan(0);
    expect(byMember[1]).toBeGreaterThan(0);
    await bus.close();
  });

  it('redelivers a record whose handler failed, and commits only after success', async () => {
    const failures = new BusEvents();
    let failed = 0;
    failures.on('handler.failed', () => failed++);
    const bus2 = createMemoryBus({ partitions: 1, retryBackoff: { initialMs: 1, maxMs: 5 }, events: failures });
    const attempts: number[] = [];
    let throwsLeft = 3;
    await bus2.consume({
      groupId: 'g',
      topics: [on(topic, async ({ value }) => {
        attempts.push(value.seq);
        if (value.seq === 1 && throwsLeft-- > 0) throw new Error('downstream unavailable');
      })],
    });
    await bus2.publish(topic, records(['a'], 3));
    await until(() => attempts.length === 6);
    expect(attempts).toEqual([0, 1, 1, 1, 1, 2]);
    expect(failed).toBe(3);
    await bus2.close();
  });

  it('moves a leaving member’s partitions to the others with nothing lost', async () => {
    const bus = createMemoryBus({ partitions: 6 });
    const handled = new Map<string, number>();
    const count = (v: { patient: string; seq: number }) => handled.set(`${v.patient}/${v.seq}`, (handled.get(`${v.patient}/${v.seq}`) ?? 0) + 1);
    const a = await bus.consume({ groupId: 'rules', topics: [on(topic, async ({ value }) => void count(value) )] });
    await bus.consume({
      groupId: 'rules',
      topics: [on(topic, async ({ value }) => {
        await new Promise((r) => setTimeout(r, 1));
        count(value);
      })],
    });
    const patients = Array.from({ length: 30 }, (_, i) => `pt-${i}`);
    await bus.publish(topic, records(patients, 20));
    await until(() => handled.size > 100);
    await a.stop();
    await bus.publish(topic, records(patients.map((p) => `${p}-late`), 2));
    await until(() => handled.size === 30 * 20 + 30 * 2);
    expect([...handled.values()].every((n) => n >= 1)).toBe(true);
    await bus.close();
  });

  it('lets a new group read from the beginning, or only new records', async () => {
    const bus = createMemoryBus({ partitions: 2 });
    await bus.publish(topic, records(['a', 'b'], 3));
    const fromStart: number[] = [];
    const onlyNew: number[] = [];
    await bus.consume({ groupId: 'replay', fromBeginning: true, topics: [on(topic, async ({ value }) => void fromStart.push(value.seq) )] });
    await bus.consume({ groupId: 'live', topics: [on(topic, async ({ value }) => void onlyNew.push(value.seq) )] });
    await bus.publish(topic, [{ key: 'a', value: { patient: 'a', seq: 99 } }]);
    await until(() => fromStart.length === 7 && onlyNew.length === 1);
    expect(onlyNew).toEqual([99]);
    await bus.close();
  });

  it('drops the oldest records beyond its bound, except on a topic retained forever (an audit log)', async () => {
    const bus = createMemoryBus({ partitions: 1, maxRecordsPerPartition: 3 });
    const audit = defineTopic('test.audit', Msg, { retainForever: true });
    await bus.publish(topic, records(['p1'], 5));
    await bus.publish(audit, records(['p1'], 5));
    expect(await bus.offsets(topic)).toEqual([{ partition: 0, low: 2, high: 5 }]);
    expect(await bus.offsets(audit)).toEqual([{ partition: 0, low: 0, high: 5 }]);
    await bus.close();
  });

  it('keeps a topic nothing consumes (dead letters) within the topic’s own bound', async () => {
    const bus = createMemoryBus({ partitions: 1, maxRecordsPerPartition: 1000 });
    const kept = defineTopic('test.kept', Msg, { keep: { recordsPerPartition: 4, retentionMs: 60_000 } });
    await bus.publish(kept, records(['p1'], 10));
    await bus.publish(kept, records(['p2'], 3));
    expect(await bus.offsets(kept)).toEqual([{ partition: 0, low: 9, high: 13 }]);
    await bus.close();
  });

  it('tells a group that fell behind its bound which records it lost, before the records after the gap', async () => {
    const events = new BusEvents();
    const skipped: number[] = [];
    events.on('retention.skipped', ({ records }) => skipped.push(records));
    const bus = createMemoryBus({ partitions: 1, maxRecordsPerPartition: 10, events });
    const seen: Array<number | string> = [];
    await bus.consume({
      groupId: 'slow',
      topics: [on(topic, async ({ value }) => void seen.push(value.seq))],
      onGap: (gap) => seen.push(`gap ${gap.groupId} ${gap.topic}/${gap.partition} ${gap.records}`),
    });
    // One publish of 100 records: the consumer cannot run before 90 of them are dropped.
    await bus.publish(topic, records(['p1'], 100));
    await until(() => seen.length === 11);
    expect(seen).toEqual(['gap slow test.msgs/0 90', ...Array.from({ length: 10 }, (_, i) => 90 + i)]);
    expect(skipped).toEqual([90]);
    // A group that keeps up hears of no gap.
    await bus.publish(topic, records(['p1'], 5));
    await until(() => seen.length === 16);
    expect(seen.filter((s) => typeof s === 'string')).toHaveLength(1);
    await bus.close();
  });

  it('drops records every group has committed, keeping the newest 2,000 for a group that joins later', async () => {
    const bus = createMemoryBus({ partitions: 1 });
    let seen = 0;
    await bus.consume({ groupId: 'reader', topics: [onBatch(topic, async (batch) => void (seen += batch.length), 1000)] });
    for (let i = 0; i < 30; i++) {
      await bus.publish(topic, records(['p1'], 1000));
      await until(() => seen === (i + 1) * 1000);
    }
    const [offsets] = await bus.offsets(topic);
    expect(offsets!.high).toBe(30_000);
    expect(offsets!.low).toBeGreaterThan(0);
    expect(offsets!.high - offsets!.low).toBeGreaterThanOrEqual(2_000);
    expect(offsets!.high - offsets!.low).toBeLessThan(30_000);
    let late = 0;
    await bus.consume({ groupId: 'late', fromBeginning: true, topics: [onBatch(topic, async (batch) => void (late += batch.length), 1000)] });
    await until(() => late === offsets!.high - offsets!.low);
    await bus.close();
  });

  it('keeps only the newest record per key on a compacted topic, leaving gaps in the offsets as Kafka does', async () => {
    const bus = createMemoryBus({ partitions: 1 });
    const changelog = defineTopic('test.changelog', Msg, { compacted: true });
    await bus.publish(changelog, [...records(['p1'], 3), ...records(['p2'], 2), { key: 'p1', value: { patient: 'p1', seq: 9 } }]);
    const seen: Array<[string, number]> = [];
    const sub = await bus.consume({ groupId: 'c', fromBeginning: true, topics: [on(changelog, async ({ offset, value }) => void seen.push([offset, value.seq]))] });
    await until(() => seen.length === 2);
    expect(seen).toEqual([
      ['4', 1],
      ['5', 9],
    ]);
    expect(await bus.offsets(changelog)).toEqual([{ partition: 0, low: 0, high: 6 }]);
    await sub.stop();
    await bus.close();
  });

  it('holds about one record per key of a compacted topic however many were written, and keeps a quiet key past the count bound', async () => {
    const bus = createMemoryBus({ partitions: 1, maxRecordsPerPartition: 1_000 });
    const changelog = defineTopic('test.changelog', Msg, { compacted: true });
    await bus.publish(changelog, [{ key: 'quiet', value: { patient: 'quiet', seq: 1 } }]);
    for (let round = 0; round < 50; round++) await bus.publish(changelog, records(['p1', 'p2', 'p3', 'p4'], 1_000).map((r) => ({ ...r, value: { ...r.value, seq: round * 1_000 + r.value.seq } })));
    // 200,001 written; compaction's holes are squeezed out once they pass 1,024 and outnumber the records.
    expect(bus.held!().get('test.changelog')).toBeLessThanOrEqual(2 * 1_025 + 4);
    expect(await bus.offsets(changelog)).toEqual([{ partition: 0, low: 0, high: 200_001 }]);
    const seen = new Map<string, [string, number]>();
    await bus.consume({ groupId: 'late', fromBeginning: true, topics: [on(changelog, async ({ offset, value }) => void seen.set(value.patient, [offset, value.seq]))] });
    await until(() => seen.get('p4')?.[1] === 49_999);
    // The quiet key's only record kept its offset, past 200,000 newer ones and the bound of 1,000.
    expect(seen.get('quiet')).toEqual(['0', 1]);
    expect(seen.get('p1')).toEqual([String(200_001 - 3_001), 49_999]);
    await bus.close();
  });

  it('refuses to publish a value that breaks the topic schema', async () => {
    const bus = createMemoryBus();
    await expect(
      bus.publish(topic, [{ key: 'a', value: { patient: 'a', seq: 1.5 } }]),
    ).rejects.toThrow(/refusing to publish to test.msgs: seq/);
    await bus.close();
  });

  it('skips and reports a record that does not decode, without blocking the partition', async () => {
    const events = new BusEvents();
    const poison: string[] = [];
    events.on('record.poison', ({ error }) => poison.push(error.message));
    const bus = createMemoryBus({ partitions: 1, events });
    const loose = defineTopic('test.msgs', z.object({ patient: z.string(), seq: z.number() }));
    const got: number[] = [];
    await bus.consume({ groupId: 'g', topics: [on(topic, async ({ value }) => void got.push(value.seq) )] });
    await bus.publish(loose, [
      { key: 'a', value: { patient: 'a', seq: 0.5 } },
      { key: 'a', value: { patient: 'a', seq: 2 } },
    ]);
    await until(() => got.length === 1);
    expect(got).toEqual([2]);
    expect(poison[0]).toMatch(/test.msgs\/0@0/);
    await bus.close();
  });

  it('co-partitions the topics of one subscription: a key meets the same member on every topic', async () => {
    const bus = createMemoryBus({ partitions: 4 });
    const other = defineTopic('test.other', Msg);
    const ownerOf = new Map<string, Set<number>>();
    let deliveries = 0;
    const note = (member: number) => async ({ value }: { value: { patient: string } }) => {
      deliveries++;
      ownerOf.set(value.patient, (ownerOf.get(value.patient) ?? new Set()).add(member));
    };
    for (const m of [1, 2]) {
      await bus.consume({ groupId: 'rules', topics: [on(topic, note(m)), on(other, note(m))] });
    }
    const patients = Array.from({ length: 20 }, (_, i) => `pt-${i}`);
    await bus.publish(topic, records(patients, 2));
    await bus.publish(other, records(patients, 2));
    // Every record delivered (20 patients, 2 records, 2 topics), each once: then who handled whom.
    await until(() => deliveries >= 80);
    expect(deliveries).toBe(80);
    expect(ownerOf.size).toBe(20);
    expect([...ownerOf.values()].every((members) => members.size === 1)).toBe(true);
    expect(new Set([...ownerOf.values()].flatMap((m) => [...m])).size).toBe(2);
    await bus.close();
  });

  it('delivers batches of one partition in order, bounded in size, redelivering a failed batch whole', async () => {
    const bus = createMemoryBus({ partitions: 1, retryBackoff: { initialMs: 1, maxMs: 5 } });
    const batches: number[][] = [];
    let failOnce = true;
    await bus.publish(topic, records(['a'], 25));
    await bus.consume({
      groupId: 'sink',
      fromBeginning: true,
      topics: [
        onBatch(topic, async (batch) => {
          batches.push(batch.map((r) => r.value.seq));
          if (failOnce && batches.length === 2) {
            failOnce = false;
            throw new Error('store unavailable');
          }
        }, 10),
      ],
    });
    await until(() => batches.flat().length >= 35);
    expect(batches.every((b) => b.length <= 10)).toBe(true);
    expect(batches[1]).toEqual(batches[2]);
    expect(batches.filter((_, i) => i !== 1).flat()).toEqual(Array.from({ length: 25 }, (_, i) => i));
    await bus.close();
  });
});
