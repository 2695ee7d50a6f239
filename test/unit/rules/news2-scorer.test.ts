import { beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../../src/domain/index.ts';
import { loadNews2Rule, type News2Rule } from '../../../src/rules/news2/rule-file.ts';
import { createNews2Scorer } from '../../../src/rules/news2/scorer.ts';
import { createNews2Explainer } from '../../../src/rules/news2/explain.ts';

let rule: News2Rule;
beforeAll(async () => {
  rule = await loadNews2Rule('rules/news2.yaml');
});

const T0 = Date.parse('2026-11-22T10:00:00Z');
let n = 0;
function reading(type: Reading['type'], value: Reading['value'], minute: number, id?: string): Reading {
  const ts = new Date(T0 + minute * 60_000).toISOString();
  const unit = { respiratory_rate: '/min', spo2: '%', heart_rate: '/min', systolic_bp: 'mm[Hg]', diastolic_bp: 'mm[Hg]', temperature: 'Cel', weight: 'kg', consciousness: '{ACVPU}', supplemental_oxygen: '{boolean}', irregular_rhythm: '{boolean}' }[type];
  return { readingId: id ?? `r${++n}`, patientId: 'pt-1', wardId: 'w', deviceId: 'd', type, value, unit, ts, receivedAt: ts } as Reading;
}

function fullSet(minute: number, overrides: Partial<Record<Reading['type'], Reading['value']>> = {}): Reading[] {
  const values = { respiratory_rate: 16, spo2: 97, supplemental_oxygen: false, systolic_bp: 120, heart_rate: 70, consciousness: 'A', temperature: 37, ...overrides };
  return Object.entries(values).map(([type, value]) => reading(type as Reading['type'], value as Reading['value'], minute));
}

describe('NEWS2 scorer', () => {
  it('scores each patient from the latest reading of each parameter, with its evidence', () => {
    const scorer = createNews2Scorer(rule);
    let last;
    for (const r of fullSet(0, { respiratory_rate: 26 })) last = scorer.onReading(r, { spo2Scale: 1 });
    expect(last).toMatchObject({ total: 3, band: 'low-medium', partial: false, ruleId: 'news2', ruleVersion: rule.version });
    expect(last!.inputs.respiratory_rate).toMatchObject({ value: 26, subscore: 3 });
    const next = scorer.onReading(reading('respiratory_rate', 18, 5), { spo2Scale: 1 });
    expect(next).toMatchObject({ total: 0, band: 'low' });
  });

  it('marks a score partial until every parameter has a fresh reading', () => {
    const scorer = createNews2Scorer(rule);
    const first = scorer.onReading(reading('heart_rate', 135, 0), { spo2Scale: 1 })!;
    expect(first).toMatchObject({ total: 3, band: 'low-medium', partial: true });
    expect(first.missing).toHaveLength(6);
  });

  it('drops a parameter whose reading is older than its freshness window', () => {
    const scorer = createNews2Scorer(rule);
    for (const r of fullSet(0)) scorer.onReading(r, { spo2Scale: 1 });
    const within = scorer.onReading(reading('heart_rate', 72, 60), { spo2Scale: 1 })!;
    expect(within.partial).toBe(false);
    const after = scorer.onReading(reading('heart_rate', 72, 61), { spo2Scale: 1 })!;
    expect(after.partial).toBe(true);
    // Vital signs expire after 60 minutes; consciousness and oxygen (720) are still fresh.
    expect(after.missing.sort()).toEqual(['respiratory_rate', 'spo2', 'systolic_bp', 'temperature']);
  });

  it('ignores a late reading older than the one held, and a redelivered one', () => {
    const scorer = createNews2Scorer(rule);
    const r = reading('heart_rate', 80, 10, 'same');
    expect(scorer.onReading(r, { spo2Scale: 1 })).toBeDefined();
    expect(scorer.onReading({ ...r }, { spo2Scale: 1 })).toBeUndefined();
    expect(scorer.onReading(reading('heart_rate', 150, 5), { spo2Scale: 1 })).toBeUndefined();
  });

  it('is deterministic: the same stream gives the same scores', () => {
    const stream = [...fullSet(0), ...fullSet(20, { heart_rate: 115, temperature: 38.6 }), reading('spo2', 91, 25)];
    const run = () => {
      const scorer = createNews2Scorer(rule);
      return JSON.stringify(stream.map((r) => scorer.onReading(r, { spo2Scale: 1 })));
    };
    expect(run()).toBe(run());
  });

  it('ignores types NEWS2 does not use', () => {
    const scorer = createNews2Scorer(rule);
    expect(scorer.onReading(reading('weight', 80, 0), { spo2Scale: 1 })).toBeUndefined();
    expect(scorer.stateSize()).toBe(0);
  });

  it('explains each sub-score with the threshold from the rule file', () => {
    const scorer = createNews2Scorer(rule);
    let score;
    for (const r of fullSet(0, { respiratory_rate: 26, spo2: 95, supplemental_oxygen: true, consciousness: 'C' })) score = scorer.onReading(r, { spo2Scale: 2 });
    const explain = createNews2Explainer(rule);
    expect(explain.threshold('respiratory_rate', score!.inputs.respiratory_rate!, score!)).toBe(`Respiration rate ≥25 /min scores 3 (news2 ${rule.version})`);
    expect(explain.threshold('spo2', score!.inputs.spo2!, score!)).toBe(`SpO2 Scale 2, on oxygen 95–96% scores 2 (news2 ${rule.version})`);
    expect(explain.threshold('supplemental_oxygen', score!.inputs.supplemental_oxygen!, score!)).toMatch(/^on supplemental oxygen scores 2/);
    expect(explain.response('high')).toMatch(/Local policy: review within 30 minutes/);
  });
});
