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
