import { CANONICAL_UNIT, type NumericReadingType } from '../domain/index.ts';

/**
 * Conversions from the units devices send to the canonical UCUM unit of each type. A unit not listed
 * for a type is refused rather than guessed. The unit is device input, so the tables are Maps: a unit
 * such as `valueOf`, `constructor` or `__proto__` finds nothing, never an inherited property.
 */
type Convert = (value: number) => number;
const same: Convert = (v) => v;
const round = (decimals: number) => (v: number) => Math.round(v * 10 ** decimals) / 10 ** decimals;
const table = (entries: Record<string, Convert>): ReadonlyMap<string, Convert> => new Map(Object.entries(entries));

const RATE = table({ '/min': same, '{beats}/min': same, '{breaths}/min': same, 'count/min': same, '1/min': same });
const PRESSURE = table({ 'mm[Hg]': same, mmHg: same, kPa: (v) => Math.round(v * 7.50062) });

const CONVERSIONS: ReadonlyMap<string, ReadonlyMap<string, Convert>> = new Map<NumericReadingType, ReadonlyMap<string, Convert>>([
  ['respiratory_rate', RATE],
  ['heart_rate', RATE],
  ['spo2', table({ '%': same })],
  ['systolic_bp', PRESSURE],
  ['diastolic_bp', PRESSURE],
  [
    'temperature',
    table({
      Cel: same,
      C: same,
      '[degF]': (v) => round(1)(((v - 32) * 5) / 9),
      F: (v) => round(1)(((v - 32) * 5) / 9),
    }),
  ],
  [
    'weight',
    table({
      kg: same,
      g: (v) => round(3)(v / 1000),
      '[lb_av]': (v) => round(2)(v * 0.45359237),
      lb: (v) => round(2)(v * 0.45359237),
    }),
  ],
]);

/** The value in the type's canonical unit, or undefined for a unit (or type) not listed. */
export function toCanonicalUnit(type: NumericReadingType, value: number, unit: string): { value: number; unit: string } | undefined {
  const convert = CONVERSIONS.get(type)?.get(unit);
  if (!convert) return undefined;
  // A value that overflows in conversion (e.g. 1e308 kPa) is refused by the plausibility check.
  return { value: convert(value), unit: CANONICAL_UNIT[type] };
}

export function acceptedUnits(type: NumericReadingType): string[] {
  return [...(CONVERSIONS.get(type)?.keys() ?? [])];
}
