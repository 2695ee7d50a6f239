import { beforeAll, describe, expect, it } from 'vitest';
import { CANONICAL_UNIT, Pathway, type Alert, type News2Band, type Reading, type ScoreEvent } from '../../../src/domain/index.ts';
import { createAlertBook } from '../../../src/rules/alerts/alert-book.ts';
import { createRuleEngine } from '../../../src/rules/engine/engine.ts';
import { loadRulePacks, parseRulePack, type RulePack } from '../../../src/rules/engine/pack-file.ts';
import { loadNews2Rule, type News2Rule } from '../../../src/rules/news2/rule-file.ts';
import { scoreNews2 } from '../../../src/rules/news2/score.ts';
import { toCanonicalUnit } from '../../../src/ingest/units.ts';
import { createRulesProcessor, type PatientRuleContext } from '../../../src/rules/processor.ts';

/**
 * Issue 13 (clinical review): each fix tested from the wording of the guideline it follows
 * (/work/shared/reference/clinical.md quotes it), and tests for mutations the suite used to let through.
 */
let packs: RulePack[];
let news2: News2Rule;
beforeAll(async () => {
  packs = await loadRulePacks('rules');
  news2 = await loadNews2Rule('rules/news2.yaml');
});

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const UNITS: Record<string, string> = CANONICAL_UNIT;
let n = 0;
function reading(type: Reading['type'], value: Reading['value'], at: number, extra: Partial<Reading> = {}): Reading {
  const ts = new Date(at).toISOString();
  return { readingId: `cr${++n}`, patientId: 'p1', wardId: 'w1', deviceId: 'd1', type, value, unit: UNITS[type], ts, receivedAt: ts, ...extra } as Reading;
}
const ctx = (pathways: Pathway[], spo2Scale: 1 | 2 = 1, settings: PatientRuleContext['settings'] = {}): PatientRuleContext => ({ wardId: 'w1', pathways, settings, spo2Scale });
const of = (ruleId: string, alerts: Alert[]) => alerts.filter((a) => a.ruleId === ruleId);

describe('NICE NG136 home BP: "at least 4 days, discard day 1, average the rest" (the 4 days count day 1)', () => {
  // Monitoring starts on Monday 2 November 2026 (UK winter time = UTC); a seated pair morning and evening.
  const DAY1 = Date.parse('2026-11-02T00:00:00Z');
  function recordDay(processor: ReturnType<typeof createRulesProcessor>, day: number, sys: number, dia: number): Alert[] {
    const out: Alert[] = [];
    for (const offset of [7.5 * HOUR, 7.5 * HOUR + MIN, 19.5 * HOUR, 19.5 * HOUR + MIN]) {
      const at = DAY1 + (day - 1) * DAY + offset;
      out.push(...processor.onReading(reading('systolic_bp', sys, at, { position: 'sitting' }), ctx(['hypertension'])).alerts);
      out.push(...processor.onReading(reading('diastolic_bp', dia, at, { position: 'sitting' }), ctx(['hypertension'])).alerts);
    }
    return of('home-bp-average', out);
  }

  it('a patient who records on 4 days has days 2-4 averaged, and that average is a result on day 4', () => {
    const processor = createRulesProcessor({ news2, packs });
    expect(recordDay(processor, 1, 120, 75)).toEqual([]); // day 1: discarded
    expect(recordDay(processor, 2, 142, 88)).toEqual([]);
    expect(recordDay(processor, 3, 142, 88)).toEqual([]);
    const day4 = recordDay(processor, 4, 142, 88);
    expect(day4.length).toBeGreaterThan(0);
    expect(day4[0]).toMatchObject({ ruleId: 'home-bp-average', ruleVersion: '1.1.0', severity: 'low-medium', state: 'open' });
    expect(Date.parse(day4[0]!.raisedAt)).toBeLessThan(DAY1 + 4 * DAY);
    expect(day4[0]!.explanation).toContain('systolic_bp home average 142 of 9 readings on 3 days (2026-11-03 to 2026-11-05, first day left out) >= 135');
    // Day 1 (120/75) is not in the average: its readings are not evidence.
    expect(day4[0]!.evidence.every((e) => Date.parse(e.ts) >= DAY1 + DAY)).toBe(true);
  });

  it('3 days of recording (day 1 and two more) is short of the protocol: no result', () => {
    const processor = createRulesProcessor({ news2, packs });
    for (const day of [1, 2, 3]) expect(recordDay(processor, day, 160, 100)).toEqual([]);
  });
});

describe('SpO2 rules judge the patient against their own target (Scale 2: 88-92%)', () => {
  const T0 = Date.parse('2026-11-10T08:00:00Z');
  const spo2 = (processor: ReturnType<typeof createRulesProcessor>, c: PatientRuleContext, minute: number, v: number) => {
    const out = processor.onReading(reading('spo2', v, T0 + minute * MIN), c);
    return { alerts: out.alerts.filter((a) => a.ruleId.startsWith('spo2-')), score: out.score };
  };

  it('a COPD patient on an 88-92% target (Scale 2) on the ARI pathway gets no alert for an on-target 89%, and NEWS2 scores it 0', () => {
    const processor = createRulesProcessor({ news2, packs });
    const c = ctx(['ari', 'copd'], 2);
    processor.onReading(reading('supplemental_oxygen', false, T0 - MIN), c);
    for (const minute of [0, 5, 10, 15]) expect(spo2(processor, c, minute, 89).alerts).toEqual([]);
    expect(spo2(processor, c, 20, 88).alerts).toEqual([]); // the bottom of the target: still on target
    expect(scoreNews2(news2, { spo2Scale: 2, spo2: 89, supplemental_oxygen: false }).subscores.spo2).toBe(0);
  });

  it('the same 89% on a 94-98% target (Scale 1) is still an emergency', () => {
    const processor = createRulesProcessor({ news2, packs });
    const c = ctx(['ari'], 1);
    spo2(processor, c, 0, 89);
    const { alerts } = spo2(processor, c, 5, 89);
    expect(of('spo2-emergency', alerts)[0]).toMatchObject({ severity: 'high', ruleVersion: '1.1.0' });
    expect(of('spo2-emergency', alerts)[0]!.response).toMatch(/A&E or 999/);
  });

  it('on Scale 2, below the target (87%, twice) is an urgent review; 85% or less twice is an emergency', () => {
    const processor = createRulesProcessor({ news2, packs });
    const c = ctx(['ari'], 2);
    expect(spo2(processor, c, 0, 87).alerts).toEqual([]);
    const [below] = spo2(processor, c, 5, 87).alerts;
    expect(below).toMatchObject({ ruleId: 'spo2-below-target-scale-2', severity: 'medium', state: 'open' });
    expect(below!.response).toMatch(/88-92% target/);
    spo2(processor, c, 10, 85);
    const emergency = of('spo2-emergency-scale-2', spo2(processor, c, 15, 84).alerts);
    expect(emergency[0]).toMatchObject({ severity: 'high' });
    // Back on target: the below-target alert clears at 88%.
    spo2(processor, c, 20, 88);
    const cleared = of('spo2-below-target-scale-2', spo2(processor, c, 25, 89).alerts);
    expect(cleared.length === 0 || cleared.every((a) => a.state === 'resolved')).toBe(true);
  });

  it('follows a change of scale: a patient moved to Scale 2 is no longer judged on the 94-98% bands', () => {
    const engine = createRuleEngine(packs);
    engine.onReading(reading('spo2', 96, T0), ctx(['ari'], 1));
    expect(engine.onReading(reading('spo2', 90, T0 + MIN), ctx(['ari'], 2))).toEqual([]);
    expect(engine.onReading(reading('spo2', 90, T0 + 2 * MIN), ctx(['ari'], 2))).toEqual([]);
  });
});

describe('NICE NG136 severe hypertension (180/120 or more) on every pathway', () => {
  const T0 = Date.parse('2026-11-10T08:00:00Z');
  it.each(Pathway.options)('raises bp-severe for 185/125 on the %s pathway, with NG136’s same-day referral wording once confirmed', (pathway) => {
    const processor = createRulesProcessor({ news2, packs });
    const c = ctx([pathway]);
    const bp = (minute: number) => [
      ...processor.onReading(reading('systolic_bp', 185, T0 + minute * MIN, { position: 'sitting' }), c).alerts,
      ...processor.onReading(reading('diastolic_bp', 125, T0 + minute * MIN, { position: 'sitting' }), c).alerts,
    ];
    const [first] = of('bp-severe', bp(0));
    expect(first).toMatchObject({ ruleId: 'bp-severe', ruleVersion: '1.1.0', severity: 'medium', state: 'open' });
    const confirmed = of('bp-severe', bp(5)).at(-1)!;
    expect(confirmed).toMatchObject({ alertId: first!.alertId, severity: 'high' });
    // "≥180/120 with new confusion, chest pain, heart-failure signs or acute kidney injury (or retinal
    // signs, suspected phaeochromocytoma): same-day specialist referral. Without them: look for organ
    // damage, repeat within 7 days."
    expect(confirmed.response).toMatch(/new confusion, chest pain, signs of heart\s+failure.*acute kidney injury.*retinal signs.*phaeochromocytoma: same-day specialist referral/s);
    expect(confirmed.response).toMatch(/Without them: .*target organ damage.*repeat the\s+measurement within 7 days/s);
  });
});

describe('NICE NG196: an irregular-rhythm prompt asks for a 12-lead ECG', () => {
  it('the AF prompt asks for a 12-lead ECG and says a lead-I device aids detection only', () => {
    const engine = createRuleEngine(packs);
    const [alert] = of('af-irregular-rhythm', engine.onReading(reading('irregular_rhythm', true, Date.parse('2026-11-10T08:00:00Z')), ctx(['general'])));
    expect(alert).toMatchObject({ ruleVersion: '1.0.1' });
    expect(alert!.response).toMatch(/12-lead ECG to confirm or exclude atrial fibrillation \(NICE NG196\)/);
    expect(alert!.response).toMatch(/lead-I device or\s+patch recording aids detection only/);
    expect(alert!.response).not.toMatch(/Obtain an ECG \(patch or lead-I device\)/);
    const def = packs.flatMap((p) => p.rules).find((r) => r.id === 'af-fast-irregular')!;
    expect(def.response).toMatch(/12-lead ECG/);
  });
});

describe('missing data: the same time raises and clears (no flapping on late readings)', () => {
  const T0 = Date.parse('2026-11-10T08:00:00Z');
  it('a reading older than the limit, arriving after the clock raised the alert (an offline burst), does not clear it; a current one does', () => {
    const engine = createRuleEngine(packs);
    const c = ctx(['ari']);
    engine.onReading(reading('spo2', 97, T0), c);
    const [raised] = of('no-spo2-data', engine.tick(T0 + 15 * HOUR));
    expect(raised).toMatchObject({ state: 'open' });
    // A buffered reading taken 13 h before the tick: still more than 14 h of nothing, as of now.
    const late = of('no-spo2-data', engine.onReading(reading('spo2', 96, T0 + 30 * MIN), c));
    expect(late.every((a) => a.state !== 'resolved')).toBe(true);
    // The next tick raises nothing new: the alert stayed open, so it is not raised a second time.
    expect(of('no-spo2-data', engine.tick(T0 + 15 * HOUR + 15_000)).filter((a) => a.revision === 0)).toEqual([]);
    const [cleared] = of('no-spo2-data', engine.onReading(reading('spo2', 96, T0 + 15 * HOUR + MIN), c));
    expect(cleared).toMatchObject({ alertId: raised!.alertId, state: 'resolved' });
  });
});

describe('mutations the suite used to let through', () => {
  const T0 = Date.parse('2026-11-10T08:00:00Z');

  it('post-op fever: a temperature between the clear (below 37.5) and raise (38.0) thresholds keeps the alert open', () => {
    const engine = createRuleEngine(packs);
    const c = ctx(['post-op']);
    const temp = (hours: number, v: number) => of('post-op-fever', engine.onReading(reading('temperature', v, T0 + hours * HOUR), c));
    expect(temp(0, 38.2)).toEqual([]);
    const [raised] = temp(1, 38.1);
    expect(raised).toMatchObject({ state: 'open' });
    // 37.8 °C no longer raises, but it has not cleared: the alert stays open.
    expect(temp(2, 37.8).every((a) => a.state === 'open')).toBe(true);
    expect(temp(3, 37.5).every((a) => a.state === 'open')).toBe(true);
    const [cleared] = temp(4, 37.4);
    expect(cleared).toMatchObject({ alertId: raised!.alertId, state: 'resolved' });
  });

  it('sustained over 2 readings: a reading that interrupts the run resets the count', () => {
    const engine = createRuleEngine(packs);
    const c = ctx(['ari']);
    const spo2 = (minute: number, v: number) => of('spo2-emergency', engine.onReading(reading('spo2', v, T0 + minute * MIN), c));
    expect(spo2(0, 92)).toEqual([]);
    expect(spo2(5, 97)).toEqual([]); // interrupts the run
    expect(spo2(10, 92)).toEqual([]); // one reading of a new run, not the second of the old one
    expect(spo2(15, 92)).toHaveLength(1);
  });

  it('hysteresis: after it clears, the sustained count starts again from nothing', () => {
    const engine = createRuleEngine(packs);
    const c = ctx(['ari']);
    const spo2 = (minute: number, v: number) => of('spo2-urgent-review', engine.onReading(reading('spo2', v, T0 + minute * MIN), c));
    spo2(0, 94);
    expect(spo2(5, 94)[0]).toMatchObject({ state: 'open' });
    expect(spo2(10, 95)[0]).toMatchObject({ state: 'resolved' });
    expect(spo2(15, 94)).toEqual([]); // one low reading after clearing: not yet
    expect(spo2(20, 94)[0]).toMatchObject({ state: 'open', revision: 0 });
  });

  describe('NEWS2: an older score arriving after a newer one changes nothing', () => {
    const explainer = { threshold: (_p: string, input: { subscore: number }) => `scores ${input.subscore}`, response: (band: News2Band) => `respond to ${band}` };
    let seq = 0;
    const score = (band: News2Band, total: number, minute: number): ScoreEvent => {
      const ts = new Date(Date.UTC(2026, 10, 22, 10, minute)).toISOString();
      return {
        scoreId: `cs${++seq}`, patientId: 'pt-1', wardId: 'ward-a', ruleId: 'news2', ruleVersion: '1.1.0', ts, total, band, spo2Scale: 1, partial: false, missing: [],
        inputs: { respiratory_rate: { readingId: `cr-s${seq}`, value: 20 + total, ts, subscore: Math.min(3, total) } }, receivedAt: ts,
      };
    };
    it('an older high score after a newer low one opens no alert, and the newer band still decides the next one', () => {
      const book = createAlertBook(explainer);
      expect(book.applyScore(score('low', 1, 10))).toBeUndefined();
      expect(book.applyScore(score('high', 8, 5))).toBeUndefined();
      expect(book.unresolved('pt-1')).toEqual([]);
      // The next current score crosses up from low (the newer band), so it opens an alert.
      expect(book.applyScore(score('medium', 5, 11))).toMatchObject({ severity: 'medium', state: 'open', revision: 0 });
    });
    it('an older score does not change an open alert', () => {
      const book = createAlertBook(explainer);
      const open = book.applyScore(score('medium', 5, 10))!;
      expect(book.applyScore(score('high', 9, 1))).toBeUndefined();
      expect(book.unresolved('pt-1')).toEqual([open]);
    });
  });

  it('NEWS2 Scale 2: without the air/oxygen state, 92% is scored (both columns agree below 93%) and 93% is not', () => {
    expect(scoreNews2(news2, { spo2Scale: 2, spo2: 92 }).subscores.spo2).toBe(0);
    expect(scoreNews2(news2, { spo2Scale: 2, spo2: 87 }).subscores.spo2).toBe(1);
    const at93 = scoreNews2(news2, { spo2Scale: 2, spo2: 93 });
    expect(at93.subscores.spo2).toBeUndefined();
    expect(at93.missing).toContain('spo2');
  });

  it('NEWS2 Scale 2 bands at each boundary, through the processor for a Scale 2 patient (clinical.md §1)', () => {
    // [SpO2, on oxygen, expected sub-score]: ≤83 → 3; 84–85 → 2; 86–87 → 1; 88–92, or ≥93 on air → 0;
    // 93–94 on oxygen → 1; 95–96 on oxygen → 2; ≥97 on oxygen → 3.
    const cases: Array<[number, boolean, number]> = [
      [83, false, 3], [84, false, 2], [85, false, 2], [86, false, 1], [87, false, 1], [88, false, 0], [92, false, 0], [93, false, 0], [97, false, 0],
      [92, true, 0], [93, true, 1], [94, true, 1], [95, true, 2], [96, true, 2], [97, true, 3],
    ];
    for (const [value, oxygen, expected] of cases) {
      const processor = createRulesProcessor({ news2, packs });
      const c = ctx(['general'], 2);
      processor.onReading(reading('supplemental_oxygen', oxygen, T0), c);
      const { score } = processor.onReading(reading('spo2', value, T0 + MIN), c);
      expect([value, oxygen, score?.inputs.spo2?.subscore]).toEqual([value, oxygen, expected]);
    }
  });

  it('runs an `average` condition: the mean of readings in the window, once there are enough of them', () => {
    const pack = parseRulePack(
      'test-average.yaml',
      `pack: test-average
version: 1.0.0
title: Average test
rules:
  - id: rr-average-high
    version: 1.0.0
    title: Respiratory rate high on average
    pathways: all
    description: Mean respiratory rate over an hour above 24.
    source: test
    condition: { kind: average, type: respiratory_rate, window: 1h, minReadings: 3, op: '>', value: 24 }
    severity: medium
    response: Review.
`,
    );
    const engine = createRuleEngine([pack]);
    const c = ctx(['general']);
    const rr = (minute: number, v: number) => engine.onReading(reading('respiratory_rate', v, T0 + minute * MIN), c);
    expect(rr(0, 30)).toEqual([]);
    expect(rr(10, 26)).toEqual([]); // two readings: fewer than minReadings
    const [raised] = rr(20, 20); // (30 + 26 + 20) / 3 = 25.3 > 24
    expect(raised).toMatchObject({ ruleId: 'rr-average-high', state: 'open' });
    expect(raised!.explanation).toContain('average 25.3 of 3 readings within 1h > 24');
    expect(raised!.evidence.map((e) => e.value)).toEqual([30, 26, 20]);
    // The 30 leaves the window: (26 + 20 + 22) / 3 = 22.7, and the alert clears on its own.
    const later = engine.onReading(reading('respiratory_rate', 22, T0 + 61 * MIN), c);
    expect(later[0]).toMatchObject({ alertId: raised!.alertId, state: 'resolved' });
    // A mean exactly at the value does not hold (op >).
    const other = createRuleEngine([pack]);
    for (const [minute, v] of [[0, 24], [5, 24], [10, 24]] as const) expect(other.onReading(reading('respiratory_rate', v, T0 + minute * MIN), c)).toEqual([]);
  });
});

describe('kPa to mmHg (src/ingest/units.ts, before any BP rule sees the value)', () => {
  // 1 kPa = 7.50062 mmHg. Rules hold BP against mmHg thresholds (180/120, 135/85), so a wrong factor
  // moves every BP alert of a kPa cuff.
  it.each([[16, 120], [24, 180], [13.3, 100], [18.9, 142], [16.7, 125], [1, 8]])('%f kPa is %i mmHg', (kpa, mmhg) => {
    expect(toCanonicalUnit('systolic_bp', kpa, 'kPa')).toEqual({ value: mmhg, unit: 'mm[Hg]' });
    expect(toCanonicalUnit('diastolic_bp', kpa, 'kPa')).toEqual({ value: mmhg, unit: 'mm[Hg]' });
  });
  it('every 0.1 kPa from 1 to 40 converts with the factor 7.50062, to the nearest mmHg', () => {
    for (let tenths = 10; tenths <= 400; tenths++) {
      const kpa = tenths / 10;
      expect([kpa, toCanonicalUnit('systolic_bp', kpa, 'kPa')?.value]).toEqual([kpa, Math.round(kpa * 7.50062)]);
    }
  });
});
