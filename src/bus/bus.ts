import type { z } from 'zod';

/**
 * The bus between roles. Its shape is Kafka's: named topics split into partitions, records keyed by
 * patient so one patient's records stay in order on one partition, consumer groups whose members share
 * the partitions, and offsets committed only after the handler's effects are done (at-least-once).
 * Implementations: in-process (memory-bus.ts) and Kafka.
 */

export interface TopicSpec<T> {
  /** Logical name; an implementation may prefix it (e.g. per environment or test run). */
  readonly name: string;
  readonly schema: z.ZodType<T>;
  /** Keep only the newest record per key (Kafka log compaction): for changelogs of state. */
  readonly compacted?: boolean;
  /** Never delete records (no time or size retention): for audit logs such as patient settings. */
  readonly retainForever?: boolean;
  /**
   * A bound for a topic kept for people to inspect rather than for a consumer (dead letters): the
   * in-process bus keeps at most this many records per partition, Kafka keeps them `retentionMs`.
   */
  readonly keep?: { recordsPerPartition: number; retentionMs: number };
}

export interface OutgoingRecord<T> {
  /** Partitioning key: the patient id for clinical records, so per-patient order holds. */
  key: string;
  value: T;
  headers?: Record<string, string>;
}

export interface ConsumedRecord<T> {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  /** Read-only: the in-process bus hands every consumer group the same decoded value. */
  value: T;
  headers: Record<string, string>;
  /** Broker append time, ms since epoch. */
  timestamp: number;
}

/** One topic of a subscription and what to do with its records. Build it with `on()` or `onBatch()`. */
export type TopicHandler<T = unknown> =
  | {
      topic: TopicSpec<T>;
      /**
       * Called for each record in partition order. The offset is committed when the promise resolves;
       * a rejection leaves it uncommitted and the record is delivered again after a back-off.
       */
      handler: (record: ConsumedRecord<T>) => Promise<void>;
      batch?: undefined;
    }
  | {
      topic: TopicSpec<T>;
      /**
       * Called with consecutive records of one partition, in order (at most `maxRecords`). All their
       * offsets are committed when the promise resolves; a rejection redelivers the whole batch.
       */
      batch: (records: ConsumedRecord<T>[]) => Promise<void>;
      maxRecords: number;
      handler?: undefined;
    };

export function on<T>(topic: TopicSpec<T>, handler: (record: ConsumedRecord<T>) => Promise<void>): TopicHandler<T> {
  return { topic, handler };
}

/** For sinks: one write per batch instead of per record, still committed only after the write. */
export function onBatch<T>(topic: TopicSpec<T>, batch: (records: ConsumedRecord<T>[]) => Promise<void>, maxRecords = 500): TopicHandler<T> {
  return { topic, batch, maxRecords };
}

export interface ConsumeOptions {
  groupId: string;
  /**
   * The topics of one subscription are co-partitioned: partition p of every topic goes to the same
   * member, so state keyed by patient (e.g. alerts, updated by readings and by nurses' actions) lives
   * in exactly one process. Topics consumed together must have the same partition count.
   */
  topics: TopicHandler<any>[];
  /** Where a group with no committed offset starts: the oldest retained record, or only new ones. */
  fromBeginning?: boolean;
  /**
   * Called when records of a partition this member holds were dropped before the group read them
   * (the in-process bus's bound on a partition, when a consumer falls that far behind), just before
   * the records after the gap are delivered. The records are gone: a consumer that keeps a picture
   * must rebuild it from elsewhere (a store, a snapshot). A Kafka consumer does not drop records and
   * does not call it.
   */
  onGap?: (gap: BusGap) => void;
  /**
   * Called when this member takes partitions (its first assignment included), before any record of
   * them is delivered to it: the place to restore state kept for them (see state-store.ts). Retried
   * after a back-off while it rejects and the partitions are still this member's; records of them wait.
   * A Kafka member that had to join the group again as a new member (after a crash, or expelled for
   * missing heartbeats) is told it gave up everything it held and takes its new assignment afresh.
   */
  onAssigned?: (partitions: number[]) => Promise<void>;
  /**
   * Called when partitions leave this member (its stop included), once its handlers for them have
   * finished: the place to let go of state kept for them. Anything the next owner needs must have been
   * published before each handler resolved: on Kafka the partitions may already be another member's.
   */
  onRevoked?: (partitions: number[]) => Promise<void>;
}

export interface BusGap {
  groupId: string;
  topic: string;
  partition: number;
  /** How many records were dropped unread. */
  records: number;
}

export interface Subscription {
  /** Leaves the group: its partitions move to the remaining members. */
  stop(): Promise<void>;
  /**
   * Partition numbers this member holds now (the same numbers in every co-partitioned topic). Work
   * driven by a clock rather than by records (timers) runs only for these.
   */
  assigned(): ReadonlySet<number>;
}

export interface Bus {
  /** Resolves once every record is durably appended (Kafka: acks=all). */
  publish<T>(topic: TopicSpec<T>, records: OutgoingRecord<T>[]): Promise<void>;
  consume(options: ConsumeOptions): Promise<Subscription>;
  /**
   * Reads partitions of a topic outside any consumer group, from their oldest retained record to their
   * end when called, in order, and resolves once every record was handed to `handler`; commits nothing.
   * For restoring state from a changelog. Records that do not match the schema are skipped.
   */
  readPartitions<T>(topic: TopicSpec<T>, partitions: readonly number[], handler: (record: ConsumedRecord<T>) => void): Promise<void>;
  /** Each partition's oldest retained offset and next offset to be written (Kafka: low and high watermarks). */
  offsets(topic: TopicSpec<unknown>): Promise<Array<{ partition: number; low: number; high: number }>>;
  /** Stops every subscription after in-flight handlers finish, then releases connections. */
  close(): Promise<void>;
  /** False while the bus cannot publish or a subscription has stopped for good; served on /healthz. */
  healthy(): boolean;
  /** Record slots held in this process's memory, by topic (the in-process bus), superseded records of a compacted topic not yet squeezed out included; served as vw_bus_records_held. */
  held?(): Map<string, number>;
}

/** A record whose bytes do not satisfy its topic's schema. It is counted and skipped, never retried. */
export class PoisonRecordError extends Error {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: string,
    readonly issues: string,
  ) {
    super(`record ${topic}/${partition}@${offset} does not match the topic schema: ${issues}`);
    this.name = 'PoisonRecordError';
  }
}

export function defineTopic<T>(name: string, schema: z.ZodType<T>, options: { compacted?: boolean; retainForever?: boolean; keep?: TopicSpec<T>['keep'] } = {}): TopicSpec<T> {
  return { name, schema, ...(options.compacted ? { compacted: true } : {}), ...(options.retainForever ? { retainForever: true } : {}), ...(options.keep ? { keep: options.keep } : {}) };
}
