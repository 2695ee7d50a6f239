import { afterAll, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/bus/bus.ts';
import { on } from '../../src/bus/bus.ts';
import { createMemoryBus } from '../../src/bus/memory-bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import type { Alert, AlertAction, Reading } from '../../src/domain/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { loadRegistryFile } from '../../src/registry/load.ts';
import { loadRulePacks } from '../../src/rules/engine/pack-file.ts';
import { loadNews2Rule } from '../../src/rules/news2/rule-file.ts';
import { startRulesRole } from '../../src/rules/rules-role.ts';

/**
 * Nothing lost when the bus refuses a publish: the record stays uncommitted and is delivered again,
 * and the rules role publishes what it had produced, though the reading is already in its state.
 */
const inner = createMemoryBus({ partitions: 2, retryBackoff: { initialMs: 20, maxMs: 50 } });
let failAlerts = 0;
const bus: Bus = {
  ...inner,
  publish: async (topic, records) => {
    if (topic.name === Topics.alerts.name && failAlerts > 0) {
      failAlerts--;
      throw new Error('broker unavailable');
    }
    return inner.publish(topic, records);
  },
};
const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const stop of stops) await stop();
  await inner.close();
});

describe('rules role when a publish fails', () => {
  it('publishes the alert a reading raised, and the acknowledgement an action made, on the retry', async () => {
    const { registry } = await loadRegistryFile('seeds/demo-ward.yaml');
    const metrics = createMetrics();
    const role = await startRulesRole({ bus, registry, news2: await loadNews2Rule('rules/news2.yaml'), packs: await loadRulePacks('rules'), metrics, logger: createLogger({ level: 'silent' }), partitions: 2, instanceId: 'retry' });
    stops.push(role.stop);
    const alerts: Alert[] = [];
    const sub = await inner.consume({ groupId: 'retry-alerts', fromBeginning: true, topics: [on(Topics.alerts, async ({ value }) => void alerts.push(value))] });
    stops.push(() => sub.stop());

    failAlerts = 2;
    const ts = new Date(Date.now() - 60_000).toISOString();
    const reading: Reading = { readingId: 'retry-r1', patientId: 'pt-0003', wardId: 'ward-ari', deviceId: 'watch-0003', type: 'irregular_rhythm', value: true, unit: '{boolean}', ts, receivedAt: ts };
    await inner.publish(Topics.readings, [{ key: reading.patientId, value: reading }]);
    await expect.poll(() => alerts.filter((a) => a.ruleId === 'af-irregular-rhythm').length, { timeout: 5_000 }).toBe(1);
    expect(failAlerts).toBe(0);
    const raised = alerts.find((a) => a.ruleId === 'af-irregular-rhythm')!;

    failAlerts = 1;
    const ack: AlertAction = { actionId: 'retry-a1', alertId: raised.alertId, patientId: 'pt-0003', wardId: 'ward-ari', action: 'acknowledge', by: 'nurse.r', at: new Date().toISOString() };
    await inner.publish(Topics.alertActions, [{ key: ack.patientId, value: ack }]);
    await expect.poll(() => alerts.filter((a) => a.alertId === raised.alertId && a.state === 'acknowledged').length, { timeout: 5_000 }).toBe(1);
    // The acknowledged revision came after the open one on the patient's partition: the alert was
    // published once, however many times the publish was tried.
    expect(alerts.filter((a) => a.alertId === raised.alertId).map((a) => [a.revision, a.state])).toEqual([[raised.revision, 'open'], [raised.revision + 1, 'acknowledged']]);
    // Counted once, however many times the publish was tried.
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/vw_alerts_raised_total\{rule="af-irregular-rhythm",severity="low-medium"\} 1\n/);
  });
});
