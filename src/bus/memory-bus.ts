import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus, ConsumeOptions, ConsumedRecord, OutgoingRecord, Subscription, TopicSpec } from './bus.ts';
import { PoisonRecordError } from './bus.ts';
import { decodeValue, encodeValue } from './codec.ts';
import { partitionFor } from './partitioner.ts';
import type { BusEvents } from './events.ts';

/**
 * The embedded bus: Kafka's semantics in one process. Each topic is a set of append-only partition
 * logs; each consumer group keeps a committed offset per partition and one worker per partition that
 * hands records, in order, to whichever member currently owns that partition. A member that leaves
 * finishes its in-flight record first, so ownership moves without loss or reordering.
 */
export interface MemoryBusOptions {
  partitions?: number;
  /** Oldest records beyond this count per partition are dropped, as Kafka's retention would. */
  maxRecordsPerPartition?: number;
  retryBackoffMs?: { initial: number; max: number };
  events?: BusEvents;
}

interface StoredRecord {
  key: string;
  value: string;
  headers: Record<string, string>;
  timestamp: number;
}

interface PartitionLog {
  base: number;
  records: StoredRecord[];
  waiters: Array<() => void>;
}

interface Member {
  id: number;
  handler: (record: ConsumedRecord<unknown>) => Promise<void>;
  topic: TopicSpec<unknown>;
}

interface Group {
  groupId: string;
  topic: string;
  committed: number[];
  members: Member[];
  owners: Array<Member | undefined>;
  workers: Array<Promise<void>>;
  inFlight: Array<Promise<unknown> | undefined>;
  /** Wakes partition workers that are idle because the group has no members. */
  memberWaiters: Array<() => void>;
}

export function createMemoryBus(options: MemoryBusOptions = {}): Bus & { endOffsets(topic: string): number[] } {
  const partitions = options.partitions ?? 8;
  const maxRecords = options.maxRecordsPerPartition ?? 200_000;
  const backoff = options.retryBackoffMs ?? { initial: 100, max: 5_000 };
  const events = options.events;
  const logs = new Map<string, PartitionLog[]>();
  const groups = new Map<string, Group>();
  let closed = false;
  let nextMemberId = 1;

  function logOf(topic: string): PartitionLog[] {
    let log = logs.get(topic);
    if (!log) {
      log = Array.from({ length: partitions }, () => ({ base: 0, records: [], waiters: [] }));
      logs.set(topic, log);
    }
    return log;
  }

  function waitForRecord(log: PartitionLog, offset: number): Promise<void> {
    if (closed || offset < log.base + log.records.length) return Promise.resolve();
    return new Promise((resolve) => log.waiters.push(resolve));
  }

  function rebalance(group: Group): void {
    group.owners = Array.from({ length: partitions }, (_, p) =>
      group.members.length ? group.members[p % group.members.length] : undefined,
    );
    for (const wake of group.memberWaiters.splice(0)) wake();
    events?.emit('rebalance', { groupId: group.groupId, topic: group.topic, members: group.members.length });
  }

  async function runPartition(group: Group, partition: number): Promise<void> {
    const log = logOf(group.topic)[partition]!;
    let delivered = 0;
    while (!closed) {
      const owner = group.owners[partition];
      if (!owner) {
        await new Promise<void>((resolve) => group.memberWaiters.push(resolve));
        continue;
      }
      let offset = group.committed[partition]!;
      if (offset < log.base) {
        events?.emit('retention.skipped', { groupId: group.groupId, topic: group.topic, partition, records: log.base - offset });
        offset = group.committed[partition] = log.base;
      }
      if (offset >= log.base + log.records.length) {
        await waitForRecord(log, offset);
        continue;
      }
      const stored = log.records[offset - log.base]!;
      const attempt = deliver(group, owner, partition, offset, stored);
      group.inFlight[partition] = attempt;
      const ok = await attempt;
      group.inFlight[partition] = undefined;
      if (ok) group.committed[partition] = offset + 1;
      // Yield to I/O now and then so a deep backlog cannot starve timers and sockets.
      if (++delivered % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Resolves true when the record may be committed. */
  async function deliver(group: Group, owner: Member, partition: number, offset: number, stored: StoredRecord): Promise<boolean> {
    let value: unknown;
    try {
      value = decodeValue(owner.topic, stored.value, partition, String(offset));
    } catch (error) {
      events?.emit('record.poison', { groupId: group.groupId, error: error as PoisonRecordError });
      return true;
    }
    const record: ConsumedRecord<unknown> = {
      topic: group.topic,
      partition,
      offset: String(offset),
      key: stored.key,
      value,
      headers: stored.headers,
      timestamp: stored.timestamp,
    };
    let wait = backoff.initial;
    for (let attempt = 1; !closed; attempt++) {
      try {
        await owner.handler(record);
        return true;
      } catch (error) {
        events?.emit('handler.failed', { groupId: group.groupId, topic: group.topic, partition, offset: String(offset), attempt, error });
        await sleep(wait);
        wait = Math.min(wait * 2, backoff.max);
        // A member that left while we backed off hands the record to the new owner.
        if (group.owners[partition] !== owner) return false;
      }
    }
    return false;
  }

  return {
    async publish<T>(topic: TopicSpec<T>, records: OutgoingRecord<T>[]): Promise<void> {
      if (closed) throw new Error('bus is closed');
      const encoded = records.map((r) => ({ ...r, text: encodeValue(topic, r.value) }));
      const log = logOf(topic.name);
      const now = Date.now();
      for (const r of encoded) {
        const partition = log[partitionFor(r.key, partitions)]!;
        partition.records.push({ key: r.key, value: r.text, headers: r.headers ?? {}, timestamp: now });
        if (partition.records.length > maxRecords) {
          const drop = partition.records.length - maxRecords;
          partition.records.splice(0, drop);
          partition.base += drop;
        }
        for (const wake of partition.waiters.splice(0)) wake();
      }
    },

    async consume<T>(options: ConsumeOptions<T>): Promise<Subscription> {
      if (closed) throw new Error('bus is closed');
      const id = `${options.groupId}\u0000${options.topic.name}`;
      const log = logOf(options.topic.name);
      let group = groups.get(id);
      if (!group) {
        const start = (p: PartitionLog) => (options.fromBeginning ? p.base : p.base + p.records.length);
        group = {
          groupId: options.groupId,
          topic: options.topic.name,
          committed: log.map(start),
          members: [],
          owners: [],
          workers: [],
          inFlight: [],
          memberWaiters: [],
        };
        groups.set(id, group);
        const g = group;
        g.workers = Array.from({ length: partitions }, (_, p) => runPartition(g, p));
      }
      const member: Member = {
        id: nextMemberId++,
        handler: options.handler as Member['handler'],
        topic: options.topic as TopicSpec<unknown>,
      };
      group.members.push(member);
      rebalance(group);
      const g = group;
      return {
        async stop() {
          const owned = g.owners.flatMap((o, p) => (o === member ? [p] : []));
          g.members = g.members.filter((m) => m !== member);
          rebalance(g);
          await Promise.all(owned.map((p) => g.inFlight[p]));
        },
      };
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const log of logs.values()) for (const p of log) for (const wake of p.waiters.splice(0)) wake();
      for (const g of groups.values()) for (const wake of g.memberWaiters.splice(0)) wake();
      await Promise.all([...groups.values()].flatMap((g) => g.workers));
    },

    endOffsets(topic: string): number[] {
      return logOf(topic).map((p) => p.base + p.records.length);
    },
  };
}
