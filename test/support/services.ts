import { describe, it } from 'vitest';

/**
 * Endpoints of the real services, from the environment (`eval "$(scripts/services.sh env)"`).
 * Without them, integration suites are skipped with a loud message, except under CI=true, where a
 * missing service fails the run.
 */
export const services = {
  kafkaBrokers: process.env.KAFKA_BROKERS,
  mqttUrl: process.env.MQTT_URL,
  mqttUsername: process.env.MQTT_USERNAME,
  mqttPassword: process.env.MQTT_PASSWORD,
  deviceSecret: process.env.VW_MQTT_DEVICE_SECRET,
  influx: process.env.INFLUX_URL
    ? { url: process.env.INFLUX_URL, token: process.env.INFLUX_TOKEN ?? '', org: process.env.INFLUX_ORG ?? '-', bucket: process.env.INFLUX_BUCKET ?? '' }
    : undefined,
};

const CI = process.env.CI === 'true';

/**
 * A describe() that needs the named environment variables; with `controlsServices`, also services it
 * can stop and start, which only scripts/services.sh provides (not testcontainers' containers).
 */
export function describeWith(variables: string[], name: string, body: () => void, options: { controlsServices?: boolean } = {}): void {
  const missing = variables.filter((v) => !process.env[v]);
  const problems = [
    ...(missing.length ? [`${missing.join(', ')} not set`] : []),
    ...(options.controlsServices && process.env.VW_TEST_SERVICES_FROM === 'testcontainers' ? ['it stops and starts the services through scripts/services.sh, and these are testcontainers\' containers'] : []),
  ];
  if (problems.length && !CI) {
    console.warn(`\n*** SKIPPING "${name}": ${problems.join('; ')}. Run: scripts/services.sh up && eval "$(scripts/services.sh env)"\n`);
    describe.skip(name, body);
    return;
  }
  if (problems.length) {
    describe(name, () => {
      it('has its services', () => {
        throw new Error(`${problems.join('; ')} under CI=true: the real services must be provisioned (scripts/services.sh up)`);
      });
    });
    return;
  }
  describe(name, body);
}

/** A name prefix no other test run shares, so runs never see each other's topics, groups or data. */
export function runPrefix(): string {
  return `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.`;
}

/**
 * A database of its own for one test run, on InfluxDB 1.8 (InfluxQL `CREATE DATABASE`; the token is
 * `user:password`), so a run never counts another run's points. Returns the bucket name for the v2
 * API and a function that drops it.
 */
export async function freshInfluxBucket(prefix: string): Promise<{ bucket: string; drop(): Promise<void> }> {
  const influx = services.influx!;
  const db = `vw_${prefix.replace(/[^A-Za-z0-9]/g, '')}`;
  const query = async (q: string) => {
    const response = await fetch(`${influx.url}/query`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(influx.token).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ q }),
    });
    if (!response.ok) throw new Error(`InfluxDB ${q}: ${response.status} ${await response.text()}`);
  };
  await query(`CREATE DATABASE "${db}"`);
  return { bucket: `${db}/autogen`, drop: () => query(`DROP DATABASE "${db}"`) };
}

/**
 * Stops, starts or restarts one of the real services through scripts/services.sh, for fault tests.
 * Resolves when the script has finished (for a start: once the service's port answers).
 */
export async function controlService(action: 'stop' | 'start' | 'restart', name: 'mosquitto' | 'kafka' | 'influxdb', timeoutMs = 180_000): Promise<void> {
  const { execFile } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => {
    execFile('bash', ['scripts/services.sh', action, name], { timeout: timeoutMs }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`scripts/services.sh ${action} ${name} failed: ${error.message}\n${stderr}`));
      else resolve();
    });
  });
}

/**
 * The environment of a vw role process on the real services, for one test run (its own Kafka topic
 * prefix and ingest client id): Mosquitto, Kafka and InfluxDB as `scripts/services.sh env` gives them.
 * The InfluxDB bucket is the caller's (`freshInfluxBucket`).
 */
export function roleEnvOnServices(prefix: string, tokenSecret: string): Record<string, string> {
  return {
    VW_SEEDS: 'test/fixtures/integration-ward.yaml',
    VW_MQTT_URL: services.mqttUrl!,
    VW_MQTT_USERNAME: services.mqttUsername!,
    VW_MQTT_PASSWORD: services.mqttPassword!,
    VW_MQTT_CLIENT_ID: `vw-ingest-${prefix}`,
    VW_BUS: 'kafka',
    VW_KAFKA_BROKERS: services.kafkaBrokers!,
    VW_KAFKA_PREFIX: prefix,
    VW_BUS_PARTITIONS: '8',
    VW_STORE: 'influxdb',
    VW_INFLUX_URL: services.influx!.url,
    VW_INFLUX_TOKEN: services.influx!.token,
    VW_INFLUX_ORG: services.influx!.org,
    VW_FEED_TOKEN_SECRET: tokenSecret,
  };
}

/**
 * The three-broker Kafka cluster (`scripts/services.sh cluster up`, `eval "$(scripts/services.sh cluster env)"`):
 * its bootstrap brokers, from KAFKA_CLUSTER_BROKERS.
 */
export const kafkaCluster = {
  brokers: process.env.KAFKA_CLUSTER_BROKERS,
};

/** The `host:port` addresses of those given that refuse a TCP connection or do not answer in time. */
export async function unreachable(addresses: string[], timeoutMs = 3_000): Promise<string[]> {
  const { connect } = await import('node:net');
  const answers = await Promise.all(
    addresses.map(
      (address) =>
        new Promise<boolean>((resolve) => {
          const at = address.lastIndexOf(':');
          const socket = connect({ host: address.slice(0, at), port: Number(address.slice(at + 1)) });
          const done = (ok: boolean) => {
            socket.destroy();
            resolve(ok);
          };
          socket.setTimeout(timeoutMs, () => done(false));
          socket.once('connect', () => done(true));
          socket.once('error', () => done(false));
        }),
    ),
  );
  return addresses.filter((_, i) => !answers[i]);
}

/**
 * A describe() that needs the named environment variables and the three-broker Kafka cluster
 * (KAFKA_CLUSTER_BROKERS, every broker answering). Outside CI, a missing variable or a cluster that is
 * not running skips the suite with a loud message; under CI=true either fails it. Await it at the top
 * level of the test file (it checks the brokers before declaring the suite).
 */
export async function describeWithCluster(variables: string[], name: string, body: () => void): Promise<void> {
  const missing = [...variables, 'KAFKA_CLUSTER_BROKERS'].filter((v) => !process.env[v]);
  const down = kafkaCluster.brokers ? await unreachable(kafkaCluster.brokers.split(',')) : [];
  const problems = [...(missing.length ? [`${missing.join(', ')} not set`] : []), ...(down.length ? [`cluster brokers not answering: ${down.join(', ')}`] : [])];
  if (problems.length && !CI) {
    console.warn(
      `\n*** SKIPPING "${name}": ${problems.join('; ')}. Run: scripts/services.sh up && scripts/services.sh cluster up && eval "$(scripts/services.sh env)" && eval "$(scripts/services.sh cluster env)"\n`,
    );
    describe.skip(name, body);
    return;
  }
  if (problems.length) {
    describe(name, () => {
      it('has its services', () => {
        throw new Error(`${problems.join('; ')} under CI=true: the real services and the Kafka cluster must be provisioned (scripts/services.sh up; scripts/services.sh cluster up)`);
      });
    });
    return;
  }
  describe(name, body);
}

/**
 * Acts on one node (1..3) of the three-broker cluster through scripts/services.sh: `kill` is SIGKILL
 * (a crash), `stop` a controlled shutdown, `start` resolves once the node's broker port answers.
 */
export async function controlClusterBroker(action: 'kill' | 'stop' | 'start', node: number, timeoutMs = 180_000): Promise<void> {
  const { execFile } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => {
    execFile('bash', ['scripts/services.sh', 'cluster', `${action}-broker`, String(node)], { timeout: timeoutMs }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`scripts/services.sh cluster ${action}-broker ${node} failed: ${error.message}\n${stderr}`));
      else resolve();
    });
  });
}

/** The node id of the cluster's active KRaft controller (scripts/services.sh cluster controller). */
export async function clusterController(): Promise<number> {
  const { execFile } = await import('node:child_process');
  return new Promise<number>((resolve, reject) => {
    execFile('bash', ['scripts/services.sh', 'cluster', 'controller'], { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`scripts/services.sh cluster controller failed: ${error.message}\n${stderr}`));
      else resolve(Number(stdout.trim()));
    });
  });
}

/**
 * roleEnvOnServices on the three-broker cluster: the roles' Kafka is the cluster, and the topics they
 * create are replicated three times with min.insync.replicas 2.
 */
export function roleEnvOnCluster(prefix: string, tokenSecret: string): Record<string, string> {
  return {
    ...roleEnvOnServices(prefix, tokenSecret),
    VW_KAFKA_BROKERS: kafkaCluster.brokers!,
    VW_KAFKA_REPLICATION_FACTOR: '3',
    VW_KAFKA_MIN_INSYNC_REPLICAS: '2',
  };
}

/**
 * The TLS listeners of the real services, as `scripts/services.sh env` (or `tls-env`) prints them:
 * Mosquitto's mqtts listener, Kafka's SASL_SSL listener (SCRAM-SHA-512, a user the script makes) and
 * InfluxDB over https (stunnel in front of it), all presenting certificates of the private CA in
 * TLS_CA_FILE.
 */
export const tlsServices = {
  caFile: process.env.TLS_CA_FILE,
  mqttUrl: process.env.TLS_MQTT_URL,
  kafkaBrokers: process.env.TLS_KAFKA_BROKERS,
  kafkaSasl: {
    mechanism: (process.env.TLS_KAFKA_SASL_MECHANISM ?? 'scram-sha-512') as 'plain' | 'scram-sha-256' | 'scram-sha-512',
    username: process.env.TLS_KAFKA_SASL_USERNAME ?? '',
    password: process.env.TLS_KAFKA_SASL_PASSWORD ?? '',
  },
  influxUrl: process.env.TLS_INFLUX_URL,
};

/** The variables naming the TLS listeners (scripts/services.sh tls-env). */
export const TLS_SERVICE_VARIABLES = ['TLS_CA_FILE', 'TLS_MQTT_URL', 'TLS_KAFKA_BROKERS', 'TLS_KAFKA_SASL_MECHANISM', 'TLS_KAFKA_SASL_USERNAME', 'TLS_KAFKA_SASL_PASSWORD', 'TLS_INFLUX_URL'];

/** `host:port` of a URL or of a broker address. */
function hostPort(address: string): string {
  if (!address.includes('://')) return address;
  const url = new URL(address);
  return `${url.hostname}:${url.port}`;
}

/**
 * A describe() that needs the named environment variables and, once they are set, the services at
 * the addresses (URLs or `host:port`) `addresses` makes of them, every one answering. Outside CI a
 * missing variable or a service not answering skips the suite with a loud message; under CI=true
 * either fails it. Await it at the top level of the test file.
 */
export async function describeWithListening(variables: string[], addresses: () => string[], name: string, body: () => void): Promise<void> {
  const missing = variables.filter((v) => !process.env[v]);
  const down = missing.length ? [] : await unreachable(addresses().map(hostPort));
  const problems = [...(missing.length ? [`${missing.join(', ')} not set`] : []), ...(down.length ? [`not answering: ${down.join(', ')}`] : [])];
  if (problems.length && !CI) {
    console.warn(`\n*** SKIPPING "${name}": ${problems.join('; ')}. Run: scripts/services.sh up && eval "$(scripts/services.sh env)"\n`);
    describe.skip(name, body);
    return;
  }
  if (problems.length) {
    describe(name, () => {
      it('has its services', () => {
        throw new Error(`${problems.join('; ')} under CI=true: the real services must be provisioned (scripts/services.sh up)`);
      });
    });
    return;
  }
  describe(name, body);
}

/**
 * roleEnvOnServices over TLS: Mosquitto's mqtts listener, Kafka's SASL_SSL listener and InfluxDB over
 * https, each client given the private CA (VW_MQTT_CA_FILE, VW_KAFKA_CA_FILE, VW_INFLUX_CA_FILE), which
 * replaces the system's CAs for it.
 */
export function roleEnvOnTlsServices(prefix: string, tokenSecret: string): Record<string, string> {
  return {
    ...roleEnvOnServices(prefix, tokenSecret),
    VW_MQTT_URL: tlsServices.mqttUrl!,
    VW_MQTT_CA_FILE: tlsServices.caFile!,
    VW_KAFKA_BROKERS: tlsServices.kafkaBrokers!,
    VW_KAFKA_SSL: 'true',
    VW_KAFKA_CA_FILE: tlsServices.caFile!,
    VW_KAFKA_SASL_MECHANISM: tlsServices.kafkaSasl.mechanism,
    VW_KAFKA_SASL_USERNAME: tlsServices.kafkaSasl.username,
    VW_KAFKA_SASL_PASSWORD: tlsServices.kafkaSasl.password,
    VW_INFLUX_URL: tlsServices.influxUrl!,
    VW_INFLUX_CA_FILE: tlsServices.caFile!,
  };
}
