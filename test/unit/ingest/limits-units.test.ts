import { describe, expect, it } from 'vitest';
import type { NumericReadingType } from '../../../src/domain/index.ts';
import { implausibility, PLAUSIBLE } from '../../../src/ingest/plausibility.ts';
import { acceptedUnits, toCanonicalUnit } from '../../../src/ingest/units.ts';

/**
 * Unit normalisation and physiological limits, value by value: every accepted unit, each conversion's
 * rounding, and the exact edges of every limit (an edge value is a patient state and must reach the rules).
 */
describe('physiological limits, at their edges', () => {
  const LIMITS: Array<[NumericReadingType, number, number, string]> = [
    ['heart_rate', 20, 300, '/min'],
    ['respiratory_rate', 1, 80, '/min'],
    ['spo2', 40, 100, '%'],
    ['systolic_bp', 40, 300, 'mm[Hg]'],
    ['diastolic_bp', 20, 200, 'mm[Hg]'],
    ['temperature', 25, 45, 'Cel'],
    ['weight', 1, 400, 'kg'],
  ];

  it('has exactly these limits, one per numeric type', () => {
    expect(Object.entries(PLAUSIBLE).map(([type, l]) => [type, l.min, l.max, l.unit]).sort()).toEqual([...LIMITS].sort());
  });

  it.each(LIMITS)('%s: %d and %d are plausible, a step outside either is not', (type, min, max, unit) => {
    expect(implausibility(type, min)).toBeUndefined();
    expect(implausibility(type, max)).toBeUndefined();
    expect(implausibility(type, (min + max) / 2)).toBeUndefined();
    expect(implausibility(type, min - 0.1)).toBe(`${min - 0.1} ${unit} outside ${min}-${max}`);
    expect(implausibility(type, max + 0.1)).toBe(`${max + 0.1} ${unit} outside ${min}-${max}`);
  });

  it('refuses values that are not numbers at all (NaN, infinities)', () => {
    expect(implausibility('heart_rate', Number.NaN)).toBe('NaN /min outside 20-300');
    expect(implausibility('temperature', Number.POSITIVE_INFINITY)).toBe('Infinity Cel outside 25-45');
    expect(implausibility('weight', Number.NEGATIVE_INFINITY)).toBe('-Infinity kg outside 1-400');
  });

  it('has no limits for a type it does not know, and never reads the prototype', () => {
    expect(implausibility('news2' as NumericReadingType, 5)).toBe('no limits for news2');
    expect(implausibility('constructor' as NumericReadingType, 5)).toBe('no limits for constructor');
    expect(implausibility('__proto__' as NumericReadingType, 5)).toBe('no limits for __proto__');
    // The type is quoted to 40 characters at most.
    expect(implausibility('x'.repeat(60) as NumericReadingType, 5)).toBe(`no limits for ${'x'.repeat(40)}`);
  });
});

describe('unit normalisation to the canonical UCUM unit', () => {
  it.each([
    ['respiratory_rate', ['/min', '{beats}/min', '{breaths}/min', 'count/min', '1/min']],
    ['heart_rate', ['/min', '{beats}/min', '{breaths}/min', 'count/min', '1/min']],
    ['spo2', ['%']],
    ['systolic_bp', ['mm[Hg]', 'mmHg', 'kPa']],
    ['diastolic_bp', ['mm[Hg]', 'mmHg', 'kPa']],
    ['temperature', ['Cel', 'C', '[degF]', 'F']],
    ['weight', ['kg', 'g', '[lb_av]', 'lb']],
  ] as const)('%s accepts exactly %j', (type, units) => {
    expect(acceptedUnits(type)).toEqual(units);
  });

  it.each([
    ['respiratory_rate', '/min'],
    ['respiratory_rate', '{breaths}/min'],
    ['respiratory_rate', 'count/min'],
    ['respiratory_rate', '1/min'],
    ['heart_rate', '/min'],
    ['heart_rate', '{beats}/min'],
    ['heart_rate', 'count/min'],
    ['heart_rate', '1/min'],
  ] as const)('%s in %s is a rate per minute, unchanged', (type, unit) => {
    expect(toCanonicalUnit(type, 17.5, unit)).toEqual({ value: 17.5, unit: '/min' });
  });

  it('keeps SpO2 in %, refusing a fraction', () => {
    expect(toCanonicalUnit('spo2', 96, '%')).toEqual({ value: 96, unit: '%' });
    expect(toCanonicalUnit('spo2', 0.96, '1')).toBeUndefined();
  });

  it('converts kPa to whole mmHg (1 kPa = 7.50062 mmHg), leaves mmHg as it is', () => {
    expect(toCanonicalUnit('systolic_bp', 16, 'kPa')).toEqual({ value: 120, unit: 'mm[Hg]' });
    // 16.1 kPa is 120.76 mmHg: rounded to the nearest whole mmHg, not down.
    expect(toCanonicalUnit('systolic_bp', 16.1, 'kPa')).toEqual({ value: 121, unit: 'mm[Hg]' });
    expect(toCanonicalUnit('diastolic_bp', 10.6, 'kPa')).toEqual({ value: 80, unit: 'mm[Hg]' });
    expect(toCanonicalUnit('systolic_bp', 121.5, 'mmHg')).toEqual({ value: 121.5, unit: 'mm[Hg]' });
    expect(toCanonicalUnit('diastolic_bp', 79.5, 'mm[Hg]')).toEqual({ value: 79.5, unit: 'mm[Hg]' });
  });

  it('converts °F to °C to one decimal place, leaves °C as it is', () => {
    expect(toCanonicalUnit('temperature', 98.6, 'F')).toEqual({ value: 37, unit: 'Cel' });
    // (100.5 - 32) × 5/9 = 38.0555…: one decimal, rounded.
    expect(toCanonicalUnit('temperature', 100.5, '[degF]')).toEqual({ value: 38.1, unit: 'Cel' });
    expect(toCanonicalUnit('temperature', 100.5, 'F')).toEqual({ value: 38.1, unit: 'Cel' });
    // 95 °F is 35 °C exactly, the NEWS2 edge between scores 3 and 1.
    expect(toCanonicalUnit('temperature', 95, 'F')).toEqual({ value: 35, unit: 'Cel' });
    expect(toCanonicalUnit('temperature', 37.25, 'C')).toEqual({ value: 37.25, unit: 'Cel' });
    expect(toCanonicalUnit('temperature', 37.25, 'Cel')).toEqual({ value: 37.25, unit: 'Cel' });
  });

  it('converts g to kg to three decimals, lb to kg to two (1 lb = 0.45359237 kg)', () => {
    expect(toCanonicalUnit('weight', 82512.4, 'g')).toEqual({ value: 82.512, unit: 'kg' });
    expect(toCanonicalUnit('weight', 82512.6, 'g')).toEqual({ value: 82.513, unit: 'kg' });
    expect(toCanonicalUnit('weight', 1, 'lb')).toEqual({ value: 0.45, unit: 'kg' });
    expect(toCanonicalUnit('weight', 150, '[lb_av]')).toEqual({ value: 68.04, unit: 'kg' });
    expect(toCanonicalUnit('weight', 150, 'lb')).toEqual({ value: 68.04, unit: 'kg' });
    expect(toCanonicalUnit('weight', 80.25, 'kg')).toEqual({ value: 80.25, unit: 'kg' });
  });

  it('refuses a unit of another type, a unit in the wrong case, and an unknown type', () => {
    expect(toCanonicalUnit('heart_rate', 70, '%')).toBeUndefined();
    expect(toCanonicalUnit('spo2', 96, '/min')).toBeUndefined();
    expect(toCanonicalUnit('temperature', 37, 'cel')).toBeUndefined();
    expect(toCanonicalUnit('weight', 80, 'KG')).toBeUndefined();
    expect(toCanonicalUnit('weight', 80, '')).toBeUndefined();
    expect(toCanonicalUnit('news2' as NumericReadingType, 5, '/min')).toBeUndefined();
    expect(acceptedUnits('news2' as NumericReadingType)).toEqual([]);
  });
});
