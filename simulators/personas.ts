import type { Acvpu } from '../src/domain/index.ts';
import { noise } from './rng.ts';

/**
 * Patients as vital-sign generators: a deterministic function of persona, simulated time and a seeded
 * rng, with natural noise, kept within physiological limits.
 */
export const PERSONAS = ['stable', 'deteriorating', 'copd_stable', 'heart_failure_stable'] as const;
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
}

export interface PersonaTiming {
  /** Simulated seconds before deterioration starts. */
  onsetSeconds: number;
  /** Simulated seconds from onset to the worst state, which is then held. */
  rampSeconds: number;
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
  };
}

/** A gentle daily rhythm: heart rate and temperature lowest in the early morning. */
function circadian(tSeconds: number): number {
  return Math.sin(((tSeconds / 3600 - 10) / 24) * 2 * Math.PI);
}

export function vitalsAt(persona: Persona, tSeconds: number, rng: () => number, timing: PersonaTiming): Vitals {
  const day = circadian(tSeconds);
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
  }
}
