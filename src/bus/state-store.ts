import type { Bus, TopicSpec } from './bus.ts';
import { partitionFor } from './partitioner.ts';

/**
 * A named key-value store kept per bus partition and backed by a compacted changelog topic, as Kafka
 * Streams keeps a processor's state: `put` changes it here, `flush` writes the changes to the
 * changelog (resolving once they are durable), and a process that takes partitions over `restore`s
 * their keys from the changelog before it handles their records. Keys are partition keys (the patient
 * id), so a key lives in the partition the bus writes it to, beside the records it is state for.
 * Drive it from a subscription's `onAssigned` (restore) and `onRevoked` (release).
 */
export interface StateStore<V> {
  readonly name: string;
  get(key: string): V | undefined;
  /** Holds the value at once; the next `flush` of its partition writes it to the changelog. */
  put(key: string, value: V): void;
  /** Writes the values put since the last flush (of these partitions, or all), newest per key; resolves once durable. */
  flush(partitions?: readonly number[]): Promise<void>;
  /** Replaces what is held for these partitions with their keys' newest values in the changelog. */
  restore(partitions: readonly number[]): Promise<RestoreSummary>;
  /** Lets go of these partitions' keys (unflushed values included: flush first to keep them). */
  release(partitions: readonly number[]): void;
  /** Keys held for a partition. */
  keys(partition: number): IterableIterator<string>;
  /** Keys held in all. */
  size(): number;
}

export interface RestoreSummary {
  store: string;
  partitions: readonly number[];
  /** Changelog records read. */
  records: number;
  /** Keys held for the partitions afterwards. */
  keys: number;
  ms: number;
}

export interface StateStoreOptions<V> {
  name: string;
  bus: Bus;
  /** Compacted and keyed like the store; the bus's partition count is the store's. */
  changelog: TopicSpec<V>;
  partitions: number;
  /** False: nothing is written or read (a bus that ends with the process); the store is memory alone. */
  logged?: boolean;
  /**
   * Whether a changelog record read back replaces the value held for its key (default: always, the
   * newest record wins). Lets a store refuse a record a stale writer published after a newer one.
   */
  supersedes?: (held: V, incoming: V) => boolean;
}

export function createStateStore<V>(options: StateStoreOptions<V>): StateStore<V> {
  const { name, bus, changelog } = options;
  const logged = options.logged ?? true;
  const supersedes = options.supersedes ?? (() => true);
  /** One map for reads (a get per record must not hash the key), the keys of each partition beside it. */
  const values = new Map<string, V>();
  const keysOf = Array.from({ length: options.partitions }, () => new Set<string>());
  const dirty = Array.from({ length: options.partitions }, () => new Map<string, V>());
  const all = () => keysOf.map((_, p) => p);
  const forget = (partitions: readonly number[]) => {
    for (const p of partitions) {
      for (const key of keysOf[p]!) values.delete(key);
      keysOf[p]!.clear();
      dirty[p]!.clear();
    }
  };

  return {
    name,
    get: (key) => values.get(key),

    put(key, value) {
      const p = partitionFor(key, options.partitions);
      values.set(key, value);
      keysOf[p]!.add(key);
      if (logged) dirty[p]!.set(key, value);
    },

    async flush(partitions = all()) {
      const out: Array<{ partition: number; key: string; value: V }> = [];
      for (const p of partitions) {
        for (const [key, value] of dirty[p]!) out.push({ partition: p, key, value });
        dirty[p]!.clear();
      }
      if (!out.length) return;
      try {
        await bus.publish(changelog, out.map(({ key, value }) => ({ key, value })));
      } catch (error) {
        // Written again by the next flush, unless a newer value was put meanwhile.
        for (const { partition, key, value } of out) if (!dirty[partition]!.has(key)) dirty[partition]!.set(key, value);
        throw error;
      }
    },

    async restore(partitions) {
      const started = performance.now();
      forget(partitions);
      let records = 0;
      if (logged) {
        await bus.readPartitions(changelog, partitions, ({ key, partition, value }) => {
          records++;
          const current = values.get(key);
          if (current !== undefined && !supersedes(current, value)) return;
          values.set(key, value);
          keysOf[partition]!.add(key);
        });
      }
      const keys = partitions.reduce((n, p) => n + keysOf[p]!.size, 0);
      return { store: name, partitions, records, keys, ms: performance.now() - started };
    },

    release: forget,
    keys: (partition) => keysOf[partition]!.values(),
    size: () => values.size,
  };
}
