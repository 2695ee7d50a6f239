import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { testDataDir } from '../support/data-dir.ts';

/** A capacity source signs in to the embedded broker under a client id of its own, never another's. */
let app: VwApp;
beforeAll(async () => {
  app = await startVw(loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'broker-capacity-secret-broker-capacity', 'capacity.secret': 'broker-capacity-secret-0123456789' }), {
    logger: createLogger({ level: 'silent' }),
  });
});
afterAll(async () => {
  await app?.close();
});

describe('capacity sources on the embedded broker', () => {
  it('sign in as their source id or a client id starting with it, and not as another source', { timeout: 20_000 }, async () => {
    const [first, second] = app.registry.capacitySources();
    expect(second).toBeDefined();
    const signIn = (sourceId: string, clientId: string) =>
      mqtt.connectAsync(app.mqttUrl, { clientId, username: sourceId, password: app.capacityCredentials.tokenFor(sourceId), protocolVersion: 4, reconnectPeriod: 0 });
    for (const clientId of [first!.sourceId, `${first!.sourceId}-feed`]) {
      const client = await signIn(first!.sourceId, clientId);
      expect(client.connected).toBe(true);
      await client.endAsync();
    }
    // The other source holds its session under its own id: the first may not take it, nor an id of no one's.
    const other = await signIn(second!.sourceId, second!.sourceId);
    for (const clientId of [second!.sourceId, `${second!.sourceId}-feed`, 'capacity-feed', `${first!.sourceId}feed`]) {
      await expect(signIn(first!.sourceId, clientId), clientId).rejects.toThrow(/Not authorized/i);
    }
    // Its session is still open: the broker answers it (a SUBACK refusing the subscription, as to every source).
    await expect(other.subscribeAsync('vw/v1/capacity/+/snapshots', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    expect(other.connected).toBe(true);
    await other.endAsync();
  });
});
