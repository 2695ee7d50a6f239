import { describe, expect, it } from 'vitest';
import { BASELINE, compare, evaluate, wakeAt, type EvaluationContext, type History, type NodeState, type Point, type Settings } from '../../../src/rules/engine/evaluate.ts';
import type { Condition, SeriesType } from '../../../src/rules/engine/pack-file.ts';

/**
 * Each condition kind evaluated directly over a hand-made history: when it holds, at the exact edges
 * of its thresholds and windows, the evidence it names and the words it uses.
 */
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function harness(condition: Condition, options: { firstSeen?: number; first?: Partial<Record<SeriesType, number>> } = {}) {
  const series: Partial<Record<SeriesType, Point[]>> = {};
  const slotOf = new Map<Condition, number>();
  const number = (c: Condition) => {
    slotOf.set(c, slotOf.size);
    if (c.kind === 'all' || c.kind === 'any') c.of.forEach(number);
  };
  number(condition);
  const nodes: Array<NodeState | undefined> = [];
  let seq = 0;
  const history: History = {
    points: (type) => series[type] ?? [],
    firstSeen: options.firstSeen ?? 0,
    firstOf: (type) => options.first?.[type] ?? series[type]?.[0]?.t,
  };
  return {
    history,
    nodes,
    /** Adds a point in time order; returns its id. */
    add(type: SeriesType, t: number, value: Point['value'], extra: Partial<Point> = {}): string {
      const readingId = `r${++seq}`;
      (series[type] ??= []).push({ t, readingId, value, ...extra });
      series[type]!.sort((a, b) => a.t - b.t);
      return readingId;
    },
    at(now: number, ctx: { fresh?: SeriesType[]; settings?: Settings; settingsVersion?: number; timerNow?: number } = {}) {
      const evaluation: EvaluationContext = { history, settings: ctx.settings ?? {}, now, fresh: ctx.fresh ?? [], nodes, slotOf, ...(ctx.timerNow !== undefined ? { timerNow: ctx.timerNow } : {}) };
      if (ctx.settingsVersion !== undefined) evaluation.settingsVersion = ctx.settingsVersion;
      return evaluate(condition, evaluation);
    },
    wake: (now: number) => wakeAt(condition, history, now),
  };
}

describe('compare', () => {
  it.each([
    [1, '==', 1, true],
    [1, '==', 2, false],
    ['A', '==', 'A', true],
    [1, '!=', 2, true],
    [true, '!=', true, false],
    [2, '>', 1, true],
    [1, '>', 1, false],
    [1, '>=', 1, true],
    [0, '>=', 1, false],
    [0, '<', 1, true],
    [1, '<', 1, false],
    [1, '<=', 1, true],
    [2, '<=', 1, false],
  ] as const)('%j %s %j is %s', (left, op, right, expected) => {
    expect(compare(left, op, right)).toBe(expected);
  });
});

describe('threshold', () => {
  const below92: Condition = { kind: 'threshold', type: 'spo2', op: '<', value: 92 };

  it('holds on the latest reading at or before now, naming it and the threshold', () => {
    const h = harness(below92);
    expect(h.at(0)).toEqual({ holds: false, evidence: [] });
    const low = h.add('spo2', 10, 91);
    h.add('spo2', 20, 97);
    expect(h.at(10)).toEqual({ holds: true, evidence: [{ readingId: low, type: 'spo2', value: 91, t: 10, threshold: 'spo2 < 92' }] });
    expect(h.at(15).holds).toBe(true);
    expect(h.at(20)).toEqual({ holds: false, evidence: [] });
    expect(h.at(5)).toEqual({ holds: false, evidence: [] });
  });

  it('reads a setting, naming it and the settings version, else its default, else never holds', () => {
    const c: Condition = { kind: 'threshold', type: 'weight', op: '>', value: { setting: 'maxWeight', default: 100 } };
    const h = harness(c);
    h.add('weight', 0, 90);
    expect(h.at(0, { settings: { maxWeight: 85 }, settingsVersion: 3 }).evidence[0]!.threshold).toBe('weight > 85 (setting maxWeight, settings v3)');
    expect(h.at(0, { settings: { maxWeight: 85 } }).evidence[0]!.threshold).toBe('weight > 85 (setting maxWeight)');
    expect(h.at(0, { settings: { maxWeight: 95 } }).holds).toBe(false);
    expect(h.at(0).holds).toBe(false);
    h.add('weight', 1, 101);
    expect(h.at(1).evidence[0]!.threshold).toBe('weight > 100 (default for maxWeight)');
    const noDefault = harness({ kind: 'threshold', type: 'weight', op: '>', value: { setting: 'maxWeight' } });
    noDefault.add('weight', 0, 1_000);
    expect(noDefault.at(0)).toEqual({ holds: false, evidence: [] });
  });

  it('sustained for a time: holds once the first of an unbroken run is that old, and a break starts again', () => {
    const c: Condition = { kind: 'threshold', type: 'spo2', op: '<', value: 92, sustained: { for: 10 * MIN } };
    const h = harness(c);
    const step = (t: number, v: number) => {
      h.add('spo2', t, v);
      return h.at(t, { fresh: ['spo2'] });
    };
    expect(step(0, 91)).toMatchObject({ holds: false, evidence: [{ threshold: 'spo2 < 92, sustained for 10m' }] });
    expect(step(9 * MIN, 90).holds).toBe(false);
    expect(step(10 * MIN, 90)).toMatchObject({ holds: true, evidence: [{ value: 90, threshold: 'spo2 < 92, sustained for 10m' }] });
    expect(step(11 * MIN, 95)).toEqual({ holds: false, evidence: [] });
    expect(step(12 * MIN, 91).holds).toBe(false);
    expect(step(22 * MIN, 91).holds).toBe(true);
    expect(h.nodes[0]).toEqual({ since: 12 * MIN, count: 2, lastT: 22 * MIN, active: false });
  });

  it('sustained over readings: counts each new reading once, and only fresh ones', () => {
    const c: Condition = { kind: 'threshold', type: 'heart_rate', op: '>', value: 130, sustained: { readings: 3 } };
    const h = harness(c);
    h.add('heart_rate', 0, 140);
    expect(h.at(0, { fresh: ['heart_rate'] }).holds).toBe(false);
    // Re-evaluated without a new reading (another type arrived): not counted again.
    expect(h.at(0, { fresh: ['heart_rate'] }).holds).toBe(false);
    expect(h.at(1, { fresh: ['spo2'] }).holds).toBe(false);
    h.add('heart_rate', 2, 141);
    expect(h.at(2, { fresh: ['heart_rate'] }).holds).toBe(false);
    h.add('heart_rate', 3, 142);
    // A late (not fresh) evaluation advances nothing.
    expect(h.at(3).holds).toBe(false);
    expect(h.at(3, { fresh: ['heart_rate'] })).toMatchObject({ holds: true, evidence: [{ value: 142, threshold: 'heart_rate > 130, sustained over 3 readings' }] });
    expect(h.nodes[0]).toMatchObject({ since: 0, count: 3, lastT: 3 });
  });

  it('sustained for a time and over readings needs both', () => {
    const c: Condition = { kind: 'threshold', type: 'heart_rate', op: '>', value: 130, sustained: { for: 2 * MIN, readings: 3 } };
    const h = harness(c);
    const step = (t: number) => {
      h.add('heart_rate', t, 140);
      return h.at(t, { fresh: ['heart_rate'] });
    };
    expect(step(0).holds).toBe(false);
    expect(step(2 * MIN).holds).toBe(false);
    const third = step(2 * MIN + 1);
    expect(third.holds).toBe(true);
    expect(third.evidence[0]!.threshold).toBe('heart_rate > 130, sustained for 2m and over 3 readings');
    const quick = harness(c);
    for (const t of [0, 1, 2]) quick.add('heart_rate', t, 140), quick.at(t, { fresh: ['heart_rate'] });
    expect(quick.at(2, { fresh: ['heart_rate'] }).holds).toBe(false);
  });
});

describe('hysteresis', () => {
  const c: Condition = { kind: 'hysteresis', type: 'temperature', raise: { op: '>=', value: 38.5 }, clear: { op: '<', value: 37.5 } };
  const text = 'temperature >= 38.5 raises, < 37.5 clears';

  it('raises at the raise threshold, holds between the two, clears only at the clear threshold', () => {
    const h = harness(c);
    const step = (t: number, v: number, fresh = true) => {
      h.add('temperature', t, v);
      return h.at(t, { fresh: fresh ? ['temperature'] : [] });
    };
    expect(h.at(0)).toEqual({ holds: false, evidence: [] });
    expect(step(1, 38.4)).toEqual({ holds: false, evidence: [] });
    const raised = step(2, 38.5);
    expect(raised).toEqual({ holds: true, evidence: [{ readingId: expect.any(String), type: 'temperature', value: 38.5, t: 2, threshold: text }] });
    expect(step(3, 37.5)).toMatchObject({ holds: true, evidence: [{ value: 37.5, threshold: text }] });
    expect(step(4, 37.4)).toEqual({ holds: false, evidence: [] });
    expect(h.nodes[0]).toEqual({ since: undefined, count: 0, lastT: undefined, active: false });
    expect(step(5, 38)).toEqual({ holds: false, evidence: [] });
  });

  it('is not cleared by a late reading, only by a fresh one', () => {
    const h = harness(c);
    h.add('temperature', 10, 39);
    expect(h.at(10, { fresh: ['temperature'] }).holds).toBe(true);
    h.add('temperature', 20, 37);
    expect(h.at(20).holds).toBe(true);
    expect(h.at(20, { fresh: ['temperature'] }).holds).toBe(false);
  });

  it('stays raised when its thresholds cannot be read, and cannot raise then', () => {
    const s: Condition = { kind: 'hysteresis', type: 'weight', raise: { op: '>', value: { setting: 'dry' } }, clear: { op: '<', value: 70 } };
    const h = harness(s);
    h.add('weight', 0, 90);
    expect(h.at(0, { fresh: ['weight'] })).toEqual({ holds: false, evidence: [] });
    expect(h.at(0, { fresh: ['weight'], settings: { dry: 80 }, settingsVersion: 2 }).evidence[0]!.threshold).toBe('weight > 80 (setting dry, settings v2) raises, < 70 clears');
    expect(h.at(1, { fresh: ['weight'] })).toEqual({ holds: true, evidence: [] });
    const clearSetting: Condition = { kind: 'hysteresis', type: 'weight', raise: { op: '>', value: 80 }, clear: { op: '<', value: { setting: 'low' } } };
    const g = harness(clearSetting);
    g.add('weight', 0, 90);
    expect(g.at(0, { fresh: ['weight'] })).toEqual({ holds: false, evidence: [] });
    expect(g.at(0, { fresh: ['weight'], settings: { low: 70 } }).holds).toBe(true);
    expect(g.at(0, { fresh: ['weight'] })).toEqual({ holds: true, evidence: [] });
    expect(harness(c).at(0)).toEqual({ holds: false, evidence: [] });
  });

  it('sustained: raises only once the raise threshold has held long enough, and starts again after clearing', () => {
    const s: Condition = { ...c, sustained: { readings: 2 } } as Condition;
    const h = harness(s);
    const step = (t: number, v: number) => {
      h.add('temperature', t, v);
      return h.at(t, { fresh: ['temperature'] });
    };
    expect(step(1, 39).holds).toBe(false);
    const up = step(2, 39);
    expect(up.holds).toBe(true);
    expect(up.evidence[0]!.threshold).toBe('temperature >= 38.5, sustained over 2 readings raises, < 37.5 clears');
    expect(step(3, 37).holds).toBe(false);
    expect(step(4, 39).holds).toBe(false);
    expect(step(5, 39).holds).toBe(true);
  });
});

describe('delta', () => {
  const gain = (from: Extract<Condition, { kind: 'delta' }>['from']): Condition => ({ kind: 'delta', type: 'weight', window: 3 * DAY, from, op: '>', value: 2 });

  it('from the window’s lowest: the change, baseline and latest as evidence, over the whole window', () => {
    const h = harness(gain('window-min'));
    h.add('weight', 0, 81);
    const low = h.add('weight', 1 * DAY, 80);
    const last = h.add('weight', 3 * DAY, 82.1);
    expect(h.at(3 * DAY)).toEqual({
      holds: true,
      evidence: [
        { readingId: low, type: 'weight', value: 80, t: DAY, threshold: BASELINE },
        { readingId: last, type: 'weight', value: 82.1, t: 3 * DAY, threshold: 'weight change 2.1 from window-min (80) within 3d > 2' },
      ],
    });
    expect(h.at(4 * DAY + 1).holds).toBe(false);
  });

  it('counts a point exactly at the window’s start, not one before', () => {
    const h = harness(gain('window-first'));
    h.add('weight', 0, 80);
    h.add('weight', 3 * DAY, 82.5);
    expect(h.at(3 * DAY).evidence.map((e) => e.value)).toEqual([80, 82.5]);
    expect(h.at(3 * DAY).evidence[1]!.threshold).toBe('weight change 2.5 from window-first (80) within 3d > 2');
    h.add('weight', 3 * DAY + 1, 82.5);
    expect(h.at(3 * DAY + 1)).toEqual({ holds: false, evidence: [] });
  });

  it('from the window’s first and highest', () => {
    const drop: Condition = { kind: 'delta', type: 'systolic_bp', window: HOUR, from: 'window-max', op: '<=', value: -20 };
    const h = harness(drop);
    h.add('systolic_bp', 0, 120);
    h.add('systolic_bp', 10 * MIN, 140);
    h.add('systolic_bp', 20 * MIN, 'n/a');
    h.add('systolic_bp', 30 * MIN, 120);
    expect(h.at(30 * MIN)).toMatchObject({ holds: true, evidence: [{ value: 140, threshold: BASELINE }, { value: 120, threshold: 'systolic_bp change -20 from window-max (140) within 1h <= -20' }] });
    const first = harness({ ...drop, from: 'window-first', op: '<', value: 0 } as Condition);
    first.add('systolic_bp', 0, 130);
    first.add('systolic_bp', 1, 110);
    first.add('systolic_bp', 2, 125);
    expect(first.at(2).evidence.map((e) => e.value)).toEqual([130, 125]);
    expect(first.at(2).evidence[1]!.threshold).toMatch(/^systolic_bp change -5 from window-first \(130\)/);
  });

  it('a single reading is its own baseline: no separate baseline evidence', () => {
    const h = harness({ kind: 'delta', type: 'weight', window: DAY, from: 'window-min', op: '>=', value: 0 });
    const only = h.add('weight', 0, 80);
    expect(h.at(0)).toEqual({ holds: true, evidence: [{ readingId: only, type: 'weight', value: 80, t: 0, threshold: 'weight change 0 from window-min (80) within 1d >= 0' }] });
  });

  it('from a setting: a number only, named with the settings version', () => {
    const h = harness(gain({ setting: 'dry' }));
    h.add('weight', 0, 82.333);
    expect(h.at(0)).toEqual({ holds: false, evidence: [] });
    expect(h.at(0, { settings: { dry: '80' } })).toEqual({ holds: false, evidence: [] });
    expect(h.at(0, { settings: { dry: 80 }, settingsVersion: 4 })).toMatchObject({ holds: true, evidence: [{ value: 82.333, threshold: 'weight change 2.33 from setting dry (80, settings v4) within 3d > 2' }] });
    expect(h.at(0, { settings: { dry: 80 } }).evidence).toHaveLength(1);
    expect(h.at(0, { settings: { dry: 80 } }).evidence[0]!.threshold).toBe('weight change 2.33 from setting dry (80) within 3d > 2');
    expect(h.at(0, { settings: { dry: 80.34 } }).holds).toBe(false);
  });

  it('holds nothing without numeric readings', () => {
    const h = harness(gain('window-min'));
    expect(h.at(0)).toEqual({ holds: false, evidence: [] });
    h.add('weight', 0, 'unreadable');
    expect(h.at(0)).toEqual({ holds: false, evidence: [] });
  });

  it('wakes when its oldest point leaves the window', () => {
    const h = harness(gain('window-min'));
    expect(h.wake(0)).toBe(Number.POSITIVE_INFINITY);
    h.add('weight', 5, 80);
    expect(h.wake(5)).toBe(5 + 3 * DAY + 1);
    expect(h.wake(4)).toBe(Number.POSITIVE_INFINITY);
    expect(h.wake(5 + 3 * DAY)).toBe(5 + 3 * DAY + 1);
    expect(h.wake(5 + 3 * DAY + 1)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('average', () => {
  const c: Condition = { kind: 'average', type: 'spo2', window: HOUR, minReadings: 3, op: '<', value: 94 };

  it('averages the numeric readings in the window once there are enough, to one decimal', () => {
    const h = harness(c);
    h.add('spo2', 0, 99);
    const ids = [h.add('spo2', 30 * MIN, 93), h.add('spo2', 40 * MIN, 'x'), h.add('spo2', 50 * MIN, 94), h.add('spo2', 60 * MIN, 93)];
    const threshold = 'average 93.3 of 3 readings within 1h < 94';
    expect(h.at(60 * MIN + 1)).toEqual({
      holds: true,
      evidence: [
        { readingId: ids[0], type: 'spo2', value: 93, t: 30 * MIN, threshold },
        { readingId: ids[2], type: 'spo2', value: 94, t: 50 * MIN, threshold },
        { readingId: ids[3], type: 'spo2', value: 93, t: 60 * MIN, threshold },
      ],
    });
    // At 60 min the first reading (at 0) is exactly an hour old: it counts, and lifts the average.
    expect(h.at(60 * MIN)).toEqual({ holds: false, evidence: [] });
    // Too few readings once the older ones leave.
    expect(h.at(115 * MIN)).toEqual({ holds: false, evidence: [] });
    // Readings after now do not count.
    expect(h.at(50 * MIN)).toEqual({ holds: false, evidence: [] });
  });

  it('against a setting, naming it', () => {
    const s = harness({ ...c, minReadings: 1, value: { setting: 'target', default: 90 } } as Condition);
    s.add('spo2', 0, 91);
    expect(s.at(0, { settings: { target: 92 } }).evidence[0]!.threshold).toBe('average 91 of 1 readings within 1h < 92 (setting target)');
    expect(s.at(0)).toEqual({ holds: false, evidence: [] });
    const none = harness({ ...c, minReadings: 1, value: { setting: 'target' } } as Condition);
    none.add('spo2', 0, 10);
    expect(none.at(0)).toEqual({ holds: false, evidence: [] });
  });

  it('wakes when its oldest reading leaves the window', () => {
    const h = harness(c);
    h.add('spo2', 100, 90);
    h.add('spo2', 200, 90);
    expect(h.wake(200)).toBe(100 + HOUR + 1);
  });
});

describe('protocol average (NICE NG136 home BP)', () => {
  // 2026-01-05 is a Monday in winter: UK time is UTC.
  const D0 = Date.parse('2026-01-05T08:00:00Z');
  const c: Condition = { kind: 'protocol-average', type: 'systolic_bp', days: 7, minDays: 3, discardFirstDay: true, excludeFlagged: true, position: 'sitting', op: '>=', value: 135 };

  it('averages days 2 onwards once enough days have readings, leaving out day 1, flagged and standing readings', () => {
    const h = harness(c);
    h.add('systolic_bp', D0, 180);
    h.add('systolic_bp', D0 + DAY, 140);
    h.add('systolic_bp', D0 + DAY + HOUR, 200, { flags: ['irregular_pulse_during_measurement'] });
    h.add('systolic_bp', D0 + 2 * DAY, 134, { position: 'sitting' });
    h.add('systolic_bp', D0 + 2 * DAY + HOUR, 100, { position: 'standing' });
    expect(h.at(D0 + 2 * DAY + HOUR)).toEqual({ holds: false, evidence: [] });
    h.add('systolic_bp', D0 + 3 * DAY, 136);
    const outcome = h.at(D0 + 3 * DAY);
    const threshold = 'systolic_bp home average 136.7 of 3 readings on 3 days (2026-01-06 to 2026-01-08, first day left out) >= 135';
    expect(outcome.holds).toBe(true);
    expect(outcome.evidence.map((e) => [e.value, e.threshold])).toEqual([
      [140, threshold],
      [134, threshold],
      [136, threshold],
    ]);
  });

  it('keeps the first day when not told to leave it out, and flagged readings when not told to', () => {
    const h = harness({ ...c, discardFirstDay: false, excludeFlagged: false, minDays: 2, position: undefined } as Condition);
    h.add('systolic_bp', D0, 150, { flags: ['irregular_pulse_during_measurement'] });
    h.add('systolic_bp', D0 + DAY, 130, { position: 'standing' });
    expect(h.at(D0 + DAY).evidence[0]!.threshold).toBe('systolic_bp home average 140 of 2 readings on 2 days (2026-01-05 to 2026-01-06) >= 135');
  });

  it('counts only the last `days` calendar days, and nothing after now', () => {
    const h = harness({ ...c, days: 2, minDays: 2, discardFirstDay: false } as Condition);
    h.add('systolic_bp', D0, 100);
    h.add('systolic_bp', D0 + DAY, 140);
    h.add('systolic_bp', D0 + 2 * DAY, 140);
    h.add('systolic_bp', D0 + 3 * DAY, 100);
    expect(h.at(D0 + 2 * DAY).evidence.map((e) => e.value)).toEqual([140, 140]);
    expect(h.at(D0 + 2 * DAY).evidence[0]!.threshold).toBe('systolic_bp home average 140 of 2 readings on 2 days (2026-01-06 to 2026-01-07) >= 135');
  });

  it('leaves out day 1 only when it falls in the days averaged, and says so only then', () => {
    const h = harness({ ...c, days: 2, minDays: 2 } as Condition, { first: { systolic_bp: D0 } });
    h.add('systolic_bp', D0 + 5 * DAY, 140);
    h.add('systolic_bp', D0 + 6 * DAY, 140);
    expect(h.at(D0 + 6 * DAY).evidence[0]!.threshold).toBe('systolic_bp home average 140 of 2 readings on 2 days (2026-01-10 to 2026-01-11) >= 135');
  });

  it('against a setting or with none', () => {
    const s = harness({ ...c, minDays: 1, discardFirstDay: false, value: { setting: 'homeTarget' } } as Condition);
    s.add('systolic_bp', D0, 140);
    expect(s.at(D0)).toEqual({ holds: false, evidence: [] });
    expect(s.at(D0, { settings: { homeTarget: 135 } }).evidence[0]!.threshold).toMatch(/>= 135 \(setting homeTarget\)$/);
    expect(s.at(D0, { settings: { homeTarget: 145 } }).holds).toBe(false);
  });

  it('wakes at the next UK midnight while it has readings', () => {
    const h = harness(c);
    expect(h.wake(D0)).toBe(Number.POSITIVE_INFINITY);
    h.add('systolic_bp', D0, 140);
    expect(h.wake(D0)).toBe(Date.parse('2026-01-06T00:00:00Z'));
    // In summer time UK midnight is 23:00 UTC.
    expect(h.wake(Date.parse('2026-07-01T12:00:00Z'))).toBe(Date.parse('2026-07-01T23:00:00Z'));
  });
});

describe('postural drop', () => {
  const c: Condition = { kind: 'postural-drop', type: 'systolic_bp', within: 10 * MIN, drop: 20 };

  it('holds when the newest standing reading is at least the drop below a seated or lying one shortly before', () => {
    const h = harness(c);
    const sitting = h.add('systolic_bp', 0, 140, { position: 'sitting' });
    const standing = h.add('systolic_bp', 5 * MIN, 120, { position: 'standing' });
    expect(h.at(5 * MIN)).toEqual({
      holds: true,
      evidence: [
        { readingId: sitting, type: 'systolic_bp', value: 140, t: 0, threshold: BASELINE },
        { readingId: standing, type: 'systolic_bp', value: 120, t: 5 * MIN, threshold: 'systolic_bp fell 20 on standing (sitting 140, standing 120) within 10m >= 20' },
      ],
    });
    expect(h.at(4 * MIN)).toEqual({ holds: false, evidence: [] });
  });

  it('a drop under the threshold, or too long after, does not hold', () => {
    const h = harness(c);
    h.add('systolic_bp', 0, 139, { position: 'lying' });
    h.add('systolic_bp', 10 * MIN, 120, { position: 'standing' });
    expect(h.at(10 * MIN).holds).toBe(false);
    const late = harness(c);
    late.add('systolic_bp', 0, 160, { position: 'lying' });
    late.add('systolic_bp', 10 * MIN + 1, 120, { position: 'standing' });
    expect(late.at(DAY).holds).toBe(false);
    const edge = harness(c);
    edge.add('systolic_bp', 0, 160, { position: 'lying' });
    edge.add('systolic_bp', 10 * MIN, 120, { position: 'standing' });
    expect(edge.at(DAY).evidence[1]!.threshold).toBe('systolic_bp fell 40 on standing (lying 160, standing 120) within 10m >= 20');
  });

  it('skips flagged readings and readings of no position, and uses the newest rest before the standing one', () => {
    const h = harness(c);
    h.add('systolic_bp', 0, 180, { position: 'sitting' });
    h.add('systolic_bp', 1 * MIN, 150, { position: 'sitting' });
    h.add('systolic_bp', 2 * MIN, 200, { position: 'sitting', flags: ['irregular_pulse_during_measurement'] });
    h.add('systolic_bp', 3 * MIN, 200);
    h.add('systolic_bp', 4 * MIN, 125, { position: 'standing' });
    h.add('systolic_bp', 5 * MIN, 90, { position: 'standing', flags: ['irregular_pulse_during_measurement'] });
    h.add('systolic_bp', 6 * MIN, 'x', { position: 'standing' });
    expect(h.at(6 * MIN).evidence.map((e) => e.value)).toEqual([150, 125]);
    const none = harness(c);
    none.add('systolic_bp', 0, 120, { position: 'standing' });
    expect(none.at(0)).toEqual({ holds: false, evidence: [] });
    none.add('systolic_bp', 1, 'x', { position: 'sitting' });
    none.add('systolic_bp', 2, 100, { position: 'standing' });
    expect(none.at(2)).toEqual({ holds: false, evidence: [] });
  });
});

describe('missing data', () => {
  const c: Condition = { kind: 'missing', type: 'spo2', expectedEvery: 4 * HOUR };

  it('holds once more than the expected interval has passed since the latest reading', () => {
    const h = harness(c);
    const id = h.add('spo2', 0, 96);
    expect(h.at(4 * HOUR)).toEqual({ holds: false, evidence: [] });
    expect(h.at(4 * HOUR + 1)).toEqual({ holds: true, evidence: [{ readingId: id, type: 'spo2', value: 96, t: 0, threshold: 'no spo2 for more than 4h' }] });
  });

  it('with no reading at all, counts from when monitoring began and says none arrived', () => {
    const h = harness(c, { firstSeen: 1_000 });
    expect(h.at(1_000 + 4 * HOUR)).toEqual({ holds: false, evidence: [] });
    expect(h.at(1_001 + 4 * HOUR)).toEqual({ holds: true, evidence: [], notes: ['no spo2 yet: none has arrived since monitoring began (expected at least every 4h)'] });
  });

  it('is judged at the timers’ time when that is later, so a late reading does not clear it', () => {
    const h = harness(c);
    h.add('spo2', 0, 96);
    expect(h.at(HOUR, { timerNow: 5 * HOUR }).holds).toBe(true);
    expect(h.at(5 * HOUR, { timerNow: HOUR }).holds).toBe(true);
    expect(h.at(HOUR, { timerNow: 2 * HOUR }).holds).toBe(false);
    h.add('spo2', 4 * HOUR + 30 * MIN, 95);
    expect(h.at(HOUR, { timerNow: 5 * HOUR }).holds).toBe(false);
  });

  it('wakes a millisecond after the deadline, and not at all once past it', () => {
    const h = harness(c, { firstSeen: 10 });
    expect(h.wake(10)).toBe(10 + 4 * HOUR + 1);
    h.add('spo2', HOUR, 96);
    expect(h.wake(HOUR)).toBe(5 * HOUR + 1);
    expect(h.wake(5 * HOUR)).toBe(5 * HOUR + 1);
    expect(h.wake(5 * HOUR + 1)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('flagged', () => {
  it('holds when the latest reading carries the flag', () => {
    const h = harness({ kind: 'flagged', type: 'systolic_bp', flag: 'irregular_pulse_during_measurement' });
    expect(h.at(0)).toEqual({ holds: false, evidence: [] });
    const id = h.add('systolic_bp', 0, 150, { flags: ['irregular_pulse_during_measurement'] });
    expect(h.at(0)).toEqual({ holds: true, evidence: [{ readingId: id, type: 'systolic_bp', value: 150, t: 0, threshold: 'flagged irregular_pulse_during_measurement' }] });
    h.add('systolic_bp', 1, 140, { flags: ['other'] });
    expect(h.at(1)).toEqual({ holds: false, evidence: [] });
    h.add('systolic_bp', 2, 140);
    expect(h.at(2)).toEqual({ holds: false, evidence: [] });
    expect(h.wake(2)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('all and any', () => {
  const low: Condition = { kind: 'threshold', type: 'spo2', op: '<', value: 92 };
  const fast: Condition = { kind: 'threshold', type: 'heart_rate', op: '>', value: 130 };
  const silent: Condition = { kind: 'missing', type: 'temperature', expectedEvery: HOUR };

  it('all: holds only when every branch does, with every branch’s evidence and notes', () => {
    const h = harness({ kind: 'all', of: [low, fast, silent] });
    const a = h.add('spo2', 0, 90);
    expect(h.at(2 * HOUR)).toEqual({ holds: false, evidence: [] });
    const b = h.add('heart_rate', 2 * HOUR, 140);
    expect(h.at(2 * HOUR)).toEqual({
      holds: true,
      evidence: [
        { readingId: a, type: 'spo2', value: 90, t: 0, threshold: 'spo2 < 92' },
        { readingId: b, type: 'heart_rate', value: 140, t: 2 * HOUR, threshold: 'heart_rate > 130' },
      ],
      notes: ['no temperature yet: none has arrived since monitoring began (expected at least every 1h)'],
    });
  });

  it('all: keeps every branch’s sustained state current even when one fails', () => {
    const sustained: Condition = { kind: 'threshold', type: 'heart_rate', op: '>', value: 130, sustained: { readings: 2 } };
    const h = harness({ kind: 'all', of: [low, sustained] });
    h.add('heart_rate', 0, 140);
    expect(h.at(0, { fresh: ['heart_rate'] }).holds).toBe(false);
    h.add('heart_rate', 1, 140);
    h.add('spo2', 1, 90);
    expect(h.at(1, { fresh: ['heart_rate', 'spo2'] }).holds).toBe(true);
  });

  it('any: holds when one branch does, with only the evidence of those that hold; one branch’s outcome as it is', () => {
    const h = harness({ kind: 'any', of: [low, fast] });
    expect(h.at(0)).toEqual({ holds: false, evidence: [] });
    h.add('spo2', 0, 97);
    const b = h.add('heart_rate', 0, 140);
    expect(h.at(0)).toEqual({ holds: true, evidence: [{ readingId: b, type: 'heart_rate', value: 140, t: 0, threshold: 'heart_rate > 130' }] });
    h.add('spo2', 1, 91);
    expect(h.at(1).evidence.map((e) => e.type)).toEqual(['spo2', 'heart_rate']);
    expect(h.at(1)).not.toHaveProperty('notes');
  });

  it('wake at the earliest of their branches', () => {
    const h = harness({ kind: 'any', of: [low, silent, { kind: 'missing', type: 'spo2', expectedEvery: 30 * MIN }] });
    expect(h.wake(0)).toBe(30 * MIN + 1);
    expect(harness({ kind: 'all', of: [low, fast] }).wake(0)).toBe(Number.POSITIVE_INFINITY);
    expect(harness({ kind: 'all', of: [silent] }).wake(0)).toBe(HOUR + 1);
  });
});
