import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { freePort } from './processes.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * Mosquitto, Kafka and InfluxDB as containers (testcontainers), configured as `scripts/services.sh`
 * configures its own: Mosquitto with a password per registered device and the ACL from `vw mqtt-auth`,
 * a single KRaft Kafka broker that creates no topic by itself, InfluxDB 1.8 with authentication and a
 * database `vitals`. Returns the variables the integration suites read and a function that removes
 * the containers.
 */
export async function startServiceContainers(): Promise<{ env: Record<string, string>; stop(): Promise<void> }> {
  const deviceSecret = randomBytes(24).toString('base64url');
  const ingestPassword = randomBytes(18).toString('base64url');
  const capacitySecret = randomBytes(24).toString('base64url');
  const influxPassword = randomBytes(18).toString('base64url');
  const started: StartedTestContainer[] = [];
  const stop = async () => {
    await Promise.all(started.map((c) => c.stop().catch(() => {})));
  };
  try {
    const auth = mkdtempSync(join(tmpdir(), 'vw-containers-'));
    execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'mqtt-auth', '--out', auth, '--seeds', 'seeds/demo-ward.yaml,test/fixtures/integration-ward.yaml'], {
      cwd: ROOT,
      env: { ...process.env, VW_MQTT_DEVICE_SECRET: deviceSecret, VW_MQTT_USERNAME: 'vw-ingest', VW_MQTT_PASSWORD: ingestPassword, VW_CAPACITY_SECRET: capacitySecret },
      stdio: 'ignore',
    });
    const mosquittoConf = [
      'per_listener_settings false',
      'listener 1883 0.0.0.0',
      'allow_anonymous false',
      'password_file /mosquitto/config/passwd',
      'acl_file /mosquitto/config/acl',
      'persistence true',
      'persistence_location /mosquitto/data/',
      'max_queued_messages 100000',
      'max_inflight_messages 1000',
      '',
    ].join('\n');
    const mosquitto = await new GenericContainer('eclipse-mosquitto:2')
      .withCopyContentToContainer([
        { content: mosquittoConf, target: '/mosquitto/config/mosquitto.conf' },
        { content: readFileSync(join(auth, 'passwd'), 'utf8'), target: '/mosquitto/config/passwd', mode: 0o600 },
        { content: readFileSync(join(auth, 'acl'), 'utf8'), target: '/mosquitto/config/acl' },
      ])
      // The passwords are hashed in the container, with the image's own mosquitto_passwd.
      .withCommand(['sh', '-c', 'mosquitto_passwd -U /mosquitto/config/passwd && exec mosquitto -c /mosquitto/config/mosquitto.conf'])
      .withExposedPorts(1883)
      .withWaitStrategy(Wait.forListeningPorts())
      .start();
    started.push(mosquitto);
    rmSync(auth, { recursive: true, force: true });

    // Kafka advertises the host's port, so it is chosen before the broker starts.
    const kafkaPort = await freePort();
    const kafka = await new GenericContainer('apache/kafka:3.9.1')
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '8',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_NUM_PARTITIONS: '8',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      })
      .withExposedPorts({ container: 9092, host: kafkaPort })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start();
    started.push(kafka);

    const influx = await new GenericContainer('influxdb:1.8')
      .withEnvironment({ INFLUXDB_HTTP_AUTH_ENABLED: 'true', INFLUXDB_ADMIN_USER: 'vw', INFLUXDB_ADMIN_PASSWORD: influxPassword, INFLUXDB_DB: 'vitals' })
      .withExposedPorts(8086)
      .withWaitStrategy(Wait.forHttp('/ping', 8086).forStatusCode(204))
      .start();
    started.push(influx);

    return {
      env: {
        MQTT_URL: `mqtt://${mosquitto.getHost()}:${mosquitto.getMappedPort(1883)}`,
        MQTT_USERNAME: 'vw-ingest',
        MQTT_PASSWORD: ingestPassword,
        VW_MQTT_DEVICE_SECRET: deviceSecret,
        VW_CAPACITY_SECRET: capacitySecret,
        KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
        INFLUX_URL: `http://${influx.getHost()}:${influx.getMappedPort(8086)}`,
        INFLUX_TOKEN: `vw:${influxPassword}`,
        INFLUX_ORG: '-',
        INFLUX_BUCKET: 'vitals/autogen',
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Whether a Docker (or compatible) engine answers, as testcontainers would find it. */
export async function dockerReachable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}
