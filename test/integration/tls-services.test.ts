import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Bus } from '../../src/bus/bus.ts';
import type { Alert, ScoreEvent } from '../../src/domain/index.ts';
import { createTokenAuthority } from '../../src/feed/auth.ts';
import { createInfluxStore } from '../../src/store/influx-store.ts';
import { connectConsole, isType } from '../support/console-client.ts';
import { observeTopics } from '../support/fault-stream.ts';
import { startRole, type RoleProcess } from '../support/processes.ts';
import { describeWithListening, freshInfluxBucket, roleEnvOnTlsServices, runPrefix, services, TLS_SERVICE_VARIABLES, tlsServices } from '../support/services.ts';
import { deviceSignIn } from '../support/ward-actions.ts';

/**
 * vw on the real services with TLS on every link: devices and ingest on Mosquitto's mqtts listener,
 * the roles on Kafka's SASL_SSL listener (SCRAM-SHA-512), the store on InfluxDB over https, each
 * trusting only the private CA scripts/services.sh made. And the links fail closed: a client that does
 * not trust the CA, or speaks plaintext to a TLS port, or signs in wrongly, gets nowhere.
 */
await describeWithListening(
  ['MQTT_URL', 'MQTT_USERNAME', 'MQTT_PASSWORD', 'VW_MQTT_DEVICE_SECRET', 'KAFKA_BROKERS', 'INFLUX_URL', 'INFLUX_TOKEN', 'INFLUX_BUCKET', ...TLS_SERVICE_VARIABLES],
  () => [tlsServices.mqttUrl!, ...tlsServices.kafkaBrokers!.split(','), tlsServices.influxUrl!, services.influx!.url],
  'vw on Mosquitto, Kafka and InfluxDB over TLS, one process per role',
  () => {
    const prefix = runPrefix();
    const tokenSecret = 'integration-secret-integration-secret';
    // Built when the suite runs: without the services the file must load (and skip), not throw.
    const env: Record<string, string> = {};
    const roles: Record<string, RoleProcess> = {};
    const devices: MqttClient[] = [];
    let ca: Buffer;
    let store: ReturnType<typeof createInfluxStore>;
    let dropBucket = async () => {};
    let observer: Bus | undefined;
    const alertsSeen: Alert[] = [];
    const scoresSeen: ScoreEvent[] = [];

    const until = async (what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await predicate())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    /** How an MQTT connection attempt ends: `connected`, or why not. */
    const mqttAttempt = (url: string, options: IClientOptions) =>
      new Promise<string>((resolve) => {
        const client = mqtt.connect(url, { ...options, reconnectPeriod: 0, connectTimeout: 15_000 });
        const done = (outcome: string) => {
          client.end(true);
          resolve(outcome);
        };
        client.once('connect', () => done('connected'));
        client.once('error', (error) => done(`error: ${error.message}`));
        client.once('close', () => done('closed without a CONNACK'));
      });
    /** How a Kafka client's connection ends: `connected`, or kafkajs's error. No retries: one attempt. */
    const kafkaAttempt = async (config: Partial<KafkaConfig>) => {
      const admin = new Kafka({
        clientId: `vw-tls-check-${prefix}`,
        brokers: tlsServices.kafkaBrokers!.split(','),
        connectionTimeout: 10_000,
        authenticationTimeout: 10_000,
        requestTimeout: 10_000,
        retry: { retries: 0 },
        logLevel: logLevel.NOTHING,
        ...config,
      }).admin();
      try {
        await admin.connect();
        await admin.listTopics();
        return 'connected';
      } catch (error) {
        return `error: ${(error as Error).message}`;
      } finally {
        await admin.disconnect().catch(() => {});
      }
    };
    /** The status of an https GET with `ca` trusted (Node's fetch cannot be given a CA). */
    const httpsStatus = (url: string, trust: Buffer) =>
      new Promise<number>((resolve, reject) => {
        request(url, { ca: trust }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    const failure = async (attempt: Promise<unknown>) => {
      try {
        await attempt;
        return 'succeeded';
      } catch (error) {
        const cause = (error as Error & { cause?: Error & { code?: string } }).cause;
        return `error: ${(error as Error).message}${cause ? ` (${cause.code ?? ''} ${cause.message})` : ''}`;
      }
    };

    beforeAll(async () => {
      ca = readFileSync(tlsServices.caFile!);
      Object.assign(env, roleEnvOnTlsServices(prefix, tokenSecret));
      // The run's own database is made, and read back, on the plaintext listener: what goes over https is the roles'.
      const fresh = await freshInfluxBucket(prefix);
      dropBucket = fresh.drop;
      env.VW_INFLUX_BUCKET = fresh.bucket;
      store = createInfluxStore({ ...services.influx!, bucket: fresh.bucket, maxBufferPoints: 10_000, retry: { attempts: 3, initialMs: 100, maxMs: 500 } });
      const starting = await Promise.allSettled([startRole('ingest', env, 120_000), startRole('rules', env, 120_000), startRole('sink', env, 120_000), startRole('feed', env, 120_000)]);
      const failed = starting.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) {
        await Promise.all(starting.flatMap((s) => (s.status === 'fulfilled' ? [s.value.kill('SIGTERM')] : [])));
        throw failed.reason;
      }
      [roles.ingest, roles.rules, roles.sink, roles.feed] = starting.map((s) => (s as PromiseFulfilledResult<RoleProcess>).value) as [RoleProcess, RoleProcess, RoleProcess, RoleProcess];
      // The test's own Kafka client goes over SASL_SSL too.
      observer = await observeTopics(
        { brokers: tlsServices.kafkaBrokers!.split(','), clientId: 'vw-tls-observer', prefix, replicationFactor: 1, ssl: { ca }, sasl: tlsServices.kafkaSasl },
        { alerts: alertsSeen, scores: scoresSeen },
      );
    }, 240_000);

    afterAll(async () => {
      mkdirSync('test-results', { recursive: true });
      for (const [name, role] of Object.entries(roles)) writeFileSync(`test-results/tls-${name}.log`, role.output());
      await Promise.all(devices.map((c) => c.endAsync().catch(() => {})));
      await observer?.close();
      await Promise.all(Object.values(roles).map((r) => r.kill('SIGTERM')));
      await dropBucket();
    }, 60_000);

    it('carries a device reading over mqtts, Kafka SASL_SSL and InfluxDB https to a stored reading and an alert', async () => {
      // Every link of the roles is a TLS one: no plaintext address is left for them to use.
      expect(env).toMatchObject({ VW_MQTT_URL: expect.stringMatching(/^mqtts:\/\//), VW_KAFKA_SSL: 'true', VW_KAFKA_BROKERS: tlsServices.kafkaBrokers, VW_INFLUX_URL: expect.stringMatching(/^https:\/\//) });
      const token = await createTokenAuthority({ secret: tokenSecret, issuer: 'vw' }).issue({ sub: 'nurse.it', wards: ['ward-it'] });
      const ward = await connectConsole(roles.feed!.url);
      ward.send({ type: 'hello', token });
      ward.send({ type: 'subscribe', wardId: 'ward-it' });
      // The snapshot is read from InfluxDB, over https.
      await ward.waitFor(isType('snapshot'), 60_000);

      // The device signs in over mqtts as on the plaintext listener: its id and its derived password.
      const device = await mqtt.connectAsync(tlsServices.mqttUrl!, { ...deviceSignIn({ mqttUrl: tlsServices.mqttUrl!, deviceSecret: services.deviceSecret }, 'it-app001'), clientId: `it-app001-${prefix}`, ca });
      devices.push(device);
      const ts = new Date(Date.now() - 2_000).toISOString();
      await device.publishAsync(
        'vw/v1/devices/it-app001/readings',
        JSON.stringify([
          { type: 'respiratory_rate', value: 26, unit: '/min', ts },
          { type: 'consciousness', value: 'A', ts },
          { type: 'supplemental_oxygen', value: false, ts },
        ]),
        { qos: 1 },
      );
      // Stored by the sink over https, read back here on the plaintext listener.
      const since = new Date(Date.parse(ts) - 1000);
      await until('the reading in InfluxDB', async () => (await store.series('it-p001', 'respiratory_rate', { since })).some((p) => p.ts === ts));
      expect((await store.series('it-p001', 'respiratory_rate', { since })).filter((p) => p.ts === ts)).toEqual([{ ts, value: 26 }]);
      // Scored by the rules process and alerted on, over SASL_SSL.
      await until('the reading scored', () => scoresSeen.some((s) => s.patientId === 'it-p001' && s.inputs.respiratory_rate?.ts === ts));
      await until('an alert for it-p001', () => alertsSeen.some((a) => a.patientId === 'it-p001'));
      expect(alertsSeen.find((a) => a.patientId === 'it-p001')).toMatchObject({ ruleId: 'news2', severity: 'low-medium', state: 'open' });
      const alert = await ward.waitFor((f): f is Extract<typeof f, { type: 'alert' }> => f.type === 'alert' && f.alert.patientId === 'it-p001', 60_000);
      expect(alert.alert).toMatchObject({ ruleId: 'news2', severity: 'low-medium' });
      await until('the score in InfluxDB', async () => (await store.scores('it-p001', { since })).length > 0);
      ward.close();
    }, 180_000);

    it('fails closed when a role does not trust the CA: ingest without VW_MQTT_CA_FILE, rules without VW_KAFKA_CA_FILE', async () => {
      const { VW_MQTT_CA_FILE: _mqttCa, ...ingestEnv } = env;
      const { VW_KAFKA_CA_FILE: _kafkaCa, ...rulesEnv } = env;
      const started = Date.now();
      const [ingest, rules] = await Promise.allSettled([
        startRole('ingest', { ...ingestEnv, VW_MQTT_CLIENT_ID: `vw-ingest-untrusting-${prefix}` }, 150_000),
        startRole('rules', rulesEnv, 150_000),
      ]);
      for (const outcome of [ingest, rules]) if (outcome.status === 'fulfilled') await outcome.value.kill('SIGTERM');
      const reason = (outcome: PromiseSettledResult<RoleProcess>) => (outcome.status === 'rejected' ? String((outcome.reason as Error).message) : 'became healthy');
      // What the process said last: its fatal error (`vw: …`), or else its first line about the certificate.
      const said = (outcome: PromiseSettledResult<RoleProcess>) => {
        const lines = reason(outcome).split('\n');
        const fatal = lines.find((l) => l.startsWith('vw: ')) ?? lines[0]!;
        return /certificate/i.test(fatal) ? fatal : `${fatal} … ${lines.find((l) => /certificate/i.test(l))?.trim() ?? ''}`;
      };
      console.log(`[tls] both refused within ${Date.now() - started} ms; ingest without VW_MQTT_CA_FILE: ${said(ingest)}; rules without VW_KAFKA_CA_FILE: ${said(rules)}`);
      // The process exits at start, saying why.
      expect(reason(ingest)).toMatch(/^ingest exited with 1:/);
      expect(reason(ingest)).toMatch(/self[- ]signed certificate in certificate chain/);
      expect(reason(rules)).toMatch(/^rules exited with 1:/);
      expect(reason(rules)).toMatch(/self[- ]signed certificate in certificate chain/);
    }, 300_000);

    it('refuses on the mqtts listener a client that does not trust the CA, and a plaintext client', async () => {
      const signIn = { ...deviceSignIn({ mqttUrl: tlsServices.mqttUrl!, deviceSecret: services.deviceSecret }, 'it-app002'), clientId: `it-app002-${prefix}` };
      const untrusting = await mqttAttempt(tlsServices.mqttUrl!, signIn);
      const plaintext = await mqttAttempt(tlsServices.mqttUrl!.replace(/^mqtts:/, 'mqtt:'), signIn);
      const trusting = await mqttAttempt(tlsServices.mqttUrl!, { ...signIn, ca });
      console.log(`[tls] mqtts without the CA: ${untrusting}; plaintext MQTT on the mqtts port: ${plaintext}; with the CA: ${trusting}`);
      expect(untrusting).toMatch(/self[- ]signed certificate in certificate chain/);
      expect(plaintext).not.toBe('connected');
      expect(trusting).toBe('connected');
    }, 60_000);

    it('refuses on the SASL_SSL listener a client that does not trust the CA, a plaintext client, no SASL and a wrong password', async () => {
      const sasl = tlsServices.kafkaSasl as SASLOptions;
      const untrusting = await kafkaAttempt({ ssl: true, sasl });
      const plaintext = await kafkaAttempt({ sasl });
      const noSasl = await kafkaAttempt({ ssl: { ca: [ca] } });
      const wrongPassword = await kafkaAttempt({ ssl: { ca: [ca] }, sasl: { ...tlsServices.kafkaSasl, password: 'not-the-password' } as SASLOptions });
      const trusting = await kafkaAttempt({ ssl: { ca: [ca] }, sasl });
      console.log(`[tls] Kafka without the CA: ${untrusting}; plaintext: ${plaintext}; TLS without SASL: ${noSasl}; wrong password: ${wrongPassword}; with the CA and SASL: ${trusting}`);
      expect(untrusting).toMatch(/self[- ]signed certificate in certificate chain/);
      expect(plaintext).toMatch(/^error: /);
      expect(noSasl).toMatch(/^error: /);
      expect(wrongPassword).toMatch(/SASL SCRAM SHA512 authentication failed/i);
      expect(trusting).toBe('connected');
    }, 120_000);

    it('refuses on InfluxDB’s https port a client that does not trust the CA, and plain http', async () => {
      const url = tlsServices.influxUrl!;
      const untrusting = await failure(fetch(`${url}/ping`));
      const plaintext = await failure(fetch(`${url.replace(/^https:/, 'http:')}/ping`));
      const trusting = await httpsStatus(`${url}/ping`, ca);
      console.log(`[tls] InfluxDB https without the CA: ${untrusting}; http on the https port: ${plaintext}; with the CA: ${trusting}`);
      // stunnel sends the server certificate alone (Mosquitto and Kafka send the CA's too): either way, an unknown issuer.
      expect(untrusting).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN/);
      expect(plaintext).toMatch(/^error: /);
      expect(trusting).toBe(204);
    }, 60_000);
  },
);
