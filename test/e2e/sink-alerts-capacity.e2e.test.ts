import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { Topics } from '../../src/bus/topics.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Alert, CapacitySnapshot } from '../../src/domain/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { testDataDir } from '../support/data-dir.ts';

/** The sink role puts alert revisions and capacity snapshots from the bus into the store, for capacity reports. */
let app: VwApp;

beforeAll(async () => {
  app = await startVw(loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'sink-alerts-secret-sink-alerts-secret' }), { logger: createLogger({ level: 'silent' }) });
});
afterAll(async () => {
  await app?.close();
});

describe('sink role: alerts and capacity', () => {
  it('stores the newest revision of an alert and each capacity snapshot', async () => {
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
    const raisedAt = at(30);
    const alert = (revision: number, severity: Alert['severity']): Alert => ({
      alertId: 'al-sink-1', patientId: 'pt-sink-1', wardId: 'ward-sink', cause: 'news2', ruleId: 'news2', ruleVersion: '1.0.0', severity, state: 'open',
      revision, raisedAt, updatedAt: at(30 - revision), eventTs: raisedAt, score: 5, partial: false, explanation: 'NEWS2 5', response: 'urgent review', evidence: [],
      history: [{ state: 'open', at: raisedAt, by: 'rules' }], receivedAt: raisedAt,
    });
    const snapshot: CapacitySnapshot = { service: 'system', providerId: 'QSINK', ts: at(20), opelLevel: 3 };
    await app.bus.publish(Topics.alerts, [{ key: 'pt-sink-1', value: alert(0, 'medium') }, { key: 'pt-sink-1', value: alert(1, 'high') }]);
    await app.bus.publish(Topics.capacity, [{ key: 'QSINK', value: snapshot }, { key: 'QSINK', value: snapshot }]);
    const since = new Date(Date.now() - 3600_000);
    await expect.poll(async () => (await app.store.alerts(['ward-sink'], { since })).map((a) => [a.alertId, a.revision, a.severity]), { timeout: 10_000 }).toEqual([['al-sink-1', 1, 'high']]);
    await expect.poll(async () => app.store.capacity(['QSINK'], { since }), { timeout: 10_000 }).toEqual([snapshot]);
    // Counted once a write has resolved, so just after the store shows it: waited for, not read at once.
    const written = async (measurement: string) => (await app.metrics.storeWrites.get()).values.find((v) => v.labels.measurement === measurement)?.value;
    await expect.poll(() => written('alert'), { timeout: 10_000 }).toBe(2);
    await expect.poll(() => written('capacity'), { timeout: 10_000 }).toBe(2);
  });
});
