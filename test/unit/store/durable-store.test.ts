import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Alert, CapacitySnapshot, FlowEvent, Reading, Referral, ScoreEvent } from '../../../src/domain/index.ts';
import { openDurableMemoryStore } from '../../../src/store/durable-store.ts';
import type { TimeSeriesStore } from '../../../src/store/store.ts';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const at = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString();

const hr = (patientId: string, minutesAgo: number, value: number): Reading => ({
  readingId: `${patientId}-hr-${minutesAgo}`, patientId, wardId: 'w1', deviceId: `d-${patientId}`, type: 'heart_rate', value, unit: '/min', ts: at(minutesAgo), receivedAt: at(minutesAgo),
});
const avpu = (patientId: string, minutesAgo: number): Reading => ({
  readingId: `${patientId}-c-${minutesAgo}`, patientId, wardId: 'w1', deviceId: `app-${patientId}`, type: 'consciousness', value: 'A', unit: '{ACVPU}', ts: at(minutesAgo), receivedAt: at(minutesAgo),
});
const score = (patientId: string, minutesAgo: number, total: number): ScoreEvent => ({
  scoreId: `${patientId}-s-${minutesAgo}`, patientId, wardId: 'w1', ruleId: 'news2', ruleVersion: '1.0.0', ts: at(minutesAgo), total, band: total >= 5 ? 'medium' : 'low',
  spo2Scale: 1, partial: true, missing: [], inputs: {}, receivedAt: at(minutesAgo),
});
const alert = (id: string, revision: number): Alert => ({
  alertId: id, patientId: 'pt-1', wardId: 'w1', cause: 'news2', ruleId: 'news2', ruleVersion: '1.0.0', severity: 'medium', state: revision ? 'acknowledged' : 'open',
  revision, raisedAt: at(30), updatedAt: at(30 - revision), eventTs: at(30), score: 5, partial: false, explanation: 'NEWS2 5', response: 'urgent review', evidence: [],
  history: [{ state: 'open', at: at(30), by: 'rules' }], receivedAt: at(30),
});
const referral = (revision: number): Referral => ({
  referralId: 'b4d7a3b0-1c2d-4e5f-8a9b-0c1d2e3f4a5b', patientId: 'pt-1', wardId: 'w1', route: 'urgent-community-response', routeTitle: 'Urgent community response (2-hour)',
  routesVersion: '1.0.0', priority: 'asap', urgency: 'within 2 hours', alertIds: ['a1'], reason: 'NEWS2 5', evidence: [], requestedBy: 'nurse.jones', requestedAt: at(20),
  state: revision ? 'sent' : 'requested', revision, updatedAt: at(20 - revision), history: [{ state: 'requested', at: at(20), by: 'nurse.jones' }], delivery: { status: 'pending', attempts: 0 },
});
const admit: FlowEvent = { eventId: 'ev-1', patientId: 'pt-1', at: at(600), by: 'nurse.jones', kind: 'admit', wardId: 'w1', pathway: 'ari', admission: 'step-up', source: 'gp' };
const opel: CapacitySnapshot = { service: 'system', providerId: 'ICB1', ts: at(10), opelLevel: 3 };

/** Everything the store answers, for comparing a store with the one read back from its files. */
async function contents(store: TimeSeriesStore) {
  const since = new Date(NOW - 48 * 3_600_000);
  return {
    series: await Promise.all(['pt-1', 'pt-2'].map((p) => store.series(p, 'heart_rate', { since }))),
    latest: await Promise.all(['pt-1', 'pt-2'].map((p) => store.latest(p))),
    scores: await store.scores('pt-1', { since }),
    hours: await store.readingHours(['w1'], { since: new Date(0) }),
    alerts: await store.alerts(['w1'], { since }),
    referrals: await store.referrals('w1', { since }),
    flow: await store.flowEvents(['w1'], { since }),
    capacity: await store.capacity(['ICB1'], { since }),
  };
}

const freshDir = () => join(mkdtempSync(join(tmpdir(), 'vw-durable-store-')), 'store');
const open = (dir: string, maxJournalBytes?: number) =>
  openDurableMemoryStore({ dir, retentionHours: 24, maxPointsPerSeries: 1_000, now: () => NOW, ...(maxJournalBytes ? { maxJournalBytes } : {}) });

async function fill(store: TimeSeriesStore) {
  for (let m = 120; m > 0; m -= 10) await store.writeReadings([hr('pt-1', m, 60 + m / 10), hr('pt-2', m, 90 - m / 10), avpu('pt-1', m)]);
  // Older than retention: gone from the series, but its hour still counts for adherence.
  await store.writeReadings([hr('pt-2', 30 * 60, 50)]);
  await store.writeScores([score('pt-1', 60, 3), score('pt-1', 5, 6)]);
  await store.writeAlerts([alert('a1', 0), alert('a1', 1), alert('a2', 0)]);
  await store.writeReferrals([referral(0), referral(1)]);
  await store.writeFlowEvents([admit]);
  await store.writeCapacity([opel]);
}

describe('durable embedded store', () => {
  it('answers after kill -9 exactly as before: every write that resolved is kept', async () => {
    const dir = freshDir();
    const { store } = await open(dir);
    await fill(store);
    const before = await contents(store);
    expect(before.series[0]).toHaveLength(12);
    expect(before.hours.length).toBeGreaterThan(2);
    cpSync(dir, `${dir}-crashed`, { recursive: true });
    const reopened = await open(`${dir}-crashed`);
    expect(reopened.recovered.skipped).toBe(0);
    expect(await contents(reopened.store)).toEqual(before);
    await reopened.store.close();
    await store.close();
  });

  it('answers the same from a snapshot: older points without their whole reading, the newest with it', async () => {
    const dir = freshDir();
    // A bound this small checkpoints after nearly every write.
    const { store, diskBytes } = await open(dir, 2_048);
    await fill(store);
    for (let i = 0; i < 30; i++) await store.writeReadings([hr('pt-1', 5, 61)]);
    const before = await contents(store);
    await store.close();
    const reopened = await open(dir, 2_048);
    expect(await contents(reopened.store)).toEqual(before);
    expect((await reopened.store.latest('pt-1')).heart_rate).toEqual(hr('pt-1', 5, 61));
    // Thirty more writes of the same reading took no more room.
    expect(diskBytes()).toBeLessThan(3 * 2_048 + 20_000);
    // A duplicate after the restart is still absorbed.
    const points = reopened.store.pointCount();
    await reopened.store.writeReadings([hr('pt-1', 5, 61), hr('pt-1', 120, 72)]);
    expect(reopened.store.pointCount()).toBe(points);
    await reopened.store.close();
  });
});
