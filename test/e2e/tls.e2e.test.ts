import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { ServerFrame } from '../../src/feed/protocol.ts';
import { createAckingSubscriber, type InboundMessage } from '../../src/mqtt/acking-subscriber.ts';
import { devicePassword } from '../../src/mqtt/credentials.ts';
import { startEmbeddedBroker } from '../../src/mqtt/embedded-broker.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { deviceSignIn } from '../support/ward-actions.ts';
import { testDataDir } from '../support/data-dir.ts';

/**
 * vw with a certificate: HTTPS and WSS for the console, APIs and feed, MQTTS on the embedded broker,
 * and nothing in clear on the same ports. The certificate is self-signed, made here, trusted as the CA.
 */
const logger = createLogger({ level: 'silent' });
let dir: string;
let ca: Buffer;
let app: VwApp;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vw-tls-'));
  execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  ca = readFileSync(join(dir, 'cert.pem'));
  app = await startVw(
    loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'tls-e2e-secret-tls-e2e-secret-tls-e2e', 'tls.certFile': join(dir, 'cert.pem'), 'tls.keyFile': join(dir, 'key.pem') }),
    { logger },
  );
});
afterAll(async () => {
  await app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A GET answered or refused: the status, or the error's message. */
function get(url: string, options: { ca?: Buffer } = {}): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { ...options, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error) => resolve({ error: error.message }));
    request.end();
  });
}

/** Connects, or says why not (within 5 s): an MQTT client that is refused may close without an error. */
async function mqttConnect(url: string, options: mqtt.IClientOptions): Promise<{ client: mqtt.MqttClient } | { error: string }> {
  const client = mqtt.connect(url, { connectTimeout: 5_000, ...options });
  return new Promise((resolve) => {
    client.once('connect', () => resolve({ client }));
    client.once('error', (error) => {
      client.end(true);
      resolve({ error: error.message });
    });
    client.once('close', () => {
      client.end(true);
      resolve({ error: 'closed before CONNACK' });
    });
  });
}

describe('HTTPS', () => {
  it('serves /healthz over HTTPS to a client trusting the CA, on an https:// URL', async () => {
    expect(app.httpUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const answer = await get(`${app.httpUrl}/healthz`, { ca });
    expect(answer).toMatchObject({ status: 200 });
    expect(JSON.parse((answer as { body: string }).body)).toMatchObject({ status: 'ok' });
    // The console's page comes the same way.
    expect(await get(`${app.httpUrl}/`, { ca })).toMatchObject({ status: 200, body: expect.stringContaining('<html') });
  });

  it('is refused by a client that does not trust the certificate, and answers no plain HTTP', async () => {
    expect(await get(`${app.httpUrl}/healthz`)).toEqual({ error: expect.stringMatching(/self[- ]signed/i) });
    const plain = await get(`${app.httpUrl.replace(/^https:/, 'http:')}/healthz`);
    expect(plain).not.toHaveProperty('status');
    expect(plain).toHaveProperty('error');
  });

  it('carries the console feed as wss://', async () => {
    const socket = new WebSocket(`${app.httpUrl.replace(/^https:/, 'wss:')}/feed`, { ca });
    try {
      const frames: ServerFrame[] = [];
      socket.on('message', (data) => frames.push(ServerFrame.parse(JSON.parse(data.toString()))));
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      socket.send(JSON.stringify({ type: 'hello', token: await app.tokens.issue({ sub: 'nurse.tls', wards: ['ward-ari'] }) }));
      await expect.poll(() => frames.map((f) => f.type)).toContain('welcome');
    } finally {
      socket.close();
    }
    // And not as ws:// on the same port.
    const plain = new WebSocket(`${app.httpUrl.replace(/^https:/, 'ws:')}/feed`);
    await expect(new Promise((resolve, reject) => {
      plain.once('open', () => resolve('open'));
      plain.once('error', reject);
    })).rejects.toThrow();
    plain.terminate();
  });
});

describe('MQTTS on the embedded broker', () => {
  it('signs a device in over mqtts:// with the CA, and its reading reaches the store', async () => {
    expect(app.mqttUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const connected = await mqttConnect(app.mqttUrl, { ...deviceSignIn(app, 'oxi-0001'), ca });
    expect(connected).toHaveProperty('client');
    const { client } = connected as { client: mqtt.MqttClient };
    try {
      await client.publishAsync('vw/v1/devices/oxi-0001/readings', JSON.stringify({ measurement: 'pulse_oximetry', time: new Date(Date.now() - 5_000).toISOString(), spo2: 95, pulseRate: 72 }), { qos: 1 });
    } finally {
      await client.endAsync();
    }
    await expect.poll(async () => (await app.store.latest('pt-0001')).spo2?.value).toBe(95);
  });

  it('refuses a client that does not trust the certificate, and plain mqtt:// on the same port', async () => {
    expect(await mqttConnect(app.mqttUrl, deviceSignIn(app, 'oxi-0001'))).toEqual({ error: expect.stringMatching(/self[- ]signed/i) });
    const plain = await mqttConnect(app.mqttUrl.replace(/^mqtts:/, 'mqtt:'), deviceSignIn(app, 'oxi-0001'));
    expect(plain).toHaveProperty('error');
  });
});

describe('the MQTT subscriber to a broker over TLS', () => {
  it('trusts the CA it is given, and no self-signed certificate without it', async () => {
    const secret = 'tls-device-secret-0123456789';
    const reader = { username: 'vw-ingest', password: 'reader-password-0123456789' };
    const broker = await startEmbeddedBroker({
      host: '127.0.0.1',
      port: 0,
      logger,
      devices: { secret, registered: (id) => id === 'oxi-tls' },
      reader,
      tls: { cert: ca, key: readFileSync(join(dir, 'key.pem')) },
    });
    try {
      expect(broker.url).toMatch(/^mqtts:/);
      const untrusting = createAckingSubscriber({ url: broker.url, clientId: 'vw-untrusting', ...reader, filter: 'vw/v1/devices/+/readings', logger, onBatch: async () => {} });
      await expect(untrusting.ready).rejects.toThrow(/self[- ]signed/i);
      await untrusting.stop();

      const received: InboundMessage[] = [];
      const subscriber = createAckingSubscriber({ url: broker.url, clientId: 'vw-tls', ...reader, tls: { ca }, filter: 'vw/v1/devices/+/readings', logger, onBatch: async (batch) => void received.push(...batch) });
      await subscriber.ready;
      const device = await mqtt.connectAsync(broker.url, { clientId: 'oxi-tls', username: 'oxi-tls', password: devicePassword(secret, 'oxi-tls'), protocolVersion: 4, reconnectPeriod: 0, ca });
      await device.publishAsync('vw/v1/devices/oxi-tls/readings', '{"spo2":97}', { qos: 1 });
      await device.endAsync();
      await expect.poll(() => received.map((m) => m.payload.toString())).toEqual(['{"spo2":97}']);
      await subscriber.stop();
    } finally {
      await broker.close();
    }
  });
});
