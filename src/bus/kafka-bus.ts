import { randomUUID } from 'node:crypto';
import {
  AssignerProtocol,
  CompressionTypes,
  Kafka,
  logLevel,
  Partitioners,
  type Admin,
  type Consumer,
  type KafkaConfig,
  type Message,
  type PartitionAssigner,
  type PartitionMetadata,
  type Producer,
} from 'kafkajs';
import type { Bus, ConsumeOptions, ConsumedRecord, OutgoingRecord, Subscription, TopicHandler, TopicSpec } from './bus.ts';
import { PoisonRecordError } from './bus.ts';
import { decodeValue, encodeValue } from './codec.ts';
import type { BusEvents } from './events.ts';
import { RECONNECT_BACKOFF, retry, type Backoff } from '../time/retry.ts';

/**
 * The bus on Apache Kafka (kafkajs). Topics are created at start with the configured partition
 * count, replication factor and (optionally) min.insync.replicas; the producer is idempotent with
 * acks=all and Kafka's murmur2 partitioner (the in-process bus uses the same, so a patient's partition
 * is the same on both); a subscription's offsets are committed only after its handler resolves.
 */
export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  /** Prefixed to every topic and group name: one Kafka cluster can serve several environments or test runs. */
  prefix: string;
  partitions: number;
  replicationFactor: number;
  /**
   * min.insync.replicas of the topics the bus creates: with acks=all, a write is acknowledged once
   * this many replicas have it, and refused (not lost) when fewer are in sync. Unset, the brokers'
   * default applies.
   */
  minInsyncReplicas?: number;
  topics: TopicSpec<unknown>[];
  events?: BusEvents;
  /** Waits between attempts of a handler that failed (default: 100 ms doubling to 5 s). */
  retryBackoff?: Backoff;
  /** Connect over TLS; `ca` (PEM) is trusted instead of the system's CAs when given. */
  ssl?: boolean | { ca?: string | Buffer };
  /** SASL authentication (with ssl, so the password does not cross the network in clear). */
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

/** The kafkajs client configuration for the bus's options (pure: tested without a broker). */
export function kafkaClientOptions(options: Pick<KafkaBusOptions, 'clientId' | 'brokers' | 'ssl' | 'sasl'>): KafkaConfig {
  const ssl = options.ssl === undefined || options.ssl === false ? undefined : options.ssl === true || options.ssl.ca === undefined ? true : { ca: [options.ssl.ca] };
  return {
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 200, retries: 8 },
    ...(ssl ? { ssl } : {}),
    ...(options.sasl ? { sasl: { ...options.sasl } as KafkaConfig['sasl'] } : {}),
  };
}

/**
 * Assigns partition p of every subscribed topic to the same member, the guarantee the Bus interface
 * gives for co-partitioned topics (Kafka Streams relies on the same). Members are sorted so every
 * member computes the same plan.
 */
const CoPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'VwCoPartitionedAssigner',
  version: 1,
  async assign({ members, topics }) {
    const sorted = members.map((m) => m.memberId).sort();
    const plan = new Map<string, Record<string, number[]>>(sorted.map((id) => [id, {}]));
    for (const topic of topics) {
      for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
        const owner = plan.get(sorted[partitionId % sorted.length]!)!;
        (owner[topic] ??= []).push(partitionId);
      }
    }
    return [...plan].map(([memberId, assignment]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return {
      name: 'VwCoPartitionedAssigner',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
    };
  },
});

/** Assigns the given partitions of one topic to the group's first member: a reader of chosen partitions, since kafkajs cannot assign partitions by hand. */
const assignOnly = (topic: string, partitions: number[]): PartitionAssigner => () => ({
  name: 'VwReadPartitions',
  version: 1,
  async assign({ members }) {
    return members.map((m, i) => ({
      memberId: m.memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: i === 0 ? { [topic]: partitions } : {}, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: 'VwReadPartitions', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
  },
});

/**
 * Until every partition of the topics has a leader, as the broker answering sees it; returns each
 * topic's partition count. On a cluster, a topic just created reaches each broker's metadata a moment
 * after the controller made it ("This server does not host this topic-partition" meanwhile, a
 * retriable error).
 */
async function waitForLeaders(admin: Admin, topics: string[], backoff: Backoff, timeoutMs = 60_000): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  class NoLeaderYet extends Error {}
  return retry(
    async () => {
      const { topics: found } = await admin.fetchTopicMetadata({ topics });
      if (found.length === topics.length && found.every((t) => t.partitions.length && t.partitions.every((p) => p.leader >= 0))) {
        return new Map(found.map((t) => [t.name, t.partitions.length]));
      }
      throw new NoLeaderYet(`no leader for every partition of ${topics.join(', ')} in ${timeoutMs} ms`);
    },
    { backoff, onFailure: (error) => (error instanceof NoLeaderYet || (error as { retriable?: boolean }).retriable === true) && Date.now() <= deadline },
  );
}

/**
 * The broker's answers that leave an idempotent producer unable to send to a partition again: its
 * sequence numbers or producer id no longer match what the broker holds. Returns the error's type.
 */
const SEQUENCE_BROKEN = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH']);
export function producerSequenceBroken(error: unknown): string | undefined {
  for (let e = error as { type?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.type === 'string' && SEQUENCE_BROKEN.has(e.type)) return e.type;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** Partition metadata of a topic with `count` partitions, as much of it as Kafka's default partitioner reads. */
function partitionsOf(count: number): PartitionMetadata[] {
  return Array.from({ length: count }, (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 0, replicas: [0], isr: [0], offlineReplicas: [] }));
}

export async function createKafkaBus(options: KafkaBusOptions): Promise<Bus> {
  const events = options.events;
  const backoff: Backoff = options.retryBackoff ?? RECONNECT_BACKOFF;
  /** For the broker's own recoveries (leader elections, unanswered partitions): twice the first wait. */
  const patient: Backoff = { initialMs: 2 * backoff.initialMs, maxMs: backoff.maxMs };
  const kafka = new Kafka(kafkaClientOptions(options));
  const name = (topic: string) => `${options.prefix}${topic}`;

  const admin = kafka.admin();
  await admin.connect();
  {
    const existing = new Set(await admin.listTopics());
    const missing = options.topics.filter((t) => !existing.has(name(t.name)));
    if (missing.length) {
      await admin.createTopics({
        // Waited for below: kafkajs's own wait gives up when the broker it asks has not yet heard of
        // the new topic, which happens on a cluster of several brokers.
        waitForLeaders: false,
        topics: missing.map((t) => ({
          topic: name(t.name),
          numPartitions: options.partitions,
          replicationFactor: options.replicationFactor,
          configEntries: [
            ...(options.minInsyncReplicas !== undefined ? [{ name: 'min.insync.replicas', value: String(options.minInsyncReplicas) }] : []),
            ...(t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
            ...(t.retainForever ? [{ name: 'retention.ms', value: '-1' }, { name: 'retention.bytes', value: '-1' }] : []),
            ...(t.keep ? [{ name: 'retention.ms', value: String(t.keep.retentionMs) }] : []),
          ],
        })),
      });
    }
  }
  /**
   * Each topic's partition count, so that the bus chooses each record's partition itself (Kafka's
   * murmur2 of the key, as kafkajs would) and can check that every partition it wrote to answered.
   */
  const partitionCounts = await waitForLeaders(admin, options.topics.map((t) => name(t.name)), patient);
  const partitioner = Partitioners.DefaultPartitioner();
  const metadataOf = new Map([...partitionCounts].map(([topic, count]) => [topic, partitionsOf(count)]));
  const withPartition = (topic: string, message: Message): Message => {
    const partitionMetadata = metadataOf.get(topic);
    return partitionMetadata ? { ...message, partition: partitioner({ topic, partitionMetadata, message }) } : message;
  };

  let producerUp = false;
  let crashed = 0;
  const newProducer = (): Producer => {
    const created = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    created.on(created.events.CONNECT, () => created === producer && (producerUp = true));
    created.on(created.events.DISCONNECT, () => created === producer && (producerUp = false));
    return created;
  };
  let producer = newProducer();
  await producer.connect();
  producerUp = true;
  /**
   * A producer whose sequence numbers the broker no longer accepts fails every send to that partition
   * from then on (kafkajs does not recover: seen after a broker was killed on a cluster, a rules
   * process wedged on one partition). A new producer gets a new producer id and starts its sequences
   * afresh; what the old one may have written is sent again, a duplicate every consumer absorbs.
   */
  async function replaceProducer(cause: unknown): Promise<void> {
    const old = producer;
    producer = newProducer();
    events?.emit('producer.replaced', { reason: producerSequenceBroken(cause) ?? 'unknown' });
    await old.disconnect().catch(() => {});
    // The send loop waits meanwhile: nothing could be sent without a producer anyway.
    await retry(() => producer.connect(), { backoff: patient, stillWanted: () => !closed });
    producerUp = true;
  }
  /**
   * Group commit: publishes that arrive while a produce request is in flight wait, then go together
   * in the next request, in the order they were made. With one request in flight at a time (which the
   * idempotent producer's ordering needs), this is what lets throughput grow with load instead of
   * being one round trip per publish.
   */
  const queued: Array<{ topic: string; messages: Message[]; resolve: () => void; reject: (error: unknown) => void }> = [];
  let sending = false;
  async function sendQueued(): Promise<void> {
    sending = true;
    while (queued.length) {
      const batch = queued.splice(0);
      const byTopic = new Map<string, Message[]>();
      for (const p of batch) {
        const list = byTopic.get(p.topic);
        if (list) list.push(...p.messages);
        else byTopic.set(p.topic, [...p.messages]);
      }
      try {
        await sendAll(byTopic);
        for (const p of batch) p.resolve();
      } catch (error) {
        // Replaced before the publishers hear, so their retry goes to the new producer.
        if (producerSequenceBroken(error) && !closed) await replaceProducer(error).catch(() => {});
        for (const p of batch) p.reject(error);
      }
    }
    sending = false;
  }
  /**
   * Sends the messages with acks=all, and again those of any partition the answer does not cover.
   * kafkajs 2.2.4 can resolve a send without having written some of its partitions: when a broker
   * fails mid-send and its partitions move to a broker that had already answered for others, its
   * retry sends nothing to that broker and returns the earlier answer (kafkajs issue 1303, pull
   * request 1798). On a cluster, a broker killed mid-stream lost acknowledged readings that way
   * (docs/faults.md).
   * A partition kafkajs never wrote to is sent again with the sequence numbers it would have used; if
   * a broker did write some of them after all, the copy is a duplicate every consumer absorbs.
   */
  async function sendAll(byTopic: Map<string, Message[]>): Promise<void> {
    let pending = [...byTopic];
    class Unanswered extends Error {}
    await retry(
      async () => {
        const answers = await producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages: pending.map(([topic, messages]) => ({ topic, messages })) });
        const answered = new Set(answers.map((a) => `${a.topicName}\u0000${a.partition}`));
        pending = pending
          .map(([topic, messages]): [string, Message[]] => [topic, messages.filter((m) => m.partition !== undefined && !answered.has(`${topic}\u0000${m.partition}`))])
          .filter(([, messages]) => messages.length > 0);
        if (!pending.length) return;
        const unanswered = pending.map(([topic, messages]) => `${topic} [${[...new Set(messages.map((m) => m.partition))].join(',')}]`).join('; ');
        throw new Unanswered(`Kafka did not answer for partitions written to: ${unanswered}`);
      },
      // Only the unanswered partitions are sent again; kafkajs has already retried what failed outright.
      { backoff: patient, attempts: 10, onFailure: (error) => error instanceof Unanswered },
    );
  }
  /** Each partition's low and high watermark. */
  async function watermarks(topicName: string): Promise<Array<{ partition: number; low: number; high: number }>> {
    // Another process may have just created the topic: until its partitions have leaders the
    // broker answers "not the leader", which passes once metadata is fetched again.
    const found = await retry(
      async (attempt) => {
        // After a wait, fresh metadata first: the leaders may have changed meanwhile.
        if (attempt > 1) await admin.fetchTopicMetadata({ topics: [topicName] }).catch(() => {});
        return admin.fetchTopicOffsets(topicName);
      },
      { backoff: patient, attempts: 20, onFailure: (error) => (error as { retriable?: boolean }).retriable === true },
    );
    return found.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }));
  }
  const consumers = new Set<{ consumer: Consumer; stop: () => Promise<void> }>();
  let closed = false;

  return {
    async publish<T>(topic: TopicSpec<T>, records: OutgoingRecord<T>[]): Promise<void> {
      if (closed) throw new Error('bus is closed');
      if (!records.length) return;
      const topicName = name(topic.name);
      const messages = records.map((r) => withPartition(topicName, { key: r.key, value: encodeValue(topic, r.value), ...(r.headers ? { headers: r.headers } : {}) }));
      await new Promise<void>((resolve, reject) => {
        queued.push({ topic: topicName, messages, resolve, reject });
        if (!sending) void sendQueued();
      });
    },

    async consume(consumeOptions: ConsumeOptions): Promise<Subscription> {
      if (closed) throw new Error('bus is closed');
      const groupId = name(consumeOptions.groupId);
      const handlers = new Map<string, TopicHandler<unknown>>(consumeOptions.topics.map((t) => [name(t.topic.name), t as TopicHandler<unknown>]));
      const consumer = kafka.consumer({
        groupId,
        partitionAssigners: [CoPartitionedAssigner],
        sessionTimeout: 10_000,
        rebalanceTimeout: 20_000,
        heartbeatInterval: 1_000,
        retry: { retries: 10 },
      });
      let stopping = false;
      let assigned: ReadonlySet<number> = new Set();
      /** Partitions whose onAssigned resolved since they were last taken: only theirs are delivered. */
      const ready = new Set<number>();
      /** The member id of the last join: a new one means this member left the group meanwhile. */
      let memberId: string | undefined;
      /** Bumped at every join and crash: a callback finishing for an earlier one marks nothing ready. */
      let generation = 0;
      // kafkajs restarts a crashed consumer itself unless the error is not retriable.
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) crashed++;
        // A restarted consumer joins as a new member: whatever it held may have been another's since.
        memberId = undefined;
        generation++;
        ready.clear();
      });
      /** The callbacks of each assignment, one after the other, in the order the assignments came. */
      let handover: Promise<void> = Promise.resolve();
      const failed = (partition: number, error: unknown, attempt = 1) => events?.emit('handler.failed', { groupId, topic: '(rebalance)', partition, offset: '-1', attempt, error });
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        const next = new Set(Object.entries(payload.memberAssignment).flatMap(([topic, parts]) => (handlers.has(topic) ? parts : [])));
        // Joined as a new member (after a crash, or expelled for missing heartbeats): every partition
        // held before is given up, and one won back is taken afresh, as another member may have had it.
        const rejoined = memberId !== undefined && payload.memberId !== memberId;
        const lost = memberId === undefined || rejoined ? [...assigned] : [...assigned].filter((p) => !next.has(p));
        memberId = payload.memberId;
        assigned = next;
        const gen = ++generation;
        // At once, not in turn: a batch of a lost partition must not pass as ready while earlier callbacks run.
        for (const p of lost) ready.delete(p);
        events?.emit('rebalance', { groupId, topics: [...handlers.keys()], assignment: payload.memberAssignment });
        // GROUP_JOIN comes before the new generation's first fetch; kafkajs does not wait for its
        // listeners, so eachBatch waits for `ready` instead.
        handover = handover.then(async () => {
          if (lost.length) await consumeOptions.onRevoked?.(lost).catch((error: unknown) => failed(lost[0]!, error));
          // Taken now rather than at the join: an assignment given up on below is taken up again here.
          const taken = [...assigned].filter((p) => !ready.has(p));
          if (!taken.length) return;
          if (consumeOptions.onAssigned) {
            const wanted = () => !stopping && gen === generation && taken.every((p) => assigned.has(p));
            const done = await retry(() => consumeOptions.onAssigned!(taken), { backoff, onFailure: (error, attempt) => void failed(taken[0]!, error, attempt), stillWanted: wanted }).then(
              () => true,
              () => false,
            );
            if (!done) return;
          }
          if (gen === generation) for (const p of taken) if (assigned.has(p)) ready.add(p);
        });
      });
      /** Until the partition's onAssigned resolved; false when the batch is no longer wanted (rebalance, stop). */
      async function readyFor(partition: number, stillRunning: () => boolean, heartbeat: () => Promise<void>): Promise<boolean> {
        while (!ready.has(partition)) {
          if (!stillRunning()) return false;
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([handover, new Promise((resolve) => (timer = setTimeout(resolve, 1_000)))]);
          clearTimeout(timer);
          // A long restore must not cost this member its place in the group.
          await heartbeat();
        }
        return true;
      }
      await consumer.connect();
      for (const topic of handlers.keys()) await consumer.subscribe({ topic, fromBeginning: consumeOptions.fromBeginning ?? false });
      await consumer.run({
        autoCommit: true,
        autoCommitInterval: 500,
        autoCommitThreshold: 100,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
          // Left unresolved when not: kafkajs fetches the records again from the last resolved offset.
          if (!(await readyFor(batch.partition, () => isRunning() && !isStale() && !stopping, heartbeat))) return;
          const entry = handlers.get(batch.topic)!;
          const decoded: Array<{ offset: string; record?: ConsumedRecord<unknown> }> = batch.messages.map((message) => {
            try {
              const value = decodeValue(entry.topic, message.value?.toString() ?? '', batch.partition, message.offset);
              const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, v?.toString() ?? '']));
              return {
                offset: message.offset,
                record: {
                  topic: batch.topic.slice(options.prefix.length),
                  partition: batch.partition,
                  offset: message.offset,
                  key: message.key?.toString() ?? '',
                  value,
                  headers,
                  timestamp: Number(message.timestamp),
                },
              };
            } catch (error) {
              events?.emit('record.poison', { groupId, error: error as PoisonRecordError });
              return { offset: message.offset };
            }
          });
          const size = entry.batch ? entry.maxRecords : 1;
          for (let i = 0; i < decoded.length; i += size) {
            if (!isRunning() || isStale() || stopping) break;
            const chunk = decoded.slice(i, i + size);
            const records = chunk.flatMap((c) => (c.record ? [c.record] : []));
            // Retried in place, like the in-process bus: the partition waits rather than skipping a record.
            if (records.length) {
              let heartbeatLost: unknown;
              const handled = await retry(
                async () => {
                  if (entry.batch) await entry.batch(records);
                  else await entry.handler(records[0]!);
                },
                {
                  backoff,
                  onFailure: async (error, attempt) => {
                    events?.emit('handler.failed', { groupId, topic: batch.topic, partition: batch.partition, offset: records[0]!.offset, attempt, error });
                    if (stopping || !isRunning()) return false;
                    try {
                      await heartbeat();
                    } catch (lost) {
                      // The group is rebalancing: kafkajs hears of it from eachBatch and rejoins.
                      heartbeatLost = lost;
                      return false;
                    }
                  },
                },
              ).then(
                () => true,
                () => false,
              );
              if (heartbeatLost) throw heartbeatLost;
              // Stopping: left uncommitted, for the next owner.
              if (!handled) return;
            }
            resolveOffset(chunk.at(-1)!.offset);
            await heartbeat();
          }
          await commitOffsetsIfNecessary();
        },
      });
      const entry = {
        consumer,
        stop: async () => {
          stopping = true;
          // disconnect() waits for the batch in hand and commits what was resolved.
          await consumer.disconnect();
          await handover;
          const held = [...ready];
          ready.clear();
          if (held.length) await consumeOptions.onRevoked?.(held).catch((error: unknown) => failed(held[0]!, error));
        },
      };
      consumers.add(entry);
      return {
        assigned: () => (stopping ? new Set<number>() : assigned),
        async stop() {
          consumers.delete(entry);
          await entry.stop();
        },
      };
    },

    healthy: () => !closed && producerUp && crashed === 0,

    async readPartitions<T>(topic: TopicSpec<T>, wanted: readonly number[], handler: (record: ConsumedRecord<T>) => void): Promise<void> {
      if (closed) throw new Error('bus is closed');
      const topicName = name(topic.name);
      // Where each partition ends now: what is written after the call is not waited for.
      const ends = new Map((await watermarks(topicName)).filter((o) => wanted.includes(o.partition) && o.high > o.low).map((o) => [o.partition, o.high]));
      if (!ends.size) return;
      // A group of its own that commits nothing: it only borrows the group protocol to be assigned these partitions.
      const reader = kafka.consumer({ groupId: name(`vw-read-${randomUUID()}`), partitionAssigners: [assignOnly(topicName, [...ends.keys()])], sessionTimeout: 10_000, heartbeatInterval: 1_000, retry: { retries: 10 } });
      let finish!: (error?: unknown) => void;
      const finished = new Promise<void>((resolve, reject) => (finish = (error) => (error === undefined ? resolve() : reject(error))));
      // It may fail before it is awaited (a crash while joining): awaited below all the same.
      finished.catch(() => {});
      reader.on(reader.events.CRASH, ({ payload }) => {
        if (!payload.restart) finish(payload.error);
      });
      // A partition whose records up to its end were deleted meanwhile (retention) has nothing left to
      // fetch, so no batch would say it was read: its low watermark does.
      const deleted = setInterval(() => {
        void watermarks(topicName).then(
          (now) => {
            for (const { partition, low } of now) if ((ends.get(partition) ?? Infinity) <= low) ends.delete(partition);
            if (!ends.size) finish();
          },
          () => {},
        );
      }, 2_000);
      try {
        await reader.connect();
        await reader.subscribe({ topic: topicName, fromBeginning: true });
        await reader.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = ends.get(batch.partition);
            if (end === undefined) return;
            try {
              for (const message of batch.messages) {
                if (Number(message.offset) >= end) break;
                let value: T;
                try {
                  value = decodeValue(topic, message.value?.toString() ?? '', batch.partition, message.offset);
                } catch (error) {
                  events?.emit('record.poison', { groupId: `(read ${topic.name})`, error: error as PoisonRecordError });
                  continue;
                }
                const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, v?.toString() ?? '']));
                handler({ topic: topic.name, partition: batch.partition, offset: message.offset, key: message.key?.toString() ?? '', value, headers, timestamp: Number(message.timestamp) });
              }
            } catch (error) {
              finish(error);
              return;
            }
            if (Number(batch.lastOffset()) + 1 >= end) {
              ends.delete(batch.partition);
              if (!ends.size) finish();
            }
          },
        });
        await finished;
      } finally {
        clearInterval(deleted);
        await reader.disconnect();
      }
    },

    offsets: (topic) => watermarks(name(topic.name)),

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all([...consumers].map((c) => c.stop()));
      consumers.clear();
      await producer.disconnect();
      await admin.disconnect();
    },
  };
}
