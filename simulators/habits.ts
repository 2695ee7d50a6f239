import type { DeviceKind, Pathway } from '../src/domain/index.ts';
import { londonDay, londonOffset } from '../src/time/calendar.ts';
import type { DeviceOptions, ReportDetail } from './devices.ts';
import { vitalsAt, type Persona, type PersonaTiming, type Vitals } from './personas.ts';
import { rngFor } from './rng.ts';
import type { Schedule } from './scenario.ts';

/**
 * When each device family reports, as the real ones do:
 * - smartwatch: a batch of heart-rate samples every minute while worn, an SpO2 spot check now and
 *   then, an irregular-rhythm notification when the rhythm is irregular (again each hour it lasts);
 *   off the wrist for an hour a day on its charger, and flat if its owner forgets to charge it;
 * - pulse oximeter: every second while worn (continuous) or at the observation sessions (spot);
 * - ECG patch: heart rate and breathing rate every second;
 * - BP cuff: seated pairs morning and evening on the hypertension pathway, else at observations;
 * - thermometer and companion app: at the observation sessions; scale: each morning.
 * Every function here is a pure function of the seed and the time asked about, never of what was
 * asked before, so a stream cut into windows of any size is the same stream.
 */
const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

export interface SimDevice {
  deviceId: string;
  kind: DeviceKind;
  patientId: string;
  pathway: Pathway;
  persona: Persona;
  timing: PersonaTiming;
  options: DeviceOptions;
  /** A smartwatch whose owner forgets to charge it on some days (the low-battery fault). */
  forgetsCharging?: boolean;
}

export interface HabitContext {
  seed: number;
  /** Simulated start: personas' time counts from here, and every device starts charged. */
  startMs: number;
  schedule: Schedule;
  cadence?: Partial<Record<DeviceKind, number>>;
  /** Chance a forgetful owner does not charge the watch on a given day. */
  forgetChance: number;
}

export interface Measurement {
  atMs: number;
  detail: ReportDetail;
}

/** Where in an observation session each device is used: the order a patient works through them. */
const SESSION_OFFSET: Partial<Record<DeviceKind, number>> = { pulse_oximeter: 0, bp_cuff: 2 * MINUTE, thermometer: 4 * MINUTE, companion_app: 5 * MINUTE };
/** Non-adherent patients miss this share of sessions, besides a stretch with no readings at all. */
export const NON_ADHERENT_MISSED = 0.35;
const WATCH_BATCH = MINUTE;
const WATCH_SAMPLE_EVERY = 10 * SECOND;
/** About one SpO2 spot check every three hours of wear. */
const SPO2_SPOT_CHECKS_PER_MS = 1 / (3 * HOUR);
/** A watch lasts about 28 hours on a charge, and charges for an hour a day around 07:00. */
const BATTERY_DRAIN_PER_MS = 100 / (28 * HOUR);
const CHARGE_MINUTES = 7 * 60;
const CHARGE_MS = HOUR;

export const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** UTC of a UK local time on a UK calendar day (days since 1970-01-01). */
export function ukTime(day: number, minutes: number): number {
  const naive = day * DAY + minutes * MINUTE;
  return naive - londonOffset(naive);
}

/** The patient's vitals at any moment, drawn per patient and second so two devices measuring one moment agree. */
export function vitalsOf(d: Pick<SimDevice, 'patientId' | 'persona' | 'timing'>, ctx: Pick<HabitContext, 'seed' | 'startMs'>): (ms: number) => Vitals {
  return (ms) => vitalsAt(d.persona, (ms - ctx.startMs) / 1000, rngFor(ctx.seed, `${d.patientId}:vitals`, Math.floor(ms / 1000)), d.timing);
}

function periodic(t0: number, t1: number, phase: number, period: number): number[] {
  const out: number[] = [];
  for (let t = phase + Math.ceil((t0 - phase) / period) * period; t < t1; t += period) out.push(t);
  return out;
}

type PatientTiming = Pick<SimDevice, 'patientId' | 'persona' | 'timing'>;

/** Non-adherent patients leave their devices in a drawer from onset for the ramp. */
export function awayAt(p: PatientTiming, startMs: number, t: number): boolean {
  const since = (t - startMs) / 1000 - p.timing.onsetSeconds;
  return p.persona === 'non_adherent' && since >= 0 && since < p.timing.rampSeconds;
}

const away = (d: SimDevice, ctx: HabitContext, t: number) => awayAt(d, ctx.startMs, t);

/**
 * A named daily session's start on a UK day, jittered, or undefined when the patient skips it or is
 * away. Drawn per patient, not per device: one session's devices are used together or not at all.
 */
export function sessionOn(
  p: PatientTiming,
  ctx: { seed: number; startMs: number; schedule: Pick<Schedule, 'missed' | 'jitter'> },
  name: string,
  hhmm: string,
  day: number,
): number | undefined {
  const rng = rngFor(ctx.seed, `${p.patientId}:session:${name}`, day);
  const skip = rng() < (p.persona === 'non_adherent' ? NON_ADHERENT_MISSED : ctx.schedule.missed);
  const at = Math.round((ukTime(day, minutesOf(hhmm)) + (rng() * 2 - 1) * ctx.schedule.jitter) / SECOND) * SECOND;
  return skip || awayAt(p, ctx.startMs, at) ? undefined : at;
}

/** Session start times in [t0, t1) for one named daily session. */
function sessions(d: SimDevice, ctx: HabitContext, name: string, hhmm: string, t0: number, t1: number): number[] {
  const out: number[] = [];
  const margin = ctx.schedule.jitter + 10 * MINUTE;
  for (let day = londonDay(t0 - margin); ukTime(day, 0) < t1 + margin; day++) {
    const at = sessionOn(d, ctx, name, hhmm, day);
    if (at !== undefined && at >= t0 && at < t1 && at >= ctx.startMs) out.push(at);
  }
  return out;
}

/** When the watch last came off its charger at or before `t`, or undefined if flat since. */
function chargeWindow(d: SimDevice, ctx: HabitContext, day: number): { from: number; to: number; charged: boolean } {
  const rng = rngFor(ctx.seed, `${d.deviceId}:charge`, day);
  const from = ukTime(day, CHARGE_MINUTES) + Math.round((rng() * 2 - 1) * 45) * MINUTE;
  const charged = !d.forgetsCharging || rng() >= ctx.forgetChance;
  return { from, to: from + CHARGE_MS, charged };
}

/** Battery percent at `t`, or undefined while the watch is on its charger. */
export function watchBattery(d: SimDevice, ctx: HabitContext, t: number): number | undefined {
  const today = londonDay(t);
  for (let day = today; day >= today - 5; day--) {
    const w = chargeWindow(d, ctx, day);
    if (!w.charged || w.from > t) continue;
    if (t < w.to) return undefined;
    return Math.max(0, 100 - (t - Math.max(w.to, ctx.startMs)) * BATTERY_DRAIN_PER_MS);
  }
  return Math.max(0, 100 - (t - ctx.startMs) * BATTERY_DRAIN_PER_MS);
}

function watchMeasurements(d: SimDevice, ctx: HabitContext, t0: number, t1: number): Measurement[] {
  const period = (ctx.cadence?.smartwatch ?? 0) * SECOND || WATCH_BATCH;
  const vitals = vitalsOf(d, ctx);
  const samples = Math.max(1, Math.min(6, Math.round(period / WATCH_SAMPLE_EVERY)));
  const out: Measurement[] = [];
  for (const atMs of periodic(t0, t1, ctx.startMs, period)) {
    if (away(d, ctx, atMs)) continue;
    // Unless a demo sets its cadence, the watch is off the wrist while charging and silent once flat.
    const battery = ctx.cadence?.smartwatch ? 90 : watchBattery(d, ctx, atMs);
    if (battery === undefined || battery <= 0) continue;
    const rng = rngFor(ctx.seed, `${d.deviceId}:habit`, atMs);
    const irregular = vitals(atMs).irregular_rhythm === true;
    // Notified when the rhythm turns irregular, and again each hour while it lasts.
    const notify = irregular && (vitals(atMs - period).irregular_rhythm !== true || Math.floor(atMs / HOUR) !== Math.floor((atMs - period) / HOUR));
    out.push({
      atMs,
      detail: {
        samples,
        batteryPercent: Math.max(1, Math.ceil(battery)),
        ...(rng() < period * SPO2_SPOT_CHECKS_PER_MS ? { spo2SpotCheck: true } : {}),
        ...(notify ? { irregularRhythmNotification: true } : {}),
      },
    });
  }
  return out;
}

/** Every report the device makes with event time in [t0, t1), in time order. */
export function measurementsBetween(d: SimDevice, ctx: HabitContext, t0: number, t1: number): Measurement[] {
  const from = Math.max(t0, ctx.startMs);
  if (from >= t1) return [];
  if (d.kind === 'smartwatch') return watchMeasurements(d, ctx, from, t1);
  const plain = (times: number[]): Measurement[] => times.filter((t) => !away(d, ctx, t)).map((atMs) => ({ atMs, detail: {} }));
  const cadence = ctx.cadence?.[d.kind];
  if (cadence) return plain(periodic(from, t1, ctx.startMs, cadence * SECOND));
  const { schedule } = ctx;
  switch (d.kind) {
    case 'ecg_patch':
      return plain(periodic(from, t1, ctx.startMs, SECOND));
    case 'scale':
      return plain(sessions(d, ctx, 'weight', schedule.weight, from, t1));
    case 'bp_cuff':
      if (d.pathway === 'hypertension') {
        const pairs = schedule.homeBp.flatMap((hhmm, i) => sessions(d, ctx, `home-bp-${i}`, hhmm, from - MINUTE, t1).flatMap((at) => [at, at + MINUTE]));
        return pairs
          .filter((t) => t >= from && t < t1)
          .sort((a, b) => a - b)
          .map((atMs) => ({ atMs, detail: { position: 'sitting' as const } }));
      }
      break;
    case 'pulse_oximeter':
      if (d.options.mode === 'continuous') {
        // Off the finger for half an hour a day (washing, charging); otherwise every second.
        const offs = new Map<number, number>();
        const offAt = (day: number) => {
          let off = offs.get(day);
          if (off === undefined) offs.set(day, (off = ukTime(day, 0) + Math.floor(rngFor(ctx.seed, `${d.deviceId}:off`, day)() * 47) * 30 * MINUTE));
          return off;
        };
        return plain(
          periodic(from, t1, ctx.startMs, SECOND).filter((t) => {
            const off = offAt(londonDay(t));
            return t < off || t >= off + 30 * MINUTE;
          }),
        );
      }
      break;
    default:
      break;
  }
  const offset = SESSION_OFFSET[d.kind] ?? 0;
  return plain(
    schedule.observations
      .flatMap((hhmm, i) => sessions(d, ctx, `observations-${i}`, hhmm, from - offset, t1).map((at) => at + offset))
      .filter((t) => t >= from && t < t1)
      .sort((a, b) => a - b),
  );
}

/** The usual gap between a family's reports, for the interval a report covers. */
export function reportIntervalMs(kind: DeviceKind, ctx: Pick<HabitContext, 'cadence'>): number {
  const cadence = ctx.cadence?.[kind];
  if (cadence) return cadence * SECOND;
  return kind === 'smartwatch' ? WATCH_BATCH : SECOND;
}
