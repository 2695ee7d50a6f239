import { describe, expect, it } from 'vitest';
import type { Alert, ScoreEvent } from '../../../src/domain/index.ts';
import { createWardView } from '../../../src/feed/ward-view.ts';
import { createRegistry } from '../../../src/registry/registry.ts';
import { createMemoryStore } from '../../../src/store/memory-store.ts';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const registry = createRegistry({
  wards: [
    { wardId: 'w1', name: 'Ward One', organisation: 'RXX', capacity: 10 },
    { wardId: 'w2', name: 'Ward Two', organisation: 'RXX', capacity: 10 },
  ],
  patients: [
    { patientId: 'p1', displayName: 'P One', spo2Scale: 1 },
    { patientId: 'p2', displayName: 'P Two', spo2Scale: 2 },
    { patientId: 'p3', displayName: 'P Three', spo2Scale: 1 },
  ],
  devices: [
    { deviceId: 'd1', kind: 'pulse_oximeter', medicalGrade: true },
    { deviceId: 'd2', kind: 'pulse_oximeter', medicalGrade: true },
    { deviceId: 'd3', kind: 'pulse_oximeter', medicalGrade: true },
  ],
  enrolments: [
    { deviceId: 'd1', patientId: 'p1', wardId: 'w1', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
    { deviceId: 'd2', patientId: 'p2', wardId: 'w1', pathway: 'copd', from: '2026-01-01T00:00:00Z' },
    { deviceId: 'd3', patientId: 'p3', wardId: 'w2', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
  ],
});

function alert(alertId: string, revision: number, state: Alert['state'], updatedAt: string, wardId = 'w1', patientId = 'p1'): Alert {
  return {
    alertId, patientId, wardId, cause: 'news2', ruleId: 'news2', ruleVersion: '1.0.0', severity: 'medium', state, revision,
    raisedAt: updatedAt, updatedAt, eventTs: updatedAt, score: 5, partial: false, explanation: 'x', response: 'y', evidence: [],
    history: [], receivedAt: updatedAt,
  };
}

describe('ward view', () => {
  it('builds a snapshot of the ward’s patients only, with latest readings and scores', async () => {
    const store = createMemoryStore({ retentionHours: 24, maxPointsPerSeries: 10, now: () => NOW });
    const ts = new Date(NOW - 60_000).toISOString();
    await store.writeReadings([
      { readingId: 'r1', patientId: 'p1', wardId: 'w1', deviceId: 'd1', type: 'spo2', value: 95, unit: '%', ts, receivedAt: ts },
    ]);
    const view = createWardView({ registry, store, now: () => NOW });
    const score = { patientId: 'p1', ts, total: 1, band: 'low' } as ScoreEvent;
    view.applyScore(score);
    const snapshot = await view.snapshot('w1');
    expect(snapshot.wardName).toBe('Ward One');
    expect(snapshot.patients.map((p) => p.patientId).sort()).toEqual(['p1', 'p2']);
    const p1 = snapshot.patients.find((p) => p.patientId === 'p1')!;
    expect(p1.latest.spo2).toMatchObject({ value: 95, unit: '%', deviceId: 'd1' });
    expect(p1.lastSeen).toBe(ts);
    expect(p1.score).toBe(score);
    expect(snapshot.patients.find((p) => p.patientId === 'p2')).toMatchObject({ lastSeen: null, score: null, spo2Scale: 2, pathways: ['copd'] });
  });

  it('keeps the highest alert revision and lists unresolved plus recently resolved alerts of the ward', async () => {
    const store = createMemoryStore({ retentionHours: 24, maxPointsPerSeries: 10, now: () => NOW });
    const view = createWardView({ registry, store, now: () => NOW });
    const recent = new Date(NOW - 3600_000).toISOString();
    const old = new Date(NOW - 48 * 3600_000).toISOString();
    expect(view.applyAlert(alert('a1', 2, 'acknowledged', recent))).toBe(true);
    expect(view.applyAlert(alert('a1', 1, 'open', recent))).toBe(false);
    expect(view.applyAlert(alert('a1', 2, 'open', recent))).toBe(false);
    view.applyAlert(alert('a2', 3, 'resolved', old));
    view.applyAlert(alert('a3', 0, 'open', recent, 'w2', 'p3'));
    const snapshot = await view.snapshot('w1');
    expect(snapshot.alerts.map((a) => [a.alertId, a.state])).toEqual([['a1', 'acknowledged']]);
  });
});

describe('ward view memory', () => {
  it('lets go of alerts resolved a day ago or more, and does not take them in again from a replay', async () => {
    let now = NOW;
    const store = createMemoryStore({ retentionHours: 24, maxPointsPerSeries: 10, now: () => now });
    const view = createWardView({ registry, store, now: () => now });
    expect(view.applyAlert(alert('old', 3, 'resolved', new Date(NOW - 25 * 3600_000).toISOString()))).toBe(false);
    expect(view.alert('old')).toBeUndefined();
    expect(view.applyAlert(alert('a1', 1, 'resolved', new Date(NOW - 23 * 3600_000).toISOString()))).toBe(true);
    expect(view.applyAlert(alert('a2', 1, 'acknowledged', new Date(NOW - 23 * 3600_000).toISOString()))).toBe(true);
    expect(view.held()).toMatchObject({ alerts: 2 });
    now = NOW + 2 * 3600_000;
    const snapshot = await view.snapshot('w1');
    // The open one is shown and kept however old; the resolved one has left memory.
    expect(snapshot.alerts.map((a) => a.alertId)).toEqual(['a2']);
    expect(view.held()).toMatchObject({ alerts: 1 });
    expect(view.alert('a1')).toBeUndefined();
  });

  it('still takes in a long-resolved revision of an alert it holds open, so consoles hear it was resolved', async () => {
    const store = createMemoryStore({ retentionHours: 24, maxPointsPerSeries: 10, now: () => NOW });
    const view = createWardView({ registry, store, now: () => NOW });
    const old = new Date(NOW - 30 * 3600_000).toISOString();
    expect(view.applyAlert(alert('a1', 1, 'open', old))).toBe(true);
    expect(view.applyAlert(alert('a1', 2, 'resolved', new Date(NOW - 25 * 3600_000).toISOString()))).toBe(true);
    expect(view.alert('a1')?.state).toBe('resolved');
    // Not shown, and let go at the next snapshot.
    expect((await view.snapshot('w1')).alerts).toEqual([]);
    expect(view.alert('a1')).toBeUndefined();
  });
});

describe('ward view settings', () => {
  it('starts from the registry’s version, applies the topic’s versions in order and shows the one in force', async () => {
    const store = createMemoryStore({ retentionHours: 24, maxPointsPerSeries: 10, now: () => NOW });
    const view = createWardView({ registry, store, now: () => NOW });
    const before = await view.snapshot('w1');
    expect(before.patients.find((p) => p.patientId === 'p2')?.settings).toMatchObject({ version: 0, setBy: 'registry', spo2Scale: 2 });

    const v1 = {
      patientId: 'p1', wardId: 'w1', version: 1, effectiveFrom: new Date(NOW - 1000).toISOString(), setBy: 'nurse.a',
      reason: 'confirmed hypercapnic respiratory failure', spo2Scale: 2 as const, values: { targetSpo2Low: 88 },
    };
    expect(view.applySettings(v1)).toEqual({ ok: true, settings: v1 });
    expect(view.applySettings({ ...v1, setBy: 'nurse.b' })).toEqual({ ok: false, reason: 'stale_version' });
    const after = await view.snapshot('w1');
    expect(after.patients.find((p) => p.patientId === 'p1')).toMatchObject({ spo2Scale: 2, settings: { version: 1, setBy: 'nurse.a', values: { targetSpo2Low: 88 } } });
    expect(view.settingsHistory('p1').map((v) => [v.version, v.setBy])).toEqual([[1, 'nurse.a'], [0, 'registry']]);
  });
});
