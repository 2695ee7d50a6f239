import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { until as waitUntil } from '../support/wait.ts';

const until = (predicate: () => boolean, timeoutMs = 30_000) => waitUntil(predicate, timeoutMs);
import { defineTopic, on, type Bus } from '../../src/bus/bus.ts';
import { BusEvents } from '../../src/bus/events.ts';
import { createKafkaBus } from '../../src/bus/kafka-bus.ts';
import { partitionFor } from '../../src/bus/partitioner.ts';
import { describeWith, runPrefix, services } from '../support/services.ts';

const Msg = z.object({ patient: z.string(), seq: z.number().int() });
const topic = defineTopic('test.msgs', Msg);
const other = defineTopic('test.other', Msg);


const records = (patients: string[], n: number) => patients.flatMap((patient) => Array.from({ length: n }, (_, seq) => ({ key: patient, value: { patient, seq } })));

describeWith(['KAFKA_BROKERS'], 'Kafka bus on a real broker', () => {
  const prefix = runPrefix();
  const buses: Bus[] = [];
  const events = new BusEvents();
  let failures = 0;
  events.on('handler.failed', () => failures++);
  const bus = async () => {
    const b = await createKafkaBus({
      brokers: services.kafkaBrokers!.split(','),
      clientId: 'vw-test',
      prefix,
      partitions: 4,
      replicationFactor: 1,
      topics: [topic, other],
      events,
      retryBackoff: { initialMs: 10, maxMs: 50 },
    });
    buses.push(b);
    return b;
  };
  let a: Bus;
  beforeAll(async () => {
    a = await bus();
  });
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
  });

  it('delivers each key in order, partitioned as the in-process bus partitions it', async () => {
    const seen = new Map<string, number[]>();
    const partitions = new Map<string, number>();
    const sub = await a.consume({
      groupId: 'order',
      fromBeginning: true,
      topics: [
        on(topic, async ({ value, partition }) => {
          seen.set(value.patient, [...(seen.get(value.patient) ?? []), value.seq]);
          partitions.set(value.patient, partition);
        }),
      ],
    });
    await a.publish(topic, records(['a', 'b', 'c', 'd', 'e'], 30));
    await until(() => [...seen.values()].reduce((n, s) => n + s.length, 0) >= 150);
    for (const seqs of seen.values()) expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i));
    for (const [patient, partition] of partitions) expect(partition).toBe(partitionFor(patient, 4));
    await sub.stop();
  });

  it('retries a failing handler in place and commits only after success', async () => {
    const attempts: number[] = [];
    let throwsLeft = 2;
    const key = 'retry-key';
    const sub = await a.consume({
      groupId: 'retry',
      fromBeginning: true,
      topics: [
        on(other, async ({ value }) => {
          if (value.patient !== key) return;
          attempts.push(value.seq);
          if (value.seq === 1 && throwsLeft-- > 0) throw new Error('downstream unavailable');
        }),
      ],
    });
    const before = failures;
    await a.publish(other, records([key], 3));
    await until(() => attempts.length >= 5);
    expect(attempts).toEqual([0, 1, 1, 1, 2]);
    expect(failures - before).toBe(2);
    await sub.stop();
  });

  it('tells each member which partitions it takes before their records and which it gives up, over rebalances', async () => {
    const b = await bus();
    const log: string[] = [];
    const ready = { A: new Set<number>(), B: new Set<number>() };
    let early = 0;
    const handled = new Set<string>();
    const member = (name: 'A' | 'B', on_: Bus) =>
      on_.consume({
        groupId: 'callbacks',
        fromBeginning: true,
        onAssigned: async (parts) => {
          log.push(`${name} assigned ${[...parts].sort().join(',')}`);
          // A restore that takes a while: records of these partitions must wait for it.
          await new Promise((resolve) => setTimeout(resolve, 500));
          for (const p of parts) ready[name].add(p);
        },
        onRevoked: async (parts) => {
          log.push(`${name} revoked ${[...parts].sort().join(',')}`);
          for (const p of parts) ready[name].delete(p);
        },
        topics: [
          on(topic, async ({ partition, value }) => {
            if (!ready[name].has(partition)) early++;
            handled.add(`${name}/${value.patient}/${value.seq}`);
          }),
        ],
      });
    const subA = await member('A', a);
    const patients = Array.from({ length: 16 }, (_, i) => `cb-${i}`);
    await a.publish(topic, records(patients, 1));
    await until(() => patients.every((p) => handled.has(`A/${p}/0`)), 60_000);
    expect(log[0]).toBe('A assigned 0,1,2,3');

    const subB = await member('B', b);
    await until(() => ready.B.size > 0 && ready.A.size + ready.B.size === 4, 60_000);
    const moved = [...ready.B].sort();
    expect(log).toContain(`A revoked ${moved.join(',')}`);
    expect([...ready.A].filter((p) => ready.B.has(p))).toEqual([]);
    await a.publish(topic, patients.map((patient) => ({ key: patient, value: { patient, seq: 1 } })));
    await until(() => patients.every((p) => handled.has(`${ready.B.has(partitionFor(p, 4)) ? 'B' : 'A'}/${p}/1`)), 60_000);

    await subB.stop();
    expect(log).toContain(`B revoked ${moved.join(',')}`);
    await until(() => ready.A.size === 4, 60_000);
    expect(early).toBe(0);
    await subA.stop();
  }, 120_000);

  it('takes its partitions afresh when it had to join the group again as a new member', async () => {
    const log: string[] = [];
    let slow = true;
    const handled: string[] = [];
    const sub = await a.consume({
      groupId: 'rejoin',
      fromBeginning: true,
      onAssigned: async (parts) => void log.push(`assigned ${[...parts].sort().join(',')}`),
      onRevoked: async (parts) => void log.push(`revoked ${[...parts].sort().join(',')}`),
      topics: [
        on(topic, async ({ value }) => {
          if (value.patient === 'rejoin-1' && slow) {
            slow = false;
            // Longer than the session timeout without a heartbeat: the group expels this member, which
            // joins again under a new member id; another member may have held its partitions meanwhile.
            await new Promise((resolve) => setTimeout(resolve, 14_000));
          }
          handled.push(`${value.patient}/${value.seq}`);
          log.push(`record ${value.patient}/${value.seq}`);
        }),
      ],
    });
    await until(() => log.includes('assigned 0,1,2,3'), 30_000);
    await a.publish(topic, [{ key: 'rejoin-1', value: { patient: 'rejoin-1', seq: 0 } }]);
    await until(() => log.filter((l) => l === 'assigned 0,1,2,3').length === 2, 60_000);
    expect(log.indexOf('revoked 0,1,2,3')).toBeGreaterThan(log.indexOf('assigned 0,1,2,3'));
    expect(log.lastIndexOf('assigned 0,1,2,3')).toBeGreaterThan(log.indexOf('revoked 0,1,2,3'));
    await a.publish(topic, [{ key: 'rejoin-1', value: { patient: 'rejoin-1', seq: 1 } }]);
    await until(() => handled.includes('rejoin-1/1'), 30_000);
    expect(log.indexOf('record rejoin-1/1')).toBeGreaterThan(log.lastIndexOf('assigned 0,1,2,3'));
    await sub.stop();
  }, 120_000);

  it('reads chosen partitions from their start to their end when called, outside any group', async () => {
    const patients = Array.from({ length: 16 }, (_, i) => `rp-${i}`);
    await a.publish(other, records(patients, 3));
    const read: Array<{ partition: number; patient: string; seq: number }> = [];
    await a.readPartitions(other, [1, 2], ({ partition, value }) => void read.push({ partition, ...value }));
    const wanted = patients.filter((p) => [1, 2].includes(partitionFor(p, 4)));
    expect(read.filter((r) => r.patient.startsWith('rp-')).map((r) => `${r.patient}/${r.seq}`).sort()).toEqual(wanted.flatMap((p) => [0, 1, 2].map((seq) => `${p}/${seq}`)).sort());
    expect(read.every((r) => [1, 2].includes(r.partition))).toBe(true);
    // In order within a partition.
    for (const p of wanted) expect(read.filter((r) => r.patient === p).map((r) => r.seq)).toEqual([0, 1, 2]);
    // Nothing to read: resolves at once.
    await a.readPartitions(other, [], () => {
      throw new Error('no partition was asked for');
    });
  }, 60_000);

  it('co-partitions the topics of a subscription and hands a stopped member’s partitions to the other, losing nothing', async () => {
    const b = await bus();
    const handled = new Map<string, number>();
    const owner = new Map<string, Set<string>>();
    const note = (member: string) => async ({ value, topic: t }: { value: { patient: string; seq: number }; topic: string }) => {
      handled.set(`${t}/${value.patient}/${value.seq}`, (handled.get(`${t}/${value.patient}/${value.seq}`) ?? 0) + 1);
      owner.set(value.patient, (owner.get(value.patient) ?? new Set()).add(member));
    };
    const subA = await a.consume({ groupId: 'rules', fromBeginning: true, topics: [on(topic, note('A')), on(other, note('A'))] });
    const subB = await b.consume({ groupId: 'rules', fromBeginning: true, topics: [on(topic, note('B')), on(other, note('B'))] });
    // Let the group settle with both members before the data arrives.
    await new Promise((r) => setTimeout(r, 4_000));
    const patients = Array.from({ length: 24 }, (_, i) => `cp-${i}`);
    await a.publish(topic, records(patients, 3));
    await a.publish(other, records(patients, 3));
    await until(() => [...handled.keys()].filter((k) => k.includes('/cp-')).length === 24 * 3 * 2);
    const split = [...owner.entries()].filter(([p]) => p.startsWith('cp-'));
    expect(split.every(([, members]) => members.size === 1)).toBe(true);
    expect(new Set(split.flatMap(([, m]) => [...m])).size).toBe(2);

    await subA.stop();
    const late = patients.map((p) => `${p}-late`);
    await b.publish(topic, records(late, 2));
    await until(() => late.every((p) => handled.has(`test.msgs/${p}/1`)), 60_000);
    await subB.stop();
  }, 90_000);
});
