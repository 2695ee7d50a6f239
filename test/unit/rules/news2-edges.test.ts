import { beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../../src/domain/index.ts';
import { loadNews2Rule, type News2Rule } from '../../../src/rules/news2/rule-file.ts';
import { bandOf, findRange, NEWS2_PARAMETERS, roundHalfUp, scoreNews2, spo2Table } from '../../../src/rules/news2/score.ts';
import { createNews2Scorer, freshnessMs, IS_NEWS2_PARAMETER, scoreFromHeld, type HeldValue } from '../../../src/rules/news2/scorer.ts';

/**
 * NEWS2 (RCP 2017, ../shared/reference/clinical.md §1) at the edges the chart leaves to the
 * implementation: rounding of device values, the Scale 2 air/oxygen rule, bands, and freshness.
 */
let rule: News2Rule;
beforeAll(async () => {
  rule = await loadNews2Rule('rules/news2.yaml');
});

describe('rounding half up', () => {
  it.each([
    [8.4, 0, 8],
    [8.5, 0, 9],
    [8.49, 0, 8],
    [-0.5, 0, 0],
    [38.05, 1, 38.1],
    [38.04, 1, 38],
    [35.05, 1, 35.1],
    [36.15, 1, 36.2],
    [92.5, 0, 93],
    [92.4999, 0, 92],
    [1.005, 2, 1.01],
    [7, 0, 7],
  ])('%f to %i decimals is %f', (value, decimals, expected) => {
    expect(roundHalfUp(value, decimals)).toBe(expected);
  });
});

describe('ranges', () => {
  it('finds the range of a value after rounding to the table’s decimals', () => {
    const table = rule.parameters.temperature;
    expect(findRange(table, 35.04).score).toBe(3);
    expect(findRange(table, 35.05).score).toBe(1);
    expect(findRange(table, 39.05).score).toBe(2);
    expect(findRange(rule.parameters.heart_rate, 130.4).score).toBe(2);
    expect(findRange(rule.parameters.heart_rate, 130.5).score).toBe(3);
    expect(findRange(rule.parameters.heart_rate, 40.5).score).toBe(1);
    expect(findRange(rule.parameters.systolic_bp, 219.5).score).toBe(3);
    expect(findRange(rule.parameters.systolic_bp, 90.5).score).toBe(2);
  });

  it('matches closed ranges at both ends, and open-ended ones at the extremes', () => {
    const table = { decimals: 0, ranges: [{ max: 10, score: 3 }, { min: 11, max: 20, score: 0 }, { min: 21, score: 2 }] } as unknown as Parameters<typeof findRange>[0];
    expect([-1000, 10, 11, 20, 21, 1000].map((v) => findRange(table, v).score)).toEqual([3, 3, 0, 0, 2, 2]);
  });
});

describe('which SpO2 table applies', () => {
  it('Scale 1 whatever the oxygen', () => {
    expect(spo2Table(1, 99, true)).toBe('spo2_scale_1');
    expect(spo2Table(1, 99, undefined)).toBe('spo2_scale_1');
  });
  it('Scale 2 by air or oxygen; unknown oxygen only below 93% (after rounding)', () => {
    expect(spo2Table(2, 95, true)).toBe('spo2_scale_2_oxygen');
    expect(spo2Table(2, 95, false)).toBe('spo2_scale_2_air');
    expect(spo2Table(2, 92, undefined)).toBe('spo2_scale_2_air');
    expect(spo2Table(2, 92.4, undefined)).toBe('spo2_scale_2_air');
    expect(spo2Table(2, 92.5, undefined)).toBeUndefined();
    expect(spo2Table(2, 93, undefined)).toBeUndefined();
  });
  it('leaves SpO2 unscored (and the score partial) on Scale 2 at 93% or more with the oxygen state unknown', () => {
    const result = scoreNews2(rule, { spo2Scale: 2, spo2: 94, respiratory_rate: 16 });
    expect(result.subscores).toEqual({ respiratory_rate: 0 });
    expect(result.missing).toContain('spo2');
    expect(scoreNews2(rule, { spo2Scale: 2, spo2: 85 }).subscores).toEqual({ spo2: 2 });
  });
});

describe('bands', () => {
  it('takes the first band that applies, in the rule’s order', () => {
    expect(bandOf(rule, 7, { respiratory_rate: 3 })).toBe('high');
    expect(bandOf(rule, 6, { respiratory_rate: 3 })).toBe('medium');
    expect(bandOf(rule, 5, {})).toBe('medium');
    expect(bandOf(rule, 4, { respiratory_rate: 2, heart_rate: 2 })).toBe('low');
    expect(bandOf(rule, 3, { temperature: 3 })).toBe('low-medium');
    expect(bandOf(rule, 0, {})).toBe('low');
  });
  it('finds the highest sub-score itself when not given it', () => {
    expect(bandOf(rule, 4, { heart_rate: 1, spo2: 3 })).toBe('low-medium');
    expect(bandOf(rule, 4, { heart_rate: 1, spo2: 3 }, 1)).toBe('low');
  });
  it('is low when no band of the rule applies', () => {
    const noLow = { ...rule, bands: rule.bands.filter((b) => b.band !== 'low') };
    expect(bandOf(noLow, 2, { heart_rate: 2 })).toBe('low');
  });
  it('an aggregate of 5 or more is medium even with a sub-score of 3; a 3 alone with a low total is low-medium', () => {
    expect(scoreNews2(rule, { spo2Scale: 1, respiratory_rate: 25, heart_rate: 95, temperature: 38.5 })).toMatchObject({ total: 5, band: 'medium' });
    expect(scoreNews2(rule, { spo2Scale: 1, consciousness: 'V' })).toMatchObject({ total: 3, band: 'low-medium', partial: true });
  });
});

describe('scoring', () => {
  it('leaves out a value that is not a finite number', () => {
    const result = scoreNews2(rule, { spo2Scale: 1, heart_rate: Number.NaN, respiratory_rate: Number.POSITIVE_INFINITY, temperature: 37 });
    expect(result.subscores).toEqual({ temperature: 0 });
    expect(result.missing).toEqual(['respiratory_rate', 'spo2', 'supplemental_oxygen', 'systolic_bp', 'heart_rate', 'consciousness']);
  });
  it('scores air 0 and oxygen 2, and lists the sub-scores it has', () => {
    expect(scoreNews2(rule, { spo2Scale: 1, supplemental_oxygen: false }).subscores).toEqual({ supplemental_oxygen: 0 });
    expect(scoreNews2(rule, { spo2Scale: 1, supplemental_oxygen: true })).toMatchObject({ total: 2, subscores: { supplemental_oxygen: 2 } });
  });
  it('sums every sub-score, complete and not partial', () => {
    const result = scoreNews2(rule, { spo2Scale: 1, respiratory_rate: 22, spo2: 94, supplemental_oxygen: true, systolic_bp: 105, heart_rate: 45, consciousness: 'A', temperature: 35.5 });
    expect(result).toEqual({
      total: 2 + 1 + 2 + 1 + 1 + 0 + 1,
      band: 'high',
      subscores: { respiratory_rate: 2, spo2: 1, supplemental_oxygen: 2, systolic_bp: 1, heart_rate: 1, consciousness: 0, temperature: 1 },
      missing: [],
      partial: false,
    });
  });
  it('has the seven parameters in the chart’s order', () => {
    expect(NEWS2_PARAMETERS).toEqual(['respiratory_rate', 'spo2', 'supplemental_oxygen', 'systolic_bp', 'heart_rate', 'consciousness', 'temperature']);
    expect([...IS_NEWS2_PARAMETER].sort()).toEqual([...NEWS2_PARAMETERS].sort());
  });
});

const T0 = Date.parse('2026-11-22T10:00:00Z');
let n = 0;
function reading(type: Reading['type'], value: Reading['value'], minute: number, extra: Partial<Reading> = {}): Reading {
  const ts = new Date(T0 + minute * 60_000).toISOString();
  return { readingId: `e${++n}`, patientId: 'pt-1', wardId: 'w', deviceId: 'd', type, value, unit: 'u', ts, receivedAt: ts, ...extra } as Reading;
}

describe('freshness', () => {
  it('is each parameter’s minutes from the rule, in ms', () => {
    expect(freshnessMs(rule)).toEqual({
      respiratory_rate: 3_600_000,
      spo2: 3_600_000,
      supplemental_oxygen: 43_200_000,
      systolic_bp: 3_600_000,
      heart_rate: 3_600_000,
      consciousness: 43_200_000,
      temperature: 3_600_000,
    });
  });

  it('counts a held reading exactly at the edge of its window, not a millisecond past it', () => {
    const window = freshnessMs(rule);
    const held = (edge: number) => (p: string): HeldValue | undefined =>
      p === 'heart_rate' ? { readingId: 'hr', value: 135, t: T0 } : p === 'respiratory_rate' ? { readingId: 'rr', value: 26, t: T0 + edge } : undefined;
    const trigger = reading('respiratory_rate', 26, 60);
    expect(scoreFromHeld(rule, window, held(3_600_000), 1, trigger)).toMatchObject({ total: 6, band: 'medium' });
    expect(scoreFromHeld(rule, window, held(3_600_001), 1, trigger)).toMatchObject({ total: 3, band: 'low-medium' });
  });

  it('is judged from the newest held reading, whichever parameter it is', () => {
    const window = freshnessMs(rule);
    const values: Record<string, HeldValue> = {
      temperature: { readingId: 't', value: 39.5, t: T0 + 3_600_000 },
      heart_rate: { readingId: 'h', value: 135, t: T0 },
      consciousness: { readingId: 'c', value: 'A', t: T0 + 1_000 },
    };
    const score = scoreFromHeld(rule, window, (p) => values[p], 1, reading('heart_rate', 135, 0));
    expect(score.ts).toBe(new Date(T0 + 3_600_000).toISOString());
    expect(score.inputs).toEqual({
      heart_rate: { readingId: 'h', value: 135, ts: new Date(T0).toISOString(), subscore: 3 },
      consciousness: { readingId: 'c', value: 'A', ts: new Date(T0 + 1_000).toISOString(), subscore: 0 },
      temperature: { readingId: 't', value: 39.5, ts: new Date(T0 + 3_600_000).toISOString(), subscore: 2 },
    });
  });

  it('names the score by patient, rule, time and the reading that triggered it, and carries the trigger’s receipt time', () => {
    const r = reading('spo2', 91, 0, { receivedAt: '2026-11-22T10:00:05.000Z' });
    const score = createNews2Scorer(rule).onReading(r, { spo2Scale: 2 })!;
    expect(score).toEqual({
      scoreId: `pt-1:news2:2026-11-22T10:00:00.000Z:${r.readingId}`,
      patientId: 'pt-1',
      wardId: 'w',
      ruleId: 'news2',
      ruleVersion: rule.version,
      ts: '2026-11-22T10:00:00.000Z',
      total: 0,
      band: 'low',
      spo2Scale: 2,
      partial: true,
      missing: ['respiratory_rate', 'supplemental_oxygen', 'systolic_bp', 'heart_rate', 'consciousness', 'temperature'],
      inputs: { spo2: { readingId: r.readingId, value: 91, ts: '2026-11-22T10:00:00.000Z', subscore: 0 } },
      receivedAt: '2026-11-22T10:00:05.000Z',
    });
  });

  it('quotes a reading’s time in canonical form even when it arrived with an offset', () => {
    const scorer = createNews2Scorer(rule);
    const r = reading('heart_rate', 70, 0, { ts: '2026-11-22T11:00:00+01:00' });
    const score = scorer.onReading(r, { spo2Scale: 1 })!;
    expect(score.ts).toBe('2026-11-22T10:00:00.000Z');
    expect(score.inputs.heart_rate!.ts).toBe('2026-11-22T10:00:00.000Z');
    const z = scorer.onReading(reading('spo2', 97, 1, { ts: '2026-11-22T10:01:00Z' }), { spo2Scale: 1 })!;
    expect(z.inputs.spo2!.ts).toBe('2026-11-22T10:01:00.000Z');
  });
});

describe('the scorer’s state', () => {
  it('keeps each patient apart, takes a reading at the same time as the one held, and forgets a patient', () => {
    const scorer = createNews2Scorer(rule);
    scorer.onReading(reading('heart_rate', 135, 0), { spo2Scale: 1 });
    const other = scorer.onReading(reading('heart_rate', 70, 0, { patientId: 'pt-2' }), { spo2Scale: 1 })!;
    expect(other).toMatchObject({ patientId: 'pt-2', total: 0 });
    expect(scorer.stateSize()).toBe(2);
    // A second reading with the same event time (another device) replaces the one held.
    const same = scorer.onReading(reading('heart_rate', 125, 0), { spo2Scale: 1 })!;
    expect(same).toMatchObject({ total: 2, inputs: { heart_rate: { value: 125 } } });
    scorer.forget('pt-1');
    expect(scorer.stateSize()).toBe(1);
    const after = scorer.onReading(reading('temperature', 37, 1), { spo2Scale: 1 })!;
    expect(after.inputs).not.toHaveProperty('heart_rate');
  });

  it('takes the scale from the patient at each reading', () => {
    const scorer = createNews2Scorer(rule);
    scorer.onReading(reading('supplemental_oxygen', false, 0), { spo2Scale: 2 });
    expect(scorer.onReading(reading('spo2', 90, 1), { spo2Scale: 2 })!.inputs.spo2!.subscore).toBe(0);
    expect(scorer.onReading(reading('spo2', 90, 2), { spo2Scale: 1 })!.inputs.spo2!.subscore).toBe(3);
  });

  it('scores at the time passed in, when given one', () => {
    const scorer = createNews2Scorer(rule);
    const r = reading('heart_rate', 70, 0);
    expect(scorer.onReading(r, { spo2Scale: 1 }, T0 + 5_000)).toMatchObject({ total: 0 });
    // Held at T0 + 5 s: a reading at T0 is older, and changes nothing.
    expect(scorer.onReading(reading('heart_rate', 150, 0), { spo2Scale: 1 })).toBeUndefined();
  });
});
