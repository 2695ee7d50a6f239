import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { on } from '../../src/bus/bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { DeadLetter } from '../../src/domain/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { testDataDir } from '../support/data-dir.ts';
import { ago, publishAs } from '../support/ward-actions.ts';

/** An operator's limits on what one device may cost (VW_INGEST_MAX_ITEMS_PER_PAYLOAD, VW_INGEST_DEAD_LETTERS_PER_DEVICE_MINUTE) are the ones ingest applies. */
let app: VwApp;
const deadLetters: DeadLetter[] = [];
beforeAll(async () => {
  const config = loadConfig(
    { VW_INGEST_MAX_ITEMS_PER_PAYLOAD: '3', VW_INGEST_DEAD_LETTERS_PER_DEVICE_MINUTE: '2' },
    { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'ingest-limits-secret-ingest-limits-secret', logLevel: 'silent' },
  );
  app = await startVw(config, { logger: createLogger({ level: 'silent' }) });
  await app.bus.consume({ groupId: 'ingest-limits-dead-letters', fromBeginning: true, topics: [on(Topics.deadLetter, async ({ value }) => void deadLetters.push(value))] });
});
afterAll(async () => {
  await app?.close();
});

const rejected = async (reason: string) => (await app.metrics.readingsRejected.get()).values.filter((v) => v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
const suppressed = async () => (await app.metrics.deadLettersSuppressed.get()).values.reduce((n, v) => n + v.value, 0);

describe('ingest limits from configuration', () => {
  it('refuses a payload of more items than configured, and keeps only the configured dead letters a minute', { timeout: 30_000 }, async () => {
    const hr = (s: number) => ({ type: 'heart_rate', value: 70, unit: '/min', ts: ago(s) });
    // Three items are within the limit: stored as readings, nothing refused.
    await publishAs(app, 'app-0001', [hr(40), hr(39), hr(38)]);
    await publishAs(app, 'app-0001', [hr(30), hr(29), hr(28), hr(27)]);
    await expect.poll(() => rejected('payload_too_large'), { timeout: 10_000 }).toBe(1);
    // Four more refusals from the same device in the minute: two more dead letters would pass the budget of 2.
    for (let i = 0; i < 4; i++) await publishAs(app, 'app-0001', [hr(20), hr(19), hr(18), hr(17)]);
    await expect.poll(() => rejected('payload_too_large'), { timeout: 10_000 }).toBe(5);
    await expect.poll(suppressed, { timeout: 10_000 }).toBe(3);
    // The dead letters were published before the refusals were counted; the consumer may still be reading them.
    await expect.poll(() => deadLetters.filter((d) => d.deviceId === 'app-0001').map((d) => d.reason), { timeout: 10_000 }).toEqual(['payload_too_large', 'payload_too_large']);
    expect(deadLetters[0]!.detail).toMatch(/4 items exceeds 3 per payload/);
    const stored = await app.store.series('pt-0001', 'heart_rate', { since: new Date(Date.now() - 60_000) });
    expect(stored).toHaveLength(3);
  });
});
