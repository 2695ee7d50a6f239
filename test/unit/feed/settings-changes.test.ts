import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../../src/bus/bus.ts';
import { createMemoryBus } from '../../../src/bus/memory-bus.ts';
import { on } from '../../../src/bus/bus.ts';
import { Topics } from '../../../src/bus/topics.ts';
import type { PatientSettings } from '../../../src/domain/index.ts';
import type { ConsoleUser } from '../../../src/feed/auth.ts';
import { createSettingsChanges } from '../../../src/feed/settings-changes.ts';
import { createWardView } from '../../../src/feed/ward-view.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { createRegistry } from '../../../src/registry/registry.ts';
import { createMemoryStore } from '../../../src/store/memory-store.ts';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const registry = createRegistry({
  wards: [{ wardId: 'w1', name: 'Ward One', organisation: 'RXX', capacity: 10 }],
  patients: [{ patientId: 'p1', displayName: 'Secret Name', spo2Scale: 1, settings: { baselineWeight: 82 } }],
  devices: [{ deviceId: 'd1', kind: 'scale', medicalGrade: true }],
  enrolments: [{ deviceId: 'd1', patientId: 'p1', wardId: 'w1', pathway: 'heart-failure', from: '2026-01-01T00:00:00Z' }],
});
const nurse: ConsoleUser = { user: 'nurse.a', wards: new Set(['w1']), roles: new Set<string>(), expiresAt: NOW + 3600_000 };
const change = (values: PatientSettings['values'], reason = 'Dry weight after diuresis, not for logs') =>
  ({ type: 'settings', patientId: 'p1', baseVersion: 0, values, reason }) as const;

/** The settings desk with a bus nobody consumes yet: each test decides when records come back. */
async function setup(confirmTimeoutMs = 5_000) {
  const bus = createMemoryBus({ partitions: 1 });
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (chunk, _, done) => void (lines.push(String(chunk)), done()) }) });
  const view = createWardView({ registry, store: createMemoryStore({ retentionHours: 1, maxPointsPerSeries: 10 }), now: () => NOW });
  const desk = createSettingsChanges({ bus, registry, view, metrics: createMetrics(), logger, now: () => NOW, confirmTimeoutMs });
  const published: ConsumedRecord<PatientSettings>[] = [];
  const delivered = () => bus.consume({ groupId: 't', fromBeginning: true, topics: [on(Topics.patientSettings, async (r) => void published.push(r))] });
  return { bus, desk, view, lines, published, delivered };
}

describe('settings changes', () => {
  it('refuses a second change from the same base while the first is in flight, then confirms the first', async () => {
    const { desk, view, published, delivered, bus } = await setup();
    const first = desk.change(nurse, change({ baselineWeight: 80 }));
    const second = await desk.change(nurse, change({ baselineWeight: 84 }));
    expect(second).toMatchObject({ type: 'error', code: 'conflict' });
    await delivered();
    await expect.poll(() => published.length).toBe(1);
    expect(published[0]!.value).toMatchObject({ version: 1, setBy: 'nurse.a', wardId: 'w1', values: { baselineWeight: 80 }, effectiveFrom: new Date(NOW).toISOString() });
    expect(desk.onRecord(published[0]!)).toEqual(published[0]!.value);
    expect(await first).toEqual({ type: 'settingsAccepted', patientId: 'p1', version: 1 });
    expect(view.settings('p1')?.version).toBe(1);
    await bus.close();
  });

  it('answers conflict when its record loses to another feed’s record of the same version', async () => {
    const { desk, published, delivered, bus } = await setup();
    const mine = desk.change(nurse, change({ baselineWeight: 80 }));
    await delivered();
    await expect.poll(() => published.length).toBe(1);
    const other: PatientSettings = { ...published[0]!.value, setBy: 'nurse.elsewhere', values: { baselineWeight: 90 } };
    // The other feed's record came first in the partition.
    expect(desk.onRecord({ ...published[0]!, headers: {}, value: other })).toEqual(other);
    expect(desk.onRecord(published[0]!)).toBeUndefined();
    expect(await mine).toMatchObject({ type: 'error', code: 'conflict' });
    await bus.close();
  });

  it('answers unavailable when its own record does not come back in time', async () => {
    const { desk, bus } = await setup(50);
    expect(await desk.change(nurse, change({ baselineWeight: 80 }))).toMatchObject({ type: 'error', code: 'unavailable' });
    await bus.close();
  });

  it('carries the scale and pathways over unless the change names them, and null clears a pathways override', async () => {
    const { desk, published, delivered, bus } = await setup();
    await delivered();
    const apply = async (frame: Parameters<typeof desk.change>[1]) => {
      const reply = desk.change(nurse, frame);
      await expect.poll(() => published.length).toBe(frame.baseVersion + 1);
      desk.onRecord(published.at(-1)!);
      expect(await reply).toMatchObject({ type: 'settingsAccepted' });
      return published.at(-1)!.value;
    };
    expect(await apply({ ...change({}), spo2Scale: 2, pathways: ['copd'] })).toMatchObject({ spo2Scale: 2, pathways: ['copd'] });
    expect(await apply({ ...change({ a: 1 }), baseVersion: 1 })).toMatchObject({ spo2Scale: 2, pathways: ['copd'], values: { a: 1 } });
    const cleared = await apply({ ...change({}), baseVersion: 2, pathways: null });
    expect(cleared.pathways).toBeUndefined();
    expect(cleared.spo2Scale).toBe(2);
    await bus.close();
  });

  it('logs ids and versions only: never a value, the reason or the patient’s name', async () => {
    const { desk, published, delivered, lines, bus } = await setup();
    const reply = desk.change(nurse, change({ baselineWeight: 80.25 }));
    await delivered();
    await expect.poll(() => published.length).toBe(1);
    desk.onRecord(published[0]!);
    desk.onRecord(published[0]!);
    await reply;
    const log = lines.join('');
    expect(log).toContain('"patientId":"p1"');
    expect(log).toContain('"refused":"stale_version"');
    expect(log).not.toMatch(/80\.25|not for logs|Secret Name/);
    await bus.close();
  });
});

describe('settings changes: whose patient', () => {
  const forbidden = async (metrics: ReturnType<typeof createMetrics>) => {
    const text = await metrics.registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith('vw_feed_auth_failures_total{reason="forbidden"}'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  const desk = () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const view = createWardView({ registry, store: createMemoryStore({ retentionHours: 1, maxPointsPerSeries: 10 }), now: () => NOW });
    const logger = createLogger({ level: 'silent' });
    return { metrics, desk: createSettingsChanges({ bus: createMemoryBus({ partitions: 1 }), registry, view, metrics, logger, now: () => NOW }) };
  };
  const notFound = { type: 'error', code: 'not_found', message: 'no such patient on your wards' };

  it('answers the same for a patient on another ward as for one that does not exist, and counts only the first as forbidden', async () => {
    const { metrics, desk: d } = desk();
    const otherWard: ConsoleUser = { ...nurse, wards: new Set(['w2']) };
    expect(d.history(otherWard, 'p1')).toEqual(notFound);
    expect(await forbidden(metrics)).toBe(1);
    expect(d.history(nurse, 'p-none')).toEqual(notFound);
    expect(await d.change(nurse, { ...change({ baselineWeight: 80 }), patientId: 'p-none' })).toEqual(notFound);
    expect(await forbidden(metrics)).toBe(1);
    expect(await d.change(otherWard, change({ baselineWeight: 80 }))).toEqual(notFound);
    expect(await forbidden(metrics)).toBe(2);
    expect(d.history(nurse, 'p1')).toMatchObject({ type: 'settingsHistory', patientId: 'p1' });
    expect(await forbidden(metrics)).toBe(2);
  });

  it('judges the ward at the desk’s clock: before the patient’s enrolment there is no ward', async () => {
    const early = createSettingsChanges({
      bus: createMemoryBus({ partitions: 1 }),
      registry,
      view: createWardView({ registry, store: createMemoryStore({ retentionHours: 1, maxPointsPerSeries: 10 }), now: () => NOW }),
      metrics: createMetrics({ defaultMetrics: false }),
      logger: createLogger({ level: 'silent' }),
      now: () => Date.parse('2025-12-31T23:59:59Z'),
    });
    expect(early.history(nurse, 'p1')).toEqual(notFound);
  });
});
