/**
 * The Node-RED benchmark peer: the same job as vw (MQTT readings in, NEWS2 per patient, one scored
 * message per reading out over WebSocket) as a stock Node-RED flow (bench/peer/node-red/flow.json),
 * run as its own OS process so the benchmark can read its CPU and peak RSS from /proc/<pid>.
 *
 * Node-RED is installed from npm into bench/peer/node-red (its own package.json and lockfile, its
 * node_modules git-ignored); it is never a dependency of vw. Each start gets a fresh temporary userDir
 * holding a generated settings file and a copy of the flow; stop() removes it.
 *
 * The broker's host and port reach the flow's `mqtt-broker` node through Node-RED's environment
 * variable substitution (`${VW_PEER_MQTT_HOST}`, `${VW_PEER_MQTT_PORT}`); the device-to-patient map
 * through `functionGlobalContext.patientsByDevice` in the settings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { devicePassword } from '../../../src/mqtt/credentials.ts';
import WebSocket from 'ws';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const PEER_DIR = join(REPO_ROOT, 'bench/peer/node-red');
const FLOW_FILE = join(PEER_DIR, 'flow.json');
const NODE_RED_DIR = join(PEER_DIR, 'node_modules/node-red');

/** The patient the readiness probe's device maps to; a consumer connected during start-up may see it. */
export const PEER_PROBE_PATIENT_ID = '__vw_peer_probe__';
/** The WebSocket path of the flow's `websocket out` node (listen mode). */
export const PEER_WS_PATH = '/peer';

/** A message the peer sends over WebSocket, one per reading scored. */
export interface PeerMessage {
  deviceId: string;
  patientId: string;
  type: string;
  ts: string;
  score: number;
  band: 'none' | 'low' | 'medium' | 'high';
  alert: boolean;
}

export interface NodeRedPeer {
  /** ws://127.0.0.1:<port>/peer */
  wsUrl: string;
  /** The Node-RED process (not a wrapper): read /proc/<pid> for CPU and RSS. */
  pid: number;
  stop(): Promise<void>;
}

export interface NodeRedPeerOptions {
  mqttUrl: string;
  patientsByDevice: Record<string, string>;
  /** Receives each line Node-RED prints (logging is at warn, so normally few). */
  log?: (line: string) => void;
  /** How long to wait for the flow to be connected end to end; default 60 s. */
  startTimeoutMs?: number;
  /** The broker's reader login the flow subscribes with, as vw's ingest signs in to Mosquitto. */
  reader: { username: string; password: string };
  /** The secret device passwords derive from: the readiness probe signs in as a device. */
  deviceSecret: string;
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function wantedVersion(): string {
  const pkg = readJson(join(PEER_DIR, 'package.json')) as { dependencies?: Record<string, string> };
  const version = pkg.dependencies?.['node-red'];
  if (!version) throw new Error(`${PEER_DIR}/package.json names no node-red dependency`);
  return version;
}

function installedVersion(): string | undefined {
  const path = join(NODE_RED_DIR, 'package.json');
  if (!existsSync(path)) return undefined;
  return (readJson(path) as { version?: string }).version;
}

/**
 * Installs Node-RED (`npm ci` from the committed lockfile) into bench/peer/node-red unless the pinned
 * version is already there. Returns the path of node-red's red.js.
 */
export async function ensureNodeRedInstalled(): Promise<string> {
  const wanted = wantedVersion();
  const redJs = join(NODE_RED_DIR, 'red.js');
  if (installedVersion() === wanted && existsSync(redJs)) return redJs;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const child = spawn(npm, ['ci', '--prefix', PEER_DIR, '--no-audit', '--no-fund'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`npm ci --prefix ${PEER_DIR} failed (exit ${code}):\n${output.slice(-4000)}`);
  const now = installedVersion();
  if (now !== wanted) throw new Error(`npm ci installed node-red ${now ?? '(nothing)'}, expected ${wanted}`);
  return redJs;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((res) => server.close(() => res()));
  return port;
}

/**
 * Node-RED settings for a headless peer: no editor or admin API, no diagnostics endpoint, no
 * telemetry or update checks, no palette manager (so no `npm -v` at start), no npm installs of
 * function modules, console logging at warn, context in memory.
 */
function settingsSource(patientsByDevice: Record<string, string>): string {
  const settings = {
    uiHost: '127.0.0.1',
    flowFile: 'flows.json',
    flowFilePretty: false,
    // The broker login is in flows_cred.json, unencrypted: a throwaway userDir per run. (Node-RED warns
    // once at start whatever this is: 'Using unencrypted credentials' here, 'Projects disabled' from storage.)
    credentialSecret: false,
    httpAdminRoot: false,
    httpNodeRoot: '/',
    disableEditor: true,
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    telemetry: { enabled: false, updateNotification: false },
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    externalModules: {
      autoInstall: false,
      palette: { allowInstall: false, allowUpdate: false, allowUpload: false },
      modules: { allowInstall: false },
    },
    functionExternalModules: false,
    exportGlobalContextKeys: false,
    contextStorage: { default: { module: 'memory' } },
    editorTheme: { tours: false },
    mqttReconnectTime: 1000,
    functionGlobalContext: { patientsByDevice },
  };
  return `// Generated by test/bench/peer/node-red.ts for one benchmark run.\nmodule.exports = ${JSON.stringify(settings, null, 2)};\n`;
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** Opens a WebSocket, retrying until the endpoint accepts (the flow's listener exists) or the deadline. */
async function connectWs(url: string, deadline: number, failed: () => Error | undefined): Promise<WebSocket> {
  for (;;) {
    const early = failed();
    if (early) throw early;
    const socket = new WebSocket(url);
    const opened = await new Promise<boolean>((res) => {
      socket.once('open', () => res(true));
      socket.once('error', () => res(false));
    });
    if (opened) return socket;
    socket.terminate();
    if (Date.now() > deadline) throw new Error(`Node-RED peer: ${url} did not accept a WebSocket connection in time`);
    await sleep(100);
  }
}

async function connectMqtt(url: string, clientId: string, password: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, username: clientId, password, protocolVersion: 4, reconnectPeriod: 500, connectTimeout: 5000 });
  try {
    await new Promise<void>((res, rej) => {
      client.once('connect', () => res());
      client.once('error', rej);
    });
  } catch (err) {
    client.end(true);
    throw new Error(`Node-RED peer: the readiness probe could not connect to ${url}: ${(err as Error).message}`);
  }
  return client;
}

/**
 * Proves the flow works end to end: publishes a probe reading (as a device of its own, so a broker
 * that lets a client publish only under its own device topic accepts it) until the scored message
 * comes back over the WebSocket. That covers the HTTP server, the WebSocket listener, the MQTT
 * connection and subscription, and the function node.
 */
async function waitUntilReady(wsUrl: string, mqttUrl: string, probeDevice: string, probePassword: string, deadline: number, failed: () => Error | undefined) {
  const socket = await connectWs(wsUrl, deadline, failed);
  let client: MqttClient | undefined;
  try {
    client = await connectMqtt(mqttUrl, probeDevice, probePassword);
    const topic = `vw/v1/devices/${probeDevice}/readings`;
    const published: string[] = [];
    const echoed = new Set<string>();
    socket.on('message', (data: WebSocket.RawData) => {
      try {
        const m = JSON.parse(data.toString()) as Partial<PeerMessage>;
        if (m.deviceId === probeDevice && typeof m.ts === 'string') echoed.add(m.ts);
      } catch {
        // not ours
      }
    });
    let t = Date.now();
    while (echoed.size === 0) {
      const early = failed();
      if (early) throw early;
      if (Date.now() > deadline) throw new Error('Node-RED peer: the probe reading did not come back over the WebSocket in time (MQTT not connected?)');
      const ts = new Date(t++).toISOString();
      published.push(ts);
      await client.publishAsync(topic, JSON.stringify({ type: 'heart_rate', value: 70, unit: '/min', ts }), { qos: 1 });
      for (let i = 0; i < 10 && echoed.size === 0; i++) await sleep(25);
    }
    // Probes published after the first that came back are in flight; let them land so that no probe
    // arrives once the benchmark is running (2 s at most).
    const first = published.findIndex((ts) => echoed.has(ts));
    const pending = published.slice(first);
    const settle = Date.now() + 2000;
    while (pending.some((ts) => !echoed.has(ts)) && Date.now() < settle) await sleep(20);
  } finally {
    await client?.endAsync().catch(() => undefined);
    socket.close();
  }
}

async function stopChild(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts the Node-RED peer as its own process and resolves once a reading published to the broker
 * comes back scored over the WebSocket.
 */
export async function startNodeRedPeer(options: NodeRedPeerOptions): Promise<NodeRedPeer> {
  const redJs = await ensureNodeRedInstalled();
  const broker = new URL(options.mqttUrl);
  if (broker.protocol !== 'mqtt:' && broker.protocol !== 'tcp:') throw new Error(`Node-RED peer: only mqtt:// brokers are supported, got ${options.mqttUrl}`);
  const probeDevice = `vw-peer-probe-${process.pid}-${Date.now().toString(36)}`;
  const patientsByDevice = { ...options.patientsByDevice, [probeDevice]: PEER_PROBE_PATIENT_ID };

  const userDir = mkdtempSync(join(tmpdir(), 'vw-peer-node-red-'));
  const settingsFile = join(userDir, 'settings.cjs');
  writeFileSync(settingsFile, settingsSource(patientsByDevice));
  copyFileSync(FLOW_FILE, join(userDir, 'flows.json'));
  // The broker node's login, kept where Node-RED keeps credentials (unencrypted: credentialSecret false).
  writeFileSync(join(userDir, 'flows_cred.json'), JSON.stringify({ 'vw-peer-broker': { user: options.reader.username, password: options.reader.password } }));
  const port = await freePort();

  const env: NodeJS.ProcessEnv = { ...process.env, VW_PEER_MQTT_HOST: broker.hostname, VW_PEER_MQTT_PORT: broker.port || '1883', VW_PEER_MQTT_USER: options.reader.username, NODE_ENV: 'production' };
  // A loader the parent was started with (tsx, say) has no business in the peer and would inflate its RSS.
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, [redJs, '--userDir', userDir, '--settings', settingsFile, '--port', String(port)], {
    cwd: userDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > 50) tail.shift();
    options.log?.(line);
  };
  if (child.stdout) createInterface({ input: child.stdout }).on('line', onLine);
  if (child.stderr) createInterface({ input: child.stderr }).on('line', onLine);
  let exitError: Error | undefined;
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  child.once('exit', (code, signal) => {
    exitError = new Error(`Node-RED peer exited during start-up (code ${code}, signal ${signal}):\n${tail.join('\n')}`);
  });

  const cleanup = () => rmSync(userDir, { recursive: true, force: true });
  const wsUrl = `ws://127.0.0.1:${port}${PEER_WS_PATH}`;
  try {
    await waitUntilReady(wsUrl, options.mqttUrl, probeDevice, devicePassword(options.deviceSecret, probeDevice), Date.now() + (options.startTimeoutMs ?? 60_000), () => spawnError ?? exitError);
  } catch (err) {
    await stopChild(child);
    cleanup();
    throw err;
  }
  if (child.pid === undefined) throw new Error('Node-RED peer: no pid');
  let stopping: Promise<void> | undefined;
  return {
    wsUrl,
    pid: child.pid,
    stop() {
      stopping ??= stopChild(child).finally(cleanup);
      return stopping;
    },
  };
}
