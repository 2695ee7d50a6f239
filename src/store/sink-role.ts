import type { Bus } from '../bus/bus.ts';
import { onBatch } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import type { Logger } from '../observability/logger.ts';
import { secondsSince, type Metrics } from '../observability/metrics.ts';
import type { TimeSeriesStore } from './store.ts';

export const SINK_GROUP = 'vw-sink';

/**
 * The sink role: readings, scores, flow events, referral and alert revisions and capacity snapshots from
 * the bus into the store, committed after the write.
 */
export async function startSinkRole(deps: {
  bus: Bus;
  store: TimeSeriesStore;
  metrics: Metrics;
  logger: Logger;
  /** Records per store write; each partition writes its own batches. */
  batchSize?: number;
}): Promise<{ stop(): Promise<void> }> {
  const { bus, store, metrics } = deps;
  const batch = deps.batchSize ?? 500;
  const subscription = await bus.consume({
    groupId: SINK_GROUP,
    fromBeginning: true,
    topics: [
      onBatch(Topics.readings, async (records) => {
        await store.writeReadings(records.map((r) => r.value));
        metrics.storeWrites.inc({ measurement: 'reading' }, records.length);
        const now = Date.now();
        for (const r of records) metrics.pipelineLatency.observe({ stage: 'stored' }, secondsSince(r.value.receivedAt, now));
      }, batch),
      onBatch(Topics.scores, async (records) => {
        await store.writeScores(records.map((r) => r.value));
        metrics.storeWrites.inc({ measurement: 'score' }, records.length);
      }, batch),
      // Admissions, discharges and transfers, for capacity reports.
      onBatch(Topics.patientFlow, async (records) => {
        await store.writeFlowEvents(records.map((r) => r.value));
        metrics.storeWrites.inc({ measurement: 'flow' }, records.length);
      }, batch),
      // Referral revisions, for reports of referrals by route and outcome.
      onBatch(Topics.referrals, async (records) => {
        await store.writeReferrals(records.map((r) => r.value));
        metrics.storeWrites.inc({ measurement: 'referral' }, records.length);
      }, batch),
      // Alert revisions (the store keeps the newest of each) and capacity snapshots, for capacity reports.
      onBatch(Topics.alerts, async (records) => {
        await store.writeAlerts(records.map((r) => r.value));
        metrics.storeWrites.inc({ measurement: 'alert' }, records.length);
      }, batch),
      onBatch(Topics.capacity, async (records) => {
        await store.writeCapacity(records.map((r) => r.value));
        metrics.storeWrites.inc({ measurement: 'capacity' }, records.length);
      }, batch),
    ],
  });
  deps.logger.child({ role: 'sink' }).info('sink role consuming');
  return { stop: () => subscription.stop() };
}
