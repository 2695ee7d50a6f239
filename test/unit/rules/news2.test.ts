import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Acvpu } from '../../../src/domain/index.ts';
import { loadNews2Rule, parseNews2Rule, type News2Rule } from '../../../src/rules/news2/rule-file.ts';
import { roundHalfUp, scoreNews2, type News2Input } from '../../../src/rules/news2/score.ts';

/**
 * Expectations come from the RCP NEWS2 chart as written here, independently of rules/news2.yaml,
 * so a wrong edit to the rule file fails these tests.
 */
const RCP = {
  respiratory_rate: (v: number) => (v <= 8 ? 3 : v <= 11 ? 1 : v <= 20 ? 0 : v <= 24 ? 2 : 3),
  spo2_1: (v: number) => (v <= 91 ? 3 : v <= 93 ? 2 : v <= 95 ? 1 : 0),
  spo2_2: (v: number, oxygen: boolean) =>
    v <= 83 ? 3 : v <= 85 ? 2 : v <= 87 ? 1 : v <= 92 || !oxygen ? 0 : v <= 94 ? 1 : v <= 96 ? 2 : 3,
  systolic_bp: (v: number) => (v <= 90 ? 3 : v <= 100 ? 2 : v <= 110 ? 1 : v <= 219 ? 0 : 3),
  heart_rate: (v: number) => (v <= 40 ? 3 : v <= 50 ? 1 : v <= 90 ? 0 : v <= 110 ? 1 : v <= 130 ? 2 : 3),
  temperature: (v: number) => (v <= 35.0 ? 3 : v <= 36.0 ? 1 : v <= 38.0 ? 0 : v <= 39.0 ? 1 : 2),
};

const NORMAL: Required<Omit<News2Input, 'spo2Scale'>> = {
  respiratory_rate: 16,
  spo2: 97,
  supplemental_oxygen: false,
  systolic_bp: 120,
  heart_rate: 70,
  consciousness: 'A',
  temperature: 37.0,
};

let rule: News2Rule;
beforeAll(async () => {
  rule = await loadNews2Rule('rules/news2.yaml');
});

const full = (overrides: Partial<News2Input> = {}): News2Input => ({ spo2Scale: 1, ...NORMAL, ...overrides });

describe('NEWS2 sub-scores at every boundary of the RCP chart', () => {
  it.each([7, 8, 9, 11, 12, 20, 21, 24, 25, 26])('respiratory rate %i', (v) => {
    expect(scoreNews2(rule, full({ respiratory_rate: v })).subscores.respiratory_rate).toBe(RCP.respiratory_rate(v));
  });
  it.each([90, 91, 92, 93, 94, 95, 96, 100])('SpO2 Scale 1: %i%', (v) => {
    expect(scoreNews2(rule, full({ spo2: v })).subscores.spo2).toBe(RCP.spo2_1(v));
  });
  it.each([82, 83, 84, 85, 86, 87, 88, 92, 93, 94, 95, 96, 97, 100])('SpO2 Scale 2 on air: %i%', (v) => {
    expect(scoreNews2(rule, full({ spo2Scale: 2, spo2: v, supplemental_oxygen: false })).subscores.spo2).toBe(RCP.spo2_2(v, false));
  });
  it.each([83, 84, 85, 86, 87, 88, 92, 93, 94, 95, 96, 97, 100])('SpO2 Scale 2 on oxygen: %i%', (v) => {
    expect(scoreNews2(rule, full({ spo2Scale: 2, spo2: v, supplemental_oxygen: true })).subscores.spo2).toBe(RCP.spo2_2(v, true));
  });
  it.each([89, 90, 91, 100, 101, 110, 111, 219, 220, 230])('systolic BP %i', (v) => {
    expect(scoreNews2(rule, full({ systolic_bp: v })).subscores.systolic_bp).toBe(RCP.systolic_bp(v));
  });
  it.each([39, 40, 41, 50, 51, 90, 91, 110, 111, 130, 131, 150])('pulse %i', (v) => {
    expect(scoreNews2(rule, full({ heart_rate: v })).subscores.heart_rate).toBe(RCP.heart_rate(v));
  });
  it.each([34.9, 35.0, 35.1, 36.0, 36.1, 38.0, 38.1, 39.0, 39.1, 40.5])('temperature %f', (v) => {
    expect(scoreNews2(rule, full({ temperature: v })).subscores.temperature).toBe(RCP.temperature(v));
  });
  it.each([['A', 0], ['C', 3], ['V', 3], ['P', 3], ['U', 3]] as const)('consciousness %s scores %i', (level, expected) => {
    expect(scoreNews2(rule, full({ consciousness: level as Acvpu })).subscores.consciousness).toBe(expected);
  });
  it.each([1, 2] as const)('supplemental oxygen adds 2 on Scale %i', (scale) => {
    const air = scoreNews2(rule, full({ spo2Scale: scale, spo2: 90, supplemental_oxygen: false }));
    const oxygen = scoreNews2(rule, full({ spo2Scale: scale, spo2: 90, supplemental_oxygen: true }));
    expect(oxygen.subscores.supplemental_oxygen).toBe(2);
    expect(air.subscores.supplemental_oxygen).toBe(0);
    expect(oxygen.total - air.total).toBe(2);
  });
});

describe('Scale 2', () => {
  it('scores 93-96% on air as 0, not 1-3 (the common bug)', () => {
    for (const spo2 of [93, 94, 95, 96]) {
      const result = scoreNews2(rule, full({ spo2Scale: 2, spo2, supplemental_oxygen: false }));
      expect(result.subscores.spo2).toBe(0);
      expect(result.total).toBe(0);
    }
  });
  it('scores the same SpO2 of 97% 0 on air and 3 (+2 for oxygen) on oxygen', () => {
    expect(scoreNews2(rule, full({ spo2Scale: 2, spo2: 97, supplemental_oxygen: false })).total).toBe(0);
    expect(scoreNews2(rule, full({ spo2Scale: 2, spo2: 97, supplemental_oxygen: true })).total).toBe(5);
  });
  it('cannot score 93% or more without knowing air or oxygen, but can below 93%', () => {
    const unknown = scoreNews2(rule, { spo2Scale: 2, spo2: 94 });
    expect(unknown.subscores.spo2).toBeUndefined();
    expect(unknown.missing).toContain('spo2');
    const low = scoreNews2(rule, { spo2Scale: 2, spo2: 85 });
    expect(low.subscores.spo2).toBe(2);
  });
  it('on Scale 1 scores SpO2 without the oxygen state', () => {
    expect(scoreNews2(rule, { spo2Scale: 1, spo2: 93 }).subscores.spo2).toBe(2);
  });
});

describe('bands', () => {
  const cases: Array<[string, Partial<News2Input>, number, string]> = [
    ['all normal', {}, 0, 'low'],
    ['total 4 without a 3', { respiratory_rate: 22, heart_rate: 115 }, 4, 'low'],
    ['single parameter 3, total 3', { respiratory_rate: 25 }, 3, 'low-medium'],
    ['single parameter 3, total 4', { respiratory_rate: 25, heart_rate: 95 }, 4, 'low-medium'],
    ['total 5 (key threshold)', { respiratory_rate: 22, heart_rate: 115, temperature: 38.5 }, 5, 'medium'],
    ['total 5 including a 3', { respiratory_rate: 25, heart_rate: 115 }, 5, 'medium'],
    ['total 6', { respiratory_rate: 22, heart_rate: 115, temperature: 39.5 }, 6, 'medium'],
    ['total 7', { respiratory_rate: 25, heart_rate: 115, temperature: 39.5 }, 7, 'high'],
    ['everything at its worst', { respiratory_rate: 5, spo2: 80, supplemental_oxygen: true, systolic_bp: 80, heart_rate: 35, consciousness: 'U', temperature: 34 }, 20, 'high'],
  ];
  it.each(cases)('%s', (_name, overrides, total, band) => {
    const result = scoreNews2(rule, full(overrides));
    expect(result.total).toBe(total);
    expect(result.band).toBe(band);
    expect(result.partial).toBe(false);
  });
});

describe('rounding', () => {
  it('rounds rates to whole numbers, halves up, and temperature to one decimal', () => {
    expect(scoreNews2(rule, full({ respiratory_rate: 8.4 })).subscores.respiratory_rate).toBe(3);
    expect(scoreNews2(rule, full({ respiratory_rate: 8.5 })).subscores.respiratory_rate).toBe(1);
    expect(scoreNews2(rule, full({ heart_rate: 90.5 })).subscores.heart_rate).toBe(1);
    expect(scoreNews2(rule, full({ temperature: 38.04 })).subscores.temperature).toBe(0);
    expect(scoreNews2(rule, full({ temperature: 38.05 })).subscores.temperature).toBe(1);
    expect(scoreNews2(rule, full({ temperature: 35.05 })).subscores.temperature).toBe(1);
    expect(roundHalfUp(38.05, 1)).toBe(38.1);
    expect(roundHalfUp(92.5, 0)).toBe(93);
  });
});

describe('partial scores', () => {
  it('marks a missing parameter and scores the rest as a lower bound', () => {
    const result = scoreNews2(rule, { spo2Scale: 1, respiratory_rate: 25, heart_rate: 120 });
    expect(result.partial).toBe(true);
    expect(result.missing.sort()).toEqual(['consciousness', 'spo2', 'supplemental_oxygen', 'systolic_bp', 'temperature']);
    expect(result.total).toBe(5);
    expect(result.band).toBe('medium');
  });
  it('never reports an empty set as a normal score', () => {
    const result = scoreNews2(rule, { spo2Scale: 1 });
    expect(result.partial).toBe(true);
    expect(result.missing).toHaveLength(7);
  });
});

describe('properties', () => {
  const input = fc.record({
    spo2Scale: fc.constantFrom(1 as const, 2 as const),
    respiratory_rate: fc.double({ min: 0, max: 80, noNaN: true }),
    spo2: fc.double({ min: 40, max: 100, noNaN: true }),
    supplemental_oxygen: fc.boolean(),
    systolic_bp: fc.double({ min: 40, max: 300, noNaN: true }),
    heart_rate: fc.double({ min: 20, max: 300, noNaN: true }),
    consciousness: fc.constantFrom<Acvpu>('A', 'C', 'V', 'P', 'U'),
    temperature: fc.double({ min: 25, max: 45, noNaN: true }),
  });

  it('0 ≤ total ≤ 20 for any complete input, and a complete input is never partial', () => {
    fc.assert(
      fc.property(input, (i) => {
        const r = scoreNews2(rule, i);
        return r.total >= 0 && r.total <= 20 && !r.partial && r.total === Object.values(r.subscores).reduce((a, b) => a + b, 0);
      }),
    );
  });

  it('sub-scores never fall as a value moves further from the normal range', () => {
    const pairs: Array<[keyof typeof NORMAL, number, number]> = [
      ['respiratory_rate', 12, 20],
      ['systolic_bp', 111, 219],
      ['heart_rate', 51, 90],
      ['temperature', 36.1, 38.0],
      ['spo2', 96, 100],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...pairs), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), ([param, lo, hi], a, b) => {
        // Two values on the same side of the normal range, b further out than a.
        const below = (x: number) => lo - x * (lo * 0.6);
        const above = (x: number) => hi + x * (hi * 0.5);
        const [near, far] = a <= b ? [a, b] : [b, a];
        const sub = (v: number) => scoreNews2(rule, full({ [param]: v })).subscores[param as 'heart_rate']!;
        const lowOk = sub(below(far)) >= sub(below(near));
        const highOk = param === 'spo2' || sub(above(far)) >= sub(above(near));
        return lowOk && highOk;
      }),
    );
  });

  it('a partial total never exceeds the total of any completion', () => {
    fc.assert(
      fc.property(input, fc.subarray(['respiratory_rate', 'spo2', 'supplemental_oxygen', 'systolic_bp', 'heart_rate', 'consciousness', 'temperature'] as const), (i, drop) => {
        const partialInput: News2Input = { ...i };
        for (const key of drop) delete partialInput[key];
        return scoreNews2(rule, partialInput).total <= scoreNews2(rule, i).total;
      }),
    );
  });
});

describe('rule file', () => {
  const text = readFileSync('rules/news2.yaml', 'utf8');
  it('has an id and semantic version that scores will carry', () => {
    expect(rule.id).toBe('news2');
    expect(rule.version).toMatch(/^\d+\.\d+\.\d+$/);
  });
  it('refuses a table with a gap, naming the file and field', () => {
    const broken = text.replace('- { min: 9, max: 11, score: 1 }', '- { min: 10, max: 11, score: 1 }');
    expect(() => parseNews2Rule('bad.yaml', broken)).toThrow(/bad\.yaml: rule news2: parameters\.respiratory_rate\.ranges\[1\]: must start at 9/);
  });
  it('refuses a missing field or a bad version, naming it', () => {
    expect(() => parseNews2Rule('bad.yaml', text.replace('version: 1.1.0', 'version: one'))).toThrow(/bad\.yaml: rule news2: version: must be a semantic version/);
    expect(() => parseNews2Rule('bad.yaml', text.replace(/\n {2}heart_rate:\n(?: {4}.*\n| {6}.*\n)+/, '\n'))).toThrow(/parameters\.heart_rate/);
  });
});
