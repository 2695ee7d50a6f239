import { afterEach, describe, expect, it } from 'vitest';
import { on, type Bus } from '../../src/bus/bus.ts';
import { createMemoryBus } from '../../src/bus/memory-bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import type { Alert, Reading } from '../../src/domain/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { loadRegistryFile } from '../../src/registry/load.ts';
import { loadRulePacks } from '../../src/rules/engine/pack-file.ts';
import { loadNews2Rule } from '../../src/rules/news2/rule-file.ts';
import { startRulesRole } from '../../src/rules/rules-role.ts';

/**
 * A rehearsal at many times real speed sends readings days behind the wall clock. On the readings
 * clock (VW_RULES_CLOCK=readings) the timers run at the newest reading's event time, so a patient is
 * overdue for a reading when the rehearsal's time says so, not from the first tick; on the wall clock
 * (a ward) a patient whose last SpO2 is three days old is overdue at once.
 */
const HOUR = 3_600_000;
const T0 = Date.now() - 3 * 24 * HOUR;
const spo2 = (patientId: string, deviceId: string, wardId: string, at: number, id: string): Reading => ({
  readingId: id, patientId, wardId, deviceId, type: 'spo2', value: 96, unit: '%', ts: new Date(at).toISOString(), receivedAt: new Date().toISOString(),
});

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
});

async function rulesOn(clock: 'wall' | 'readings'): Promise<{ bus: Bus; alerts: Alert[] }> {
  const bus = createMemoryBus({ partitions: 4 });
  stops.push(() => bus.close());
  const { registry } = await loadRegistryFile('seeds/demo-ward.yaml');
  const alerts: Alert[] = [];
  const watcher = await bus.consume({ groupId: 'clock-alerts', fromBeginning: true, topics: [on(Topics.alerts, async ({ value }) => void alerts.push(value))] });
  stops.push(() => watcher.stop());
  const role = await startRulesRole({
    bus, registry, news2: await loadNews2Rule('rules/news2.yaml'), packs: await loadRulePacks('rules'), metrics: createMetrics(), logger: createLogger({ level: 'silent' }), partitions: 4, tickMs: 50, clock,
  });
  stops.push(role.stop);
  return { bus, alerts };
}

const noSpo2 = (alerts: Alert[]) => alerts.filter((a) => a.patientId === 'pt-0001' && a.ruleId === 'no-spo2-data' && a.revision === 0);

describe('the rules timers’ clock', () => {
  it('on the readings clock, raises missing SpO2 when the readings’ time passes 14 hours, at that time', { timeout: 30_000 }, async () => {
    const { bus, alerts } = await rulesOn('readings');
    await bus.publish(Topics.readings, [{ key: 'pt-0001', value: spo2('pt-0001', 'oxi-0001', 'ward-ari', T0, 'clock-1') }]);
    // 13 hours later in the rehearsal another patient measures: pt-0001 is not yet overdue.
    await bus.publish(Topics.readings, [{ key: 'pt-0003', value: spo2('pt-0003', 'oxi-0003', 'ward-ari', T0 + 13 * HOUR, 'clock-2') }]);
    // 15 hours after pt-0001's reading: now it is, and the alert says so at the rehearsal's time.
    await bus.publish(Topics.readings, [{ key: 'pt-0003', value: spo2('pt-0003', 'oxi-0003', 'ward-ari', T0 + 15 * HOUR, 'clock-3') }]);
    await expect.poll(() => noSpo2(alerts).length, { timeout: 10_000 }).toBe(1);
    const [alert] = noSpo2(alerts);
    // Raised on a tick at 13 h it would carry 13 h; on the wall clock, today.
    expect(Date.parse(alert!.raisedAt)).toBe(T0 + 15 * HOUR);
    expect(alert!.ruleVersion).toBe('1.2.0');
  });

  it('on the wall clock, raises it at the first tick for a reading three days old', { timeout: 30_000 }, async () => {
    const { bus, alerts } = await rulesOn('wall');
    const before = Date.now();
    await bus.publish(Topics.readings, [{ key: 'pt-0001', value: spo2('pt-0001', 'oxi-0001', 'ward-ari', T0, 'clock-4') }]);
    await expect.poll(() => noSpo2(alerts).length, { timeout: 10_000 }).toBe(1);
    expect(Date.parse(noSpo2(alerts)[0]!.raisedAt)).toBeGreaterThanOrEqual(before);
  });
});
