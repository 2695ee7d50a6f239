import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { createTokenAuthority } from '../../../src/feed/auth.ts';
import { freePort, metricOf, startRole, type RoleProcess } from '../../support/processes.ts';
import { ensureNodeRedInstalled, startNodeRedPeer } from '../peer/node-red.ts';
import { peerConsole, vwConsole, type LatencyCollector } from './console-latency.ts';
import { testDataDir } from '../../support/data-dir.ts';

/**
 * What a benchmark drives load at: vw on its embedded default (one process), vw on Mosquitto, Kafka
 * and InfluxDB (a process per role), or the Node-RED peer. Each gives a broker URL for the fleet, a
 * console that measures latency, the processes to watch, and its own counts of what it kept.
 */
export type TargetName = 'embedded' | 'real' | 'node-red';

export interface Target {
  name: TargetName;
  mqttUrl: string;
  /** Device passwords for brokers that check them. */
  secret?: string;
  processes: Record<string, number>;
  console(notTimed?: ReadonlySet<string>, options?: { reconnectAfterMs?: number }): Promise<LatencyCollector>;
  /** Readings kept (stored by vw; scored and sent on by the peer, which has no store) and refused. */
  counts(): Promise<{ stored: number; rejected: number }>;
  /** The base URL of the process whose /metrics report memory (vw embedded), for a soak. */
  metricsUrl?: string;
  /** The data directory vw keeps its bus and store in (vw embedded), for a soak. */
  dataDir?: string;
  /** A line on how `stored` is counted, for the report. */
  storedBy: string;
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TOKEN_SECRET = 'bench-token-secret-bench-token-secret';
const DEVICE_SECRET = 'bench-device-secret-0123456789';
/** How the Node-RED peer reads device readings from its broker, as ingest does from Mosquitto. */
const PEER_READER = { username: 'node-red-peer', password: 'bench-peer-reader-password' };

async function consoleToken(wardIds: readonly string[]): Promise<string> {
  return createTokenAuthority({ secret: TOKEN_SECRET, issuer: 'vw' }).issue({ sub: 'bench', wards: [...wardIds] });
}

async function waitPort(port: number, timeoutMs = 20_000): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

async function vwCounts(url: string): Promise<{ stored: number; rejected: number }> {
  return { stored: await metricOf(url, 'vw_store_points_written_total', 'measurement="reading"'), rejected: await metricOf(url, 'vw_readings_rejected_total') };
}

/** vw as `npm run demo` runs it, without the simulated ward: one process, embedded broker, in-process bus and store. */
export async function startEmbedded(seedsFile: string, wardIds: readonly string[]): Promise<Target> {
  const mqttPort = await freePort();
  // The embedded broker signs devices in as on Mosquitto: passwords derived from the device secret.
  const dataDir = testDataDir('vw-bench');
  // VW_BENCH_NODE_OPTIONS: node options for vw alone (heap settings compared in a soak), not for the fleet.
  const nodeOptions: Record<string, string> = process.env.VW_BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.VW_BENCH_NODE_OPTIONS } : {};
  const vw = await startRole('all', { VW_DATA_DIR: dataDir, VW_SEEDS: seedsFile, VW_MQTT_EMBEDDED_PORT: String(mqttPort), VW_FEED_TOKEN_SECRET: TOKEN_SECRET, VW_MQTT_DEVICE_SECRET: DEVICE_SECRET, VW_LOG_LEVEL: 'warn', ...nodeOptions }, 120_000);
  const token = await consoleToken(wardIds);
  return {
    name: 'embedded',
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    secret: DEVICE_SECRET,
    processes: { vw: vw.child.pid! },
    console: (notTimed, options) => vwConsole(vw.url, token, wardIds, notTimed, options),
    counts: () => vwCounts(vw.url),
    metricsUrl: vw.url,
    dataDir,
    storedBy: 'points the sink wrote to the embedded store, journalled in the data directory (vw_store_points_written_total)',
    async stop() {
      await vw.kill();
      // A long run leaves gigabytes of journal behind otherwise.
      rmSync(dirname(dataDir), { recursive: true, force: true });
    },
  };
}

/** The real services' endpoints, from the environment or `scripts/services.sh env`; undefined if they are not running. */
export function servicesEnv(): Record<string, string> | undefined {
  const status = (() => {
    try {
      return execFileSync('bash', [join(ROOT, 'scripts/services.sh'), 'status'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      return '';
    }
  })();
  if (!/kafka: running/.test(status) || !/influxdb: running/.test(status)) return undefined;
  const env: Record<string, string> = {};
  for (const line of execFileSync('bash', [join(ROOT, 'scripts/services.sh'), 'env'], { encoding: 'utf8' }).split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

function servicePid(name: string): number | undefined {
  const run = process.env.VW_SERVICES_RUN ?? join(process.env.VW_SERVICES_CACHE ?? join(homedir(), '.cache', 'vw-services'), 'run');
  try {
    return Number(readFileSync(join(run, `${name}.pid`), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * vw as a trust would deploy it: a Mosquitto of the benchmark's own (so the fleet's devices have
 * passwords and the ACL), the services' Kafka and InfluxDB (a fresh database and topic prefix per
 * run), and ingest, rules, sink and feed each in its own process.
 */
export async function startReal(seedsFile: string, wardIds: readonly string[], services: Record<string, string>, workDir: string): Promise<Target> {
  const prefix = `bench${Date.now().toString(36)}.`;
  const ingestPassword = 'bench-ingest-password';
  const mosquittoDir = join(workDir, 'mosquitto');
  mkdirSync(mosquittoDir, { recursive: true });
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'mqtt-auth', '--out', mosquittoDir, '--seeds', seedsFile], {
    cwd: ROOT,
    env: { ...process.env, VW_MQTT_DEVICE_SECRET: DEVICE_SECRET, VW_MQTT_USERNAME: 'vw-ingest', VW_MQTT_PASSWORD: ingestPassword },
    stdio: 'ignore',
  });
  execFileSync('mosquitto_passwd', ['-U', join(mosquittoDir, 'passwd')]);
  const mqttPort = await freePort();
  writeFileSync(
    join(mosquittoDir, 'mosquitto.conf'),
    [
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      'per_listener_settings false',
      `listener ${mqttPort} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${join(mosquittoDir, 'passwd')}`,
      `acl_file ${join(mosquittoDir, 'acl')}`,
      'persistence false',
      'max_queued_messages 100000',
      'max_inflight_messages 1000',
      `log_dest file ${join(mosquittoDir, 'mosquitto.log')}`,
      '',
    ].join('\n'),
  );
  const mosquitto = spawn('mosquitto', ['-c', join(mosquittoDir, 'mosquitto.conf')], { stdio: 'ignore' });
  await waitPort(mqttPort);

  const db = `vw_${prefix.replace(/[^A-Za-z0-9]/g, '')}`;
  const influxQuery = async (q: string) => {
    const response = await fetch(`${services.INFLUX_URL}/query?db=${encodeURIComponent(db)}`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(services.INFLUX_TOKEN!).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ q }),
    });
    if (!response.ok) throw new Error(`InfluxDB ${q}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { results: Array<{ series?: Array<{ values: unknown[][] }> }> };
  };
  await influxQuery(`CREATE DATABASE "${db}"`);
  const env = {
    VW_SEEDS: seedsFile,
    VW_MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
    VW_MQTT_USERNAME: 'vw-ingest',
    VW_MQTT_PASSWORD: ingestPassword,
    VW_MQTT_CLIENT_ID: `vw-ingest-${prefix}`,
    VW_MQTT_DEVICE_SECRET: DEVICE_SECRET,
    VW_BUS: 'kafka',
    VW_KAFKA_BROKERS: services.KAFKA_BROKERS!,
    VW_KAFKA_PREFIX: prefix,
    VW_BUS_PARTITIONS: '8',
    VW_STORE: 'influxdb',
    VW_INFLUX_URL: services.INFLUX_URL!,
    VW_INFLUX_TOKEN: services.INFLUX_TOKEN!,
    VW_INFLUX_ORG: services.INFLUX_ORG ?? '-',
    VW_INFLUX_BUCKET: `${db}/autogen`,
    VW_FEED_TOKEN_SECRET: TOKEN_SECRET,
    VW_LOG_LEVEL: 'warn',
    // As for the embedded target: node options for vw's processes alone (a profiler, heap settings).
    ...(process.env.VW_BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.VW_BENCH_NODE_OPTIONS } : {}),
  };
  const roles: RoleProcess[] = [];
  try {
    // Sink, rules and feed first, so their consumer groups are in place before readings flow.
    for (const role of ['sink', 'rules', 'feed', 'ingest']) roles.push(await startRole(role, env, 120_000));
  } catch (error) {
    await Promise.all(roles.map((r) => r.kill()));
    await stopChild(mosquitto);
    throw error;
  }
  const [sink, rules, feed, ingest] = roles as [RoleProcess, RoleProcess, RoleProcess, RoleProcess];
  const token = await consoleToken(wardIds);
  const processes: Record<string, number> = { ingest: ingest.child.pid!, rules: rules.child.pid!, sink: sink.child.pid!, feed: feed.child.pid!, mosquitto: mosquitto.pid! };
  for (const name of ['kafka', 'influxdb']) {
    const pid = servicePid(name);
    if (pid) processes[name] = pid;
  }
  return {
    name: 'real',
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    secret: DEVICE_SECRET,
    processes,
    console: (notTimed, options) => vwConsole(feed.url, token, wardIds, notTimed, options),
    async counts() {
      const result = await influxQuery('SELECT count("reading_id") FROM "vital"');
      const stored = Number(result.results[0]?.series?.[0]?.values[0]?.[1] ?? 0);
      return { stored, rejected: await metricOf(ingest.url, 'vw_readings_rejected_total') };
    },
    storedBy: 'distinct reading points in the run\'s InfluxDB database (InfluxQL count)',
    async stop() {
      await Promise.all(roles.map((r) => r.kill()));
      await stopChild(mosquitto);
      await influxQuery(`DROP DATABASE "${db}"`).catch(() => undefined);
      // The run's topics and consumer groups go too, so runs do not pile up on the cluster.
      const admin = new Kafka({ brokers: services.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING }).admin();
      try {
        await admin.connect();
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
        const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
        if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
        if (topics.length) await admin.deleteTopics({ topics });
      } catch {
        // Left for the next `services.sh down`; a benchmark result does not depend on it.
      } finally {
        await admin.disconnect();
      }
    },
  };
}

/** A standalone broker process (vw's embedded broker, alone), for the peer, which has none of its own. */
async function startBrokerProcess(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/bench/e2e/broker-process.ts'), String(port)], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, VW_MQTT_DEVICE_SECRET: DEVICE_SECRET, VW_PEER_MQTT_USER: PEER_READER.username, VW_PEER_MQTT_PASSWORD: PEER_READER.password },
  });
  await waitPort(port);
  return { url: `mqtt://127.0.0.1:${port}`, child };
}

/** The Node-RED flow doing the same job: MQTT in, NEWS2 scoring, every scored reading out over WebSocket. */
export async function startNodeRed(patientsByDevice: Record<string, string>): Promise<Target> {
  await ensureNodeRedInstalled();
  const broker = await startBrokerProcess();
  const peer = await startNodeRedPeer({ mqttUrl: broker.url, patientsByDevice, reader: PEER_READER, deviceSecret: DEVICE_SECRET });
  let collector: LatencyCollector | undefined;
  return {
    name: 'node-red',
    mqttUrl: broker.url,
    processes: { 'node-red': peer.pid, broker: broker.child.pid! },
    console: async () => (collector = await peerConsole(peer.wsUrl)),
    async counts() {
      return { stored: collector?.delivered() ?? 0, rejected: 0 };
    },
    storedBy: 'distinct scored readings the peer sent over its WebSocket (it has no store)',
    async stop() {
      await peer.stop();
      await stopChild(broker.child);
    },
  };
}

