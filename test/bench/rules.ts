/**
 * Rule-engine section of `npm run bench`: throughput of the rules processor (NEWS2 and every rule pack)
 * on one core, and the rule state it keeps per patient. Printed, never asserted.
 *
 * A ward of patients on a mix of pathways sends readings over several days of event time; the stream
 * is built before timing starts, so the figure is the processor's alone. The loop is the rules role's
 * work without the bus: every reading through `onReading`, `tick` once a simulated minute, and nurses
 * acknowledging and resolving the alerts that open, so alerts follow their whole lifecycle.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Alert, AlertAction, Pathway, Reading } from '../../src/domain/index.ts';
import { CANONICAL_UNIT } from '../../src/domain/index.ts';
import { readingIdOf } from '../../src/ingest/reading-id.ts';
import { loadRulePacks } from '../../src/rules/engine/pack-file.ts';
import { loadNews2Rule } from '../../src/rules/news2/rule-file.ts';
import { createRulesProcessor, type PatientRuleContext, type RulesProcessor } from '../../src/rules/processor.ts';

export interface RulesBenchOptions {
  patients: number;
  days: number;
  /** Event time left out of the throughput figure while series, windows and JIT settle. */
  warmupHours: number;
  seed: number;
  /** Called with the processor still holding every patient, just before its heap is measured (heap snapshots). */
  inspect?: (processor: RulesProcessor) => void;
}

export interface RulesBenchResult {
  options: RulesBenchOptions;
  rules: number;
  generateSeconds: number;
  readings: number;
  steadyReadings: number;
  ticks: number;
  steadyTicks: number;
  /** Steady state: readings over all processor time (readings, ticks and nurse actions). */
  readingsPerSecond: number;
  /** Steady state: readings over the time spent in `onReading` alone. */
  onReadingPerSecond: number;
  tickMsMean: number;
  tickMsMax: number;
  /** Share of steady-state processor time spent in `tick`. */
  tickShare: number;
  scores: number;
  alerts: { events: number; opened: number; resolved: number; escalated: number; updated: number; actions: number; byRule: [string, number][] };
  bytesPerPatient: number;
  changelog: { mean: number; max: number; recordsPerSecond: number; seriesPointsMean: number; nodesMean: number; pointsByType: [string, number][] };
  patientsHeld: number;
  pathways: [string, number][];
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** A Monday 00:00 UTC in winter, so UK calendar days and UTC days coincide. */
const START = Date.parse('2026-11-23T00:00:00Z');

/** Deterministic PRNG (mulberry32): the same seed gives the same ward, so runs compare. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    chance: (p: number) => next() < p,
    between: (lo: number, hi: number) => lo + next() * (hi - lo),
    int: (lo: number, hi: number) => Math.floor(lo + next() * (hi - lo + 1)),
    noise: (sd: number) => (next() + next() + next() - 1.5) * sd * 2,
  };
}
type Rng = ReturnType<typeof prng>;

interface Profile {
  patientId: string;
  name: string;
  ctx: PatientRuleContext;
  /** Hours between NEWS2 observation sets; 0: none. */
  obsEveryH: number;
  watch: boolean;
  weight: boolean;
  /** BP sessions a day (each a seated pair a minute apart); 0: none. */
  bpSessions: number;
  onOxygen: boolean;
  hr: number;
  rr: number;
  spo2: number;
  temp: number;
  sys: number;
  dia: number;
  kg: number;
}

/** The ward mix: share of patients, pathways and how they are monitored. */
const MIX: { name: string; share: number; pathways: Pathway[]; wardId: string; make: (r: Rng) => Partial<Profile> & { settings?: Record<string, number> } }[] = [
  { name: 'ari', share: 0.22, pathways: ['ari'], wardId: 'ward-ari', make: (r) => ({ obsEveryH: 4, watch: r.chance(0.7), spo2: r.int(95, 98) }) },
  { name: 'copd (scale 2)', share: 0.13, pathways: ['copd'], wardId: 'ward-resp', make: (r) => ({ obsEveryH: 6, watch: r.chance(0.5), spo2: r.int(88, 92), onOxygen: r.chance(0.25), rr: r.int(16, 20) }) },
  {
    name: 'heart-failure',
    share: 0.15,
    pathways: ['heart-failure'],
    wardId: 'ward-cardio',
    make: (r) => ({ obsEveryH: 8, watch: r.chance(0.6), weight: true, bpSessions: 1, settings: { baselineWeight: Math.round(r.between(60, 110) * 10) / 10 } }),
  },
  {
    name: 'heart-failure + hypertension',
    share: 0.05,
    pathways: ['heart-failure', 'hypertension'],
    wardId: 'ward-cardio',
    make: (r) => ({ obsEveryH: 8, watch: r.chance(0.6), weight: true, bpSessions: 2, sys: r.int(130, 155), settings: { baselineWeight: Math.round(r.between(60, 110) * 10) / 10 } }),
  },
  { name: 'hypertension', share: 0.15, pathways: ['hypertension'], wardId: 'ward-cardio', make: (r) => ({ obsEveryH: 0, watch: r.chance(0.5), bpSessions: 2, sys: r.int(125, 160), dia: r.int(75, 98) }) },
  { name: 'post-op', share: 0.15, pathways: ['post-op'], wardId: 'ward-surg', make: (r) => ({ obsEveryH: 4, watch: r.chance(0.5) }) },
  { name: 'general', share: 0.15, pathways: ['general'], wardId: 'ward-gen', make: (r) => ({ obsEveryH: 6, watch: r.chance(0.6) }) },
];

function profiles(n: number, rng: Rng): Profile[] {
  const out: Profile[] = [];
  const cumulative = MIX.map((m, i) => MIX.slice(0, i + 1).reduce((s, x) => s + x.share, 0));
  for (let i = 0; i < n; i++) {
    // Spread by index rather than by chance, so every pathway is present in the ratio given.
    const k = cumulative.findIndex((c) => (i + 0.5) / n < c);
    const mix = MIX[k === -1 ? MIX.length - 1 : k]!;
    const { settings, ...made } = mix.make(rng);
    out.push({
      patientId: `bp-${String(i).padStart(5, '0')}`,
      name: mix.name,
      ctx: { wardId: mix.wardId, pathways: mix.pathways, settings: settings ?? {}, spo2Scale: mix.pathways.includes('copd') ? 2 : 1 },
      obsEveryH: 0,
      watch: false,
      weight: false,
      bpSessions: 0,
      onOxygen: false,
      hr: rng.int(58, 80),
      rr: rng.int(13, 18),
      spo2: rng.int(96, 98),
      temp: Math.round(rng.between(36.3, 37.2) * 10) / 10,
      sys: rng.int(115, 140),
      dia: rng.int(70, 88),
      kg: 0,
      ...made,
    });
    const p = out.at(-1)!;
    p.kg = typeof p.ctx.settings.baselineWeight === 'number' ? p.ctx.settings.baselineWeight + rng.between(-0.5, 1.5) : rng.between(55, 100);
  }
  return out;
}

/** Extra on top of a patient's baseline while an episode lasts; zero outside it. */
interface Episode {
  from: number;
  to: number;
  hr: number;
  rr: number;
  spo2: number;
  temp: number;
  sys: number;
  kgPerDay: number;
}

function episodesOf(p: Profile, rng: Rng, end: number): Episode[] {
  const out: Episode[] = [];
  const count = rng.chance(0.35) ? (rng.chance(0.25) ? 2 : 1) : 0;
  for (let i = 0; i < count; i++) {
    const from = START + rng.between(2 * HOUR, end - START - 2 * HOUR);
    const hf = p.weight && rng.chance(0.5);
    const hours = hf ? rng.between(48, 96) : rng.between(3, 12);
    const s = rng.between(0.5, 1.2);
    out.push({
      from,
      to: from + hours * HOUR,
      hr: Math.round(30 * s),
      rr: Math.round(7 * s),
      spo2: -Math.round((p.ctx.spo2Scale === 2 ? 5 : 4) * s),
      temp: p.ctx.pathways.some((x) => x === 'post-op' || x === 'ari') ? 1.6 * s : 0.4 * s,
      sys: p.bpSessions ? Math.round(45 * s) : -Math.round(20 * s),
      kgPerDay: hf ? rng.between(0.6, 1.4) : 0,
    });
  }
  return out;
}

/** Readings of the whole ward, in event-time order, and where each simulated minute starts. */
function generate(opts: RulesBenchOptions): { stream: Reading[]; minuteStart: Int32Array; profiles: Profile[] } {
  const rng = prng(opts.seed);
  const ward = profiles(opts.patients, rng);
  const end = START + opts.days * DAY;
  const minutes = opts.days * 24 * 60;
  const buckets: Reading[][] = Array.from({ length: minutes }, () => []);

  for (const p of ward) {
    const episodes = episodesOf(p, rng, end);
    const extra = (t: number) => {
      const e = { hr: 0, rr: 0, spo2: 0, temp: 0, sys: 0, kg: 0 };
      for (const ep of episodes) {
        if (ep.kgPerDay) e.kg += (Math.min(t, ep.to) - Math.min(t, ep.from)) / DAY * ep.kgPerDay;
        if (t < ep.from || t >= ep.to) continue;
        e.hr += ep.hr;
        e.rr += ep.rr;
        e.spo2 += ep.spo2;
        e.temp += ep.temp;
        e.sys += ep.sys;
      }
      return e;
    };
    // A device left off the charger or at home: nothing from the patient for half a day.
    const gapFrom = rng.chance(0.06) ? START + rng.between(0, end - START) : Infinity;
    const gapTo = gapFrom + rng.between(9, 14) * HOUR;
    const silent = (t: number) => t >= gapFrom && t < gapTo;
    const device = { obs: `obs-${p.patientId}`, watch: `watch-${p.patientId}`, cuff: `cuff-${p.patientId}`, scale: `scale-${p.patientId}` };
    const push = (deviceId: string, type: Reading['type'], t: number, value: number | string | boolean, extras?: Pick<Reading, 'flags' | 'position'>) => {
      if (t >= end || silent(t)) return;
      const ts = new Date(t).toISOString();
      const reading = { readingId: readingIdOf(deviceId, type, t), patientId: p.patientId, deviceId, wardId: p.ctx.wardId, type, value, unit: CANONICAL_UNIT[type], ts, receivedAt: ts, ...extras };
      // Through JSON as the bus delivers it: the rules role holds flat strings of its own, not slices of
      // ingest's hashes or strings shared with the generator, and the retained heap should show that.
      buckets[Math.floor((t - START) / MINUTE)]!.push(JSON.parse(JSON.stringify(reading)) as Reading);
    };
    const phase = rng.between(0, HOUR);

    if (p.obsEveryH) {
      for (let t = START + phase; t < end; t += p.obsEveryH * HOUR + rng.noise(10 * MINUTE)) {
        // Sets are sometimes skipped (patient asleep, out): with a 6-8 h schedule that leaves SpO2 gaps.
        if (rng.chance(0.08)) continue;
        const e = extra(t);
        const spo2Top = p.ctx.spo2Scale === 2 ? 94 : 100;
        let s = t;
        const next = () => (s += rng.int(15, 40) * 1000);
        push(device.obs, 'respiratory_rate', next(), Math.max(8, Math.round(p.rr + e.rr + rng.noise(1.5))));
        push(device.obs, 'spo2', next(), Math.min(spo2Top, Math.round(p.spo2 + e.spo2 + rng.noise(1))));
        push(device.obs, 'heart_rate', next(), Math.round(p.hr + e.hr + rng.noise(4)));
        const sys = Math.round(p.sys + e.sys + rng.noise(6));
        const at = next();
        push(device.obs, 'systolic_bp', at, sys);
        push(device.obs, 'diastolic_bp', at, Math.round(p.dia + e.sys / 3 + rng.noise(4)));
        push(device.obs, 'temperature', next(), Math.round((p.temp + e.temp + rng.noise(0.2)) * 10) / 10);
        push(device.obs, 'consciousness', next(), e.spo2 < -4 && rng.chance(0.3) ? 'C' : 'A');
        push(device.obs, 'supplemental_oxygen', next(), p.onOxygen);
      }
    }
    if (p.watch) {
      // Background heart rate from a wrist wearable every 10 minutes, now and then an irregular-rhythm
      // notification, and a later rhythm check that found nothing.
      for (let t = START + phase / 6; t < end; t += 10 * MINUTE + rng.int(-20, 20) * 1000) {
        push(device.watch, 'heart_rate', t, Math.round(p.hr + extra(t).hr + rng.noise(5)));
        if (rng.chance(0.0006)) {
          push(device.watch, 'irregular_rhythm', t + 30_000, true);
          push(device.watch, 'irregular_rhythm', t + rng.between(2, 8) * HOUR, false);
        }
      }
    }
    if (p.weight) {
      for (let day = 0; day < opts.days; day++) {
        const t = START + day * DAY + 7 * HOUR + rng.between(0, 90 * MINUTE);
        push(device.scale, 'weight', t, Math.round((p.kg + extra(t).kg + rng.noise(0.3)) * 10) / 10);
      }
    }
    if (p.bpSessions) {
      for (let day = 0; day < opts.days; day++) {
        for (let s = 0; s < p.bpSessions; s++) {
          let t = START + day * DAY + (s === 0 ? 7.5 : 19.5) * HOUR + rng.between(0, 60 * MINUTE);
          if (rng.chance(0.05)) continue;
          const flagged = rng.chance(0.03) ? { flags: ['irregular_pulse_during_measurement'] as ['irregular_pulse_during_measurement'] } : {};
          // A rare single severe reading, as home cuffs give; the repeat is usually lower.
          const spike = rng.chance(0.015) ? 55 : 0;
          for (let k = 0; k < 2; k++, t += MINUTE) {
            const sys = Math.round(p.sys + extra(t).sys + (k === 0 ? spike : spike / 3) + rng.noise(5));
            push(device.cuff, 'systolic_bp', t, sys, { position: 'sitting', ...flagged });
            push(device.cuff, 'diastolic_bp', t, Math.round(p.dia + extra(t).sys / 3 + spike / 4 + rng.noise(4)), { position: 'sitting', ...flagged });
            push(device.cuff, 'heart_rate', t, Math.round(p.hr + rng.noise(4)));
          }
          // A standing reading after the seated pair, for postural hypotension, on some days.
          if (rng.chance(0.1)) {
            const drop = rng.chance(0.3) ? rng.int(20, 35) : rng.int(0, 12);
            push(device.cuff, 'systolic_bp', t + 60_000, Math.round(p.sys - drop + rng.noise(3)), { position: 'standing' });
            push(device.cuff, 'diastolic_bp', t + 60_000, Math.round(p.dia - drop / 3 + rng.noise(3)), { position: 'standing' });
          }
        }
      }
    }
  }
  const minuteStart = new Int32Array(minutes + 1);
  let total = 0;
  for (let m = 0; m < minutes; m++) {
    minuteStart[m] = total;
    total += buckets[m]!.length;
  }
  minuteStart[minutes] = total;
  const stream = new Array<Reading>(total);
  let i = 0;
  for (const bucket of buckets) {
    bucket.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    for (const r of bucket) stream[i++] = r;
    bucket.length = 0;
  }
  return { stream, minuteStart, profiles: ward };
}

export async function benchRules(opts: RulesBenchOptions): Promise<RulesBenchResult> {
  const [news2, packs] = await Promise.all([loadNews2Rule('rules/news2.yaml'), loadRulePacks('rules')]);
  globalThis.gc?.();
  globalThis.gc?.();
  const without = process.memoryUsage().heapUsed;
  const genStart = performance.now();
  let { stream, minuteStart, profiles: ward } = generate(opts);
  const generateSeconds = (performance.now() - genStart) / 1000;
  const ctxOf = new Map(ward.map((p) => [p.patientId, p.ctx]));
  const pathways = new Map<string, number>();
  for (const p of ward) pathways.set(p.name, (pathways.get(p.name) ?? 0) + 1);
  const readings = stream.length;

  const processor: RulesProcessor = createRulesProcessor({ news2, packs });
  const rules = processor.rules.length + 1;
  const minutes = minuteStart.length - 1;
  const warmupMinutes = Math.min(minutes - 1, Math.round(opts.warmupHours * 60));

  const alerts = { events: 0, opened: 0, resolved: 0, escalated: 0, updated: 0, actions: 0 };
  const openedByRule = new Map<string, number>();
  // Nurses answer alerts: acknowledged within 15-45 minutes, and alerts no rule resolves by itself
  // (irregular rhythm, severe BP, NEWS2) resolved after review 1-3 hours later.
  const actions: { due: number; action: AlertAction }[] = [];
  const nurse = prng(opts.seed ^ 0x5eed);
  const AUTO_RESOLVING = new Set(packs.flatMap((p) => p.rules.filter((r) => r.autoResolve).map((r) => r.id)));
  let actionSeq = 0;
  const note = (list: readonly Alert[], now: number) => {
    for (const a of list) {
      alerts.events++;
      if (a.state === 'open' && a.revision === 0) {
        alerts.opened++;
        openedByRule.set(a.ruleId, (openedByRule.get(a.ruleId) ?? 0) + 1);
        const base = { alertId: a.alertId, patientId: a.patientId, wardId: a.wardId, by: 'nurse.bench' };
        const ack = now + nurse.between(15, 45) * MINUTE;
        actions.push({ due: ack, action: { ...base, actionId: `act-${actionSeq++}`, action: 'acknowledge', at: new Date(ack).toISOString() } });
        if (!AUTO_RESOLVING.has(a.ruleId)) {
          const resolve = ack + nurse.between(1, 3) * HOUR;
          actions.push({ due: resolve, action: { ...base, actionId: `act-${actionSeq++}`, action: 'resolve', at: new Date(resolve).toISOString(), note: 'reviewed' } });
        }
      } else if (a.state === 'resolved') alerts.resolved++;
      else if (a.state === 'escalated') alerts.escalated++;
      else alerts.updated++;
    }
  };

  let scores = 0;
  let readingMs = 0;
  let tickMs = 0;
  let otherMs = 0;
  let tickMax = 0;
  let steadyReadings = 0;
  let steadyTicks = 0;
  for (let m = 0; m < minutes; m++) {
    const steady = m >= warmupMinutes;
    const now = START + (m + 1) * MINUTE;
    const from = minuteStart[m]!;
    const to = minuteStart[m + 1]!;
    const t0 = performance.now();
    for (let i = from; i < to; i++) {
      const r = stream[i]!;
      const out = processor.onReading(r, ctxOf.get(r.patientId)!);
      if (out.score) scores++;
      if (out.alerts.length) note(out.alerts, Date.parse(r.ts));
    }
    const t1 = performance.now();
    // Actions are few; sorting the due list each minute keeps them in event-time order cheaply.
    if (actions.length && actions.some((a) => a.due <= now)) {
      actions.sort((a, b) => a.due - b.due);
      while (actions.length && actions[0]!.due <= now) {
        const { action } = actions.shift()!;
        const outcome = processor.applyAction(action);
        alerts.actions++;
        if ('alert' in outcome && outcome.changed && outcome.alert.state === 'resolved') alerts.resolved++;
      }
    }
    const t2 = performance.now();
    note(processor.tick(now), now);
    const t3 = performance.now();
    // The run takes minutes at full size: show it is moving, on stderr so the report stays clean.
    if ((m + 1) % 360 === 0) process.stderr.write(`rules bench: ${(m + 1) / 60} h of ${minutes / 60} h event time\n`);
    if (steady) {
      readingMs += t1 - t0;
      otherMs += t2 - t1;
      tickMs += t3 - t2;
      tickMax = Math.max(tickMax, t3 - t2);
      steadyReadings += to - from;
      steadyTicks++;
    }
  }
  const steadyMs = readingMs + tickMs + otherMs;

  // Changelog records as the rules role writes them, one per patient.
  let logTotal = 0;
  let logMax = 0;
  let points = 0;
  let nodes = 0;
  const pointsByType = new Map<string, number>();
  const exportStart = performance.now();
  for (const p of ward) {
    const state = processor.exportPatient(p.patientId);
    const size = JSON.stringify(state).length;
    logTotal += size;
    logMax = Math.max(logMax, size);
    for (const s of state.engine?.series ?? []) {
      points += s.points.length;
      pointsByType.set(s.type, (pointsByType.get(s.type) ?? 0) + s.points.length);
    }
    nodes += state.engine?.nodes.length ?? 0;
  }
  // The rules role writes a patient's record after every reading it applies, so this cost is per reading.
  const exportSeconds = (performance.now() - exportStart) / 1000;
  const patientsHeld = processor.patientCount();

  // Retained heap: the heap with the processor alive and everything else of the run dropped, minus
  // the heap before the stream was built. The ids the state keeps count as its own, as they would
  // for readings arriving off the bus. (Measuring "alive minus dropped" proved fragile: an optimised
  // frame can keep a dropped processor reachable until later.)
  stream = [];
  minuteStart = new Int32Array(0);
  ward = [];
  ctxOf.clear();
  actions.length = 0;
  const gc = globalThis.gc;
  gc?.();
  gc?.();
  const withState = process.memoryUsage().heapUsed;
  opts.inspect?.(processor);
  if (processor.patientCount() !== patientsHeld) throw new Error('processor lost patients before the heap was measured');

  return {
    options: opts,
    rules,
    generateSeconds,
    readings,
    steadyReadings,
    ticks: minutes,
    steadyTicks,
    readingsPerSecond: steadyReadings / (steadyMs / 1000),
    onReadingPerSecond: steadyReadings / (readingMs / 1000),
    tickMsMean: tickMs / steadyTicks,
    tickMsMax: tickMax,
    tickShare: tickMs / steadyMs,
    scores,
    alerts: { ...alerts, byRule: [...openedByRule].sort((a, b) => b[1] - a[1]) },
    bytesPerPatient: gc ? (withState - without) / opts.patients : NaN,
    changelog: { mean: logTotal / opts.patients, max: logMax, recordsPerSecond: opts.patients / exportSeconds, seriesPointsMean: points / opts.patients, nodesMean: nodes / opts.patients, pointsByType: [...pointsByType].sort((a, b) => b[1] - a[1]).map(([t, n]) => [t, n / opts.patients]) },
    patientsHeld,
    pathways: [...pathways],
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-GB');

/** Rows for the bench table, and the detail under it. */
export function rulesReport(r: RulesBenchResult): { rows: string[]; detail: string[] } {
  const o = r.options;
  const rows = [
    `| rule engine: ${fmt(o.patients)} patients, all packs (${r.rules} rules), ${o.days} days of event time | ${fmt(r.readingsPerSecond)} readings/s on one core, steady state with ticks (target 200,000) |`,
    `| rule engine, onReading alone | ${fmt(r.onReadingPerSecond)} readings/s |`,
    `| rule engine, tick every simulated minute | ${r.tickMsMean.toFixed(1)} ms mean, ${r.tickMsMax.toFixed(1)} ms max per tick; ${(r.tickShare * 100).toFixed(0)}% of processor time |`,
    `| rule state per patient (retained heap) | ${Number.isNaN(r.bytesPerPatient) ? 'n/a (run with node --expose-gc)' : `${fmt(r.bytesPerPatient)} bytes (${(r.bytesPerPatient / 1024).toFixed(2)} KiB)`} (target under 2 KiB) |`,
    `| changelog record per patient (JSON) | ${fmt(r.changelog.mean)} bytes mean, ${fmt(r.changelog.max)} bytes max; ${fmt(r.changelog.recordsPerSecond)} records/s (exportPatient + JSON.stringify) |`,
  ];
  const detail = [
    `rule engine run: ${fmt(r.readings)} readings (${fmt(r.steadyReadings)} after ${o.warmupHours} h warm-up), ${fmt(r.ticks)} ticks, ${fmt(r.scores)} NEWS2 scores, ${fmt(r.patientsHeld)} patients held; stream built in ${r.generateSeconds.toFixed(1)} s (seed ${o.seed})`,
    `  pathways: ${r.pathways.map(([n, c]) => `${n} ${fmt(c)}`).join(', ')}`,
    `  alerts: ${fmt(r.alerts.events)} alert events: ${fmt(r.alerts.opened)} opened, ${fmt(r.alerts.escalated)} escalations, ${fmt(r.alerts.updated)} updates, ${fmt(r.alerts.resolved)} resolved (by rule or nurse); ${fmt(r.alerts.actions)} nurse actions`,
    `  opened by rule: ${r.alerts.byRule.map(([id, n]) => `${id} ${fmt(n)}`).join(', ')}`,
    `  state held per patient (mean): ${r.changelog.seriesPointsMean.toFixed(1)} series points, ${r.changelog.nodesMean.toFixed(1)} sustained/hysteresis nodes; points by series: ${r.changelog.pointsByType.map(([t, n]) => `${t} ${n.toFixed(1)}`).join(', ')}`,
  ];
  return { rows, detail };
}

/**
 * Alarm burden of a simulated-ward rehearsal, without a broker: the scenario's emissions (faults
 * included) in delivery order, through the real ingest decoder and the rules processor. `clock: live`
 * moves the timers as the rules role does during a rehearsal at the scenario's speed (every 15 s of
 * wall clock, at wall time, which runs ahead of the simulated readings: the simulator starts its
 * simulated time one duration before the wall clock); `clock: event` as `vw replay` does (every
 * simulated minute, at event time); `clock: readings` as the rules role does on the readings clock
 * (VW_RULES_CLOCK=readings, the demo's default for a rehearsal): every 15 s of wall clock, at the newest
 * reading's event time handled so far. Figures in docs/hazard-log.md (H7).
 *
 *   npx tsx test/bench/rules.ts --alarm-burden [--rules DIR] [--clock live|readings|event] [--scenario FILE]
 */
export async function rehearsalAlarmBurden(opts: { rulesDir: string; clock: 'live' | 'readings' | 'event'; scenario: string }) {
  const { loadScenario } = await import('../../simulators/scenario.ts');
  const { scenarioStream } = await import('../../simulators/ward-simulator.ts');
  const { createRegistry } = await import('../../src/registry/registry.ts');
  const { decodeDevicePayload } = await import('../../src/ingest/decode.ts');
  const { createPatientContexts } = await import('../../src/rules/patient-context.ts');
  const scenario = await loadScenario(opts.scenario);
  const start = Date.parse('2026-11-20T00:00:00Z');
  const duration = scenario.durationSeconds! * 1000;
  const s = scenarioStream(undefined, scenario, start);
  const registry = createRegistry(s.registry);
  const contexts = createPatientContexts(registry);
  const processor = createRulesProcessor({ news2: await loadNews2Rule(`${opts.rulesDir}/news2.yaml`), packs: await loadRulePacks(opts.rulesDir) });
  const emissions = [];
  for (let t = start + HOUR; ; t += HOUR) {
    emissions.push(...s.stream.take(Math.min(t, start + duration)));
    if (t >= start + duration) break;
  }
  emissions.sort((a, b) => a.deliverAtMs - b.deliverAtMs);
  const wall = (sim: number) => start + duration + (sim - start) / scenario.speed;
  const tickEvery = opts.clock === 'event' ? MINUTE : 15_000 * scenario.speed;
  let newestEventTime = 0;
  const timersAt = (sim: number) => (opts.clock === 'live' ? wall(sim) : opts.clock === 'readings' ? newestEventTime : sim);
  const openCheck = start + 90_000 * scenario.speed; // 90 s of wall clock into the rehearsal
  const open = new Map<string, Alert>();
  const raised: Array<{ sim: number; alert: Alert }> = [];
  let openAt90s: Record<string, number> | undefined;
  const take = (alerts: Alert[], sim: number) => {
    for (const a of alerts) {
      const key = `${a.patientId} ${a.ruleId}`;
      if (a.state === 'resolved') open.delete(key);
      else open.set(key, a);
      if (a.revision === 0) raised.push({ sim, alert: a });
    }
  };
  let nextTick = start + tickEvery;
  for (const e of emissions) {
    for (; nextTick <= e.deliverAtMs; nextTick += tickEvery) {
      if (timersAt(nextTick)) take(processor.tick(timersAt(nextTick)), nextTick);
      if (!openAt90s && nextTick >= openCheck) {
        openAt90s = {};
        for (const a of open.values()) openAt90s[a.ruleId] = (openAt90s[a.ruleId] ?? 0) + 1;
      }
    }
    const receivedAt = new Date(opts.clock === 'event' ? e.deliverAtMs : wall(e.deliverAtMs));
    for (const r of decodeDevicePayload({ topicDeviceId: e.deviceId, payload: Buffer.from(e.body), receivedAt }, { registry }).readings) {
      newestEventTime = Math.max(newestEventTime, Date.parse(r.ts));
      take(processor.onReading(r, contexts.contextOf(r.patientId, r.wardId, Date.parse(r.ts))).alerts, e.deliverAtMs);
    }
  }
  const byRule = (xs: Array<{ alert: Alert }>) => {
    const out: Record<string, number> = {};
    for (const { alert } of xs) out[alert.ruleId] = (out[alert.ruleId] ?? 0) + 1;
    return Object.fromEntries(Object.entries(out).sort());
  };
  const missing = ['no-spo2-data', 'no-temperature-data', 'no-weight-data', 'no-bp-data'];
  const day1 = raised.filter((r) => r.sim < start + DAY);
  const noSpo2 = raised.filter((r) => r.alert.ruleId === 'no-spo2-data');
  return {
    rules: opts.rulesDir,
    clock: opts.clock,
    emissions: emissions.length,
    raisedFirstDay: byRule(day1),
    raisedAllDays: byRule(raised),
    missingRaisedFirstDay: day1.filter((r) => missing.includes(r.alert.ruleId)).length,
    openAt90sWall: openAt90s ?? {},
    openAt90sWallTotal: Object.values(openAt90s ?? {}).reduce((a, b) => a + b, 0),
    noSpo2PatientsRaised: new Set(noSpo2.map((r) => r.alert.patientId)).size,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv.includes('--alarm-burden')) {
  const { values } = parseArgs({
    options: {
      'alarm-burden': { type: 'boolean' },
      rules: { type: 'string', default: 'rules' },
      clock: { type: 'string', default: 'live' },
      scenario: { type: 'string', default: 'simulators/scenarios/ward-3-days.yaml' },
    },
  });
  const clock = values.clock === 'event' ? 'event' : values.clock === 'readings' ? 'readings' : 'live';
  void rehearsalAlarmBurden({ rulesDir: values.rules!, clock, scenario: values.scenario! }).then((r) => process.stdout.write(`${JSON.stringify(r, null, 1)}\n`));
}
