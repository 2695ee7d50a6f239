import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { on } from '../../src/bus/bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import type { DeadLetter } from '../../src/domain/index.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { ServerFrame } from '../../src/feed/protocol.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { loadRegistryFile } from '../../src/registry/load.ts';
import { connectConsole, isType } from '../support/console-client.ts';
import { connectDevice } from '../support/ward-actions.ts';
import { testDataDir } from '../support/data-dir.ts';

/**
 * The walking skeleton end to end over real MQTT (the embedded broker) and a real WebSocket:
 * a device publishes, ingest normalises, rules score and alert, the console receives and acknowledges.
 */
let app: VwApp;
const devices = new Map<string, MqttClient>();

async function device(deviceId: string): Promise<MqttClient> {
  let client = devices.get(deviceId);
  if (!client) {
    client = await connectDevice(app, deviceId);
    devices.set(deviceId, client);
  }
  return client;
}

async function publish(deviceId: string, payload: unknown): Promise<void> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  await (await device(deviceId)).publishAsync(`vw/v1/devices/${deviceId}/readings`, body, { qos: 1 });
}

/** The sum of a metric's series whose labels include every one given. */
async function metric(name: string, ...labels: string[]): Promise<number> {
  const text = await (await fetch(`${app.httpUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

function ago(seconds: number): string {
  return new Date(Date.now() - seconds * 1000).toISOString();
}

beforeAll(async () => {
  const config = loadConfig(
    {},
    { dataDir: testDataDir(),
      'http.port': 0,
      'mqtt.embeddedPort': 0,
      'feed.tokenSecret': 'e2e-secret-e2e-secret-e2e-secret-e2e-secret',
      logLevel: 'silent',
    },
  );
  app = await startVw(config, { logger: createLogger({ level: 'silent' }) });
});

afterAll(async () => {
  await Promise.all([...devices.values()].map((c) => c.endAsync()));
  await app?.close();
});

describe('vw end to end on the embedded default', () => {
  it('turns a deteriorating patient’s device readings into a scored alert on the console, and records the acknowledgement', async () => {
    const token = await app.tokens.issue({ sub: 'nurse.jones', wards: ['ward-ari'] });
    const ward = await connectConsole(app.httpUrl);
    ward.send({ type: 'hello', token });
    const welcome = await ward.waitFor(isType('welcome'));
    expect(welcome.wards.map((w) => w.wardId)).toEqual(['ward-ari']);
    ward.send({ type: 'subscribe', wardId: 'ward-ari' });
    const snapshot = await ward.waitFor(isType('snapshot'));
    // Everyone enrolled on the ward in the demo seeds, pt-0001 to pt-0003 among them.
    const { data } = await loadRegistryFile('seeds/demo-ward.yaml');
    const onWard = [...new Set(data.enrolments.filter((e) => e.wardId === 'ward-ari').map((e) => e.patientId))].sort();
    expect(onWard).toEqual(expect.arrayContaining(['pt-0001', 'pt-0002', 'pt-0003']));
    expect(snapshot.patients.map((p) => p.patientId).sort()).toEqual(onWard);

    // pt-0002 as their devices report it: every NEWS2 parameter present, in three payload shapes.
    await publish('app-0002', [
      { deviceId: 'app-0002', type: 'respiratory_rate', value: 26, unit: '/min', ts: ago(30) },
      { deviceId: 'app-0002', type: 'consciousness', value: 'A', ts: ago(30) },
      { deviceId: 'app-0002', type: 'supplemental_oxygen', value: false, ts: ago(30) },
    ]);
    await publish('oxi-0002', { deviceId: 'oxi-0002', measurement: 'pulse_oximetry', time: ago(20), spo2: 91, pulseRate: 124 });
    await publish('bp-0002', {
      deviceId: 'bp-0002', measurement: 'blood_pressure', time: ago(15), systolic: 98, diastolic: 60, unit: 'mmHg', pulse: 122, irregularHeartbeat: false,
    });
    const temperature = { deviceId: 'temp-0002', measurement: 'body_temperature', time: ago(10), temperature: 102.6, unit: 'F' };
    await publish('temp-0002', temperature);

    // RR 26 (3) + SpO2 91 (3) + air (0) + SBP 98 (2) + HR 122 (2) + A (0) + 39.2 °C (2) = 12: high.
    // The alert opens as soon as the partial score is high, and is updated as the rest arrive.
    const high = await ward.waitFor(
      (f): f is Extract<ServerFrame, { type: 'alert' }> => f.type === 'alert' && f.alert.severity === 'high' && f.alert.score === 12,
    );
    const raised = ward.frames.filter(isType('alert')).filter((f) => f.alert.patientId === 'pt-0002');
    expect(new Set(raised.map((f) => f.alert.alertId)).size).toBe(1);
    const alert = high.alert;
    expect(alert.patientId).toBe('pt-0002');
    expect(alert.ruleId).toBe('news2');
    expect(alert.ruleVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(alert.score).toBe(12);
    expect(alert.partial).toBe(false);
    expect(alert.explanation).toMatch(/NEWS2 12 \(high\)/);
    expect(alert.evidence.map((e) => e.type).sort()).toEqual(['heart_rate', 'respiratory_rate', 'spo2', 'systolic_bp', 'temperature']);
    expect(alert.evidence.every((e) => e.threshold.length > 0)).toBe(true);

    const readingFrame = ward.frames.find(
      (f) => f.type === 'reading' && f.reading.type === 'temperature' && f.reading.patientId === 'pt-0002',
    );
    expect(readingFrame && readingFrame.type === 'reading' && readingFrame.reading.value).toBe(39.2);

    ward.send({ type: 'acknowledge', alertId: alert.alertId });
    await ward.waitFor(isType('accepted'));
    const acked = await ward.waitFor(
      (f): f is Extract<ServerFrame, { type: 'alert' }> => f.type === 'alert' && f.alert.alertId === alert.alertId && f.alert.state === 'acknowledged',
    );
    expect(acked.alert.history.at(-1)).toMatchObject({ state: 'acknowledged', by: 'nurse.jones' });
    expect(acked.alert.revision).toBeGreaterThan(alert.revision);

    // The same device message delivered again opens no second alert and changes nothing. A later
    // temperature from the same device (the same patient, so the same partitions, handled after it)
    // changes the score to 10 and so the alert; once that revision is on the console, anything the
    // repeat produced would have come before it.
    const alertsBefore = ward.frames.filter(isType('alert')).length;
    await publish('temp-0002', temperature);
    await publish('temp-0002', { deviceId: 'temp-0002', measurement: 'body_temperature', time: ago(5), temperature: 37, unit: 'C' });
    const after = await ward.waitFor(
      (f): f is Extract<ServerFrame, { type: 'alert' }> => f.type === 'alert' && f.alert.alertId === alert.alertId && f.alert.revision > acked.alert.revision,
    );
    expect(ward.frames.filter(isType('alert')).slice(alertsBefore)).toEqual([after]);
    expect(after.alert).toMatchObject({ revision: acked.alert.revision + 1, state: 'acknowledged', severity: 'high', score: 10, partial: false });
    expect(await metric('vw_alerts_raised_total', 'rule="news2"')).toBe(1);

    const latency = await (await fetch(`${app.httpUrl}/metrics`)).text();
    expect(latency).toMatch(/vw_pipeline_latency_seconds_count\{stage="alert"\} [1-9]/);
    ward.close();
  });

  it('runs the rule packs beside NEWS2: an irregular-rhythm notification asks for an ECG', async () => {
    const token = await app.tokens.issue({ sub: 'nurse.jones', wards: ['ward-ari'] });
    const ward = await connectConsole(app.httpUrl);
    ward.send({ type: 'hello', token });
    ward.send({ type: 'subscribe', wardId: 'ward-ari' });
    await ward.waitFor(isType('snapshot'));
    await publish('watch-0003', { heartRate: [{ time: ago(40), bpm: 96 }], irregularRhythm: { time: ago(35), detected: true } });
    const af = await ward.waitFor(
      (f): f is Extract<ServerFrame, { type: 'alert' }> => f.type === 'alert' && f.alert.ruleId === 'af-irregular-rhythm',
    );
    expect(af.alert).toMatchObject({ patientId: 'pt-0003', ruleVersion: '1.0.1', severity: 'low-medium', response: expect.stringMatching(/12-lead ECG/) });
    expect(af.alert.evidence[0]).toMatchObject({ type: 'irregular_rhythm', value: true });
    ward.close();
  });

  it('sends malformed and impossible input to the dead-letter topic with its reason, counts it, and keeps running', async () => {
    const letters: DeadLetter[] = [];
    const subscription = await app.bus.consume({ groupId: 'e2e-dead-letters', topics: [on(Topics.deadLetter, async ({ value }) => void letters.push(value))] });
    const before = await metric('vw_readings_rejected_total', 'reason="malformed_json"');
    await publish('watch-0001', '{"heartRate": [ not json');
    await publish('watch-0001', { deviceId: 'watch-0001', heartRate: [{ time: ago(5), bpm: 900 }] });
    await expect.poll(() => metric('vw_readings_rejected_total', 'reason="malformed_json"')).toBe(before + 1);
    await expect.poll(() => metric('vw_readings_rejected_total', 'reason="implausible_value"')).toBeGreaterThanOrEqual(1);
    await expect.poll(() => letters.length).toBe(2);
    expect(letters.map((l) => [l.reason, l.deviceId, l.source.topic])).toEqual([
      ['malformed_json', 'watch-0001', 'vw/v1/devices/watch-0001/readings'],
      ['implausible_value', 'watch-0001', 'vw/v1/devices/watch-0001/readings'],
    ]);
    expect(Buffer.from(letters[0]!.payloadBase64, 'base64').toString()).toBe('{"heartRate": [ not json');
    expect(letters[1]).toMatchObject({ item: 0, detail: 'heartRate[0].bpm: 900 /min outside 20-300' });
    await subscription.stop();
    const health = await fetch(`${app.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    // And a good reading after them still flows.
    const ingested = await metric('vw_readings_ingested_total', 'type="heart_rate"');
    await publish('watch-0001', { deviceId: 'watch-0001', heartRate: [{ time: ago(4), bpm: 72 }] });
    await expect.poll(() => metric('vw_readings_ingested_total', 'type="heart_rate"')).toBeGreaterThan(ingested);
  });

  it('gives nothing to a console without a valid token, or asking for a ward it was not granted', async () => {
    const anonymous = await connectConsole(app.httpUrl);
    anonymous.send({ type: 'subscribe', wardId: 'ward-ari' });
    expect((await anonymous.waitClosed()).code).toBe(4401);
    expect(anonymous.frames.filter((f) => f.type !== 'error')).toEqual([]);

    const forged = await connectConsole(app.httpUrl);
    forged.send({ type: 'hello', token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4Iiwid2FyZHMiOlsid2FyZC1hcmkiXX0.invalid' });
    expect((await forged.waitClosed()).code).toBe(4401);
    expect(forged.frames.filter((f) => f.type !== 'error')).toEqual([]);

    const token = await app.tokens.issue({ sub: 'nurse.hf', wards: ['ward-hf'] });
    const nurse = await connectConsole(app.httpUrl);
    nurse.send({ type: 'hello', token });
    await nurse.waitFor(isType('welcome'));
    nurse.send({ type: 'subscribe', wardId: 'ward-ari' });
    const refused = await nurse.waitFor(isType('error'));
    expect(refused.code).toBe('forbidden');
    // A console of ward-ari gets the reading; the feed sends a reading to every console of the ward at
    // once, so a round trip on the refused console after that shows whether it was sent one too.
    const ari = await connectConsole(app.httpUrl);
    ari.send({ type: 'hello', token: await app.tokens.issue({ sub: 'nurse.jones', wards: ['ward-ari'] }) });
    ari.send({ type: 'subscribe', wardId: 'ward-ari' });
    await ari.waitFor(isType('snapshot'));
    await publish('oxi-0001', { deviceId: 'oxi-0001', measurement: 'pulse_oximetry', time: ago(2), spo2: 97, pulseRate: 70 });
    await ari.waitFor((f): f is Extract<ServerFrame, { type: 'reading' }> => f.type === 'reading' && f.reading.patientId === 'pt-0001' && f.reading.type === 'spo2' && f.reading.value === 97);
    await nurse.roundTrip();
    expect(nurse.frames.some((f) => f.type === 'snapshot' || f.type === 'reading' || f.type === 'alert')).toBe(false);
    ari.close();
    nurse.close();
  });

  it('serves the console page, health and metrics', async () => {
    const health = await (await fetch(`${app.httpUrl}/healthz`)).json();
    expect(health).toEqual({ status: 'ok', checks: { bus: 'ok', store: 'ok', mqtt: 'ok' } });
    const page = await fetch(`${app.httpUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const metrics = await (await fetch(`${app.httpUrl}/metrics`)).text();
    for (const name of ['vw_readings_ingested_total', 'vw_readings_rejected_total', 'vw_alerts_raised_total', 'vw_pipeline_latency_seconds_bucket']) {
      expect(metrics).toContain(name);
    }
  });
});
