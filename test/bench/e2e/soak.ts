import { readdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

/**
 * A soak: a scenario run long at a steady rate, sampled every few seconds to see whether vw's memory
 * and its data directory level off or keep growing. Each sample holds the target's resident memory
 * (from /proc), its heap in use (from its /metrics, when it has them), the data directory's size on
 * disk, what was published and stored so far, the rate stored since the previous sample, the latency
 * of the readings the console received since then, and the machine's load average.
 */
export interface SoakSample {
  /** Seconds since the fleet was told to go. */
  t: number;
  /** Resident memory of the target's processes now (VmRSS, summed), MiB. */
  rssMiB: number;
  /** process_resident_memory_bytes from the target's /metrics, MiB; NaN without one. */
  metricsRssMiB: number;
  /** nodejs_heap_size_used_bytes from the target's /metrics, MiB; NaN without one. */
  heapUsedMiB: number;
  /** nodejs_heap_size_total_bytes: the heap V8 has committed, used or not, MiB; NaN without one. */
  heapTotalMiB: number;
  /** nodejs_external_memory_bytes: memory outside the heap that JavaScript objects hold (Buffers), MiB. */
  externalMiB: number;
  /** The data directory's size on disk (allocated blocks), MiB; NaN without one. */
  dataDirMiB: number;
  /** Files in the data directory. */
  dataDirFiles: number;
  published: number;
  stored: number;
  rejected: number;
  /** Readings stored per second since the previous sample. */
  storedPerSecond: number;
  /** Latency of the readings the console received since the previous sample. */
  latencyMs: { n: number; p50: number; p99: number; max: number };
  /** The machine's 1-minute load average. */
  load1: number;
  /** What the target's bus and store hold in memory (vw_bus_records_held, vw_store_held, vw_feed_held), as `bus topic`, `store kind`, `feed kind`. */
  held: Record<string, number>;
}

export interface SoakSummary {
  sampleSeconds: number;
  /** Samples in the steady-state window: from a third of the run to its end (drain excluded). */
  window: { from: number; to: number; samples: number };
  /** slopePerHour ± stderrPerHour: the least-squares slope over the steady state and its standard error. */
  rssMiB: { steadyStart: number; end: number; max: number; slopePerHour: number; stderrPerHour: number };
  heapUsedMiB: { steadyStart: number; end: number; max: number; slopePerHour: number };
  heapTotalMiB: { steadyStart: number; end: number; max: number; slopePerHour: number };
  externalMiB: { steadyStart: number; end: number; max: number; slopePerHour: number };
  /**
   * The heap's floor: the least heap in use in each LIVE_HEAP_WINDOW of the steady state, just after a
   * collection, so what is still referenced. Its slope is what a leak shows; RSS also carries the
   * heap's peaks (garbage between collections) and the allocator's slack.
   */
  liveHeapMiB: { steadyStart: number; end: number; slopePerHour: number; stderrPerHour: number; windows: number };
  dataDirMiB: { start: number; steadyStart: number; end: number; max: number; slopePerHour: number };
  storedPerSecond: { min: number; median: number; mean: number };
  load1: { min: number; mean: number; max: number };
  /** The RSS slope a flat run stays under, MiB per hour. */
  flatThresholdMiBPerHour: number;
  /** Shortest steady-state window the verdict is given for, seconds. */
  minWindowSeconds: number;
  verdict: 'flat' | 'growing' | 'falling' | 'too short to judge';
}

/** The flat threshold: RSS growing less than this over the steady-state window, MiB per hour. */
export const FLAT_MIB_PER_HOUR = 10;
/** The window, in seconds, whose least heap in use is taken as the live heap. */
export const LIVE_HEAP_WINDOW_SECONDS = 120;
/** A verdict needs at least this much steady state: shorter windows give slopes dominated by GC noise. */
export const MIN_WINDOW_SECONDS = 600;

const MiB = 1024 * 1024;

function vmRssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Bytes allocated on disk under a directory, and its files; files removed while it walks are skipped. */
export function diskUse(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(d, name);
      try {
        const s = statSync(p);
        if (s.isDirectory()) walk(p);
        else {
          bytes += s.blocks * 512;
          files++;
        }
      } catch {
        // removed between readdir and stat (a journal rolled over)
      }
    }
  };
  walk(dir);
  return { bytes, files };
}

/** The value of a metric whose name is `name`, or ends in `_${name}` (vw prefixes its default metrics). */
function metricValue(text: string, name: string): number {
  const re = new RegExp(`^(?:[A-Za-z0-9_]*_)?${name}(?:\\{[^}]*\\})? (\\S+)`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : NaN;
}

/** The held gauges of a /metrics text: `bus <topic>` and `store <kind>` to their values. */
export function heldGauges(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^vw_(bus_records|store|feed)_held\{(?:topic|kind)="([^"]+)"\} (\S+)$/gm)) out[`${m[1] === 'bus_records' ? 'bus' : m[1]} ${m[2]}`] = Number(m[3]);
  return out;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** Least-squares slope of y over x, and its standard error. */
export function slope(points: ReadonlyArray<readonly [number, number]>): { slope: number; stderr: number } {
  const pts = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (pts.length < 2) return { slope: NaN, stderr: NaN };
  const n = pts.length;
  const mx = pts.reduce((a, [x]) => a + x, 0) / n;
  const my = pts.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  if (sxx === 0) return { slope: NaN, stderr: NaN };
  const b = sxy / sxx;
  const residuals = pts.reduce((a, [x, y]) => a + (y - my - b * (x - mx)) ** 2, 0);
  return { slope: b, stderr: n > 2 ? Math.sqrt(residuals / (n - 2) / sxx) : NaN };
}

export interface SoakProbe {
  /** The target's processes, whose resident memory is summed. */
  pids: number[];
  /** The target's HTTP base URL, for /metrics. */
  metricsUrl?: string;
  dataDir?: string;
  counts(): Promise<{ stored: number; rejected: number }>;
  published(): number;
  latencies(): readonly number[];
}

/** Samples a target every `sampleSeconds` from now until `stop`. */
export function startSoakSampler(probe: SoakProbe, sampleSeconds: number, log: (line: string) => void) {
  const samples: SoakSample[] = [];
  const t0 = Date.now();
  let latencyIndex = probe.latencies().length;
  let previous: { t: number; stored: number } | undefined;
  let busy = false;
  const take = async () => {
    if (busy) return;
    busy = true;
    try {
      const t = (Date.now() - t0) / 1000;
      let metrics = '';
      if (probe.metricsUrl) {
        try {
          metrics = await (await fetch(`${probe.metricsUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
        } catch {
          metrics = '';
        }
      }
      const { stored, rejected } = await probe.counts().catch(() => ({ stored: NaN, rejected: NaN }));
      const disk = probe.dataDir ? diskUse(probe.dataDir) : { bytes: NaN, files: 0 };
      const all = probe.latencies();
      const recent = all.slice(latencyIndex).sort((a, b) => a - b);
      latencyIndex = all.length;
      const sample: SoakSample = {
        t,
        rssMiB: probe.pids.reduce((a, pid) => a + vmRssMiB(pid), 0),
        metricsRssMiB: metricValue(metrics, 'process_resident_memory_bytes') / MiB,
        heapUsedMiB: metricValue(metrics, 'nodejs_heap_size_used_bytes') / MiB,
        heapTotalMiB: metricValue(metrics, 'nodejs_heap_size_total_bytes') / MiB,
        externalMiB: metricValue(metrics, 'nodejs_external_memory_bytes') / MiB,
        dataDirMiB: disk.bytes / MiB,
        dataDirFiles: disk.files,
        published: probe.published(),
        stored,
        rejected,
        storedPerSecond: previous ? (stored - previous.stored) / (t - previous.t) : NaN,
        latencyMs: { n: recent.length, p50: pct(recent, 50), p99: pct(recent, 99), max: recent.at(-1) ?? NaN },
        load1: loadavg()[0]!,
        held: heldGauges(metrics),
      };
      previous = { t, stored };
      samples.push(sample);
      const heldLine = Object.entries(sample.held)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      log(
        `    soak ${Math.round(t)} s: RSS ${sample.rssMiB.toFixed(0)} MiB, heap ${sample.heapUsedMiB.toFixed(0)} of ${sample.heapTotalMiB.toFixed(0)} MiB, external ${sample.externalMiB.toFixed(0)} MiB, data dir ${sample.dataDirMiB.toFixed(1)} MiB, published ${sample.published}, stored ${sample.stored} (${Number.isFinite(sample.storedPerSecond) ? sample.storedPerSecond.toFixed(0) : '-'}/s), p99 ${sample.latencyMs.p99} ms, load ${sample.load1.toFixed(2)}${heldLine ? `; held: ${heldLine}` : ''}`,
      );
    } finally {
      busy = false;
    }
  };
  void take();
  const timer = setInterval(() => void take(), sampleSeconds * 1000);
  return {
    /** Takes a last sample and stops. */
    async stop(): Promise<SoakSample[]> {
      clearInterval(timer);
      while (busy) await new Promise((r) => setTimeout(r, 50));
      if (!samples.length || Date.now() - t0 - samples.at(-1)!.t * 1000 > 1000) await take();
      return samples;
    },
  };
}

const finite = (xs: number[]) => xs.filter(Number.isFinite);
const max = (xs: number[]) => (finite(xs).length ? Math.max(...finite(xs)) : NaN);
const mean = (xs: number[]) => (finite(xs).length ? finite(xs).reduce((a, b) => a + b, 0) / finite(xs).length : NaN);

/**
 * The soak's figures. Steady state is the last two thirds of the load (the first third lets the
 * store fill to its retention and point budget, the JIT settle and the journal reach its first
 * snapshot); samples from the drain, after the fleet stopped, are left out of the slopes. The verdict
 * is "flat" when the least-squares slope of RSS over the steady state is within ±FLAT_MIB_PER_HOUR.
 */
export function soakSummary(samples: readonly SoakSample[], loadSeconds: number, sampleSeconds: number): SoakSummary {
  const steady = samples.filter((s) => s.t >= loadSeconds / 3 && s.t <= loadSeconds + sampleSeconds / 2);
  const first = steady[0];
  const last = steady.at(-1);
  type Figure = 'rssMiB' | 'heapUsedMiB' | 'heapTotalMiB' | 'externalMiB' | 'dataDirMiB';
  const fit = (key: Figure) => slope(steady.map((s) => [s.t, s[key]] as const));
  const perHour = (key: Figure) => fit(key).slope * 3600;
  const figure = (key: Figure) => ({ steadyStart: first?.[key] ?? NaN, end: last?.[key] ?? NaN, max: max(samples.map((s) => s[key])), slopePerHour: perHour(key) });
  const rssSlope = perHour('rssMiB');
  const floors: Array<readonly [number, number]> = [];
  if (first) {
    const byWindow = new Map<number, SoakSample[]>();
    for (const s of steady) {
      if (!Number.isFinite(s.heapUsedMiB)) continue;
      const w = Math.floor((s.t - first.t) / LIVE_HEAP_WINDOW_SECONDS);
      byWindow.set(w, [...(byWindow.get(w) ?? []), s]);
    }
    // A window with fewer than half its samples (the last, cut short) may have missed its collection.
    for (const inWindow of byWindow.values()) {
      if (inWindow.length < LIVE_HEAP_WINDOW_SECONDS / sampleSeconds / 2) continue;
      const least = inWindow.reduce((a, b) => (b.heapUsedMiB < a.heapUsedMiB ? b : a));
      floors.push([least.t, least.heapUsedMiB]);
    }
  }
  const liveFit = slope(floors);
  const windowSeconds = first && last ? last.t - first.t : 0;
  // Rates over whole intervals only: the last sample, taken at the end of the drain, may follow the
  // previous one by a fraction of a second.
  const rates = finite(steady.filter((s, i) => i > 0 && s.t - steady[i - 1]!.t >= sampleSeconds / 2).map((s) => s.storedPerSecond)).sort((a, b) => a - b);
  const verdict: SoakSummary['verdict'] =
    windowSeconds < MIN_WINDOW_SECONDS || !Number.isFinite(rssSlope) ? 'too short to judge' : Math.abs(rssSlope) <= FLAT_MIB_PER_HOUR ? 'flat' : rssSlope > 0 ? 'growing' : 'falling';
  return {
    sampleSeconds,
    window: { from: first?.t ?? NaN, to: last?.t ?? NaN, samples: steady.length },
    rssMiB: { steadyStart: first?.rssMiB ?? NaN, end: last?.rssMiB ?? NaN, max: max(samples.map((s) => s.rssMiB)), slopePerHour: rssSlope, stderrPerHour: fit('rssMiB').stderr * 3600 },
    liveHeapMiB: { steadyStart: floors[0]?.[1] ?? NaN, end: floors.at(-1)?.[1] ?? NaN, slopePerHour: liveFit.slope * 3600, stderrPerHour: liveFit.stderr * 3600, windows: floors.length },
    heapTotalMiB: figure('heapTotalMiB'),
    externalMiB: figure('externalMiB'),
    heapUsedMiB: { steadyStart: first?.heapUsedMiB ?? NaN, end: last?.heapUsedMiB ?? NaN, max: max(samples.map((s) => s.heapUsedMiB)), slopePerHour: perHour('heapUsedMiB') },
    dataDirMiB: { start: samples[0]?.dataDirMiB ?? NaN, steadyStart: first?.dataDirMiB ?? NaN, end: last?.dataDirMiB ?? NaN, max: max(samples.map((s) => s.dataDirMiB)), slopePerHour: perHour('dataDirMiB') },
    storedPerSecond: { min: rates[0] ?? NaN, median: pct(rates, 50), mean: mean(rates) },
    load1: { min: Math.min(...steady.map((s) => s.load1)), mean: mean(steady.map((s) => s.load1)), max: max(steady.map((s) => s.load1)) },
    flatThresholdMiBPerHour: FLAT_MIB_PER_HOUR,
    minWindowSeconds: MIN_WINDOW_SECONDS,
    verdict,
  };
}

/** What the bus, store and feed held at the start of the steady state and at its end, for counts that changed. */
function heldLines(samples: readonly SoakSample[], summary: SoakSummary): string[] {
  const start = samples.find((s) => s.t >= summary.window.from);
  const end = [...samples].reverse().find((s) => s.t <= summary.window.to);
  if (!start || !end) return [];
  const kinds = [...new Set([...Object.keys(start.held), ...Object.keys(end.held)])].sort();
  if (!kinds.length) return [];
  return [`- held in memory, steady-state start → end: ${kinds.map((k) => `${k} ${f0(start.held[k] ?? 0)} → ${f0(end.held[k] ?? 0)}`).join('; ')}.`];
}

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-GB') : 'n/a');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
const signed = (n: number) => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(1)}` : 'n/a');

/** The soak's markdown: the summary, then the samples, thinned to about `rows` lines. */
export function soakReport(
  r: { scenario: string; target: string; seconds: number; targetPerSecond: number; published: number; stored: number; rejected: number; lost: number; sustainedPerSecond: number; latencyMs: { p50: number; p95: number; p99: number; max: number } },
  samples: readonly SoakSample[],
  summary: SoakSummary,
  rows = 20,
): string[] {
  const every = Math.max(1, Math.ceil(samples.length / rows));
  const shown = samples.filter((_, i) => i % every === 0 || i === samples.length - 1);
  return [
    `### Soak: ${r.scenario} on ${r.target}, ${r.seconds} s at ${f0(r.targetPerSecond)} readings/s`,
    '',
    `Sampled every ${summary.sampleSeconds} s; steady state is ${f0(summary.window.from)}–${f0(summary.window.to)} s (${summary.window.samples} samples), the last two thirds of the load. Verdict "flat" when the least-squares slope of RSS over the steady state is within ±${summary.flatThresholdMiBPerHour} MiB/hour; not given for less than ${summary.minWindowSeconds / 60} minutes of steady state.`,
    '',
    '| figure | steady-state start | end | max | slope over steady state |',
    '|---|--:|--:|--:|--:|',
    `| RSS MiB | ${f0(summary.rssMiB.steadyStart)} | ${f0(summary.rssMiB.end)} | ${f0(summary.rssMiB.max)} | ${signed(summary.rssMiB.slopePerHour)} ± ${f1(summary.rssMiB.stderrPerHour)} MiB/h |`,
    `| heap used MiB | ${f0(summary.heapUsedMiB.steadyStart)} | ${f0(summary.heapUsedMiB.end)} | ${f0(summary.heapUsedMiB.max)} | ${signed(summary.heapUsedMiB.slopePerHour)} MiB/h |`,
    `| heap committed MiB | ${f0(summary.heapTotalMiB.steadyStart)} | ${f0(summary.heapTotalMiB.end)} | ${f0(summary.heapTotalMiB.max)} | ${signed(summary.heapTotalMiB.slopePerHour)} MiB/h |`,
    `| external (Buffers) MiB | ${f0(summary.externalMiB.steadyStart)} | ${f0(summary.externalMiB.end)} | ${f0(summary.externalMiB.max)} | ${signed(summary.externalMiB.slopePerHour)} MiB/h |`,
    `| live heap MiB (least in use per ${LIVE_HEAP_WINDOW_SECONDS / 60} min, ${summary.liveHeapMiB.windows} windows) | ${f0(summary.liveHeapMiB.steadyStart)} | ${f0(summary.liveHeapMiB.end)} | | ${signed(summary.liveHeapMiB.slopePerHour)} ± ${f1(summary.liveHeapMiB.stderrPerHour)} MiB/h |`,
    `| data directory MiB on disk | ${f1(summary.dataDirMiB.steadyStart)} (at 0 s: ${f1(summary.dataDirMiB.start)}) | ${f1(summary.dataDirMiB.end)} | ${f1(summary.dataDirMiB.max)} | ${signed(summary.dataDirMiB.slopePerHour)} MiB/h |`,
    '',
    `- memory: **${summary.verdict}** (RSS slope ${signed(summary.rssMiB.slopePerHour)} MiB/hour, standard error ${f1(summary.rssMiB.stderrPerHour)}, threshold ±${summary.flatThresholdMiBPerHour}); live heap ${signed(summary.liveHeapMiB.slopePerHour)} ± ${f1(summary.liveHeapMiB.stderrPerHour)} MiB/hour.`,
    ...heldLines(samples, summary),
    `- readings: published ${f0(r.published)}, stored ${f0(r.stored)}, rejected ${f0(r.rejected)}, lost ${f0(r.lost)}; sustained ${f0(r.sustainedPerSecond)}/s of ${f0(r.targetPerSecond)}/s asked; stored per ${summary.sampleSeconds} s interval in steady state: min ${f0(summary.storedPerSecond.min)}/s, median ${f0(summary.storedPerSecond.median)}/s.`,
    `- latency, device publish to console, whole run: p50 ${f0(r.latencyMs.p50)} ms, p95 ${f0(r.latencyMs.p95)} ms, p99 ${f0(r.latencyMs.p99)} ms, max ${f0(r.latencyMs.max)} ms.`,
    `- load average (1 min) over the steady state: min ${summary.load1.min.toFixed(2)}, mean ${summary.load1.mean.toFixed(2)}, max ${summary.load1.max.toFixed(2)}.`,
    '',
    '| t s | RSS MiB | heap MiB | data dir MiB | files | published | stored | stored/s | p50 ms | p99 ms | load 1m |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...shown.map(
      (s) =>
        `| ${f0(s.t)} | ${f0(s.rssMiB)} | ${f0(s.heapUsedMiB)} | ${f1(s.dataDirMiB)} | ${s.dataDirFiles} | ${f0(s.published)} | ${f0(s.stored)} | ${f0(s.storedPerSecond)} | ${f0(s.latencyMs.p50)} | ${f0(s.latencyMs.p99)} | ${s.load1.toFixed(2)} |`,
    ),
    ...(shown.length < samples.length ? ['', `(every ${every}th of ${samples.length} samples shown; all are in the JSON)`] : []),
  ];
}
