import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { devicePassword } from '../../src/mqtt/credentials.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { connectDevice, deviceSignIn } from '../support/ward-actions.ts';

/**
 * The embedded broker is as strict as Mosquitto with vw's generated password file and ACL: every
 * device signs in as itself with its derived password, publishes only on its own readings topic,
 * subscribes to nothing and leaves nothing retained; a client holding a device's id without its
 * password cannot push the device off. Its secret is kept in the data directory when not set.
 */
const VW = join(import.meta.dirname, '..', '..', 'bin', 'vw.js');
const dataDir = join(mkdtempSync(join(tmpdir(), 'vw-broker-security-')), 'data');
let app: VwApp;
const clients: MqttClient[] = [];
const silent = createLogger({ level: 'silent' });

const reading = (spo2: number, secondsAgo = 30) => JSON.stringify({ measurement: 'pulse_oximetry', time: new Date(Date.now() - secondsAgo * 1000).toISOString(), spo2, pulseRate: 100 });
const latestSpo2 = async (patientId: string) => (await app.store.latest(patientId)).spo2?.value;
const refusedConnect = /Not authorized|Bad username or password/i;

async function device(deviceId: string): Promise<MqttClient> {
  const client = await connectDevice(app, deviceId);
  clients.push(client);
  return client;
}

/** Publishes at QoS 1: 'acknowledged' on PUBACK, 'refused' if the broker drops the client instead (MQTT 3.1.1 has no negative PUBACK). */
async function attempt(client: MqttClient, topic: string, payload: string, retain = false): Promise<'acknowledged' | 'refused'> {
  if (!client.connected) return 'refused';
  return Promise.race([
    client.publishAsync(topic, payload, { qos: 1, retain }).then(() => 'acknowledged' as const, () => 'refused' as const),
    new Promise<'refused'>((resolve) => client.once('close', () => resolve('refused'))),
  ]);
}

beforeAll(async () => {
  // No VW_MQTT_DEVICE_SECRET: the broker keeps a secret of its own in the data directory.
  const config = loadConfig({}, { 'http.port': 0, 'mqtt.embeddedPort': 0, dataDir, 'feed.tokenSecret': 'broker-security-e2e-secret-0123456789', logLevel: 'silent' });
  app = await startVw(config, { logger: silent });
});

afterAll(async () => {
  for (const client of clients) client.end(true);
  await app?.close();
});

describe('signing in to the embedded broker', () => {
  it('keeps its device secret in the data directory, readable by its owner only', () => {
    const file = join(dataDir, 'device-secret');
    expect(readFileSync(file, 'utf8').trim()).toBe(app.deviceSecret);
    expect(app.deviceSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  });

  it('refuses anonymous clients, unknown usernames, wrong passwords and a device id that is not the username', async () => {
    const options = { protocolVersion: 4 as const, reconnectPeriod: 0 };
    await expect(mqtt.connectAsync(app.mqttUrl, { ...options, clientId: 'oxi-0001' })).rejects.toThrow(refusedConnect);
    await expect(mqtt.connectAsync(app.mqttUrl, { ...options, clientId: 'anonymous-1' })).rejects.toThrow(refusedConnect);
    await expect(mqtt.connectAsync(app.mqttUrl, { ...options, clientId: 'oxi-0001', username: 'oxi-0001' })).rejects.toThrow(refusedConnect);
    await expect(mqtt.connectAsync(app.mqttUrl, { ...options, clientId: 'oxi-0001', username: 'oxi-0001', password: 'guessed' })).rejects.toThrow(refusedConnect);
    // Another device's password, or the right one derived from another secret.
    await expect(mqtt.connectAsync(app.mqttUrl, { ...options, clientId: 'oxi-0001', username: 'oxi-0001', password: devicePassword(app.deviceSecret!, 'oxi-0002') })).rejects.toThrow(refusedConnect);
    await expect(mqtt.connectAsync(app.mqttUrl, { ...options, clientId: 'oxi-0001', username: 'oxi-0001', password: devicePassword('some-other-secret-0123456789', 'oxi-0001') })).rejects.toThrow(refusedConnect);
    // A device not in the registry, with a password derived from the right secret.
    await expect(mqtt.connectAsync(app.mqttUrl, { ...options, clientId: 'oxi-9999', username: 'oxi-9999', password: devicePassword(app.deviceSecret!, 'oxi-9999') })).rejects.toThrow(refusedConnect);
    // The right credentials under another client id: a device's session is its own id's.
    await expect(mqtt.connectAsync(app.mqttUrl, { ...deviceSignIn(app, 'oxi-0001'), clientId: 'oxi-0001-b' })).rejects.toThrow(refusedConnect);
    await expect(mqtt.connectAsync(app.mqttUrl, { ...deviceSignIn(app, 'oxi-0001'), clientId: 'oxi-0002' })).rejects.toThrow(refusedConnect);
  });

  it('refuses MQTT 5 clients: the broker speaks MQTT 3.1.1 only, so it has no reason codes to give', async () => {
    await expect(mqtt.connectAsync(app.mqttUrl, { ...deviceSignIn(app, 'oxi-0001'), protocolVersion: 5 })).rejects.toThrow(/Unacceptable protocol version/i);
  });

  it('takes a reading from a device signed in with its derived password', async () => {
    const oxi = await device('oxi-0001');
    expect(await attempt(oxi, 'vw/v1/devices/oxi-0001/readings', reading(93))).toBe('acknowledged');
    await expect.poll(() => latestSpo2('pt-0001'), { timeout: 5_000 }).toBe(93);
  });

  it('does not let a client with a device’s id and a wrong password push the device off', async () => {
    const real = await device('oxi-0002');
    let closed = 0;
    real.on('close', () => closed++);
    for (let i = 0; i < 13; i++) {
      await expect(mqtt.connectAsync(app.mqttUrl, { clientId: 'oxi-0002', username: 'oxi-0002', password: `guess-${i}`, protocolVersion: 4, reconnectPeriod: 0 })).rejects.toThrow(refusedConnect);
    }
    // Anonymous, with the id alone, too.
    await expect(mqtt.connectAsync(app.mqttUrl, { clientId: 'oxi-0002', protocolVersion: 4, reconnectPeriod: 0 })).rejects.toThrow(refusedConnect);
    // A round trip on the real device's connection after every impostor was answered: had the broker
    // pushed the device off for one of them, this reading could not be acknowledged.
    expect(await attempt(real, 'vw/v1/devices/oxi-0002/readings', reading(97, 10))).toBe('acknowledged');
    expect(closed).toBe(0);
    expect(real.connected).toBe(true);
    await expect.poll(() => latestSpo2('pt-0002'), { timeout: 5_000 }).toBe(97);
  });
});

describe('topics on the embedded broker', () => {
  it('lets no device subscribe to anything: #, $SYS, another device’s topic, or its own', async () => {
    const listener = await device('oxi-0003');
    const received: string[] = [];
    listener.on('message', (topic) => received.push(topic));
    for (const filter of ['#', '+/#', '$SYS/#', '$SYS/+/new/clients', 'vw/#', 'vw/v1/devices/+/readings', 'vw/v1/devices/oxi-0004/readings', 'vw/v1/devices/oxi-0003/readings']) {
      // Refused in the SUBACK (failure code 0x80), which MQTT.js reports as a subscribe error.
      await expect(listener.subscribeAsync(filter, { qos: 1 }), filter).rejects.toThrow(/Subscribe error/);
    }
    expect(listener.connected).toBe(true);
    const other = await device('oxi-0004');
    expect(await attempt(other, 'vw/v1/devices/oxi-0004/readings', reading(95))).toBe('acknowledged');
    await expect.poll(() => latestSpo2('pt-0004'), { timeout: 5_000 }).toBe(95);
    // The broker passes a message on to subscribers as soon as it has acknowledged it, long before a
    // reading the listener sends now is acknowledged: that acknowledgement comes after anything the
    // broker sent the listener on its connection.
    expect(await attempt(listener, 'vw/v1/devices/oxi-0003/readings', reading(96))).toBe('acknowledged');
    expect(received).toEqual([]);
  });

  it('refuses a device publishing on another device’s topic, on a subtopic of its own, or on $SYS', async () => {
    const spo2Stored = async () => (await app.store.series('pt-0005', 'spo2', { since: new Date(Date.now() - 3_600_000), limit: 100 })).map((p) => p.value);
    const before = await spo2Stored();
    for (const topic of ['vw/v1/devices/oxi-0005/readings', 'vw/v1/devices/oxi-0006/status', 'vw/v1/devices/oxi-0006/readings/extra', '$SYS/broker/new/clients', 'vw/v1/other']) {
      const impostor = await device('oxi-0006');
      expect(await attempt(impostor, topic, reading(85)), topic).toBe('refused');
    }
    // Then oxi-0005's own reading, newer: the patient's readings are stored in order, so once it is
    // stored, an 85 taken in its name before it would be stored too.
    const oxi = await device('oxi-0005');
    expect(await attempt(oxi, 'vw/v1/devices/oxi-0005/readings', reading(98, 10))).toBe('acknowledged');
    await expect.poll(() => latestSpo2('pt-0005'), { timeout: 5_000 }).toBe(98);
    expect(await spo2Stored()).toEqual([...before, 98]);
  });

  it('keeps no retained message: a retained reading is taken as a plain one', async () => {
    const oxi = await device('oxi-0007');
    expect(await attempt(oxi, 'vw/v1/devices/oxi-0007/readings', reading(94), true)).toBe('acknowledged');
    await expect.poll(() => latestSpo2('pt-0007'), { timeout: 5_000 }).toBe(94);
    // The broker would store a retained message in the turn it sends the PUBACK, just after it: once a
    // second reading from the device is acknowledged, a retained copy of the first would be there.
    expect(await attempt(oxi, 'vw/v1/devices/oxi-0007/readings', reading(95, 10))).toBe('acknowledged');
    expect(await app.embeddedBroker!.retainedTopics('#')).toEqual([]);
  });

  it('lets no capacity source subscribe either', async () => {
    const [source] = app.registry.capacitySources();
    if (!source) return;
    const client = await mqtt.connectAsync(app.mqttUrl, { clientId: `${source.sourceId}-sub`, username: source.sourceId, password: app.capacityCredentials.tokenFor(source.sourceId), protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(client);
    for (const filter of ['#', '$SYS/#', 'vw/v1/devices/+/readings']) await expect(client.subscribeAsync(filter, { qos: 1 }), filter).rejects.toThrow(/Subscribe error/);
    // Nor sign in under a device's id, which would push the device off.
    await expect(
      mqtt.connectAsync(app.mqttUrl, { clientId: 'oxi-0001', username: source.sourceId, password: app.capacityCredentials.tokenFor(source.sourceId), protocolVersion: 4, reconnectPeriod: 0 }),
    ).rejects.toThrow(refusedConnect);
  });
});

// Runs vw as a process several times: on a loaded machine each start takes seconds.
describe('the device secret', { timeout: 120_000 }, () => {
  it('is VW_MQTT_DEVICE_SECRET when set, over the kept one', async () => {
    const secret = 'a-deployment-device-secret-0123456789';
    // Beside the running vw on the same data directory, whose bus and store are that vw's alone: this
    // one keeps none there (durable off), and reads the directory only for its secrets.
    const other = await startVw(loadConfig({}, { 'http.port': 0, 'mqtt.embeddedPort': 0, dataDir, durable: false, 'mqtt.deviceSecret': secret, 'feed.tokenSecret': 'broker-security-e2e-secret-0123456789', logLevel: 'silent' }), { logger: silent });
    try {
      expect(other.deviceSecret).toBe(secret);
      const client = await connectDevice(other, 'oxi-0008');
      await client.endAsync();
      await expect(mqtt.connectAsync(other.mqttUrl, deviceSignIn(app, 'oxi-0008'))).rejects.toThrow(refusedConnect);
    } finally {
      await other.close();
    }
    // The kept secret is untouched.
    expect(readFileSync(join(dataDir, 'device-secret'), 'utf8').trim()).toBe(app.deviceSecret);
  });

  it('gives a device its password with `vw device-password`, from the data directory or VW_MQTT_DEVICE_SECRET', () => {
    const vw = (args: string[], env: Record<string, string | undefined>) =>
      spawnSync(process.execPath, [VW, ...args], { cwd: tmpdir(), encoding: 'utf8', timeout: 90_000, env: { ...process.env, VW_SEEDS: undefined, VW_MQTT_DEVICE_SECRET: undefined, ...env } });
    const kept = vw(['device-password', '--device', 'oxi-0001'], { VW_DATA_DIR: dataDir });
    expect(kept.stderr).toBe('');
    expect(kept.status).toBe(0);
    expect(kept.stdout).toBe(`${devicePassword(app.deviceSecret!, 'oxi-0001')}\n`);
    const configured = vw(['device-password', '--device', 'oxi-0001'], { VW_DATA_DIR: dataDir, VW_MQTT_DEVICE_SECRET: 'a-deployment-device-secret-0123456789' });
    expect(configured.stdout).toBe(`${devicePassword('a-deployment-device-secret-0123456789', 'oxi-0001')}\n`);
    const unknown = vw(['device-password', '--device', 'oxi-9999'], { VW_DATA_DIR: dataDir });
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/oxi-9999/);
  });
});
