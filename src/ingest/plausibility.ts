import type { NumericReadingType } from '../domain/index.ts';

/**
 * Physiological limits, in canonical units, outside which a value is a device or transmission fault,
 * not a patient state. Deliberately wide: an extreme but possible value must reach the rules.
 */
export const PLAUSIBLE: Record<NumericReadingType, { min: number; max: number; unit: string }> = {
  heart_rate: { min: 20, max: 300, unit: '/min' },
  respiratory_rate: { min: 1, max: 80, unit: '/min' },
  spo2: { min: 40, max: 100, unit: '%' },
  systolic_bp: { min: 40, max: 300, unit: 'mm[Hg]' },
  diastolic_bp: { min: 20, max: 200, unit: 'mm[Hg]' },
  temperature: { min: 25, max: 45, unit: 'Cel' },
  weight: { min: 1, max: 400, unit: 'kg' },
};

/** Undefined when plausible, otherwise what is wrong. */
export function implausibility(type: NumericReadingType, value: number): string | undefined {
  // Own properties only: the type has been checked, but a lookup keyed by input never reaches the prototype.
  const limit = Object.hasOwn(PLAUSIBLE, type) ? PLAUSIBLE[type] : undefined;
  if (!limit) return `no limits for ${String(type).slice(0, 40)}`;
  if (value >= limit.min && value <= limit.max) return undefined;
  return `${value} ${limit.unit} outside ${limit.min}-${limit.max}`;
}
