/**
 * A load fleet: up to tens of thousands of concurrent MQTT device connections publishing at a target
 * aggregate rate of readings per second, spread over worker processes (fleet-worker.ts) because one
 * process cannot drive it. Each worker takes a contiguous share of the devices and the same share of
 * the rate; the fleet validates every report at the process boundary and sums them.
 *
 * Enrolling the devices in a registry is the caller's business: the fleet only drives load at a broker.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DeviceKind, Id } from '../../src/domain/index.ts';
import { LoadMode } from './load-payload.ts';

// ---- The IPC protocol between the fleet and its workers ---------------------------------------

export const FleetDevice = z.object({ deviceId: Id, kind: DeviceKind });
export type FleetDevice = z.infer<typeof FleetDevice>;

export const StartMessage = z.object({
  type: z.literal('start'),
  mqttUrl: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\//, 'an mqtt://, mqtts://, ws:// or wss:// URL'),
  devices: z.array(FleetDevice).min(1),
  /** This worker's share of the fleet's rate, in readings per second. */
  readingsPerSecond: z.number().finite().nonnegative(),
  durationSeconds: z.number().finite().positive(),
  mode: LoadMode,
  /** The provisioning secret device passwords derive from (src/mqtt/credentials.ts). */
  secret: z.string().min(1).optional(),
  /** How many connection attempts the worker has in progress at once. */
  connectConcurrency: z.number().int().positive(),
  /** How long a device's first connection may take before the worker counts it as not connected. */
  connectTimeoutMs: z.number().int().positive().default(30_000),
  /** A device with this many PUBACKs outstanding is passed over (deferred) until some arrive. */
  maxInFlightPerDevice: z.number().int().positive().max(1000).default(4),
  /** How long the final report waits for outstanding PUBACKs. */
  drainTimeoutMs: z.number().int().nonnegative().default(15_000),
});
/** The start message with its defaults applied, as the worker uses it. */
export type StartOptions = z.output<typeof StartMessage>;

export const ParentMessage = z.discriminatedUnion('type', [StartMessage, z.object({ type: z.literal('go') }), z.object({ type: z.literal('stop') })]);
export type ParentMessage = z.input<typeof ParentMessage>;

const Count = z.number().int().nonnegative();
const Pid = z.number().int().positive();

/** A worker's counters, cumulative since `go`. */
export const WorkerCounters = z.object({
  pid: Pid,
  devices: Count,
  /** Devices whose client is connected now. */
  connected: Count,
  /** Payloads published, and the readings in them. */
  payloads: Count,
  readings: Count,
  /** Payloads whose PUBACK arrived, and the readings in them. */
  acked: Count,
  ackedReadings: Count,
  /** Publishes that failed: the client reported an error instead of a PUBACK. */
  errors: Count,
  /** Times a device was passed over: not connected, or too many PUBACKs outstanding. */
  deferred: Count,
  /** Readings the schedule offered that were dropped because the worker was over a second behind. */
  missed: Count,
  /** Payloads published and neither acknowledged nor failed yet. */
  outstanding: Count,
  /** Devices that have published at least once. */
  devicesPublished: Count,
  firstPublishMs: z.number().nullable(),
  lastPublishMs: z.number().nullable(),
  lastAckMs: z.number().nullable(),
  /** How far a device's event times ran ahead of the clock (it published more often than once per gap). */
  maxLeadMs: z.number().nonnegative(),
  /** CPU time since `go`, in microseconds. */
  cpuUserMicros: Count,
  cpuSystemMicros: Count,
  rssBytes: Count,
  maxRssBytes: Count,
  lastError: z.string().optional(),
});
export type WorkerCounters = z.infer<typeof WorkerCounters>;

export const WorkerMessage = z.discriminatedUnion('type', [
  /** The worker is listening; `fdLimit` is its soft limit on open files (null where unknown). */
  z.object({ type: z.literal('ready'), pid: Pid, fdLimit: z.number().int().nullable() }),
  z.object({
    type: z.literal('connected'),
    pid: Pid,
    connected: Count,
    failed: Count,
    seconds: z.number().nonnegative(),
    /** CPU the connection phase took, in microseconds. */
    cpuMicros: Count,
    rssBytes: Count,
    lastError: z.string().optional(),
  }),
  WorkerCounters.extend({ type: z.literal('stats') }),
  WorkerCounters.extend({ type: z.literal('final') }),
  z.object({ type: z.literal('stopped'), pid: Pid }),
  z.object({ type: z.literal('failed'), pid: Pid, error: z.string() }),
]);
export type WorkerMessage = z.infer<typeof WorkerMessage>;

// ---- The fleet ----------------------------------------------------------------------------------

export const FleetOptions = z.object({
  mqttUrl: StartMessage.shape.mqttUrl,
  devices: z.array(FleetDevice).min(1),
  /** The fleet's target aggregate rate, readings per second. */
  readingsPerSecond: z.number().finite().nonnegative(),
  durationSeconds: z.number().finite().positive(),
  mode: LoadMode,
  /** Default: one per 2,500 devices. */
  workers: z.number().int().positive().optional(),
  secret: z.string().min(1).optional(),
  /** Connections in progress at once, per worker. */
  connectConcurrency: z.number().int().positive().default(100),
  connectTimeoutMs: z.number().int().positive().optional(),
  maxInFlightPerDevice: z.number().int().positive().optional(),
  drainTimeoutMs: z.number().int().nonnegative().optional(),
});
export type FleetOptions = z.input<typeof FleetOptions> & { onStats?: (report: FleetReport) => void };

export interface WorkerReport {
  pid: number;
  devices: number;
  connected: number;
  payloads: number;
  readings: number;
  acked: number;
  errors: number;
  deferred: number;
  missed: number;
  outstanding: number;
  /** CPU seconds since `go`, and for connecting. */
  cpuSeconds: number;
  connectCpuSeconds: number;
  rssMiB: number;
  maxRssMiB: number;
  fdLimit: number | null;
}

export interface FleetReport {
  devices: number;
  /** Devices connected (at the end of the run; during it, now). */
  connected: number;
  payloads: number;
  readings: number;
  /** Payloads acknowledged (PUBACK), and the readings in them. */
  acked: number;
  ackedReadings: number;
  errors: number;
  deferred: number;
  missed: number;
  outstanding: number;
  devicesPublished: number;
  targetPerSecond: number;
  /** Readings published per second of the run. */
  offeredPerSecond: number;
  /** Readings acknowledged per second, from the first publish to the last PUBACK (at least the run's length). */
  achievedPerSecond: number;
  firstPublishMs: number | null;
  lastPublishMs: number | null;
  lastAckMs: number | null;
  maxLeadMs: number;
  /** Seconds from the start messages until every worker had connected its devices. */
  connectSeconds: number;
  /** CPU seconds of all workers since `go`. */
  cpuSeconds: number;
  workerPids: number[];
  workers: WorkerReport[];
  lastError?: string;
}

const MiB = 1024 * 1024;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const earliest = (xs: Array<number | null>) => xs.reduce<number | null>((a, b) => (b === null ? a : a === null ? b : Math.min(a, b)), null);
const latest = (xs: Array<number | null>) => xs.reduce<number | null>((a, b) => (b === null ? a : a === null ? b : Math.max(a, b)), null);

/** Devices split into `workers` contiguous shares, sizes differing by at most one. */
export function splitDevices<T>(devices: T[], workers: number): T[][] {
  const shares: T[][] = [];
  let from = 0;
  for (let w = 0; w < workers; w++) {
    const size = Math.floor(devices.length / workers) + (w < devices.length % workers ? 1 : 0);
    shares.push(devices.slice(from, from + size));
    from += size;
  }
  return shares.filter((s) => s.length > 0);
}

type Received = { [T in WorkerMessage['type']]?: Extract<WorkerMessage, { type: T }> };

interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  devices: FleetDevice[];
  received: Received;
  stats?: WorkerCounters;
  next<T extends WorkerMessage['type']>(type: T, timeoutMs: number): Promise<Extract<WorkerMessage, { type: T }>>;
  exited: Promise<void>;
}

// Beside this module: TypeScript when run from source, JavaScript when built.
const WORKER = fileURLToPath(new URL(`./fleet-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

function startWorker(devices: FleetDevice[]): WorkerProcess {
  // From source the worker needs tsx, resolved from the working directory (run from the project, as
  // `npx tsx` and vitest do); built, it is plain JavaScript.
  const child = fork(WORKER, [], { execArgv: WORKER.endsWith('.ts') ? ['--import', 'tsx'] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const received: Received = {};
  const waiting: Array<{ type: WorkerMessage['type']; resolve: (m: WorkerMessage) => void; reject: (e: Error) => void }> = [];
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  const worker: WorkerProcess = {
    child,
    pid: child.pid ?? 0,
    devices,
    received,
    next(type, timeoutMs) {
      const already = received[type];
      if (already) return Promise.resolve(already);
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker ${child.pid}: no '${type}' report in ${timeoutMs} ms`)), timeoutMs);
        waiting.push({
          type,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m as never);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
      });
    },
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
  };
  child.on('message', (raw) => {
    const parsed = WorkerMessage.safeParse(raw);
    if (!parsed.success) return fail(new Error(`worker ${child.pid}: malformed report: ${parsed.error.issues[0]?.message ?? 'invalid'}`));
    const message = parsed.data;
    if (message.type === 'failed') return fail(new Error(`worker ${message.pid}: ${message.error}`));
    if (message.type === 'stats' || message.type === 'final') worker.stats = message;
    (received as Record<string, WorkerMessage>)[message.type] = message;
    for (let i = 0; i < waiting.length; ) {
      if (waiting[i]!.type === message.type) waiting.splice(i, 1)[0]!.resolve(message);
      else i++;
    }
  });
  child.on('error', (error) => fail(error));
  child.once('exit', (code, signal) => fail(new Error(`worker ${child.pid} exited (${signal ?? `code ${code}`})`)));
  return worker;
}

function report(workers: WorkerProcess[], options: z.output<typeof FleetOptions>, connectSeconds: number): FleetReport {
  const counters = workers.map((w) => w.stats);
  const of = (pick: (c: WorkerCounters) => number) => sum(counters.map((c) => (c ? pick(c) : 0)));
  const firstPublishMs = earliest(counters.map((c) => c?.firstPublishMs ?? null));
  const lastAckMs = latest(counters.map((c) => c?.lastAckMs ?? null));
  const readings = of((c) => c.readings);
  const ackedReadings = of((c) => c.ackedReadings);
  const ackSeconds = firstPublishMs !== null && lastAckMs !== null ? Math.max(options.durationSeconds, (lastAckMs - firstPublishMs) / 1000) : options.durationSeconds;
  const lastError = counters.map((c) => c?.lastError).find((e) => e !== undefined);
  return {
    devices: options.devices.length,
    connected: sum(workers.map((w) => w.stats?.connected ?? w.received.connected?.connected ?? 0)),
    payloads: of((c) => c.payloads),
    readings,
    acked: of((c) => c.acked),
    ackedReadings,
    errors: of((c) => c.errors),
    deferred: of((c) => c.deferred),
    missed: of((c) => c.missed),
    outstanding: of((c) => c.outstanding),
    devicesPublished: of((c) => c.devicesPublished),
    targetPerSecond: options.readingsPerSecond,
    offeredPerSecond: readings / options.durationSeconds,
    achievedPerSecond: ackedReadings / ackSeconds,
    firstPublishMs,
    lastPublishMs: latest(counters.map((c) => c?.lastPublishMs ?? null)),
    lastAckMs,
    maxLeadMs: Math.max(0, ...counters.map((c) => c?.maxLeadMs ?? 0)),
    connectSeconds,
    cpuSeconds: of((c) => c.cpuUserMicros + c.cpuSystemMicros) / 1e6,
    workerPids: workers.map((w) => w.pid),
    workers: workers.map((w) => ({
      pid: w.pid,
      devices: w.devices.length,
      connected: w.stats?.connected ?? w.received.connected?.connected ?? 0,
      payloads: w.stats?.payloads ?? 0,
      readings: w.stats?.readings ?? 0,
      acked: w.stats?.acked ?? 0,
      errors: w.stats?.errors ?? 0,
      deferred: w.stats?.deferred ?? 0,
      missed: w.stats?.missed ?? 0,
      outstanding: w.stats?.outstanding ?? 0,
      cpuSeconds: w.stats ? (w.stats.cpuUserMicros + w.stats.cpuSystemMicros) / 1e6 : 0,
      connectCpuSeconds: (w.received.connected?.cpuMicros ?? 0) / 1e6,
      rssMiB: (w.stats?.rssBytes ?? w.received.connected?.rssBytes ?? 0) / MiB,
      maxRssMiB: (w.stats?.maxRssBytes ?? 0) / MiB,
      fdLimit: w.received.ready?.fdLimit ?? null,
    })),
    ...(lastError ? { lastError } : {}),
  };
}

export function createFleet(input: FleetOptions) {
  const { onStats, ...rest } = input;
  const options = FleetOptions.parse(rest);
  const count = Math.min(options.devices.length, options.workers ?? Math.max(1, Math.ceil(options.devices.length / 2500)));
  let workers: WorkerProcess[] = [];
  let connectSeconds = 0;
  let state: 'new' | 'connecting' | 'connected' | 'running' | 'done' | 'stopped' = 'new';
  const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 15_000;

  return {
    /** Starts the workers and connects every device; resolves when each worker has tried all of its devices. */
    async connect(): Promise<{ connected: number; failed: number; seconds: number; lastError?: string }> {
      if (state !== 'new') throw new Error(`fleet: connect() when ${state}`);
      state = 'connecting';
      workers = splitDevices(options.devices, count).map(startWorker);
      const ready = await Promise.all(workers.map((w) => w.next('ready', 60_000)));
      // One socket per device, plus the process's own files. Node raises the soft limit to the hard
      // limit at start-up, so the hard limit (ulimit -Hn) is what a worker gets.
      for (const [i, r] of ready.entries()) {
        const needed = workers[i]!.devices.length + 64;
        if (r.fdLimit !== null && r.fdLimit < needed) {
          throw new Error(`fleet: worker ${r.pid} may open ${r.fdLimit} files but needs about ${needed} for ${workers[i]!.devices.length} devices: raise ulimit -Hn or use more workers`);
        }
      }
      const began = performance.now();
      for (const w of workers) {
        const start: ParentMessage = {
          type: 'start',
          mqttUrl: options.mqttUrl,
          devices: w.devices,
          readingsPerSecond: (options.readingsPerSecond * w.devices.length) / options.devices.length,
          durationSeconds: options.durationSeconds,
          mode: options.mode,
          connectConcurrency: options.connectConcurrency,
          ...(options.secret ? { secret: options.secret } : {}),
          ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
          ...(options.maxInFlightPerDevice ? { maxInFlightPerDevice: options.maxInFlightPerDevice } : {}),
          ...(options.drainTimeoutMs !== undefined ? { drainTimeoutMs: options.drainTimeoutMs } : {}),
        };
        w.child.send(StartMessage.parse(start));
      }
      // A lane waits at most the connect timeout per device: allow for the slowest worker's share.
      const reports = await Promise.all(
        workers.map((w) => w.next('connected', connectTimeoutMs * Math.ceil(w.devices.length / options.connectConcurrency) + 60_000)),
      );
      connectSeconds = (performance.now() - began) / 1000;
      state = 'connected';
      const lastError = reports.map((r) => r.lastError).find((e) => e !== undefined);
      return { connected: sum(reports.map((r) => r.connected)), failed: sum(reports.map((r) => r.failed)), seconds: connectSeconds, ...(lastError ? { lastError } : {}) };
    },

    /** Publishes for the duration, then resolves with the summed final reports. */
    async run(): Promise<FleetReport> {
      if (state !== 'connected') throw new Error(`fleet: run() when ${state}`);
      state = 'running';
      for (const w of workers) w.child.send({ type: 'go' } satisfies ParentMessage);
      const ticker = onStats ? setInterval(() => onStats(report(workers, options, connectSeconds)), 1000) : undefined;
      try {
        await Promise.all(workers.map((w) => w.next('final', options.durationSeconds * 1000 + drainTimeoutMs + 30_000)));
      } finally {
        if (ticker) clearInterval(ticker);
      }
      state = 'done';
      return report(workers, options, connectSeconds);
    },

    /** Disconnects every device and ends the workers (killing any that do not end within 15 s). */
    async stop(): Promise<void> {
      if (state === 'stopped') return;
      state = 'stopped';
      await Promise.all(
        workers.map(async (w) => {
          if (w.child.exitCode !== null || w.child.signalCode !== null) return;
          if (w.child.connected) w.child.send({ type: 'stop' } satisfies ParentMessage);
          const timer = setTimeout(() => w.child.kill('SIGKILL'), 15_000);
          await w.exited;
          clearTimeout(timer);
        }),
      );
    },

    pids: (): number[] => workers.map((w) => w.pid),
  };
}
