/**
 * `npm run bench`: speed and memory of vw's stages on this machine, printed, never asserted.
 * Figures: edge decoding, NEWS2 scoring (throughput, state per patient), and the embedded pipeline
 * end to end over MQTT and WebSocket (sustained rate, latency percentiles, readings lost), and the
 * rule engine with every pack loaded (throughput, state per patient; see rules.ts).
 *
 * `--only=decode,news2,e2e,rules` runs some sections; `--rules-patients`, `--rules-days`,
 * `--rules-warmup-hours` and `--rules-seed` size the rule-engine ward.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import { startVw } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Reading, RegistryData } from '../../src/domain/index.ts';
import { decodeDevicePayload } from '../../src/ingest/decode.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createRegistry } from '../../src/registry/registry.ts';
import { loadNews2Rule } from '../../src/rules/news2/rule-file.ts';
import { createNews2Scorer } from '../../src/rules/news2/scorer.ts';
import { connectConsole } from '../support/console-client.ts';
import { benchRules, rulesReport } from './rules.ts';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const E2E_SECONDS = Number(args.get('seconds') ?? 20);
const E2E_RATE = Number(args.get('rate') ?? 2000);
const DEVICES = Number(args.get('devices') ?? 200);
const SECTIONS = new Set((args.get('only') ?? 'decode,news2,e2e,rules').split(','));
for (const s of SECTIONS) if (!['decode', 'news2', 'e2e', 'rules'].includes(s)) throw new Error(`--only: unknown section ${s} (decode, news2, e2e, rules)`);

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

async function benchEndToEnd() {
  const dir = mkdtempSync(join(tmpdir(), 'vw-bench-'));
  const seeds = join(dir, 'ward.yaml');
  writeFileSync(seeds, stringify(wardOf(DEVICES)));
  const config = loadConfig({}, { 'http.port': 0, 'mqtt.embeddedPort': 0, 'registry.seedsFile': seeds, 'feed.tokenSecret': 'bench-secret-bench-secret-bench-secret', logLevel: 'silent' });
  const app = await startVw(config, { logger: createLogger({ level: 'silent' }) });
  const ward = await connectConsole(app.httpUrl);
  ward.send({ type: 'hello', token: await app.tokens.issue({ sub: 'bench', wards: ['bench'] }) });
  ward.send({ type: 'subscribe', wardId: 'bench' });
  await ward.waitFor((f): f is Extract<typeof f, { type: 'snapshot' }> => f.type === 'snapshot');
  const latencies: number[] = [];
  ward.frames.length = 0;
  const socketFrames = ward.frames;
  // Latency from the device's publish (its event time) to the reading frame arriving at the console.
  const seen = new Set<string>();
  const drain = setInterval(() => {
    const now = Date.now();
    for (const f of socketFrames.splice(0)) {
      if (f.type === 'reading' && !seen.has(f.reading.readingId)) {
        seen.add(f.reading.readingId);
        latencies.push(now - Date.parse(f.reading.ts));
      }
    }
  }, 2);

  const clients: MqttClient[] = await Promise.all(
    Array.from({ length: DEVICES }, (_, i) => mqtt.connectAsync(app.mqttUrl, { clientId: `bd-${String(i).padStart(5, '0')}-0`, protocolVersion: 4 })),
  );
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  let published = 0;
  const lastMs = new Array<number>(DEVICES).fill(0);
  const total = E2E_RATE * E2E_SECONDS;
  // Paced in 10 ms slots so the offered rate is steady; every reading has a unique event time.
  while (published < total) {
    const elapsed = performance.now() - start;
    const due = Math.min(total, Math.floor((elapsed / 1000) * E2E_RATE));
    for (; published < due; published++) {
      const i = published % DEVICES;
      // A reading's identity is device, type and event time: keep each device's times distinct.
      const ms = Math.max(Date.now(), lastMs[i]! + 1);
      lastMs[i] = ms;
      const body = JSON.stringify({ type: 'heart_rate', value: 60 + (published % 40), unit: '/min', ts: new Date(ms).toISOString() });
      clients[i]!.publish(`vw/v1/devices/${clients[i]!.options.clientId}/readings`, body, { qos: 1 });
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const sendSeconds = (performance.now() - start) / 1000;
  const stored = async () => {
    let n = 0;
    for (let i = 0; i < DEVICES; i++) {
      n += (await app.store.series(`bp-${String(i).padStart(5, '0')}`, 'heart_rate', { since: new Date(Date.now() - 3600_000) })).length;
    }
    return n;
  };
  const deadline = Date.now() + 30_000;
  let storedCount = await stored();
  while (storedCount < total && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    storedCount = await stored();
  }
  const drainSeconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  clearInterval(drain);
  const metrics = await (await fetch(`${app.httpUrl}/metrics`)).text();
  const rejected = metrics.split('\n').filter((l) => l.startsWith('vw_readings_rejected_total{')).reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
  const rss = process.memoryUsage().rss;
  await Promise.all(clients.map((c) => c.endAsync()));
  ward.close();
  await app.close();
  latencies.sort((a, b) => a - b);
  return {
    offeredPerSecond: total / sendSeconds,
    sustainedPerSecond: storedCount / drainSeconds,
    published: total,
    stored: storedCount,
    rejected,
    lost: total - storedCount - rejected,
    delivered: latencies.length,
    p50: pct(latencies, 50),
    p95: pct(latencies, 95),
    p99: pct(latencies, 99),
    max: latencies.at(-1) ?? NaN,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rssMiB: rss / 1048576,
  };
}

// The rule-engine section goes first: it measures retained heap, which is cleaner before the
// embedded pipeline has run in the same process.
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
const e2e = SECTIONS.has('e2e') ? await benchEndToEnd() : undefined;
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
  ...(e2e
    ? [
        `| embedded pipeline over MQTT → WebSocket (${DEVICES} devices, ${E2E_SECONDS} s at ${fmt(E2E_RATE)}/s offered) | ${fmt(e2e.sustainedPerSecond)} readings/s sustained to the store |`,
        `| device publish → console latency | p50 ${e2e.p50} ms, p95 ${e2e.p95} ms, p99 ${e2e.p99} ms, max ${e2e.max} ms (${fmt(e2e.delivered)} readings) |`,
        `| readings lost (published − stored − rejected) | ${e2e.lost} of ${fmt(e2e.published)} (stored ${fmt(e2e.stored)}, rejected ${e2e.rejected}) |`,
        `| whole process (broker, roles, simulated devices, console) | ${e2e.cpuSeconds.toFixed(1)} CPU s, RSS ${e2e.rssMiB.toFixed(0)} MiB |`,
      ]
    : []),
  '',
  ...(rules ? [...rules.detail, ''] : []),
];
process.stdout.write(lines.join('\n'));
process.exit(0);
