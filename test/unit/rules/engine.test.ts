import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Alert, AlertAction, Pathway, Reading } from '../../../src/domain/index.ts';
import { createRuleEngine, type PatientContext } from '../../../src/rules/engine/engine.ts';
import { loadRulePacks, parseRulePack, type RulePack } from '../../../src/rules/engine/pack-file.ts';

let packs: RulePack[];
beforeAll(async () => {
  packs = await loadRulePacks('rules');
});

const T0 = Date.parse('2026-11-20T08:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
let n = 0;
const units: Record<string, string> = { spo2: '%', heart_rate: '/min', weight: 'kg', temperature: 'Cel', systolic_bp: 'mm[Hg]', irregular_rhythm: '{boolean}' };

function reading(type: Reading['type'], value: Reading['value'], at: number, extra: Partial<Reading> = {}): Reading {
  const ts = new Date(at).toISOString();
  return { readingId: `r${++n}`, patientId: 'p1', wardId: 'w1', deviceId: 'd1', type, value, unit: units[type], ts, receivedAt: ts, ...extra } as Reading;
}

const ctx = (pathways: Pathway[], settings: PatientContext['settings'] = {}): PatientContext => ({ wardId: 'w1', pathways, settings });
const only = (ruleId: string) => (alerts: Alert[]) => alerts.filter((a) => a.ruleId === ruleId);

describe('heart failure weight gain (delta over a window)', () => {
  const run = (weights: Array<[number, number]>) => {
    const engine = createRuleEngine(packs);
    return weights.flatMap(([hours, kg]) => only('hf-weight-gain')(engine.onReading(reading('weight', kg, T0 + hours * HOUR), ctx(['heart-failure']))));
  };
  it('does not alert at exactly 2 kg in 72 h', () => {
    expect(run([[0, 80], [24, 81], [72, 82]])).toEqual([]);
  });
  it('alerts at more than 2 kg in 72 h, naming the baseline and the change', () => {
    const [alert] = run([[0, 80], [24, 81], [72, 82.1]]);
    expect(alert).toMatchObject({ ruleId: 'hf-weight-gain', ruleVersion: '1.0.0', severity: 'medium', state: 'open' });
    expect(alert!.explanation).toBe('Weight gain over 3 days: weight change 2.1 from window-min (80) within 3d > 2 (latest 82.1 at 2026-11-23T08:00Z)');
    expect(alert!.evidence.map((e) => e.value)).toEqual([80, 82.1]);
  });
  it('does not count a low weight that has left the 72 h window', () => {
    expect(run([[0, 80], [24, 81], [73, 82.1]])).toEqual([]);
  });
  it('measures against the dry weight a clinician set', () => {
    const engine = createRuleEngine(packs);
    const alerts = engine.onReading(reading('weight', 83.5, T0), ctx(['heart-failure'], { baselineWeight: 80 }));
    expect(only('hf-weight-above-dry')(alerts)[0]?.explanation).toMatch(/from setting baselineWeight \(80\)/);
    const none = createRuleEngine(packs).onReading(reading('weight', 83.5, T0), ctx(['heart-failure']));
    expect(only('hf-weight-above-dry')(none)).toEqual([]);
  });
  it('applies only to its pathway', () => {
    const engine = createRuleEngine(packs);
    engine.onReading(reading('weight', 80, T0), ctx(['ari']));
    expect(engine.onReading(reading('weight', 84, T0 + HOUR), ctx(['ari']))).toEqual([]);
  });
});

describe('sustained conditions', () => {
  it('needs both the duration and the number of readings', () => {
    const engine = createRuleEngine(packs);
    const c = ctx(['general']);
    engine.onReading(reading('irregular_rhythm', true, T0), c);
    const fast = (minute: number, bpm: number) => only('af-fast-irregular')(engine.onReading(reading('heart_rate', bpm, T0 + minute * MIN), c));
    expect(fast(1, 120)).toEqual([]);
    expect(fast(6, 125)).toEqual([]);
    expect(fast(10, 122)).toEqual([]); // 9 minutes since the first: not yet 10
    expect(fast(11, 118)).toHaveLength(1); // 10 minutes and 4 readings
  });
  it('starts again after a reading that breaks the run', () => {
    const engine = createRuleEngine(packs);
    const c = ctx(['general']);
    engine.onReading(reading('irregular_rhythm', true, T0), c);
    const fast = (minute: number, bpm: number) => only('af-fast-irregular')(engine.onReading(reading('heart_rate', bpm, T0 + minute * MIN), c));
    fast(0, 120);
    fast(5, 121);
    fast(6, 100);
    expect(fast(11, 130)).toEqual([]);
    expect(fast(16, 130)).toEqual([]);
    expect(fast(21, 130)).toHaveLength(1);
  });
});

describe('hysteresis', () => {
  it('raises after two low readings and clears only at the clear threshold', () => {
    const engine = createRuleEngine(packs);
    const c = ctx(['ari']);
    const spo2 = (minute: number, v: number) => only('spo2-urgent-review')(engine.onReading(reading('spo2', v, T0 + minute * MIN), c));
    expect(spo2(0, 94)).toEqual([]);
    const [raised] = spo2(5, 94);
    expect(raised).toMatchObject({ state: 'open', severity: 'medium' });
    // 94 again: still raised (a new reading updates the evidence).
    expect(spo2(10, 94)[0]).toMatchObject({ state: 'open', revision: 1 });
    const [cleared] = spo2(15, 95);
    expect(cleared).toMatchObject({ alertId: raised!.alertId, state: 'resolved' });
    expect(cleared!.history.at(-1)).toMatchObject({ state: 'resolved', by: 'vw', note: 'condition cleared' });
  });
  it('does not raise on a single dip', () => {
    const engine = createRuleEngine(packs);
    const c = ctx(['ari']);
    expect(engine.onReading(reading('spo2', 93, T0), c)).toEqual([]);
    expect(engine.onReading(reading('spo2', 97, T0 + MIN), c)).toEqual([]);
    expect(engine.onReading(reading('spo2', 93, T0 + 2 * MIN), c)).toEqual([]);
  });
});

describe('timers driven by the clock', () => {
  it('escalates an unacknowledged alert on time, once, and not after an acknowledgement', () => {
    const engine = createRuleEngine(packs);
    const c = ctx(['ari']);
    engine.onReading(reading('spo2', 94, T0), c);
    const [raised] = engine.onReading(reading('spo2', 94, T0 + MIN), c);
    expect(engine.tick(T0 + 60 * MIN)).toEqual([]);
    const escalated = only('spo2-urgent-review')(engine.tick(T0 + 61 * MIN));
    expect(escalated[0]).toMatchObject({ state: 'escalated', severity: 'high' });
    expect(escalated[0]!.history.at(-1)).toEqual({ state: 'escalated', at: new Date(T0 + 61 * MIN).toISOString(), by: 'vw', note: 'not acknowledged in time: virtual ward clinician on call', notify: 'virtual ward clinician on call' });
    expect(only('spo2-urgent-review')(engine.tick(T0 + 120 * MIN))).toEqual([]);
    const ack: AlertAction = { actionId: 'a1', alertId: raised!.alertId, patientId: 'p1', wardId: 'w1', action: 'acknowledge', by: 'nurse.k', at: new Date(T0 + 121 * MIN).toISOString() };
    expect(engine.applyAction(ack)).toMatchObject({ changed: true, alert: { state: 'acknowledged' } });

    const other = createRuleEngine(packs);
    other.onReading(reading('spo2', 94, T0), c);
    const [second] = other.onReading(reading('spo2', 94, T0 + MIN), c);
    other.applyAction({ ...ack, alertId: second!.alertId, at: new Date(T0 + 10 * MIN).toISOString() });
    expect(only('spo2-urgent-review')(other.tick(T0 + 5 * HOUR))).toEqual([]);
  });

  it('fires a missing-data alert when no reading arrives, and resolves it when one does', () => {
    const engine = createRuleEngine(packs);
    const c = ctx(['ari']);
    engine.onReading(reading('spo2', 97, T0), c);
    expect(only('no-spo2-data')(engine.tick(T0 + 14 * HOUR))).toEqual([]);
    const [missing] = only('no-spo2-data')(engine.tick(T0 + 14 * HOUR + MIN));
    expect(missing).toMatchObject({ state: 'open', severity: 'low-medium', raisedAt: new Date(T0 + 14 * HOUR + MIN).toISOString() });
    expect(missing!.explanation).toMatch(/no spo2 for more than 14h/);
    expect(only('no-spo2-data')(engine.tick(T0 + 15 * HOUR))).toEqual([]);
    const [back] = only('no-spo2-data')(engine.onReading(reading('spo2', 96, T0 + 15 * HOUR), c));
    expect(back).toMatchObject({ alertId: missing!.alertId, state: 'resolved' });
  });
});

describe('determinism and explainability', () => {
  it('gives the same alerts, byte for byte, for the same stream', () => {
    const stream: Array<['r', Reading] | ['t', number]> = [];
    n = 0;
    for (let i = 0; i < 50; i++) {
      stream.push(['r', reading('spo2', i % 7 === 0 ? 92 : 94 + (i % 3), T0 + i * 10 * MIN)]);
      stream.push(['r', reading('weight', 80 + i * 0.1, T0 + i * 10 * MIN)]);
      if (i % 5 === 0) stream.push(['t', T0 + i * 10 * MIN + 5 * MIN]);
    }
    const replay = () => {
      const engine = createRuleEngine(packs);
      const c = ctx(['ari', 'heart-failure'], { baselineWeight: 80 });
      return JSON.stringify(stream.flatMap(([kind, x]) => (kind === 'r' ? engine.onReading(x as Reading, c) : engine.tick(x as number))));
    };
    const first = replay();
    expect(first.length).toBeGreaterThan(100);
    expect(replay()).toBe(first);
  });

  it('absorbs a redelivered reading', () => {
    const engine = createRuleEngine(packs);
    const c = ctx(['ari']);
    engine.onReading(reading('spo2', 92, T0), c);
    const r = reading('spo2', 92, T0 + MIN);
    expect(engine.onReading(r, c).length).toBeGreaterThan(0);
    expect(engine.onReading({ ...r }, c)).toEqual([]);
  });

  it('every alert names its rule, version, readings and thresholds', () => {
    const engine = createRuleEngine(packs);
    const c = ctx(['general']);
    const alerts = engine.onReading(reading('systolic_bp', 150, T0, { flags: ['irregular_pulse_during_measurement'] }), c);
    expect(alerts[0]).toMatchObject({ ruleId: 'bp-unreliable-irregular-pulse', ruleVersion: '1.0.0' });
    expect(alerts[0]!.evidence[0]).toMatchObject({ type: 'systolic_bp', value: 150, threshold: 'flagged irregular_pulse_during_measurement' });
    expect(alerts[0]!.explanation).toMatch(/^Blood pressure taken during an irregular pulse: /);
  });
});

describe('rule files', () => {
  it('refuses a bad file naming the file, the rule and the field', () => {
    const text = readFileSync('rules/oximetry.yaml', 'utf8');
    expect(() => parseRulePack('rules/oximetry.yaml', text.replace("raise: { op: '<=', value: 94 }", "raise: { op: '=<', value: 94 }"))).toThrow(
      /rules\/oximetry\.yaml: rule spo2-urgent-review: condition\.raise\.op: /,
    );
    expect(() => parseRulePack('x.yaml', text.replace('afterUnacknowledged: 60m', 'afterUnacknowledged: an hour'))).toThrow(/rule spo2-urgent-review: escalation\.0\.afterUnacknowledged: a duration/);
    expect(() => parseRulePack('x.yaml', text.replace('version: 1.1.0\n    title: SpO2 92', 'version: 1\n    title: SpO2 92'))).toThrow(/rule spo2-emergency: version/);
  });
});
