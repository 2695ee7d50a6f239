import { beforeAll, describe, expect, it } from 'vitest';
import { CANONICAL_UNIT, type Alert, type AlertAction, type Pathway, type Reading } from '../../../src/domain/index.ts';
import { londonDate, londonDay } from '../../../src/time/calendar.ts';
import { loadRulePacks, type RulePack } from '../../../src/rules/engine/pack-file.ts';
import { loadNews2Rule, type News2Rule } from '../../../src/rules/news2/rule-file.ts';
import { createRulesProcessor, type PatientRuleContext } from '../../../src/rules/processor.ts';

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
function reading(type: Reading['type'], value: Reading['value'], at: number, extra: Partial<Reading> = {}, patientId = 'p1'): Reading {
  const ts = new Date(at).toISOString();
  return { readingId: `r${++n}`, patientId, wardId: 'w1', deviceId: 'd1', type, value, unit: UNITS[type], ts, receivedAt: ts, ...extra } as Reading;
}
const ctx = (pathways: Pathway[], settings: PatientRuleContext['settings'] = {}, spo2Scale: 1 | 2 = 1): PatientRuleContext => ({ wardId: 'w1', pathways, settings, spo2Scale });
const of = (ruleId: string, alerts: Alert[]) => alerts.filter((a) => a.ruleId === ruleId);

describe('UK calendar days', () => {
  it('puts a reading after 23:00 UTC in summer on the next UK day, and not in winter', () => {
    expect(londonDate(Date.parse('2026-07-01T23:30:00Z'))).toBe('2026-07-02');
    expect(londonDate(Date.parse('2026-12-01T23:30:00Z'))).toBe('2026-12-01');
    // Clocks change at 01:00 UTC on the last Sunday of March and October.
    expect(londonDate(Date.parse('2026-03-29T00:59:00Z'))).toBe('2026-03-29');
    expect(londonDay(Date.parse('2026-03-29T23:30:00Z'))).toBe(londonDay(Date.parse('2026-03-30T10:00:00Z')));
    expect(londonDay(Date.parse('2026-10-25T23:30:00Z'))).toBe(londonDay(Date.parse('2026-10-25T10:00:00Z')));
  });
});

describe('NICE NG136 home BP protocol (worked example)', () => {
  // Monitoring starts on 2 November 2026 (UK winter time = UTC). Each recording is a pair of seated
  // readings a minute apart, morning and evening.
  const DAY1 = Date.parse('2026-11-02T00:00:00Z');
  function pairs(processor: ReturnType<typeof createRulesProcessor>, c: PatientRuleContext, day: number, sys: number, dia: number, from = 0, to = 4) {
    const out: Alert[] = [];
    const times = [7.5 * HOUR, 7.5 * HOUR + MIN, 19.5 * HOUR, 19.5 * HOUR + MIN].slice(from, to);
    for (const offset of times) {
      const at = DAY1 + (day - 1) * DAY + offset;
      out.push(...processor.onReading(reading('systolic_bp', sys, at, { position: 'sitting' }), c).alerts);
      out.push(...processor.onReading(reading('diastolic_bp', dia, at, { position: 'sitting' }), c).alerts);
    }
    return out;
  }

  it('discards day 1, gives a result on day 4 (4 days counting day 1), raises stage 1, and steps up to stage 2 on the 7-day average', () => {
    const processor = createRulesProcessor({ news2, packs });
    const c = ctx(['hypertension']);
    // Day 1 is high (first-day nerves): discarded by the protocol.
    expect(of('home-bp-average', pairs(processor, c, 1, 170, 100))).toEqual([]);
    for (const day of [2, 3]) expect(of('home-bp-average', pairs(processor, c, day, 140, 86))).toEqual([]);
    // Day 4, first reading: 4 days of monitoring counting day 1, so days 2-4 are averaged → 140/86,
    // at or above 135/85 (NICE NG136: at least 4 days, discard day 1, average the rest).
    const [stage1] = of('home-bp-average', pairs(processor, c, 4, 140, 86, 0, 1));
    expect(stage1).toMatchObject({ ruleId: 'home-bp-average', ruleVersion: '1.1.0', severity: 'low-medium', state: 'open' });
    expect(stage1!.explanation).toContain('systolic_bp home average 140 of 9 readings on 3 days (2026-11-03 to 2026-11-05, first day left out) >= 135 (default for homeBpTargetSystolic)');
    expect(stage1!.evidence.every((e) => Date.parse(e.ts) >= DAY1 + DAY)).toBe(true);
    expect(stage1!.response).toMatch(/stage 1/);
    pairs(processor, c, 4, 140, 86, 1);
    // Days 5 and 6 at 170/104: after day 5 the average is 147.5 (still stage 1); it reaches 150 at the
    // second reading of day 6: (12×140 + 6×170) / 18 = 150.
    const day5 = of('home-bp-average', pairs(processor, c, 5, 170, 104));
    expect(day5.every((a) => a.severity === 'low-medium')).toBe(true);
    const day6 = of('home-bp-average', pairs(processor, c, 6, 170, 104));
    const stepped = day6.find((a) => a.severity === 'medium')!;
    expect(stepped.alertId).toBe(stage1!.alertId);
    expect(stepped.evidence.filter((e) => e.type === 'systolic_bp' && e.threshold.includes('>= 150')).length).toBe(18);
    expect(stepped.history.at(-1)?.note).toBe('severity rose to medium');
    expect(stepped.response).toMatch(/stage 2/);
    expect(stepped.eventTs).toBe(new Date(DAY1 + 5 * DAY + 7.5 * HOUR + MIN).toISOString());
  });

  it('uses the patient’s own target (80 and over: 145/85) and leaves out readings flagged for an irregular pulse', () => {
    const processor = createRulesProcessor({ news2, packs });
    const c = ctx(['hypertension'], { homeBpTargetSystolic: 145, homeBpTargetDiastolic: 90 });
    for (const day of [1, 2, 3, 4, 5, 6]) expect(of('home-bp-average', pairs(processor, c, day, 140, 86))).toEqual([]);
    // A flagged reading far above target changes nothing.
    const flagged = processor.onReading(reading('systolic_bp', 230, DAY1 + 6 * DAY + 8 * HOUR, { position: 'sitting', flags: ['irregular_pulse_during_measurement'] }), c).alerts;
    expect(of('home-bp-average', flagged)).toEqual([]);
    expect(of('bp-unreliable-irregular-pulse', flagged)).toHaveLength(1);
  });
});

describe('severe BP and postural drop', () => {
  const T0 = Date.parse('2026-11-10T08:00:00Z');
  it('opens at medium on one reading ≥180, steps up to high on the second in a row, and never steps down by itself', () => {
    const processor = createRulesProcessor({ news2, packs });
    const c = ctx(['hypertension']);
    const sys = (min: number, v: number) => of('bp-severe', processor.onReading(reading('systolic_bp', v, T0 + min * MIN, { position: 'sitting' }), c).alerts);
    const [first] = sys(0, 184);
    expect(first).toMatchObject({ severity: 'medium', state: 'open' });
    const ack: AlertAction = { actionId: 'a1', alertId: first!.alertId, patientId: 'p1', wardId: 'w1', action: 'acknowledge', by: 'nurse.b', at: new Date(T0 + 2 * MIN).toISOString() };
    expect(processor.applyAction(ack)).toMatchObject({ changed: true, alert: { state: 'acknowledged' } });
    // Confirmed on repeat: severity rises, and the acknowledged alert is reopened so the rise is seen.
    const [second] = sys(5, 186);
    expect(second).toMatchObject({ alertId: first!.alertId, severity: 'high', state: 'open' });
    expect(second!.response).toMatch(/Confirmed 180\/120/);
    // A normal reading: not auto-resolved (a person must review); still high.
    expect(sys(10, 150)).toEqual([]);
    const [again] = sys(15, 181);
    expect(again).toMatchObject({ alertId: first!.alertId, severity: 'high' });
  });

  it('raises a postural drop of 20 mmHg or more from seated to standing within 5 minutes, and not of 19', () => {
    const run = (seated: number, standing: number, gapMin = 2) => {
      const processor = createRulesProcessor({ news2, packs });
      const c = ctx(['hypertension']);
      processor.onReading(reading('systolic_bp', seated, T0, { position: 'sitting' }), c);
      return of('bp-postural-drop', processor.onReading(reading('systolic_bp', standing, T0 + gapMin * MIN, { position: 'standing' }), c).alerts);
    };
    expect(run(142, 123)).toEqual([]);
    const [alert] = run(142, 122);
    expect(alert!.explanation).toContain('systolic_bp fell 20 on standing (sitting 142, standing 122) within 5m >= 20');
    expect(alert!.evidence.map((e) => e.value)).toEqual([142, 122]);
    expect(run(142, 110, 6)).toEqual([]);
  });
});

describe('NEWS2 rise within 24 hours (NEWS2 as a series)', () => {
  const T0 = Date.parse('2026-11-10T08:00:00Z');
  const set = (processor: ReturnType<typeof createRulesProcessor>, c: PatientRuleContext, at: number, v: { rr: number; hr: number; temp?: number }) => {
    const values: Array<[Reading['type'], Reading['value']]> = [
      ['respiratory_rate', v.rr],
      ['spo2', 97],
      ['supplemental_oxygen', false],
      ['systolic_bp', 125],
      ['heart_rate', v.hr],
      ['consciousness', 'A'],
      ['temperature', v.temp ?? 37],
    ];
    return values.flatMap(([type, value], i) => of('news2-rise', processor.onReading(reading(type, value, at + i * 1000), c).alerts));
  };
  it('raises when the complete score rises by 2 from its lowest in 24 h, with the scores as evidence', () => {
    const processor = createRulesProcessor({ news2, packs });
    const c = ctx(['post-op']);
    expect(set(processor, c, T0, { rr: 16, hr: 80 })).toEqual([]); // NEWS2 0
    expect(set(processor, c, T0 + 4 * HOUR, { rr: 16, hr: 95 })).toEqual([]); // 1
    const alerts = set(processor, c, T0 + 8 * HOUR, { rr: 22, hr: 95 }); // 3
    expect(alerts[0]).toMatchObject({ ruleId: 'news2-rise', severity: 'low-medium', state: 'open' });
    expect(alerts[0]!.explanation).toContain('news2 change 3 from window-min (0) within 1d >= 2');
    expect(alerts[0]!.evidence.map((e) => [e.type, e.value])).toEqual([['news2', 0], ['news2', 3]]);
  });
  it('does not count partial scores: readings that are merely missing are not a rise', () => {
    const processor = createRulesProcessor({ news2, packs });
    const c = ctx(['post-op']);
    // Only a heart rate of 95 (partial NEWS2 1), then RR 22 alone (partial) ...
    expect(of('news2-rise', processor.onReading(reading('heart_rate', 95, T0), c).alerts)).toEqual([]);
    expect(of('news2-rise', processor.onReading(reading('respiratory_rate', 22, T0 + MIN), c).alerts)).toEqual([]);
    // ... and the first complete score is 3: no earlier complete score, so no rise.
    expect(set(processor, c, T0 + 2 * MIN, { rr: 22, hr: 95 })).toEqual([]);
  });
});

describe('time: late and out-of-order readings', () => {
  const T0 = Date.parse('2026-11-20T08:00:00Z');
  it('a late reading counts in the window it belongs to, and the alert is raised at the patient’s clock', () => {
    const processor = createRulesProcessor({ news2, packs });
    const c = ctx(['heart-failure']);
    processor.onReading(reading('weight', 80.5, T0), c);
    expect(of('hf-weight-gain', processor.onReading(reading('weight', 82.1, T0 + 48 * HOUR), c).alerts)).toEqual([]);
    // Yesterday's weight arrives late (the scale was offline): lowest in the window is now 79.9.
    const [alert] = of('hf-weight-gain', processor.onReading(reading('weight', 79.9, T0 + 24 * HOUR), c).alerts);
    expect(alert).toMatchObject({ raisedAt: new Date(T0 + 48 * HOUR).toISOString() });
    expect(alert!.evidence.map((e) => e.value)).toEqual([79.9, 82.1]);
  });
  it('a late reading advances no sustained count', () => {
    const processor = createRulesProcessor({ news2, packs });
    const c = ctx(['general']);
    processor.onReading(reading('irregular_rhythm', true, T0), c);
    const hr = (minute: number, bpm: number) => of('af-fast-irregular', processor.onReading(reading('heart_rate', bpm, T0 + minute * MIN), c).alerts);
    hr(1, 120);
    hr(6, 125);
    hr(11, 122);
    expect(hr(3, 130)).toEqual([]); // late: would have been the 4th reading in order
    expect(hr(12, 121)).toHaveLength(1); // the 4th in-order reading
  });
});

describe('re-arming after a person resolves', () => {
  it('does not reopen while the condition still holds; reopens after it has cleared and recurred', () => {
    const processor = createRulesProcessor({ news2, packs });
    const c = ctx(['heart-failure']);
    const T0 = Date.parse('2026-11-20T08:00:00Z');
    const weigh = (h: number, kg: number) => of('hf-weight-gain', processor.onReading(reading('weight', kg, T0 + h * HOUR), c).alerts);
    weigh(0, 80);
    const [open] = weigh(24, 82.5);
    processor.applyAction({ actionId: 'x', alertId: open!.alertId, patientId: 'p1', wardId: 'w1', action: 'resolve', by: 'nurse.c', at: new Date(T0 + 25 * HOUR).toISOString(), note: 'diuretic increased' });
    expect(weigh(30, 82.6)).toEqual([]);
    expect(weigh(48, 81)).toEqual([]); // cleared: re-armed
    const [reopened] = weigh(60, 82.2);
    expect(reopened).toMatchObject({ state: 'open' });
    expect(reopened!.alertId).not.toBe(open!.alertId);
  });
});

describe('state survives a restart', () => {
  it('a processor restored from the changelog and the alerts continues exactly as one that never stopped', () => {
    const T0 = Date.parse('2026-11-02T06:00:00Z');
    const patients: Array<[string, PatientRuleContext]> = [
      ['hf', ctx(['heart-failure'], { baselineWeight: 80 })],
      ['ht', ctx(['hypertension'])],
      ['ari', ctx(['ari'])],
      ['af', ctx(['general'])],
    ];
    type Step = { reading: Reading; c: PatientRuleContext } | { tick: number };
    const steps: Step[] = [];
    n = 0;
    for (let h = 0; h < 24 * 6; h += 3) {
      const at = T0 + h * HOUR;
      for (const [id, c] of patients) {
        const r = (type: Reading['type'], value: Reading['value'], extra: Partial<Reading> = {}) => steps.push({ reading: reading(type, value, at + steps.length * 1000, extra, id), c });
        if (id === 'hf' && h % 24 === 0) r('weight', 80 + h / 24 * 0.9);
        if (id === 'ht' && h % 12 === 0) {
          r('systolic_bp', 150 + (h % 7), { position: 'sitting' });
          r('diastolic_bp', 92, { position: 'sitting' });
        }
        if (id === 'ari' && h % 6 === 0) r('spo2', h % 18 === 0 ? 93 : 96);
        if (id === 'af') {
          r('irregular_rhythm', h % 9 === 0);
          r('heart_rate', 100 + (h % 30));
        }
      }
      steps.push({ tick: at + HOUR });
    }
    const run = (processor: ReturnType<typeof createRulesProcessor>, from: number, to: number) =>
      steps.slice(from, to).flatMap((s) => ('tick' in s ? processor.tick(s.tick) : processor.onReading(s.reading, s.c).alerts));

    const straight = run(createRulesProcessor({ news2, packs }), 0, steps.length);
    expect(new Set(straight.map((a) => a.ruleId)).size).toBeGreaterThanOrEqual(4);

    const half = Math.floor(steps.length / 2);
    const before = createRulesProcessor({ news2, packs });
    const first = run(before, 0, half);
    // What a new process finds: every alert published so far, and each patient's changelog record
    // (round-tripped through JSON, as over the bus).
    const after = createRulesProcessor({ news2, packs });
    for (const alert of first) after.seed(JSON.parse(JSON.stringify(alert)), patients.find(([id]) => id === alert.patientId)![1]);
    for (const [id, c] of patients) after.importPatient(id, JSON.parse(JSON.stringify(before.exportPatient(id))), c);
    const second = run(after, half, steps.length);
    expect(JSON.stringify([...first, ...second])).toBe(JSON.stringify(straight));
    // And a redelivered reading from before the restart changes nothing.
    const redelivered = steps.slice(0, half).filter((s): s is { reading: Reading; c: PatientRuleContext } => 'reading' in s).at(-1)!;
    expect(after.onReading(redelivered.reading, redelivered.c).alerts).toEqual([]);
  });
});
