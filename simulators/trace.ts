import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { DeviceKind, Enrolment, Reading, RegistryData } from '../src/domain/index.ts';
import { decodeDevicePayload } from '../src/ingest/decode.ts';
import { loadRegistryFile } from '../src/registry/load.ts';
import { createRegistry } from '../src/registry/registry.ts';
import { londonDay } from '../src/time/calendar.ts';
import { encodeDevicePayload, type DeviceOptions } from './devices.ts';
import { awayAt, sessionOn, ukTime } from './habits.ts';
import { vitalsAt, type Persona, type PersonaTiming, type Vitals } from './personas.ts';
import { rngFor } from './rng.ts';
import { loadTraceScenario, type TraceScenario } from './scenario.ts';

/**
 * A simulated multi-day ward trace: what the ward's devices would have sent over days of home
 * monitoring, decoded by the real ingest decoders into canonical readings, written offline at
 * simulated time. A pure function of the scenario (and its seed) and the registry, so a trace can be
 * regenerated instead of stored, and replayed (`vw replay`) under any rule set.
 */
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** Where in an observation set each device is used, after the session starts: the order a patient works through them. */
const OBSERVATION_OFFSET_MS: Partial<Record<DeviceKind, number>> = { pulse_oximeter: 0, bp_cuff: 2 * MINUTE_MS, thermometer: 4 * MINUTE_MS, companion_app: 5 * MINUTE_MS };


/** An irregular-rhythm notification at most this often while the rhythm lasts, as watches repeat them. */
const NOTIFY_EVERY_MS = 3_600_000;

interface Measurement {
  deviceId: string;
  kind: DeviceKind;
  atMs: number;
  /** Second of a seated home-BP pair, or the only reading. */
  position?: 'sitting';
}

interface TracePatient {
  patientId: string;
  persona: Persona;
  timing: PersonaTiming;
  enrolments: Enrolment[];
}


export function traceStartMs(scenario: TraceScenario): number {
  return ukTime(Math.floor(Date.parse(`${scenario.startDate}T00:00:00Z`) / DAY_MS), 0);
}

function covers(e: Enrolment, t: number): boolean {
  return Date.parse(e.from) <= t && (e.until === undefined || t < Date.parse(e.until));
}

/** Every measurement one patient's devices take over the trace, in time order per device. */
function measurementsOf(p: TracePatient, scenario: TraceScenario, kinds: Map<string, DeviceKind>, startMs: number, endMs: number): Measurement[] {
  const { schedule, seed } = scenario;
  const firstDay = londonDay(startMs);
  const out: Measurement[] = [];
  const away = (t: number) => awayAt(p, startMs, t);
  const session = (name: string, day: number, hhmm: string) => sessionOn(p, { seed, startMs, schedule }, name, hhmm, day);
  const enrolled = (deviceId: string, t: number) => t >= startMs && t < endMs && p.enrolments.some((e) => e.deviceId === deviceId && covers(e, t));

  for (const e of p.enrolments) {
    const kind = kinds.get(e.deviceId)!;
    const add = (atMs: number, position?: 'sitting') => {
      if (enrolled(e.deviceId, atMs)) out.push({ deviceId: e.deviceId, kind, atMs, ...(position ? { position } : {}) });
    };
    if (kind === 'smartwatch' || kind === 'ecg_patch') {
      for (let t = startMs; t < endMs; t += schedule.watchEvery) if (!away(t)) add(t);
      continue;
    }
    for (let day = firstDay; ukTime(day, 0) < endMs; day++) {
      if (kind === 'scale') {
        const at = session('weight', day, schedule.weight);
        if (at !== undefined) add(at);
      } else if (kind === 'bp_cuff' && e.pathway === 'hypertension') {
        schedule.homeBp.forEach((hhmm, i) => {
          const at = session(`home-bp-${i}`, day, hhmm);
          if (at !== undefined) {
            add(at, 'sitting');
            add(at + MINUTE_MS, 'sitting');
          }
        });
      } else {
        const offset = OBSERVATION_OFFSET_MS[kind];
        if (offset === undefined) continue;
        schedule.observations.forEach((hhmm, i) => {
          const at = session(`observations-${i}`, day, hhmm);
          if (at !== undefined) add(at + offset);
        });
      }
    }
  }
  return out;
}

/** The payload the device sends for one measurement, in its own family's format (docs/payloads.md). */
function payloadOf(m: Measurement, vitals: (ms: number) => Vitals, options: DeviceOptions, notify: boolean, seed: number): object | undefined {
  const v = vitals(m.atMs);
  const iso = new Date(m.atMs).toISOString();
  switch (m.kind) {
    case 'smartwatch':
      return {
        deviceId: m.deviceId,
        sentAt: iso,
        heartRate: [{ time: iso, bpm: v.heart_rate }],
        ...(notify ? { irregularRhythm: { time: iso, detected: true } } : {}),
      };
    default:
      return encodeDevicePayload(m.kind, m.deviceId, m.atMs, 0, vitals, rngFor(seed, m.deviceId, m.atMs), options, m.position ? { position: m.position } : {});
  }
}

/**
 * The canonical readings of a trace, in event-time order. Throws if ingest would refuse anything the
 * simulated devices sent: that is a fault in the scenario or the registry, not data.
 */
export function generateTrace(data: RegistryData, scenario: TraceScenario): Reading[] {
  const registry = createRegistry(data);
  const kinds = new Map(data.devices.map((d) => [d.deviceId, d.kind]));
  const startMs = traceStartMs(scenario);
  const endMs = ukTime(londonDay(startMs) + scenario.days, 0);
  const readings: Reading[] = [];
  for (const sp of scenario.patients) {
    const enrolments = data.enrolments.filter((e) => e.patientId === sp.patientId);
    if (!enrolments.length) throw new Error(`trace ${scenario.name}: patient ${sp.patientId} has no enrolment in the registry`);
    const p: TracePatient = { patientId: sp.patientId, persona: sp.persona, timing: { onsetSeconds: sp.onset / 1000, rampSeconds: sp.ramp / 1000 }, enrolments };
    // Vitals are drawn per patient and second, as the live simulator does, so two devices measuring the same moment agree.
    const vitals = (ms: number) => vitalsAt(p.persona, (ms - startMs) / 1000, rngFor(scenario.seed, `${p.patientId}:vitals`, Math.floor(ms / 1000)), p.timing);
    const lastNotified = new Map<string, number>();
    const measurements = measurementsOf(p, scenario, kinds, startMs, endMs).sort((a, b) => a.atMs - b.atMs);
    for (const m of measurements) {
      let notify = false;
      if (m.kind === 'smartwatch' && vitals(m.atMs).irregular_rhythm) {
        const last = lastNotified.get(m.deviceId);
        notify = last === undefined || m.atMs - last >= NOTIFY_EVERY_MS;
        if (notify) lastNotified.set(m.deviceId, m.atMs);
      }
      const payload = payloadOf(m, vitals, scenario.devices[m.deviceId] ?? {}, notify, scenario.seed);
      if (!payload) continue;
      // Home devices sync within seconds to half a minute of measuring.
      const receivedAt = new Date(m.atMs + 2000 + Math.floor(rngFor(scenario.seed, `${m.deviceId}:receipt`, m.atMs / 1000)() * 28_000));
      const result = decodeDevicePayload({ topicDeviceId: m.deviceId, payload: Buffer.from(JSON.stringify(payload)), receivedAt }, { registry });
      if (result.rejections.length) {
        throw new Error(`trace ${scenario.name}: ingest refused ${m.deviceId} at ${new Date(m.atMs).toISOString()}: ${result.rejections.map((r) => `${r.reason} (${r.detail})`).join('; ')}`);
      }
      readings.push(...result.readings);
    }
  }
  // Stable: readings of one moment keep the order their devices sent them in.
  return readings.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
}

export function traceJsonl(readings: readonly Reading[]): string {
  return readings.map((r) => `${JSON.stringify(r)}\n`).join('');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'simulators/scenarios/ward-week.yaml' },
      seeds: { type: 'string', default: 'seeds/trace-ward.yaml' },
      out: { type: 'string' },
    },
  });
  if (!values.out) throw new Error('usage: npx tsx simulators/trace.ts --scenario FILE --seeds FILE --out FILE (- for stdout)');
  const { data } = await loadRegistryFile(values.seeds);
  const scenario = await loadTraceScenario(values.scenario);
  const readings = generateTrace(data, scenario);
  const text = traceJsonl(readings);
  if (values.out === '-') process.stdout.write(text);
  else await writeFile(values.out, text);
  const patients = new Set(readings.map((r) => r.patientId)).size;
  process.stderr.write(`trace ${scenario.name}: ${readings.length} readings, ${patients} patients, ${scenario.days} days${values.out === '-' ? '' : ` → ${values.out}`}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`trace: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
