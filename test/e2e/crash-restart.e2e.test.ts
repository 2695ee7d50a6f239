import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/domain/index.ts';
import { connectConsole, isType } from '../support/console-client.ts';
import { freePort, startRole, type RoleProcess } from '../support/processes.ts';
import { ago, connectDevice, deterioratePt0002, type DeviceBroker } from '../support/ward-actions.ts';

/**
 * The embedded default (every role in one process, in-process bus, in-memory store) killed with
 * SIGKILL mid-stream and started again on the same data directory: every reading acknowledged to a
 * device, the alert, its acknowledgement, the settings version and the referral are there after the
 * restart, the console's token still works, and nothing is raised twice.
 */
const dataDir = join(mkdtempSync(join(tmpdir(), 'vw-crash-')), 'data');
let vw: RoleProcess | undefined;
afterAll(async () => {
  await vw?.kill();
});

async function start(mqttPort: number): Promise<RoleProcess> {
  // Nothing set in the environment: the keys are the ones the data directory keeps.
  return startRole('all', { VW_DURABLE: 'true', VW_DATA_DIR: dataDir, VW_MQTT_EMBEDDED_PORT: String(mqttPort), VW_FEED_TOKEN_SECRET: '', VW_CAPACITY_SECRET: '', VW_MQTT_DEVICE_SECRET: '' });
}

async function openConsole(url: string, token: string) {
  const console = await connectConsole(url);
  console.send({ type: 'hello', token });
  await console.waitFor(isType('welcome'));
  console.send({ type: 'subscribe', wardId: 'ward-ari' });
  const snapshot = await console.waitFor(isType('snapshot'));
  return { console, snapshot };
}

const newsAlertsOf = (alerts: Alert[]) => alerts.filter((a) => a.patientId === 'pt-0002' && a.ruleId === 'news2');

describe('kill -9 on the embedded default', () => {
  it('loses nothing acknowledged: readings, alert, acknowledgement, settings, referral, console token', { timeout: 180_000 }, async () => {
    const mqttPort = await freePort();
    vw = await start(mqttPort);
    const broker: DeviceBroker = { mqttUrl: `mqtt://127.0.0.1:${mqttPort}`, deviceSecret: readFileSync(join(dataDir, 'device-secret'), 'utf8').trim() };
    const issued = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'token', '--user', 'nurse.kim', '--wards', 'ward-ari'], { encoding: 'utf8', env: { ...process.env, VW_DATA_DIR: dataDir, VW_FEED_TOKEN_SECRET: '' } });
    expect(issued.stderr).toBe('');
    const token = issued.stdout.trim();

    await deterioratePt0002(broker);
    const before = await openConsole(vw.url, token);
    // Raised before the console subscribed (in its snapshot) or after (a frame of its own).
    const alertId =
      newsAlertsOf(before.snapshot.alerts)[0]?.alertId ??
      (await before.console.waitFor((f): f is Extract<typeof f, { type: 'alert' }> => f.type === 'alert' && f.alert.patientId === 'pt-0002' && f.alert.ruleId === 'news2')).alert.alertId;
    before.console.send({ type: 'acknowledge', alertId, note: 'phoned the patient' });
    await before.console.waitFor((f): f is Extract<typeof f, { type: 'alert' }> => f.type === 'alert' && f.alert.alertId === alertId && f.alert.state === 'acknowledged');
    const version = before.snapshot.patients.find((p) => p.patientId === 'pt-0002')!.settings!.version;
    before.console.send({ type: 'settings', patientId: 'pt-0002', baseVersion: version, spo2Scale: 2, values: {}, reason: 'COPD: target 88-92% agreed with respiratory team' });
    await before.console.waitFor((f): f is Extract<typeof f, { type: 'settingsAccepted' }> => f.type === 'settingsAccepted' && f.version === version + 1);
    before.console.send({ type: 'refer', patientId: 'pt-0002', route: 'urgent-community-response', alertId });
    const referred = await before.console.waitFor(isType('referralAccepted'));
    before.console.close();

    // A device streams readings one at a time, each acknowledged (PUBACK) before the next; the process
    // is killed while it streams.
    const oximeter = await connectDevice(broker, 'oxi-0001', { reconnectPeriod: 0 });
    const acknowledged: string[] = [];
    // A publish in flight when the connection drops is never acknowledged: it ends the stream.
    const dropped = new Promise<void>((resolve) => oximeter.once('close', () => resolve()));
    const streaming = (async () => {
      for (let i = 0; i < 10_000; i++) {
        const time = ago(3_000 - i * 0.25);
        const acked = oximeter.publishAsync('vw/v1/devices/oxi-0001/readings', JSON.stringify({ measurement: 'pulse_oximetry', time, spo2: 96, pulseRate: 70 + (i % 10) }), { qos: 1 }).then(
          () => true,
          () => false,
        );
        if (!(await Promise.race([acked, dropped.then(() => false)]))) return;
        acknowledged.push(time);
      }
    })();
    while (acknowledged.length < 150) {
      if (oximeter.disconnected) throw new Error(`the device was disconnected after ${acknowledged.length} readings:\n${vw.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await vw.kill('SIGKILL');
    await streaming;
    oximeter.end(true);
    const acked = acknowledged.length;

    vw = await start(mqttPort);
    // The token issued before the crash is still good: the key was kept.
    const after = await openConsole(vw.url, token);
    const alerts = newsAlertsOf(after.snapshot.alerts);
    expect(alerts.map((a) => [a.alertId, a.state])).toEqual([[alertId, 'acknowledged']]);
    expect(alerts[0]!.history.some((h) => h.state === 'acknowledged' && h.note === 'phoned the patient')).toBe(true);
    expect(after.snapshot.referrals.map((r) => r.referralId)).toContain(referred.referralId);
    expect(after.snapshot.patients.find((p) => p.patientId === 'pt-0002')!.settings).toMatchObject({ version: version + 1, spo2Scale: 2 });
    after.console.send({ type: 'settingsHistory', patientId: 'pt-0002' });
    const history = await after.console.waitFor(isType('settingsHistory'));
    expect(history.versions.map((v) => v.version)).toContain(version + 1);

    // Every reading a PUBACK was sent for is in the store.
    after.console.send({ type: 'series', patientId: 'pt-0001', readingType: 'spo2', since: ago(3_600) });
    const series = await after.console.waitFor((f): f is Extract<typeof f, { type: 'series' }> => f.type === 'series' && f.patientId === 'pt-0001' && f.readingType === 'spo2');
    const stored = new Set(series.points.map((p) => Date.parse(p.ts)));
    const lost = acknowledged.filter((t) => !stored.has(Date.parse(t)));
    expect({ acked, lost }).toEqual({ acked, lost: [] });

    // The pipeline has moved on (a later reading of pt-0002 reached the console) and the alert was not raised again.
    const later = await connectDevice(broker, 'oxi-0002');
    await later.publishAsync('vw/v1/devices/oxi-0002/readings', JSON.stringify({ measurement: 'pulse_oximetry', time: ago(1), spo2: 89, pulseRate: 120 }), { qos: 1 });
    await later.endAsync();
    await after.console.waitFor((f): f is Extract<typeof f, { type: 'reading' }> => f.type === 'reading' && f.reading.patientId === 'pt-0002' && f.reading.type === 'spo2' && f.reading.value === 89);
    const raisedAgain = after.console.frames.filter(isType('alert')).filter((f) => f.alert.patientId === 'pt-0002' && f.alert.ruleId === 'news2' && f.alert.alertId !== alertId);
    expect(raisedAgain).toEqual([]);
    after.console.close();
    console.log(`kill -9 mid-stream: ${acked} readings acknowledged to the device before the kill, all ${acked} stored after the restart`);
  });
});
