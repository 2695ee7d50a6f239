import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../../src/bus/memory-bus.ts';
import { Topics } from '../../../src/bus/topics.ts';
import type { ServerFrame } from '../../../src/feed/protocol.ts';
import { isType } from '../../support/console-client.ts';
import { reading, startTestFeed, type TestFeed } from './feed-harness.ts';

/**
 * The in-process bus drops the oldest records of a partition beyond its bound: a burst the feed cannot
 * keep up with loses readings before the feed reads them. The feed is told (onGap) and sends every
 * ward's consoles a fresh snapshot marked `missedUpdates`, so no console shows a silently partial picture.
 */
let feed: TestFeed | undefined;
afterEach(async () => {
  await feed?.stop();
  feed = undefined;
});

type Snapshot = Extract<ServerFrame, { type: 'snapshot' }>;

describe('records dropped before the feed read them', () => {
  it('sends every affected ward’s consoles a fresh snapshot marked missedUpdates; the final picture matches the store', async () => {
    feed = await startTestFeed({ bus: createMemoryBus({ partitions: 1, maxRecordsPerPartition: 20 }) });
    const { client: one } = await feed.open('nurse.one', ['w1'], ['w1']);
    const { client: two } = await feed.open('nurse.two', ['w2'], ['w2']);

    // A burst of 500 readings (the sink has written them to the store), published at once: the bound
    // of 20 drops most of them before the feed's consumer runs.
    const start = Date.now() - 600_000;
    const burst = Array.from({ length: 500 }, (_, i) => reading(i % 2 ? 'p2' : 'p1', 60 + (i % 50), new Date(start + i * 1000)));
    await feed.store.writeReadings(burst);
    await feed.bus.publish(Topics.readings, burst.map((r) => ({ key: r.patientId, value: r })));

    const isRefresh = (f: ServerFrame): f is Snapshot => f.type === 'snapshot' && f.missedUpdates === true;
    for (const [client, patientId] of [[one, 'p1'], [two, 'p2']] as const) {
      const refresh = await client.waitFor(isRefresh);
      // Most of the burst never reached the console as frames...
      expect(client.frames.filter(isType('reading')).length).toBeLessThan(100);
      // ...but its picture (the refresh, then the frames after it) is the store's.
      const shown = { ...refresh.patients.find((p) => p.patientId === patientId)!.latest };
      for (const frame of client.frames.slice(client.frames.indexOf(refresh) + 1)) {
        if (frame.type !== 'reading' || frame.reading.patientId !== patientId) continue;
        const held = shown[frame.reading.type];
        if (!held || held.ts <= frame.reading.ts) shown[frame.reading.type] = { value: frame.reading.value, unit: frame.reading.unit, ts: frame.reading.ts, deviceId: frame.reading.deviceId };
      }
      const stored = (await feed.store.latest(patientId)).heart_rate!;
      expect(shown.heart_rate).toMatchObject({ value: stored.value, ts: stored.ts });
      expect(stored.ts).toBe(burst.filter((r) => r.patientId === patientId).at(-1)!.ts);
    }
    // One refresh for the burst, not one per gap.
    expect(one.frames.filter(isRefresh)).toHaveLength(1);
  });

  it('sends no refresh when nothing was dropped', async () => {
    feed = await startTestFeed({ bus: createMemoryBus({ partitions: 1, maxRecordsPerPartition: 1_000 }) });
    const { client } = await feed.open('nurse.one', ['w1'], ['w1']);
    const burst = Array.from({ length: 200 }, (_, i) => reading('p1', 60 + (i % 50)));
    await feed.bus.publish(Topics.readings, burst.map((r) => ({ key: r.patientId, value: r })));
    await expect.poll(() => client.frames.filter(isType('reading')).length).toBe(200);
    expect(client.frames.filter(isType('snapshot'))).toHaveLength(1);
  });
});
