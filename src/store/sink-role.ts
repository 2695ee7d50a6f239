import type { Bus } from '../bus/bus.ts';
import { on } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import type { Logger } from '../observability/logger.ts';
import { secondsSince, type Metrics } from '../observability/metrics.ts';
import type { TimeSeriesStore } from './store.ts';

export const SINK_GROUP = 'vw-sink';

/** The sink role: readings and scores from the bus into the time-series store, committed after the write. */
export async function startSinkRole(deps: {
  bus: Bus;
  store: TimeSeriesStore;
  metrics: Metrics;
  logger: Logger;
}): Promise<{ stop(): Promise<void> }> {
  const { bus, store, metrics } = deps;
  const subscription = await bus.consume({
    groupId: SINK_GROUP,
    fromBeginning: true,
    topics: [
      on(Topics.readings, async ({ value }) => {
        await store.writeReadings([value]);
        metrics.storeWrites.inc();
        metrics.pipelineLatency.observe({ stage: 'stored' }, secondsSince(value.receivedAt));
      }),
      on(Topics.scores, async ({ value }) => {
        await store.writeScores([value]);
        metrics.storeWrites.inc();
      }),
    ],
  });
  deps.logger.child({ role: 'sink' }).info('sink role consuming');
  return { stop: () => subscription.stop() };
}
