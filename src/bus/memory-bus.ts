import type { Bus, ConsumeOptions, ConsumedRecord, OutgoingRecord, Subscription, TopicHandler, TopicSpec } from './bus.ts';
import { PoisonRecordError } from './bus.ts';
import { decodeValue, encodeValue } from './codec.ts';
import { partitionFor } from './partitioner.ts';
import type { BusEvents } from './events.ts';
import { z } from 'zod';
import { openJournal, type Journal, type Recovered } from '../durable/journal.ts';
import { RECONNECT_BACKOFF, retry, type Backoff } from '../time/retry.ts';

/**
 * The embedded bus: Kafka's semantics in one process. Each topic is a set of append-only partition
 * logs; each consumer group keeps a committed offset per partition and one worker per partition that
 * hands records, in order, to whichever member currently owns that partition. A member that leaves
 * finishes its in-flight record first, so ownership moves without loss or reordering.
 */
export interface MemoryBusOptions {
  partitions?: number;
  /**
   * Oldest records beyond this count per partition are dropped, as Kafka's retention would. A group
   * that had not read them is told: `retention.skipped` on `events`, and its `onGap` callback.
   */
  maxRecordsPerPartition?: number;
  /** Waits between attempts of a handler that failed (default: 100 ms doubling to 5 s). */
  retryBackoff?: Backoff;
  events?: BusEvents;
  /**
   * The topics in use, so records read back from a journal are compacted and bounded as their topic
   * says before anyone publishes to it again.
   */
  topics?: readonly TopicSpec<unknown>[];
}

/**
 * What the durable in-process bus writes to its journal: records (with their offsets, so replaying
 * one twice is harmless), where a partition starts (after records were let go), and consumer
 * groups' committed offsets.
 */
const JournalEntry = z.union([
  z.object({ r: z.tuple([z.string(), z.number().int().nonnegative(), z.number().int().nonnegative(), z.string(), z.string(), z.record(z.string(), z.string()), z.number()]) }),
  z.object({ b: z.tuple([z.string(), z.number().int().nonnegative(), z.number().int().nonnegative()]) }),
  z.object({ c: z.tuple([z.string(), z.string(), z.number().int().nonnegative(), z.number().int().nonnegative()]) }),
]);
type JournalEntry = z.infer<typeof JournalEntry>;

export interface DurableMemoryBusOptions extends MemoryBusOptions {
  /** Where the journal and snapshots are kept (a directory of the data directory). */
  dir: string;
  maxJournalBytes?: number;
  /** How often consumer groups' progress is written (a crash redelivers at most this much, never loses it). */
  commitIntervalMs?: number;
  onSkipped?: (file: string, line: number, reason: string) => void;
}

interface StoredRecord {
  key: string;
  value: string;
  headers: Record<string, string>;
  timestamp: number;
  /**
   * Decoded by the first group to read it and shared with the others (values are read-only); dropped
   * once every group has read it, so the log keeps only the text.
   */
  decoded?: unknown;
  reads?: number;
  /** The schema the publisher checked the value against; a consumer holding the same one need not check again. */
  schema: unknown;
}

interface PartitionLog {
  /** The oldest offset retained (Kafka's low watermark). */
  base: number;
  /** The offset the next record gets (Kafka's high watermark). */
  next: number;
  /** A hole is a record compaction removed (a newer one with its key exists), as Kafka leaves gaps. */
  records: Array<StoredRecord | undefined>;
  /**
   * Compacted topics: the offset of each entry of `records`, ascending. Holes are squeezed out of both
   * now and then, so a changelog holds about one entry per key however many records were written to
   * it; offsets keep their gaps, as Kafka's do. Absent, `records` is dense from `base`.
   */
  offsets?: number[];
  /** Holes in `records` not yet squeezed out. */
  holes: number;
  waiters: Array<() => void>;
  /** For compacted topics: the offset of the newest record of each key. */
  newest?: Map<string, number>;
}

/** Holes in a compacted partition are squeezed out once there are more than this and more than its records. */
const SQUEEZE_HOLES = 1_024;

const offsetAt = (p: PartitionLog, index: number): number => (p.offsets ? p.offsets[index]! : p.base + index);

/** The index of the first entry of a partition at or after `offset` (the entries' length when none is). */
function indexFrom(p: PartitionLog, offset: number): number {
  if (!p.offsets) return Math.min(p.records.length, Math.max(0, offset - p.base));
  let lo = 0;
  let hi = p.offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (p.offsets[mid]! < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Removes compaction's holes from a compacted partition (offsets are kept: they live in `offsets`). */
function squeeze(p: PartitionLog): void {
  const offsets = p.offsets!;
  let kept = 0;
  for (let i = 0; i < p.records.length; i++) {
    const record = p.records[i];
    if (!record) continue;
    p.records[kept] = record;
    offsets[kept] = offsets[i]!;
    kept++;
  }
  p.records.length = kept;
  offsets.length = kept;
  p.holes = 0;
}

interface Member {
  id: number;
  handlers: Map<string, TopicHandler<unknown>>;
  onGap?: ConsumeOptions['onGap'];
  onAssigned?: ConsumeOptions['onAssigned'];
  onRevoked?: ConsumeOptions['onRevoked'];
}

interface Cursor {
  topic: string;
  partition: number;
  committed: number;
  inFlight?: Promise<unknown>;
  worker?: Promise<void>;
}

interface Group {
  groupId: string;
  topics: string[];
  cursors: Cursor[];
  members: Member[];
  /** Owner of each partition number, across all the group's topics. */
  owners: Array<Member | undefined>;
  /**
   * Per partition, while it changes hands: settles once the previous owner's handlers and `onRevoked`
   * finished and the new owner's `onAssigned` resolved. No record of the partition is delivered before.
   */
  handover: Array<Promise<void> | undefined>;
  /** Wakes partition workers that are idle because the group has no members. */
  memberWaiters: Array<() => void>;
}

const KEEP_CONSUMED = 2_000;

export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  return memoryBus(options).bus;
}

/**
 * The in-process bus, kept in a journal under `dir`: `publish` resolves only once its records are on
 * disk, so a record acknowledged to its producer survives kill -9; consumer groups resume from their
 * committed offsets (written every `commitIntervalMs`; anything after is delivered again, and every
 * consumer absorbs a duplicate).
 */
export async function openDurableMemoryBus(options: DurableMemoryBusOptions): Promise<{ bus: Bus; recovered: Recovered; diskBytes(): number }> {
  const core = memoryBus(options);
  const { journal, recovered } = await openJournal<JournalEntry>({
    dir: options.dir,
    parse: (value) => JournalEntry.parse(value),
    apply: core.restore,
    snapshot: core.snapshot,
    ...(options.maxJournalBytes ? { maxJournalBytes: options.maxJournalBytes } : {}),
    ...(options.onSkipped ? { onSkipped: options.onSkipped } : {}),
  });
  core.attach(journal, options.commitIntervalMs ?? 200);
  return { bus: core.bus, recovered, diskBytes: () => journal.bytes() };
}

function memoryBus(options: MemoryBusOptions) {
  const partitions = options.partitions ?? 8;
  const maxRecords = options.maxRecordsPerPartition ?? 200_000;
  const backoff = options.retryBackoff ?? RECONNECT_BACKOFF;
  const events = options.events;
  const logs = new Map<string, PartitionLog[]>();
  const groups = new Map<string, Group>();
  /**
   * Records every group has committed are dropped, beyond the newest KEEP_CONSUMED of a partition (for
   * a group that joins later and reads from the beginning): in one process nobody else will read them,
   * and a busy ward would otherwise fill memory with text already handled. `maxRecordsPerPartition`
   * still bounds a partition whose consumer has fallen far behind.
   */
  function dropConsumed(topic: string, partitionNumber: number, log: PartitionLog): void {
    let lowest = Infinity;
    for (const g of groups.values()) {
      if (!g.topics.includes(topic)) continue;
      for (const c of g.cursors) if (c.topic === topic && c.partition === partitionNumber) lowest = Math.min(lowest, c.committed);
    }
    if (lowest === Infinity) return;
    const drop = Math.min(lowest - log.base, log.records.length - KEEP_CONSUMED);
    if (drop <= 0) return;
    log.records.splice(0, drop);
    log.base += drop;
  }
  /** How many consumer groups read a topic: a record's shared decoded value is kept until they all have. */
  const readers = new Map<string, number>();
  const readersOf = (topic: string) => readers.get(topic) ?? 0;
  let closed = false;
  let nextMemberId = 1;

  /** Topics known before their first record (the durable bus's), so a compacted one is laid out as such from the start. */
  const specs = new Map((options.topics ?? []).map((t) => [t.name, t]));

  function logOf(topic: string): PartitionLog[] {
    let log = logs.get(topic);
    if (!log) {
      const compacted = specs.get(topic)?.compacted === true;
      log = Array.from({ length: partitions }, (): PartitionLog => ({ base: 0, next: 0, records: [], holes: 0, waiters: [], ...(compacted ? { offsets: [] } : {}) }));
      logs.set(topic, log);
    }
    return log;
  }

  function waitForRecord(log: PartitionLog, offset: number): Promise<void> {
    if (closed || offset < log.next) return Promise.resolve();
    return new Promise((resolve) => log.waiters.push(resolve));
  }

  /** Moves partitions between the group's members; resolves, per member that lost some, once it has let go of them. */
  function rebalance(group: Group): Map<Member, Promise<void>> {
    const before = group.owners;
    group.owners = Array.from({ length: partitions }, (_, p) =>
      group.members.length ? group.members[p % group.members.length] : undefined,
    );
    const lost = new Map<Member, number[]>();
    const taken = new Map<Member, number[]>();
    for (let p = 0; p < partitions; p++) {
      const was = before[p];
      const now = group.owners[p];
      if (was === now) continue;
      if (was) lost.set(was, [...(lost.get(was) ?? []), p]);
      if (now) taken.set(now, [...(taken.get(now) ?? []), p]);
    }
    const failed = (partition: number, error: unknown, attempt = 1) => events?.emit('handler.failed', { groupId: group.groupId, topic: '(rebalance)', partition, offset: '-1', attempt, error });
    const revocations = new Map<Member, Promise<void>>();
    const letGo = new Map<number, Promise<void>>();
    for (const [member, parts] of lost) {
      // A partition still being handed to this member is handed over first, then its in-flight records finish.
      const waits = [...parts.map((p) => group.handover[p]), ...group.cursors.filter((c) => parts.includes(c.partition)).map((c) => c.inFlight)];
      const done = Promise.all(waits).then(async () => {
        await member.onRevoked?.(parts).catch((error: unknown) => failed(parts[0]!, error));
      });
      revocations.set(member, done);
      for (const p of parts) letGo.set(p, done);
    }
    for (const [p, done] of letGo) group.handover[p] = done;
    for (const [member, parts] of taken) {
      const waits = parts.map((p) => group.handover[p]);
      const ready = Promise.all(waits).then(async () => {
        if (!member.onAssigned) return;
        await retry(() => member.onAssigned!(parts), {
          backoff,
          onFailure: (error, attempt) => void failed(parts[0]!, error, attempt),
          // Kept on while any of them is still this member's: a partition that moved meanwhile is
          // revoked after this resolves (its handover waits for this one), so the two stay in order.
          stillWanted: () => !closed && parts.some((p) => group.owners[p] === member),
        }).catch(() => {});
      });
      for (const p of parts) group.handover[p] = ready;
    }
    for (const wake of group.memberWaiters.splice(0)) wake();
    events?.emit('rebalance', { groupId: group.groupId, topics: group.topics, members: group.members.length });
    return revocations;
  }

  async function runCursor(group: Group, cursor: Cursor): Promise<void> {
    const log = logOf(cursor.topic)[cursor.partition]!;
    let delivered = 0;
    while (!closed) {
      const owner = group.owners[cursor.partition];
      if (!owner) {
        await new Promise<void>((resolve) => group.memberWaiters.push(resolve));
        continue;
      }
      const handover = group.handover[cursor.partition];
      if (handover) {
        await handover;
        if (group.handover[cursor.partition] === handover) group.handover[cursor.partition] = undefined;
        continue;
      }
      if (cursor.committed < log.base) {
        const gap = { groupId: group.groupId, topic: cursor.topic, partition: cursor.partition, records: log.base - cursor.committed };
        events?.emit('retention.skipped', gap);
        cursor.committed = log.base;
        committedMoved(group, cursor);
        // The consumer hears of it before the records after the gap, so it can rebuild its picture.
        try {
          owner.onGap?.(gap);
        } catch (error) {
          events?.emit('handler.failed', { groupId: group.groupId, topic: cursor.topic, partition: cursor.partition, offset: String(log.base), attempt: 1, error });
        }
      }
      const offset = cursor.committed;
      if (offset >= log.next) {
        await waitForRecord(log, offset);
        continue;
      }
      const spec = owner.handlers.get(cursor.topic)!;
      const first = indexFrom(log, offset);
      const count = spec.batch ? Math.min(spec.maxRecords, log.records.length - first) : 1;
      const stored = log.records.slice(first, first + count);
      // Taken now: the log may be trimmed or squeezed while the records are handled.
      const offsets = log.offsets ? log.offsets.slice(first, first + count) : undefined;
      const base = log.base + first;
      const attempt = deliver(group, owner, cursor, offsets ? (i) => offsets[i]! : (i) => base + i, stored);
      cursor.inFlight = attempt;
      const ok = await attempt;
      cursor.inFlight = undefined;
      if (ok) {
        cursor.committed = (offsets ? offsets[count - 1]! : base + count - 1) + 1;
        committedMoved(group, cursor);
      }
      // Yield to I/O now and then so a deep backlog cannot starve timers and sockets.
      delivered += count;
      if (delivered >= 256) {
        delivered = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  /** Resolves true when the records may be committed. */
  async function deliver(group: Group, owner: Member, cursor: Cursor, offsetOf: (index: number) => number, stored: Array<StoredRecord | undefined>): Promise<boolean> {
    const spec = owner.handlers.get(cursor.topic)!;
    const { partition } = cursor;
    const records: ConsumedRecord<unknown>[] = [];
    stored.forEach((s, i) => {
      if (!s) return;
      const offset = String(offsetOf(i));
      try {
        // A consumer with another schema for the topic (an older or newer reader) checks the record itself.
        const value = s.schema === spec.topic.schema ? (s.decoded ??= Object.freeze(JSON.parse(s.value))) : Object.freeze(decodeValue(spec.topic, s.value, partition, offset));
        s.reads = (s.reads ?? 0) + 1;
        if (s.reads >= readersOf(cursor.topic)) s.decoded = undefined;
        records.push({ topic: cursor.topic, partition, offset, key: s.key, value, headers: s.headers, timestamp: s.timestamp });
      } catch (error) {
        events?.emit('record.poison', { groupId: group.groupId, error: error as PoisonRecordError });
      }
    });
    if (!records.length) return true;
    if (closed) return false;
    try {
      await retry(
        async () => {
          if (spec.batch) await spec.batch(records);
          else await spec.handler(records[0]!);
        },
        {
          backoff,
          onFailure: (error, attempt) => void events?.emit('handler.failed', { groupId: group.groupId, topic: cursor.topic, partition, offset: records[0]!.offset, attempt, error }),
          // A member that left while we backed off hands the records to the new owner.
          stillWanted: () => !closed && group.owners[partition] === owner,
        },
      );
      return true;
    } catch {
      return false;
    }
  }

  /** Appends a record at the partition's next offset. */
  function append(name: string, topic: TopicSpec<unknown> | undefined, partitionNumber: number, record: StoredRecord): void {
    const partition = logOf(name)[partitionNumber]!;
    if (topic?.compacted) {
      // Keep only the newest record per key, so a changelog stays the size of its state.
      partition.offsets ??= partition.records.map((_, i) => partition.base + i);
      partition.newest ??= new Map();
      const older = partition.newest.get(record.key);
      if (older !== undefined) {
        const i = indexFrom(partition, older);
        if (partition.offsets[i] === older && partition.records[i]) {
          partition.records[i] = undefined;
          partition.holes++;
        }
      }
      partition.newest.set(record.key, partition.next);
    }
    partition.offsets?.push(partition.next);
    partition.records.push(record);
    partition.next++;
    if (partition.offsets) {
      if (partition.holes > SQUEEZE_HOLES && partition.holes > partition.records.length - partition.holes) squeeze(partition);
    } else {
      // A compacted topic is bounded by its keys, not by a count: its oldest records are live state.
      if (topic && !topic.retainForever && partition.records.length >= 2 * KEEP_CONSUMED && partition.records.length % KEEP_CONSUMED === 0) {
        dropConsumed(name, partitionNumber, partition);
      }
      const bound = Math.min(maxRecords, topic?.keep?.recordsPerPartition ?? Infinity);
      if (partition.records.length > bound && !topic?.retainForever) {
        const drop = partition.records.length - bound;
        partition.records.splice(0, drop);
        partition.base += drop;
      }
    }
    for (const wake of partition.waiters.splice(0)) wake();
  }

  // ---- durability (openDurableMemoryBus) ----
  let journal: Journal<JournalEntry> | undefined;
  let commitTimer: NodeJS.Timeout | undefined;
  /** Committed offsets read back from the journal, for groups that have not joined again yet. */
  const savedCommits = new Map<string, number>();
  const moved = new Set<string>();
  const commitKey = (groupId: string, topic: string, partition: number) => `${groupId}\u0000${topic}\u0000${partition}`;
  const cursorsByKey = new Map<string, Cursor>();

  function committedMoved(group: Group, cursor: Cursor): void {
    if (!journal) return;
    const key = commitKey(group.groupId, cursor.topic, cursor.partition);
    cursorsByKey.set(key, cursor);
    moved.add(key);
  }

  function commitEntries(keys: Iterable<string>): JournalEntry[] {
    const out: JournalEntry[] = [];
    for (const key of keys) {
      const [groupId, topic, partition] = key.split('\u0000') as [string, string, string];
      const committed = cursorsByKey.get(key)?.committed ?? savedCommits.get(key);
      if (committed !== undefined) out.push({ c: [groupId, topic, Number(partition), committed] });
    }
    return out;
  }

  function writeCommits(): void {
    if (!journal || !moved.size) return;
    const entries = commitEntries(moved);
    moved.clear();
    try {
      journal.append(entries);
    } catch (error) {
      // Progress not written is only redelivery after a crash, never loss: tell, and go on.
      events?.emit('handler.failed', { groupId: '(journal)', topic: '(commits)', partition: -1, offset: '-1', attempt: 1, error });
    }
  }

  /** Applies one entry read back from the journal. */
  function restore(entry: JournalEntry): void {
    if ('c' in entry) {
      const [groupId, topic, partition, committed] = entry.c;
      const key = commitKey(groupId, topic, partition);
      savedCommits.set(key, Math.max(committed, savedCommits.get(key) ?? 0));
      return;
    }
    if ('b' in entry) {
      const [topic, partition, base] = entry.b;
      if (partition >= partitions) return;
      const p = logOf(topic)[partition]!;
      if (base > p.base) {
        const drop = indexFrom(p, base);
        const dropped = p.records.splice(0, drop);
        p.offsets?.splice(0, drop);
        p.holes -= dropped.filter((r) => !r).length;
        p.base = base;
        p.next = Math.max(p.next, base);
      }
      return;
    }
    const [topic, partition, offset, key, value, headers, timestamp] = entry.r;
    // A journal of a bus with more partitions than this one: keying would differ; those records are left.
    if (partition >= partitions) return;
    const p = logOf(topic)[partition]!;
    if (offset < p.next) return;
    // A compacted partition keeps its start: its first live record may follow many compacted away.
    if (!p.offsets && !p.records.length && offset > p.base) p.base = offset;
    // Records compaction removed before a snapshot are holes, as they were (a compacted topic's are
    // gaps in its offsets).
    if (!p.offsets) while (p.base + p.records.length < offset) p.records.push(undefined), p.holes++;
    p.next = offset;
    // Read back without a schema: whoever consumes it checks it against the topic's schema.
    append(topic, specs.get(topic), partition, { key, value, headers, timestamp, schema: undefined });
  }

  /** The bus's state as journal entries, a partition at a time. */
  function* snapshot(): Iterable<JournalEntry[]> {
    for (const [topic, log] of logs) {
      for (let partition = 0; partition < log.length; partition++) {
        const p = log[partition]!;
        yield [{ b: [topic, partition, p.base] }];
        // By offset, not index: records may be let go from the front, or squeezed, between chunks.
        for (let offset = p.base; offset < p.next; ) {
          const chunk: JournalEntry[] = [];
          const first = indexFrom(p, offset);
          const end = Math.min(first + 500, p.records.length);
          for (let i = first; i < end; i++) {
            const s = p.records[i];
            if (s) chunk.push({ r: [topic, partition, offsetAt(p, i), s.key, s.value, s.headers, s.timestamp] });
          }
          offset = end < p.records.length ? offsetAt(p, end) : p.next;
          yield chunk;
        }
      }
    }
    yield commitEntries(new Set([...savedCommits.keys(), ...cursorsByKey.keys()]));
  }

  function attach(j: Journal<JournalEntry>, commitIntervalMs: number): void {
    journal = j;
    commitTimer = setInterval(writeCommits, commitIntervalMs);
    commitTimer.unref();
  }

  const bus: Bus = {
    async publish<T>(topic: TopicSpec<T>, records: OutgoingRecord<T>[]): Promise<void> {
      if (closed) throw new Error('bus is closed');
      const encoded = records.map((r) => ({ ...r, text: encodeValue(topic, r.value) }));
      const log = logOf(topic.name);
      const timestamp = Date.now();
      const placed = encoded.map((r) => {
        const partition = partitionFor(r.key, partitions);
        const p = log[partition]!;
        return { partition, offset: p.next, r };
      });
      // Offsets are assigned in order within a partition: count the earlier records of this batch.
      const next = new Map<number, number>();
      for (const x of placed) {
        const offset = next.get(x.partition) ?? x.offset;
        x.offset = offset;
        next.set(x.partition, offset + 1);
      }
      // On disk first: a record the journal refused is not handed to anyone.
      journal?.append(placed.map((x) => ({ r: [topic.name, x.partition, x.offset, x.r.key, x.r.text, x.r.headers ?? {}, timestamp] })));
      for (const x of placed) {
        append(topic.name, topic as TopicSpec<unknown>, x.partition, { key: x.r.key, value: x.r.text, headers: x.r.headers ?? {}, timestamp, schema: topic.schema });
      }
      if (journal) {
        await journal.flush();
        journal.maybeCheckpoint();
      }
    },

    async consume(options: ConsumeOptions): Promise<Subscription> {
      if (closed) throw new Error('bus is closed');
      const topics = [...new Set(options.topics.map((t) => t.topic.name))].sort();
      const id = `${options.groupId}\u0000${topics.join('\u0000')}`;
      let group = groups.get(id);
      if (!group) {
        const g: Group = { groupId: options.groupId, topics, cursors: [], members: [], owners: [], handover: [], memberWaiters: [] };
        for (const topic of topics) {
          logOf(topic).forEach((p, partition) => {
            const end = p.next;
            const saved = savedCommits.get(commitKey(options.groupId, topic, partition));
            // A group that committed before a restart resumes there; below `base` is a gap it is told of.
            const committed = saved !== undefined ? Math.min(saved, end) : options.fromBeginning ? p.base : end;
            const cursor: Cursor = { topic, partition, committed };
            g.cursors.push(cursor);
            if (journal) cursorsByKey.set(commitKey(options.groupId, topic, partition), cursor);
          });
        }
        for (const topic of topics) readers.set(topic, readersOf(topic) + 1);
        for (const cursor of g.cursors) cursor.worker = runCursor(g, cursor);
        groups.set(id, (group = g));
      }
      const member: Member = {
        id: nextMemberId++,
        handlers: new Map(options.topics.map((t) => [t.topic.name, t as TopicHandler<unknown>])),
        ...(options.onGap ? { onGap: options.onGap } : {}),
        ...(options.onAssigned ? { onAssigned: options.onAssigned } : {}),
        ...(options.onRevoked ? { onRevoked: options.onRevoked } : {}),
      };
      group.members.push(member);
      rebalance(group);
      const g = group;
      return {
        assigned: () => new Set(g.owners.flatMap((o, p) => (o === member ? [p] : []))),
        async stop() {
          if (!g.members.includes(member)) return;
          g.members = g.members.filter((m) => m !== member);
          // Its in-flight records finish and its onRevoked runs before this resolves.
          await rebalance(g).get(member);
        },
      };
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const log of logs.values()) for (const p of log) for (const wake of p.waiters.splice(0)) wake();
      for (const g of groups.values()) for (const wake of g.memberWaiters.splice(0)) wake();
      await Promise.all([...groups.values()].flatMap((g) => g.cursors.map((c) => c.worker)));
      if (journal) {
        clearInterval(commitTimer);
        writeCommits();
        await journal.close();
      }
    },

    healthy: () => !closed,

    held() {
      const out = new Map<string, number>();
      // Slots, as memory holds them: a compacted topic's superseded records count until squeezed out.
      for (const [topic, log] of logs) out.set(topic, log.reduce((n, p) => n + p.records.length, 0));
      return out;
    },

    async offsets(topic) {
      return logOf(topic.name).map((p, partition) => ({ partition, low: p.base, high: p.next }));
    },

    async readPartitions<T>(topic: TopicSpec<T>, wanted: readonly number[], handler: (record: ConsumedRecord<T>) => void): Promise<void> {
      const log = logOf(topic.name);
      let handed = 0;
      for (const partition of wanted) {
        const p = log[partition];
        if (!p) continue;
        const end = p.next;
        // By offset, not index: the log may be trimmed or squeezed while this yields.
        for (let offset = p.base; offset < end && !closed; ) {
          const i = indexFrom(p, offset);
          if (i >= p.records.length) break;
          const at = offsetAt(p, i);
          if (at >= end) break;
          offset = at + 1;
          const stored = p.records[i];
          if (!stored) continue;
          let value: T;
          try {
            value = decodeValue(topic, stored.value, partition, String(at));
          } catch (error) {
            events?.emit('record.poison', { groupId: `(read ${topic.name})`, error: error as PoisonRecordError });
            continue;
          }
          handler({ topic: topic.name, partition, offset: String(at), key: stored.key, value, headers: stored.headers, timestamp: stored.timestamp });
          if (++handed % 1_000 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      }
    },
  };
  return { bus, restore, snapshot, attach };
}
