import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { loadYamlAs } from '../../../src/config/yaml-file.ts';
import { DeviceKind, type RegistryData } from '../../../src/domain/index.ts';
import { createFleet, type FleetReport } from '../../../simulators/fleet/fleet.ts';
import { fleetRegistry } from '../../../simulators/fleet/fleet-ward.ts';
import { LoadMode } from '../../../simulators/fleet/load-payload.ts';
import { watchProcesses } from './proc-stats.ts';
import { soakSummary, startSoakSampler, type SoakSample, type SoakSummary } from './soak.ts';
import { servicesEnv, startEmbedded, startNodeRed, startReal, type Target, type TargetName } from './targets.ts';

/**
 * The end-to-end benchmark: each named scenario of bench/scenarios.yaml driven by the load fleet
 * (simulators/fleet) against each target, measuring what a trust would ask: readings per second
 * sustained into the store, device-publish-to-console latency, readings lost, and each process's CPU
 * and peak memory.
 */
const TargetNameSchema = z.enum(['embedded', 'real', 'node-red']);
export const BenchScenario = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/),
    about: z.string(),
    devices: z.number().int().min(1).max(50_000),
    readingsPerSecond: z.number().positive(),
    seconds: z.number().positive(),
    mode: LoadMode,
    targets: z.object({ readingsPerSecond: z.number().positive().optional(), p99Ms: z.number().positive().optional() }).strict().default({}),
    on: z.array(TargetNameSchema).min(1),
    /** Sample the target's memory, data directory and rate every this many seconds (a soak). */
    sampleSeconds: z.number().positive().optional(),
    /** Run only when named in --scenarios, not in a plain `npm run bench` (a long soak). */
    optIn: z.boolean().default(false),
  })
  .strict();
export type BenchScenario = z.infer<typeof BenchScenario>;
const BenchFile = z.object({ scenarios: z.array(BenchScenario).min(1) }).strict();

export async function loadBenchScenarios(path: string): Promise<BenchScenario[]> {
  return (await loadYamlAs(BenchFile, path)).scenarios;
}

export interface ScenarioResult {
  scenario: string;
  target: TargetName;
  devices: number;
  connected: number;
  connectSeconds: number;
  seconds: number;
  targetPerSecond: number;
  offeredPerSecond: number;
  sustainedPerSecond: number;
  published: number;
  stored: number;
  rejected: number;
  lost: number;
  storedBy: string;
  delivered: number;
  /** From the console's hello to a snapshot of every ward (the store asked for each patient's latest). */
  consoleReadySeconds: number;
  /** The console was closed by the server before the end (its latencies stop there). */
  consoleClosedEarly?: string;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  processes: Record<string, { cpuSeconds: number; peakRssMiB: number }>;
  fleet: { workers: number; cpuSeconds: number; peakRssMiB: number; errors: number; deferred: number; missed: number };
  targets: BenchScenario['targets'];
  /** A soak's samples and figures, when the scenario has `sampleSeconds`. */
  soak?: { samples: SoakSample[]; summary: SoakSummary };
}

const FAMILIES = DeviceKind.options;

/** One patient per device, in wards of a thousand; families mode gives the devices every family in turn. */
export function benchWard(s: BenchScenario): { registry: RegistryData; devices: Array<{ deviceId: string; kind: DeviceKind }>; wardIds: string[]; patientsByDevice: Record<string, string> } {
  const devices = Array.from({ length: s.devices }, (_, i) => ({
    deviceId: `bench-d${String(i).padStart(5, '0')}`,
    kind: s.mode === 'canonical' ? ('companion_app' as const) : FAMILIES[i % FAMILIES.length]!,
  }));
  return { devices, ...fleetRegistry(devices, { patientPrefix: 'bench-p', wardPrefix: 'bench-' }) };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function start(target: TargetName, seedsFile: string, ward: ReturnType<typeof benchWard>, workDir: string): Promise<Target | string> {
  if (target === 'embedded') return startEmbedded(seedsFile, ward.wardIds);
  if (target === 'node-red') return startNodeRed(ward.patientsByDevice);
  const services = servicesEnv();
  if (!services) return 'not run: the real services are not running (npm run services up)';
  return startReal(seedsFile, ward.wardIds, services, workDir);
}

/** Runs one scenario against one target; a string says why it did not run. */
export async function runScenario(s: BenchScenario, targetName: TargetName, workDir: string, log: (line: string) => void): Promise<ScenarioResult | string> {
  const ward = benchWard(s);
  const seedsFile = join(workDir, `${s.name}.yaml`);
  mkdirSync(workDir, { recursive: true });
  writeFileSync(seedsFile, stringify(ward.registry));
  const target = await start(targetName, seedsFile, ward, workDir);
  if (typeof target === 'string') return target;
  const watches = new Set(ward.devices.filter((d) => d.kind === 'smartwatch').map((d) => d.deviceId));
  try {
    const consoleStart = Date.now();
    // A soak's console reopens when the server closes it (as the real console does), so latency is
    // measured over the whole run rather than up to the first disconnection.
    const console = await target.console(watches, s.sampleSeconds ? { reconnectAfterMs: 30_000 } : {});
    const consoleReadySeconds = (Date.now() - consoleStart) / 1000;
    let publishedSoFar = 0;
    const fleet = createFleet({
      mqttUrl: target.mqttUrl,
      devices: ward.devices,
      readingsPerSecond: s.readingsPerSecond,
      durationSeconds: s.seconds,
      mode: s.mode,
      ...(s.sampleSeconds ? { onStats: (stats: FleetReport) => (publishedSoFar = stats.readings) } : {}),
      ...(target.secret ? { secret: target.secret } : {}),
    });
    try {
      const connected = await fleet.connect();
      log(`  ${s.name} on ${targetName}: ${connected.connected}/${s.devices} devices connected in ${connected.seconds.toFixed(1)} s`);
      const fleetPids = Object.fromEntries(fleet.pids().map((pid, i) => [`fleet-${i + 1}`, pid]));
      const watch = watchProcesses({ ...target.processes, ...fleetPids });
      // Stored counts sampled through the run, to find when the last reading was stored.
      let lastCounts = { stored: 0, rejected: 0 };
      let lastProgressAt = Date.now();
      const sample = async () => {
        const c = await target.counts();
        if (c.stored + c.rejected > lastCounts.stored + lastCounts.rejected) lastProgressAt = Date.now();
        lastCounts = c;
        return c;
      };
      const poll = setInterval(() => void sample().catch(() => undefined), 500);
      const sampler = s.sampleSeconds
        ? startSoakSampler(
            {
              pids: Object.values(target.processes),
              ...(target.metricsUrl ? { metricsUrl: target.metricsUrl } : {}),
              ...(target.dataDir ? { dataDir: target.dataDir } : {}),
              counts: () => target.counts(),
              published: () => publishedSoFar,
              latencies: () => console.latencies(),
            },
            s.sampleSeconds,
            log,
          )
        : undefined;
      const report: FleetReport = await fleet.run();
      publishedSoFar = report.readings;
      // Drain: wait until everything published is stored or refused, or nothing has moved for 15 s.
      const deadline = Date.now() + 120_000;
      for (;;) {
        const c = await sample();
        if (c.stored + c.rejected >= report.readings || Date.now() - lastProgressAt > 15_000 || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      clearInterval(poll);
      const samples = await sampler?.stop();
      const processes = watch.finish();
      const { stored, rejected } = lastCounts;
      const firstPublish = report.firstPublishMs ?? Date.now();
      const latencies = [...console.latencies()].sort((a, b) => a - b);
      const consoleClosedEarly = console.closedEarly();
      console.close();
      const fleetProcesses = Object.keys(fleetPids).map((k) => processes[k]!);
      for (const k of Object.keys(fleetPids)) delete processes[k];
      return {
        scenario: s.name,
        target: targetName,
        devices: s.devices,
        connected: connected.connected,
        connectSeconds: connected.seconds,
        seconds: s.seconds,
        targetPerSecond: s.readingsPerSecond,
        offeredPerSecond: report.offeredPerSecond,
        sustainedPerSecond: stored / Math.max(s.seconds, (lastProgressAt - firstPublish) / 1000),
        published: report.readings,
        stored,
        rejected,
        lost: report.readings - stored - rejected,
        storedBy: target.storedBy,
        delivered: console.delivered(),
        consoleReadySeconds,
        ...(consoleClosedEarly ? { consoleClosedEarly } : {}),
        latencyMs: { p50: pct(latencies, 50), p95: pct(latencies, 95), p99: pct(latencies, 99), max: latencies.at(-1) ?? NaN },
        processes,
        fleet: {
          workers: fleetProcesses.length,
          cpuSeconds: fleetProcesses.reduce((a, p) => a + p.cpuSeconds, 0),
          peakRssMiB: fleetProcesses.reduce((a, p) => a + p.peakRssMiB, 0),
          errors: report.errors,
          deferred: report.deferred,
          missed: report.missed,
        },
        targets: s.targets,
        ...(samples && s.sampleSeconds ? { soak: { samples, summary: soakSummary(samples, s.seconds, s.sampleSeconds) } } : {}),
      };
    } finally {
      await fleet.stop();
    }
  } finally {
    await target.stop();
  }
}
