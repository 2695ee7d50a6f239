/**
 * `npm run bench`: speed and memory of vw on this machine, printed, never asserted.
 * - Stages: edge decoding, NEWS2 scoring, and the rule engine with every pack loaded (rules.ts).
 * - Reports: the 90-day ICS capacity report from the memory store and from InfluxDB (reports.ts).
 * - Scenarios (bench/scenarios.yaml, e2e/run-scenarios.ts): load-fleet devices over MQTT against vw
 *   embedded, vw on Mosquitto + Kafka + InfluxDB (when `npm run services up` has them running) and the
 *   Node-RED peer: sustained readings/s, publish-to-console latency, readings lost, CPU and peak RSS of
 *   every process. Written as JSON and a markdown table under bench/results/.
 *
 * - CLI: how long `vw` takes to start and finish a small job, built and from source (cli.ts).
 *
 * `--only=decode,news2,rules,reports,hostile,durable,cli,scenarios` runs some sections; `--scenarios=a,b` and
 * `--targets=embedded,real,node-red` pick scenarios and targets; `--seconds=N` shortens every scenario
 * (a quick look, not the stated targets); scenarios marked `optIn` (the soak) run only when named in
 * `--scenarios`; `--rules-patients`, `--rules-days`, `--rules-warmup-hours`
 * and `--rules-seed` size the rule-engine ward.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Reading, RegistryData } from '../../src/domain/index.ts';
import { decodeDevicePayload } from '../../src/ingest/decode.ts';
import { createRegistry } from '../../src/registry/registry.ts';
import { loadNews2Rule } from '../../src/rules/news2/rule-file.ts';
import { createNews2Scorer } from '../../src/rules/news2/scorer.ts';
import { loadBenchScenarios, runScenario, type ScenarioResult } from './e2e/run-scenarios.ts';
import { scenarioReport } from './e2e/report.ts';
import { servicesEnv, type TargetName } from './e2e/targets.ts';
import { benchHostile, hostileReport } from './hostile.ts';
import { benchCli, cliReport } from './cli.ts';
import { benchDurable, durableReport } from './durable.ts';
import { benchReports } from './reports.ts';
import { benchRules, rulesReport } from './rules.ts';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SECTIONS = new Set((args.get('only') ?? 'decode,news2,rules,reports,hostile,durable,cli,scenarios').split(','));
for (const s of SECTIONS) if (!['decode', 'news2', 'rules', 'reports', 'hostile', 'durable', 'cli', 'scenarios'].includes(s)) throw new Error(`--only: unknown section ${s} (decode, news2, rules, reports, hostile, durable, cli, scenarios)`);
const TARGETS = new Set((args.get('targets') ?? 'embedded,real,node-red').split(',') as TargetName[]);

function wardOf(patients: number, devicesPerPatient = 1): RegistryData {
  const from = '2026-01-01T00:00:00Z';
  const ids = Array.from({ length: patients }, (_, i) => String(i).padStart(5, '0'));
  return {
    wards: [{ wardId: 'bench', name: 'Benchmark ward', organisation: 'RXX', capacity: patients }],
    patients: ids.map((id) => ({ patientId: `bp-${id}`, displayName: `Bench ${id}`, spo2Scale: 1 as const })),
    devices: ids.flatMap((id) => Array.from({ length: devicesPerPatient }, (_, d) => ({ deviceId: `bd-${id}-${d}`, kind: 'companion_app' as const, medicalGrade: false }))),
    enrolments: ids.flatMap((id) =>
      Array.from({ length: devicesPerPatient }, (_, d) => ({ deviceId: `bd-${id}-${d}`, patientId: `bp-${id}`, wardId: 'bench', pathway: 'ari' as const, from })),
    ),
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-GB');
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function benchDecode() {
  const registry = createRegistry(wardOf(1000));
  const now = new Date();
  const ts = new Date(now.getTime() - 1000).toISOString();
  const payloads = [
    Buffer.from(JSON.stringify({ type: 'heart_rate', value: 72, unit: '/min', ts })),
    Buffer.from(JSON.stringify({ measurement: 'blood_pressure', time: ts, systolic: 130, diastolic: 80, pulse: 70 })),
    Buffer.from(JSON.stringify({ heartRate: [{ time: ts, bpm: 70 }, { time: ts, bpm: 71 }, { time: ts, bpm: 72 }] })),
    Buffer.from(JSON.stringify({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] }, valueQuantity: { value: 37.2, code: 'Cel' }, effectiveDateTime: ts })),
  ];
  const n = 100_000;
  let readings = 0;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    readings += decodeDevicePayload({ topicDeviceId: `bd-${String(i % 1000).padStart(5, '0')}-0`, payload: payloads[i % 4]!, receivedAt: now }, { registry }).readings.length;
  }
  const seconds = (performance.now() - start) / 1000;
  return { payloadsPerSecond: n / seconds, readingsPerSecond: readings / seconds };
}

async function benchNews2() {
  const rule = await loadNews2Rule('rules/news2.yaml');
  const patients = 10_000;
  const types = ['respiratory_rate', 'spo2', 'supplemental_oxygen', 'systolic_bp', 'heart_rate', 'consciousness', 'temperature'] as const;
  const values = { respiratory_rate: 18, spo2: 95, supplemental_oxygen: false, systolic_bp: 120, heart_rate: 88, consciousness: 'A', temperature: 37.4 } as const;
  const units = { respiratory_rate: '/min', spo2: '%', supplemental_oxygen: '{boolean}', systolic_bp: 'mm[Hg]', heart_rate: '/min', consciousness: '{ACVPU}', temperature: 'Cel' } as const;
  const base = Date.parse('2026-11-22T00:00:00Z');
  const perPatient = 21;
  const stream: Reading[] = [];
  for (let k = 0; k < perPatient; k++) {
    for (let p = 0; p < patients; p++) {
      const type = types[k % types.length]!;
      const ts = new Date(base + k * 60_000 + p).toISOString();
      stream.push({ readingId: `${p}-${k}`, patientId: `bp-${p}`, wardId: 'bench', deviceId: 'd', type, value: values[type], unit: units[type], ts, receivedAt: ts } as Reading);
    }
  }
  let scorer: ReturnType<typeof createNews2Scorer> | undefined = createNews2Scorer(rule);
  const start = performance.now();
  for (const r of stream) scorer.onReading(r, { spo2Scale: 1 });
  const seconds = (performance.now() - start) / 1000;
  const count = stream.length;
  // State size: the heap with the scorer's state alive, minus the heap once it is dropped. The input
  // stream is released first, so strings the state shares with it are counted as the state's.
  stream.length = 0;
  globalThis.gc?.();
  const withState = process.memoryUsage().heapUsed;
  if (scorer.stateSize() !== patients) throw new Error('scorer lost patients');
  scorer = undefined;
  globalThis.gc?.();
  const without = process.memoryUsage().heapUsed;
  return {
    readingsPerSecond: count / seconds,
    bytesPerPatient: globalThis.gc ? (withState - without) / patients : NaN,
  };
}

// The rule-engine section goes first: it measures retained heap, which is cleaner before anything
// else has run in the same process.
const rules = SECTIONS.has('rules')
  ? rulesReport(
      await benchRules({
        patients: Number(args.get('rules-patients') ?? 10_000),
        days: Number(args.get('rules-days') ?? 2),
        warmupHours: Number(args.get('rules-warmup-hours') ?? 24),
        seed: Number(args.get('rules-seed') ?? 1),
      }),
    )
  : undefined;
const decode = SECTIONS.has('decode') ? await benchDecode() : undefined;
const news2 = SECTIONS.has('news2') ? await benchNews2() : undefined;
const reports = SECTIONS.has('reports') ? await benchReports(servicesEnv(), (line) => process.stderr.write(`${line}\n`)) : undefined;
const hostile = SECTIONS.has('hostile') ? hostileReport(await benchHostile()) : undefined;
const durable = SECTIONS.has('durable') ? durableReport(await benchDurable()) : undefined;
const cli = SECTIONS.has('cli') ? cliReport(await benchCli()) : undefined;
const lines = [
  '',
  `vw benchmark: node ${process.version}, ${new Date().toISOString()}`,
  '',
  '| stage | figure |',
  '|---|---|',
  ...(decode ? [`| edge decoding (4 payload shapes) | ${fmt(decode.payloadsPerSecond)} payloads/s, ${fmt(decode.readingsPerSecond)} readings/s |`] : []),
  ...(news2
    ? [
        `| NEWS2 scorer, 10,000 patients | ${fmt(news2.readingsPerSecond)} readings/s on one core |`,
        `| NEWS2 state per patient | ${Number.isNaN(news2.bytesPerPatient) ? 'n/a (run with node --expose-gc)' : `${fmt(news2.bytesPerPatient)} bytes`} |`,
      ]
    : []),
  ...(rules?.rows ?? []),
  ...(reports?.rows ?? []),
  ...(hostile ?? []),
  ...(durable ?? []),
  ...(cli ?? []),
  '',
  ...(rules ? [...rules.detail, ''] : []),
];
process.stdout.write(lines.join('\n'));

if (SECTIONS.has('scenarios')) {
  const only = args.get('scenarios')?.split(',');
  // Opt-in scenarios (the 30-minute soak) run only when named.
  const scenarios = (await loadBenchScenarios('bench/scenarios.yaml')).filter((s) => (only ? only.includes(s.name) : !s.optIn));
  if (only) for (const name of only) if (!scenarios.some((s) => s.name === name)) throw new Error(`--scenarios: no scenario ${name} in bench/scenarios.yaml`);
  const seconds = args.get('seconds') ? Number(args.get('seconds')) : undefined;
  const workDir = mkdtempSync(join(tmpdir(), 'vw-bench-'));
  const results: ScenarioResult[] = [];
  const notRun: Array<{ scenario: string; target: string; why: string }> = [];
  const log = (line: string) => process.stderr.write(`${line}\n`);
  for (const scenario of scenarios) {
    const s = seconds ? { ...scenario, seconds } : scenario;
    for (const target of s.on.filter((t) => TARGETS.has(t))) {
      log(`scenario ${s.name} on ${target}: ${s.devices} devices, ${s.readingsPerSecond}/s for ${s.seconds} s`);
      try {
        const result = await runScenario(s, target, join(workDir, `${s.name}-${target}`), log);
        if (typeof result === 'string') notRun.push({ scenario: s.name, target, why: result });
        else results.push(result);
      } catch (error) {
        notRun.push({ scenario: s.name, target, why: `failed: ${(error as Error).message.split('\n')[0]}` });
      }
      log(`  ${results.at(-1)?.scenario === s.name && results.at(-1)?.target === target ? 'done' : notRun.at(-1)!.why}`);
    }
  }
  const commit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })();
  const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memoryGiB: Math.round(totalmem() / 2 ** 30), commit, at: new Date().toISOString(), command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ') };
  const markdown = scenarioReport(machine, results, notRun);
  mkdirSync('bench/results', { recursive: true });
  const stamp = machine.at.replace(/[:.]/g, '-');
  writeFileSync(`bench/results/${stamp}.json`, `${JSON.stringify({ machine, stages: { decode, news2, rules: rules?.rows, reports: reports?.figures }, scenarios: results, notRun }, null, 2)}\n`);
  writeFileSync(`bench/results/${stamp}.md`, markdown);
  process.stdout.write(`\n${markdown}\nwritten: bench/results/${stamp}.json, bench/results/${stamp}.md\n`);
}
process.exit(0);
