import type { Bus, TopicSpec } from '../bus/bus.ts';
import { on } from '../bus/bus.ts';

/**
 * What an outbox role (referrals, notifications) knows of its own topic: the newest revision of each
 * record, read by every process from the start of the topic under a group of its own, so whichever
 * process holds a partition next carries on with what is still to be sent.
 */
export async function watchRevisions<T extends { revision: number }>(options: {
  bus: Bus;
  topic: TopicSpec<T>;
  groupId: string;
  idOf: (record: T) => string;
  keyOf: (record: T) => string;
}) {
  const { bus, topic, idOf } = options;
  const latest = new Map<string, T>();
  const viewed = new Map<number, number>();
  const keep = (record: T) => {
    const held = latest.get(idOf(record));
    if (!held || held.revision < record.revision) latest.set(idOf(record), record);
  };
  const subscription = await bus.consume({
    groupId: options.groupId,
    fromBeginning: true,
    topics: [
      on(topic, async ({ value, partition, offset }) => {
        keep(value);
        viewed.set(partition, Number(offset) + 1);
      }),
    ],
  });

  /** Resolves once the view holds every record published before the call. */
  async function catchUp(): Promise<void> {
    const ends = await bus.offsets(topic);
    while (ends.some((o) => o.high > o.low && (viewed.get(o.partition) ?? o.low) < o.high)) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  // Sending waits until the view has read the topic to its end since partitions were last assigned:
  // an old "pending" revision must never be sent once its record has moved on.
  let caughtUpFor = '';
  let catchingUp = false;
  const chains = new Map<string, Promise<unknown>>();

  return {
    latest,
    catchUp,
    /** Publishes a new revision and holds it at once, before it comes back through the view. */
    async publish(record: T): Promise<void> {
      await bus.publish(topic, [{ key: options.keyOf(record), value: record }]);
      keep(record);
    },
    /** True when the view is caught up for these partitions; otherwise starts catching up and answers false. */
    readyFor(assigned: ReadonlySet<number>, onError: (error: unknown) => void): boolean {
      const key = [...assigned].sort((a, b) => a - b).join(',');
      if (key === caughtUpFor) return true;
      if (!catchingUp) {
        catchingUp = true;
        catchUp()
          .then(() => {
            caughtUpFor = key;
          }, onError)
          .finally(() => {
            catchingUp = false;
          });
      }
      return false;
    },
    /**
     * Runs `work` after any earlier work on the same record: "read the newest revision, decide, publish
     * the next" never interleaves with itself, so two revisions never share a number.
     */
    serially<R>(id: string, work: () => Promise<R>): Promise<R> {
      const previous = chains.get(id) ?? Promise.resolve();
      const next = previous.then(work, work);
      const settled = next.then(
        () => undefined,
        () => undefined,
      );
      chains.set(id, settled);
      void settled.then(() => {
        if (chains.get(id) === settled) chains.delete(id);
      });
      return next;
    },
    stop: () => subscription.stop(),
  };
}

/**
 * The outbox's clock: every tick, once the view is caught up, each record that is due and belongs to a
 * partition this process holds is handed to `deliver`, one delivery per record at a time.
 */
export function startDeliveries<T extends { revision: number }>(options: {
  view: Pick<Awaited<ReturnType<typeof watchRevisions<T>>>, 'latest' | 'readyFor'>;
  assigned: () => ReadonlySet<number>;
  partitionOf: (record: T) => number;
  isDue: (record: T, now: number) => boolean;
  deliver: (record: T) => Promise<void>;
  onError: (error: unknown, record?: T) => void;
  tickMs: number;
}): { stop(): void } {
  const inFlight = new Set<string>();
  let stopped = false;
  const timer = setInterval(() => {
    if (stopped) return;
    const assigned = options.assigned();
    if (!options.view.readyFor(assigned, (error) => options.onError(error))) return;
    const now = Date.now();
    for (const [id, record] of options.view.latest) {
      if (inFlight.has(id) || !options.isDue(record, now) || !assigned.has(options.partitionOf(record))) continue;
      inFlight.add(id);
      options
        .deliver(record)
        .catch((error: unknown) => options.onError(error, record))
        .finally(() => inFlight.delete(id));
    }
  }, options.tickMs);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
