import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { on } from '../../src/bus/bus.ts';
import { createMemoryBus } from '../../src/bus/memory-bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import type { Alert, Reading } from '../../src/domain/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { loadRegistryFile } from '../../src/registry/load.ts';
import { loadRulePacks } from '../../src/rules/engine/pack-file.ts';
import { loadNews2Rule } from '../../src/rules/news2/rule-file.ts';
import { startRulesRole } from '../../src/rules/rules-role.ts';
import { RulesStateTopic } from '../../src/rules/state-record.ts';

/**
 * Two rules processes share the patients. One stops after applying a patient's last reading; the
 * patient then goes quiet. The process that takes the partition over restores the patient's rule
 * state from the changelog on its timer, so the missing-data alert still fires on time.
 */
const bus = createMemoryBus({ partitions: 4 });
const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const stop of stops) await stop().catch(() => {});
  await bus.close();
});

let deps: Omit<Parameters<typeof startRulesRole>[0], 'instanceId'>;
beforeAll(async () => {
  const { registry } = await loadRegistryFile('seeds/demo-ward.yaml');
  deps = {
    bus,
    registry,
    news2: await loadNews2Rule('rules/news2.yaml'),
    packs: await loadRulePacks('rules'),
    metrics: createMetrics(),
    logger: createLogger({ level: 'silent' }),
    partitions: 4,
    tickMs: 100,
  };
});

describe('rules processes taking over a quiet patient', () => {
  it('fire the missing-data alert on time for a patient whose last reading the stopped process applied', { timeout: 30_000 }, async () => {
    const alerts: Alert[] = [];
    const watcher = await bus.consume({ groupId: 'takeover-alerts', fromBeginning: true, topics: [on(Topics.alerts, async ({ value }) => void alerts.push(value))] });
    stops.push(() => watcher.stop());
    const first = await startRulesRole({ ...deps, instanceId: 'first' });
    // The SpO2 deadline (14 h) passes 6 s from now: the reading is 14 h less 6 s old. The margin lets
    // a loaded machine apply the reading and hand the patient over before the deadline.
    const deadline = Date.now() + 6_000;
    const ts = new Date(deadline - 14 * 3_600_000).toISOString();
    const reading: Reading = { readingId: 'takeover-r1', patientId: 'pt-0001', wardId: 'ward-ari', deviceId: 'oxi-0001', type: 'spo2', value: 97, unit: '%', ts, receivedAt: new Date().toISOString() };
    await bus.publish(Topics.readings, [{ key: reading.patientId, value: reading }]);
    const changelog: unknown[] = [];
    const state = await bus.consume({ groupId: 'takeover-state', fromBeginning: true, topics: [on(RulesStateTopic, async ({ value }) => void changelog.push(value))] });
    stops.push(() => state.stop());
    await expect.poll(() => changelog.length, { timeout: 3_000 }).toBeGreaterThan(0);
    // The second process joins and the first leaves before the deadline: the patient is now the
    // second's, and it never sees a reading of that patient.
    const second = await startRulesRole({ ...deps, instanceId: 'second' });
    stops.push(second.stop);
    await first.stop();
    expect(Date.now()).toBeLessThan(deadline);
    expect(alerts.filter((a) => a.patientId === 'pt-0001' && a.ruleId === 'no-spo2-data')).toEqual([]);
    await expect.poll(() => alerts.filter((a) => a.patientId === 'pt-0001' && a.ruleId === 'no-spo2-data').length, { timeout: 15_000 }).toBe(1);
    const missing = alerts.find((a) => a.ruleId === 'no-spo2-data')!;
    expect(missing.evidence[0]).toMatchObject({ readingId: 'takeover-r1', type: 'spo2' });
  });
});
