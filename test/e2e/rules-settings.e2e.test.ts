import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { on } from '../../src/bus/bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import type { Alert } from '../../src/domain/index.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { ago, connectDevice, publishAs } from '../support/ward-actions.ts';
import { testDataDir } from '../support/data-dir.ts';

/**
 * A clinician's new settings version reaches the rules role over the settings topic and the next
 * reading is judged against it; the alert names the setting and its version.
 */
let app: VwApp;
let scale: MqttClient;
beforeAll(async () => {
  const config = loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'e2e-secret-e2e-secret-e2e-secret-e2e-secret', logLevel: 'silent' });
  app = await startVw(config, { logger: createLogger({ level: 'silent' }) });
  scale = await connectDevice(app, 'scale-0004');
});
afterAll(async () => {
  await scale?.endAsync();
  await app?.close();
});

describe('per-patient settings in the rules role', () => {
  it('judges the dry-weight rule against the newest settings version, naming it', { timeout: 30_000 }, async () => {
    const alerts: Alert[] = [];
    const sub = await app.bus.consume({ groupId: 'e2e-settings-alerts', topics: [on(Topics.alerts, async ({ value }) => void alerts.push(value))] });
    const weigh = async (kg: number, secondsAgo: number) =>
      scale.publishAsync('vw/v1/devices/scale-0004/readings', JSON.stringify({ type: 'weight', value: kg, unit: 'kg', ts: new Date(Date.now() - secondsAgo * 1000).toISOString() }), { qos: 1 });
    // Registry version 2: dry weight 82 kg; 84 kg is within 3 kg of it.
    await weigh(84, 120);
    // Then an SpO2 of 85 from the same patient's oximeter, which NEWS2 alerts on: the rules role handles
    // the patient's readings in order and publishes their alerts in order, so once that alert is here
    // any alert on the weighing would have come before it.
    await publishAs(app, 'oxi-0004', { measurement: 'pulse_oximetry', time: ago(100), spo2: 85, pulseRate: 80 });
    await expect.poll(() => alerts.filter((a) => a.patientId === 'pt-0004' && a.ruleId === 'news2').length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(alerts.filter((a) => a.ruleId === 'hf-weight-above-dry')).toEqual([]);
    await app.bus.publish(Topics.patientSettings, [
      {
        key: 'pt-0004',
        value: {
          patientId: 'pt-0004',
          wardId: 'ward-hf',
          version: 3,
          effectiveFrom: new Date(Date.now() - 60_000).toISOString(),
          setBy: 'hf.nurse.bailey',
          reason: 'Dry weight re-measured at clinic',
          spo2Scale: 1,
          values: { baselineWeight: 80.5, homeBpTargetSystolic: 130 },
        },
      },
    ]);
    // The settings view and the readings are separate subscriptions: weigh again until the new
    // version is in force (each weighing is a new reading, judged against the settings of the moment).
    const deadline = Date.now() + 10_000;
    for (let n = 0; !alerts.some((a) => a.ruleId === 'hf-weight-above-dry') && Date.now() < deadline; n++) {
      await weigh(84, 30 - n * 0.5);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(new Set(alerts.filter((a) => a.ruleId === 'hf-weight-above-dry').map((a) => a.alertId)).size).toBe(1);
    const alert = alerts.find((a) => a.ruleId === 'hf-weight-above-dry')!;
    expect(alert.explanation).toContain('from setting baselineWeight (80.5, settings v3)');
    await sub.stop();
  });
});
