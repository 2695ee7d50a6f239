import type { Acvpu } from '../src/domain/index.ts';
import { noise } from './rng.ts';

/**
 * Patients as vital-sign generators: a deterministic function of persona, simulated time and a seeded
 * rng, with natural noise, kept within physiological limits.
 */
export const PERSONAS = [
  'stable',
  'deteriorating',
  'copd_stable',
  'heart_failure_stable',
  'heart_failure_decompensating',
  'hypertensive',
  'paroxysmal_af',
  'post_op_fever',
  'non_adherent',
] as const;
export type Persona = (typeof PERSONAS)[number];

export interface Vitals {
  respiratory_rate: number;
  spo2: number;
  heart_rate: number;
  systolic_bp: number;
  diastolic_bp: number;
  temperature: number;
  consciousness: Acvpu;
  supplemental_oxygen: boolean;
  weight: number;
  /** Only for personas with a rhythm to report: true while an irregular rhythm is present. */
  irregular_rhythm?: boolean;
}

/**
 * When a persona's change happens. Deteriorating, post-operative fever and decompensating heart
 * failure ramp from onset to their worst state and hold it; paroxysmal AF has episodes `rampSeconds`
 * long, the first at onset, then every AF_EPISODE_PERIOD_SECONDS; a hypertensive patient's pressure is
 * severe (180/120 or more) from onset for `rampSeconds`, and now and then at other times.
 */
export interface PersonaTiming {
  /** Simulated seconds before deterioration starts. */
  onsetSeconds: number;
  /** Simulated seconds from onset to the worst state, which is then held. */
  rampSeconds: number;
}

/** 53 hours: episodes drift through the day instead of always striking at the same hour. */
export const AF_EPISODE_PERIOD_SECONDS = 53 * 3600;

/** True while a paroxysmal-AF persona is in an episode. */
export function inAfEpisode(tSeconds: number, timing: PersonaTiming): boolean {
  const since = tSeconds - timing.onsetSeconds;
  return since >= 0 && since % AF_EPISODE_PERIOD_SECONDS < timing.rampSeconds;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const lerp = (a: number, b: number, p: number) => a + (b - a) * p;
const round = (v: number, decimals = 0) => Math.round(v * 10 ** decimals) / 10 ** decimals;

function finish(v: Vitals): Vitals {
  return {
    respiratory_rate: round(clamp(v.respiratory_rate, 6, 45)),
    spo2: round(clamp(v.spo2, 70, 100)),
    heart_rate: round(clamp(v.heart_rate, 35, 180)),
    systolic_bp: round(clamp(v.systolic_bp, 70, 230)),
    diastolic_bp: round(clamp(v.diastolic_bp, 40, 130)),
    temperature: round(clamp(v.temperature, 34, 41.5), 1),
    consciousness: v.consciousness,
    supplemental_oxygen: v.supplemental_oxygen,
    weight: round(v.weight, 1),
    ...(v.irregular_rhythm !== undefined ? { irregular_rhythm: v.irregular_rhythm } : {}),
  };
}

/**
 * A gentle daily rhythm: heart rate and temperature lowest four hours after time zero, which is the
 * early morning for traces (they start at UK midnight) and four hours into a live run.
 */
function circadian(tSeconds: number): number {
  return Math.sin(((tSeconds / 3600 - 10) / 24) * 2 * Math.PI);
}

export function vitalsAt(persona: Persona, tSeconds: number, rng: () => number, timing: PersonaTiming): Vitals {
  const day = circadian(tSeconds);
  const progress = clamp((tSeconds - timing.onsetSeconds) / timing.rampSeconds, 0, 1);
  switch (persona) {
    case 'stable':
      return finish({
        respiratory_rate: 15 + noise(rng, 0.6),
        spo2: clamp(97.5 + noise(rng, 0.6), 96, 99),
        heart_rate: 74 + 4 * day + noise(rng, 3),
        systolic_bp: 127 + noise(rng, 4),
        diastolic_bp: 78 + noise(rng, 3),
        temperature: clamp(36.8 + 0.15 * day + noise(rng, 0.08), 36.5, 37.1),
        consciousness: 'A',
        supplemental_oxygen: false,
        weight: 71 + noise(rng, 0.1),
      });
    case 'deteriorating': {
      // An acute respiratory infection turning septic: starts mildly abnormal, as a patient admitted
      // to an ARI virtual ward would, and worsens steadily to a NEWS2 well above 7.
      const p = clamp((tSeconds - timing.onsetSeconds) / timing.rampSeconds, 0, 1);
      return finish({
        respiratory_rate: lerp(20, 28, p) + noise(rng, 0.4),
        spo2: lerp(95.5, 88, p) + noise(rng, 0.3),
        heart_rate: lerp(92, 130, p) + noise(rng, 1.5),
        systolic_bp: lerp(125, 94, p) + noise(rng, 2),
        diastolic_bp: lerp(80, 58, p) + noise(rng, 2),
        temperature: lerp(37.8, 39.4, p) + noise(rng, 0.05),
        consciousness: p >= 0.8 ? 'C' : 'A',
        supplemental_oxygen: false,
        weight: 84 + noise(rng, 0.1),
      });
    }
    case 'copd_stable':
      // Confirmed hypercapnic respiratory failure, target 88-92%: NEWS2 Scale 2, on air.
      return finish({
        respiratory_rate: 18 + noise(rng, 0.6),
        spo2: clamp(89.5 + noise(rng, 0.7), 88, 91),
        heart_rate: 82 + 3 * day + noise(rng, 2.5),
        systolic_bp: 134 + noise(rng, 4),
        diastolic_bp: 82 + noise(rng, 3),
        temperature: clamp(36.9 + 0.1 * day + noise(rng, 0.08), 36.5, 37.3),
        consciousness: 'A',
        supplemental_oxygen: false,
        weight: 64 + noise(rng, 0.1),
      });
    case 'heart_failure_stable':
      return finish({
        respiratory_rate: 16 + noise(rng, 0.6),
        spo2: clamp(96.5 + noise(rng, 0.6), 96, 99),
        heart_rate: 70 + 3 * day + noise(rng, 2.5),
        systolic_bp: 118 + noise(rng, 4),
        diastolic_bp: 72 + noise(rng, 3),
        temperature: clamp(36.7 + 0.1 * day + noise(rng, 0.08), 36.4, 37.1),
        consciousness: 'A',
        supplemental_oxygen: false,
        weight: 82 + noise(rng, 0.15),
      });
    case 'heart_failure_decompensating':
      // Fluid retention: weight climbs about 4 kg over the ramp, breathing and pulse follow.
      return finish({
        respiratory_rate: lerp(16, 22, progress) + noise(rng, 0.6),
        spo2: clamp(lerp(96.5, 94, progress) + noise(rng, 0.5), 92, 99),
        heart_rate: lerp(72, 92, progress) + 3 * day + noise(rng, 2.5),
        systolic_bp: 122 + noise(rng, 4),
        diastolic_bp: 74 + noise(rng, 3),
        temperature: clamp(36.7 + 0.1 * day + noise(rng, 0.08), 36.4, 37.1),
        consciousness: 'A',
        supplemental_oxygen: false,
        weight: 79 + lerp(0, 4, progress) + noise(rng, 0.15),
      });
    case 'hypertensive': {
      // Untreated stage 2 at home (average about 155/97), with the odd severe reading; during the
      // timing window every reading is severe, so a repeat confirms it.
      const severe = rng() < 0.03 || (tSeconds >= timing.onsetSeconds && tSeconds < timing.onsetSeconds + timing.rampSeconds);
      return finish({
        respiratory_rate: 15 + noise(rng, 0.6),
        spo2: clamp(97 + noise(rng, 0.6), 95, 99),
        heart_rate: 76 + 3 * day + noise(rng, 3),
        systolic_bp: (severe ? 186 : 155) + noise(rng, severe ? 3 : 6),
        diastolic_bp: (severe ? 122 : 97) + noise(rng, severe ? 1 : 4),
        temperature: clamp(36.8 + 0.15 * day + noise(rng, 0.08), 36.5, 37.1),
        consciousness: 'A',
        supplemental_oxygen: false,
        weight: 92 + noise(rng, 0.1),
      });
    }
    case 'paroxysmal_af': {
      const episode = inAfEpisode(tSeconds, timing);
      return finish({
        respiratory_rate: (episode ? 19 : 15) + noise(rng, 0.6),
        spo2: clamp(96.5 + noise(rng, 0.6), 95, 99),
        // Fast and irregular in an episode: 110-150 /min, beat to beat.
        heart_rate: episode ? 112 + rng() * 38 : 72 + 3 * day + noise(rng, 3),
        systolic_bp: (episode ? 112 : 128) + noise(rng, 5),
        diastolic_bp: (episode ? 74 : 80) + noise(rng, 3),
        temperature: clamp(36.8 + 0.15 * day + noise(rng, 0.08), 36.5, 37.1),
        consciousness: 'A',
        supplemental_oxygen: false,
        weight: 77 + noise(rng, 0.1),
        irregular_rhythm: episode,
      });
    }
    case 'post_op_fever':
      // Recovering from surgery, then a wound or chest infection: fever over 38 °C from onset.
      return finish({
        respiratory_rate: lerp(16, 21, progress) + noise(rng, 0.6),
        spo2: clamp(lerp(97, 95.5, progress) + noise(rng, 0.5), 94, 99),
        heart_rate: lerp(80, 102, progress) + 3 * day + noise(rng, 2.5),
        systolic_bp: 124 + noise(rng, 4),
        diastolic_bp: 76 + noise(rng, 3),
        temperature: lerp(37.0, 38.7, progress) + 0.1 * day + noise(rng, 0.08),
        consciousness: 'A',
        supplemental_oxygen: false,
        weight: 68 + noise(rng, 0.1),
      });
    case 'non_adherent':
      // Well enough; what sets this patient apart is the readings that never come (simulators/trace.ts).
      return finish({
        respiratory_rate: 16 + noise(rng, 0.6),
        spo2: clamp(96.5 + noise(rng, 0.6), 95, 99),
        heart_rate: 78 + 4 * day + noise(rng, 3),
        systolic_bp: 132 + noise(rng, 4),
        diastolic_bp: 82 + noise(rng, 3),
        temperature: clamp(36.9 + 0.15 * day + noise(rng, 0.08), 36.5, 37.3),
        consciousness: 'A',
        supplemental_oxygen: false,
        weight: 88 + noise(rng, 0.1),
      });
  }
}
