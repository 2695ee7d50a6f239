import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTopic, on } from '../../src/bus/bus.ts';
import { createMemoryBus } from '../../src/bus/memory-bus.ts';
import { partitionFor } from '../../src/bus/partitioner.ts';
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

/** A rules process on `on` with its own metrics, its log lines (info and up) kept for the test to read. */
async function startRecorded(on: ReturnType<typeof createMemoryBus>, instanceId: string) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const started = await startRulesRole({ ...deps, bus: on, metrics, logger: createLogger({ level: 'info', destination }), instanceId });
  return { lines, metrics, started };
}

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

describe('rules processes sharing partitions', () => {
  it('restore only the partitions each takes, and let go of those they give up', { timeout: 30_000 }, async () => {
    const shared = createMemoryBus({ partitions: 4 });
    stops.push(() => shared.close());
    const taken = (lines: string[]) => lines.map((l) => JSON.parse(l) as { msg: string; partitions?: number[]; patients?: number; stateRecords?: number }).filter((l) => l.msg.startsWith('partitions taken over'));
    const role = async (name: string) => {
      const { lines, metrics, started } = await startRecorded(shared, name);
      const held = async () => (await metrics.registry.getSingleMetric('vw_rules_patients_held')!.get()).values[0]?.value;
      return { ...started, lines, metrics, held };
    };
    const patients = Array.from({ length: 12 }, (_, i) => `pt-${String(i + 1).padStart(4, '0')}`);
    const inOdd = patients.filter((p) => partitionFor(p, 4) % 2 === 1);
    expect(inOdd.length).toBeGreaterThan(0);
    expect(inOdd.length).toBeLessThan(patients.length);
    const readingsOf = (seq: number): Reading[] =>
      patients.map((patientId) => ({ readingId: `share-${patientId}-${seq}`, patientId, wardId: deps.registry.wardOf(patientId, new Date())!, deviceId: 'any', type: 'heart_rate', value: 70 + seq, unit: '/min', ts: new Date(Date.now() - 60_000 + seq * 1_000).toISOString(), receivedAt: new Date().toISOString() }));

    const a = await role('share-a');
    stops.push(a.stop);
    await shared.publish(Topics.readings, readingsOf(0).map((r) => ({ key: r.patientId, value: r })));
    const changelogRecords = async () => (await shared.offsets(RulesStateTopic)).reduce((n, o) => n + o.high, 0);
    await expect.poll(changelogRecords, { timeout: 5_000 }).toBe(patients.length);
    expect(taken(a.lines)).toMatchObject([{ partitions: [0, 1, 2, 3], patients: 0 }]);
    await expect.poll(a.held, { timeout: 5_000 }).toBe(patients.length);

    // B takes the odd partitions: it reads their changelog records alone, and A lets go of their patients.
    const b = await role('share-b');
    stops.push(b.stop);
    await expect.poll(() => taken(b.lines).length, { timeout: 5_000 }).toBe(1);
    expect(taken(b.lines)[0]).toMatchObject({ partitions: [1, 3], patients: inOdd.length, stateRecords: inOdd.length });
    await expect.poll(a.held, { timeout: 5_000 }).toBe(patients.length - inOdd.length);
    expect(await b.held()).toBe(inOdd.length);
    expect(a.lines.some((l) => l.includes('"partitions given up"') && l.includes('"partitions":[1,3]'))).toBe(true);

    // The next readings are each applied once, by the process that owns the patient now.
    await shared.publish(Topics.readings, readingsOf(1).map((r) => ({ key: r.patientId, value: r })));
    const scored = async (m: typeof a.metrics) => (await m.registry.getSingleMetric('vw_scores_computed_total')!.get()).values.reduce((n, v) => n + v.value, 0);
    await expect.poll(async () => (await scored(a.metrics)) + (await scored(b.metrics)), { timeout: 5_000 }).toBe(2 * patients.length);
    expect(await scored(b.metrics)).toBe(inOdd.length);

    // B leaves: A takes the odd partitions back from the changelog, with B's newer state.
    await b.stop();
    await expect.poll(() => taken(a.lines).length, { timeout: 5_000 }).toBe(2);
    expect(taken(a.lines)[1]).toMatchObject({ partitions: [1, 3], patients: inOdd.length });
    expect(await a.held()).toBe(patients.length);
    await shared.publish(Topics.readings, readingsOf(2).map((r) => ({ key: r.patientId, value: r })));
    await expect.poll(() => scored(a.metrics), { timeout: 5_000 }).toBe(patients.length + (patients.length - inOdd.length) + patients.length);
    expect(await scored(b.metrics)).toBe(inOdd.length);
  });
});

describe('a rules process taking partitions over while a settings version cannot be read', () => {
  it('waits for settings versions, but not for ever for one the bus skips as malformed', { timeout: 40_000 }, async () => {
    const shared = createMemoryBus({ partitions: 4 });
    stops.push(() => shared.close());
    // Written under the topic's name with a schema that lets anything through: the rules role's
    // settings view skips it as not matching the real one, so it never sees that offset.
    const anything = defineTopic(Topics.patientSettings.name, z.unknown());
    await shared.publish(anything, [{ key: 'pt-0001', value: { not: 'a settings version' } }]);
    const startedAt = Date.now();
    const { lines, metrics, started: role } = await startRecorded(shared, 'stalled-settings');
    stops.push(role.stop);
    const reading: Reading = { readingId: 'stall-r1', patientId: 'pt-0001', wardId: deps.registry.wardOf('pt-0001', new Date())!, deviceId: 'oxi-0001', type: 'heart_rate', value: 72, unit: '/min', ts: new Date().toISOString(), receivedAt: new Date().toISOString() };
    await shared.publish(Topics.readings, [{ key: reading.patientId, value: reading }]);
    const scored = async () => (await metrics.registry.getSingleMetric('vw_scores_computed_total')!.get()).values.reduce((n, v) => n + v.value, 0);
    await expect.poll(scored, { timeout: 25_000, interval: 200 }).toBe(1);
    // Not before the settings view had stalled for its 10 s.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(10_000);
    expect(lines.some((l) => l.includes('settings versions still missing'))).toBe(true);
  });
});
