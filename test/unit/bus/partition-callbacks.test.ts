import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTopic, on } from '../../../src/bus/bus.ts';
import { BusEvents } from '../../../src/bus/events.ts';
import { createMemoryBus } from '../../../src/bus/memory-bus.ts';
import { partitionFor } from '../../../src/bus/partitioner.ts';
import { until } from '../../support/wait.ts';

const Msg = z.object({ patient: z.string(), seq: z.number().int() });
const topic = defineTopic('test.callbacks', Msg);
const compacted = defineTopic('test.callbacks-state', Msg, { compacted: true });

/** Patients spread so that every one of `partitions` partitions has at least one. */
function patientsCovering(partitions: number): string[] {
  const out: string[] = [];
  const covered = new Set<number>();
  for (let i = 0; covered.size < partitions; i++) {
    const p = `pt-${i}`;
    out.push(p);
    covered.add(partitionFor(p, partitions));
  }
  return out;
}

describe('memory bus: a member hears which partitions it takes and gives up', () => {
  it('tells the first member of every partition before its first record, and moves partitions in order when a second joins', async () => {
    const bus = createMemoryBus({ partitions: 4 });
    const log: string[] = [];
    const patients = patientsCovering(4);
    await bus.publish(topic, patients.map((patient) => ({ key: patient, value: { patient, seq: 0 } })));
    const member = (name: string) =>
      bus.consume({
        groupId: 'g',
        fromBeginning: true,
        onAssigned: async (parts) => {
          log.push(`${name} assigned ${parts.join(',')}`);
          // A restore takes a while: no record of these partitions may arrive meanwhile.
          await new Promise((resolve) => setTimeout(resolve, 30));
          log.push(`${name} ready ${parts.join(',')}`);
        },
        onRevoked: async (parts) => void log.push(`${name} revoked ${parts.join(',')}`),
        topics: [on(topic, async ({ partition, value }) => void log.push(`${name} record p${partition} ${value.patient}/${value.seq}`))],
      });
    const a = await member('A');
    await until(() => log.filter((l) => l.startsWith('A record')).length === patients.length);
    expect(log[0]).toBe('A assigned 0,1,2,3');
    expect(log[1]).toBe('A ready 0,1,2,3');

    const b = await member('B');
    await until(() => log.includes('B ready 1,3'));
    // A let go of B's partitions before B was told it had them.
    expect(log.indexOf('A revoked 1,3')).toBeGreaterThan(-1);
    expect(log.indexOf('A revoked 1,3')).toBeLessThan(log.indexOf('B assigned 1,3'));
    expect(a.assigned()).toEqual(new Set([0, 2]));
    expect(b.assigned()).toEqual(new Set([1, 3]));

    await bus.publish(topic, patients.map((patient) => ({ key: patient, value: { patient, seq: 1 } })));
    await until(() => log.filter((l) => l.includes('/1')).length === patients.length);
    for (const patient of patients) {
      const p = partitionFor(patient, 4);
      expect(log).toContain(`${p % 2 === 0 ? 'A' : 'B'} record p${p} ${patient}/1`);
    }

    // Leaving hands B's partitions back to A: B hears of it before stop resolves, A before their records.
    await b.stop();
    expect(log).toContain('B revoked 1,3');
    await until(() => log.includes('A ready 1,3'));
    expect(log.indexOf('B revoked 1,3')).toBeLessThan(log.indexOf('A assigned 1,3'));
    await bus.close();
  });

  it('lets the member that gives partitions up finish the record in hand before the next is told it has them', async () => {
    const bus = createMemoryBus({ partitions: 2 });
    const log: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const [first] = patientsCovering(2).filter((p) => partitionFor(p, 2) === 1);
    await bus.consume({
      groupId: 'g',
      onRevoked: async (parts) => void log.push(`A revoked ${parts.join(',')}`),
      topics: [
        on(topic, async ({ value }) => {
          log.push(`A start ${value.seq}`);
          await held;
          log.push(`A done ${value.seq}`);
        }),
      ],
    });
    await bus.publish(topic, [{ key: first!, value: { patient: first!, seq: 7 } }]);
    await until(() => log.includes('A start 7'));
    const joining = bus.consume({ groupId: 'g', onAssigned: async (parts) => void log.push(`B assigned ${parts.join(',')}`), topics: [on(topic, async () => {})] });
    await joining;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(log).toEqual(['A start 7']);
    release();
    await until(() => log.includes('B assigned 1'));
    expect(log).toEqual(['A start 7', 'A done 7', 'A revoked 1', 'B assigned 1']);
    await bus.close();
  });

  it('retries a failing onAssigned, holding the partitions’ records until it resolves', async () => {
    const events = new BusEvents();
    let failures = 0;
    events.on('handler.failed', () => failures++);
    const bus = createMemoryBus({ partitions: 2, events, retryBackoff: { initialMs: 5, maxMs: 20 } });
    let attempts = 0;
    const handled: number[] = [];
    await bus.publish(topic, [{ key: 'pt-x', value: { patient: 'pt-x', seq: 1 } }]);
    await bus.consume({
      groupId: 'g',
      fromBeginning: true,
      onAssigned: async () => {
        attempts++;
        if (attempts < 3) throw new Error('changelog unavailable');
      },
      topics: [on(topic, async ({ value }) => void handled.push(value.seq))],
    });
    await until(() => handled.length === 1);
    expect(attempts).toBe(3);
    expect(failures).toBe(2);
    await bus.close();
  });
});

describe('memory bus: reading chosen partitions outside any group', () => {
  it('reads only the partitions asked for, to their end when called, newest per key of a compacted topic', async () => {
    const bus = createMemoryBus({ partitions: 4, topics: [compacted] });
    const patients = patientsCovering(4);
    for (let seq = 0; seq < 3; seq++) await bus.publish(compacted, patients.map((patient) => ({ key: patient, value: { patient, seq } })));
    const wanted = [1, 2];
    const read: Array<{ partition: number; patient: string; seq: number }> = [];
    const reading = bus.readPartitions(compacted, wanted, ({ partition, value }) => void read.push({ partition, ...value }));
    // Written after the call: not waited for, not read.
    await bus.publish(compacted, patients.map((patient) => ({ key: patient, value: { patient, seq: 9 } })));
    await reading;
    const expected = patients.filter((p) => wanted.includes(partitionFor(p, 4)));
    expect(read.map((r) => r.patient).sort()).toEqual(expected.sort());
    expect(read.every((r) => r.seq === 2 && r.partition === partitionFor(r.patient, 4))).toBe(true);
    // No group was formed: a consumer from the beginning still sees every record.
    const seen: number[] = [];
    await bus.consume({ groupId: 'later', fromBeginning: true, topics: [on(compacted, async ({ value }) => void seen.push(value.seq))] });
    await until(() => seen.length === patients.length);
    expect(seen.every((s) => s === 9)).toBe(true);
    await bus.close();
  });
});
