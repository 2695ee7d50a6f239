import { CANONICAL_UNIT, type NumericReadingType } from '../domain/index.ts';

/**
 * Conversions from the units devices send to the canonical UCUM unit of each type. A unit not listed
 * for a type is refused rather than guessed.
 */
type Convert = (value: number) => number;
const same: Convert = (v) => v;
const round = (decimals: number) => (v: number) => Math.round(v * 10 ** decimals) / 10 ** decimals;

const RATE: Record<string, Convert> = { '/min': same, '{beats}/min': same, '{breaths}/min': same, 'count/min': same, '1/min': same };
const PRESSURE: Record<string, Convert> = { 'mm[Hg]': same, mmHg: same, kPa: (v) => Math.round(v * 7.50062) };

const CONVERSIONS: Record<NumericReadingType, Record<string, Convert>> = {
  respiratory_rate: RATE,
  heart_rate: RATE,
  spo2: { '%': same },
  systolic_bp: PRESSURE,
  diastolic_bp: PRESSURE,
  temperature: {
    Cel: same,
    C: same,
    '[degF]': (v) => round(1)(((v - 32) * 5) / 9),
    F: (v) => round(1)(((v - 32) * 5) / 9),
  },
  weight: {
    kg: same,
    g: (v) => round(3)(v / 1000),
    '[lb_av]': (v) => round(2)(v * 0.45359237),
    lb: (v) => round(2)(v * 0.45359237),
  },
};

export function toCanonicalUnit(type: NumericReadingType, value: number, unit: string): { value: number; unit: string } | undefined {
  const convert = CONVERSIONS[type][unit];
  return convert ? { value: convert(value), unit: CANONICAL_UNIT[type] } : undefined;
}

export function acceptedUnits(type: NumericReadingType): string[] {
  return Object.keys(CONVERSIONS[type]);
}
