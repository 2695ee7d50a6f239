import { describe, expect, it } from 'vitest';
import type { Alert, AlertAction, Reading } from '../../../src/domain/index.ts';
import { createRuleEngine, type PatientContext } from '../../../src/rules/engine/engine.ts';
import { RulePack } from '../../../src/rules/engine/pack-file.ts';

/**
 * The rule engine's alert lifecycle on small hand-written rules: raise, update, step severity up (and
 * down where allowed), escalate when unacknowledged, acknowledge, resolve by hand or when the
 * condition clears, and re-arm only after it has cleared.
 */
const T0 = Date.parse('2026-11-20T08:00:00Z');
const MIN = 60_000;
const iso = (t: number) => new Date(t).toISOString();

const pack = (rules: object[]) =>
  RulePack.parse({
    pack: 'test',
    version: '1.0.0',
    title: 'Test rules',
    rules: rules.map((r) => ({ version: '2.1.0', pathways: 'all', description: 'A test rule', source: 'Test', response: 'Review today', severity: 'medium', ...r })),
  });

const LOW_SPO2 = {
  id: 'low-spo2',
  title: 'Low SpO2',
  condition: { kind: 'threshold', type: 'spo2', op: '<', value: 92 },
  levels: [{ severity: 'high', when: { kind: 'threshold', type: 'spo2', op: '<', value: 88 }, response: 'Call 999' }],
  escalation: [
    { afterUnacknowledged: '30m', to: 'high', notify: 'clinician on call' },
    { afterUnacknowledged: '60m', to: 'high', notify: 'consultant' },
  ],
};

let n = 0;
function reading(type: Reading['type'], value: Reading['value'], at: number, extra: Partial<Reading> = {}): Reading {
  const ts = iso(at);
  return { readingId: `lr${++n}`, patientId: 'p1', wardId: 'w1', deviceId: 'd1', type, value, unit: 'u', ts, receivedAt: iso(at + 2_000), ...extra } as Reading;
}
const ctx: PatientContext = { wardId: 'w1', pathways: ['ari'], settings: {} };
const act = (alert: Alert, action: AlertAction['action'], at: number, extra: Partial<AlertAction> = {}): AlertAction => ({
  actionId: `act-${++n}`,
  alertId: alert.alertId,
  patientId: alert.patientId,
  wardId: alert.wardId,
  action,
  by: 'nurse.a',
  at: iso(at),
  ...extra,
});

describe('raising', () => {
  it('opens an alert with everything a console and an audit need', () => {
    const engine = createRuleEngine([pack([LOW_SPO2])]);
    const r = reading('spo2', 90, T0);
    const [alert] = engine.onReading(r, ctx);
    expect(alert).toEqual({
      alertId: expect.stringMatching(/^al_[A-Za-z0-9_-]{20}$/),
      patientId: 'p1',
      wardId: 'w1',
      cause: 'low-spo2',
      ruleId: 'low-spo2',
      ruleVersion: '2.1.0',
      severity: 'medium',
      state: 'open',
      revision: 0,
      raisedAt: iso(T0),
      updatedAt: iso(T0),
      eventTs: iso(T0),
      partial: false,
      explanation: 'Low SpO2: spo2 < 92 (latest 90 at 2026-11-20T08:00Z)',
      response: 'Review today',
      evidence: [{ readingId: r.readingId, type: 'spo2', value: 90, ts: iso(T0), threshold: 'spo2 < 92' }],
      history: [{ state: 'open', at: iso(T0), by: 'vw' }],
      receivedAt: iso(T0 + 2_000),
    });
    expect(engine.owns(alert!.alertId)).toBe(true);
    expect(engine.owns('al_other')).toBe(false);
  });

  it('opens at the level whose condition also holds, with its response and both evidences', () => {
    const engine = createRuleEngine([pack([LOW_SPO2])]);
    const [alert] = engine.onReading(reading('spo2', 86, T0), ctx);
    expect(alert).toMatchObject({ severity: 'high', response: 'Call 999', explanation: 'Low SpO2: spo2 < 92; spo2 < 88 (latest 86 at 2026-11-20T08:00Z)' });
    // The same reading against two thresholds: two lines of evidence.
    expect(alert!.evidence.map((e) => e.threshold)).toEqual(['spo2 < 92', 'spo2 < 88']);
  });

  it('a level without its own response keeps the rule’s; a lower level does not lower the severity', () => {
    const rule = { ...LOW_SPO2, severity: 'high', levels: [{ severity: 'low-medium', when: { kind: 'threshold', type: 'spo2', op: '<', value: 91 } }, { severity: 'high', when: { kind: 'threshold', type: 'spo2', op: '<', value: 90 } }] };
    const [alert] = createRuleEngine([pack([rule])]).onReading(reading('spo2', 89, T0), ctx);
    expect(alert).toMatchObject({ severity: 'high', response: 'Review today' });
  });

  it('names no latest reading when nothing can show it, and says what held', () => {
    const rule = { id: 'no-temp', title: 'No temperature', condition: { kind: 'missing', type: 'temperature', expectedEvery: '1h' } };
    const engine = createRuleEngine([pack([rule])]);
    engine.onReading(reading('spo2', 97, T0), ctx);
    const [alert] = engine.tick(T0 + 61 * MIN);
    expect(alert).toMatchObject({ explanation: 'No temperature: no temperature yet: none has arrived since monitoring began (expected at least every 1h)', evidence: [], receivedAt: iso(T0 + 61 * MIN) });
  });

  it('gives each opening its own id: the patient, rule and time', () => {
    const rule = { id: 'fast', title: 'Fast', condition: { kind: 'threshold', type: 'heart_rate', op: '>', value: 130 } };
    const engine = createRuleEngine([pack([rule])]);
    const [a] = engine.onReading(reading('heart_rate', 140, T0), ctx);
    const [cleared] = engine.onReading(reading('heart_rate', 100, T0 + MIN), ctx);
    expect(cleared).toMatchObject({ alertId: a!.alertId, state: 'resolved' });
    const [b] = engine.onReading(reading('heart_rate', 140, T0 + 2 * MIN), ctx);
    expect(b!.alertId).not.toBe(a!.alertId);
    const [other] = engine.onReading(reading('heart_rate', 140, T0, { patientId: 'p2' }), ctx);
    expect(other!.alertId).not.toBe(a!.alertId);
  });
});

describe('updating', () => {
  it('a new reading over the threshold updates the evidence, keeping state, severity, response and history', () => {
    const engine = createRuleEngine([pack([LOW_SPO2])]);
    const [open] = engine.onReading(reading('spo2', 91, T0), ctx);
    const r = reading('spo2', 90, T0 + 5 * MIN);
    const [updated] = engine.onReading(r, ctx);
    expect(updated).toEqual({
      ...open,
      revision: 1,
      updatedAt: iso(T0 + 5 * MIN),
      eventTs: iso(T0 + 5 * MIN),
      evidence: [{ readingId: r.readingId, type: 'spo2', value: 90, ts: iso(T0 + 5 * MIN), threshold: 'spo2 < 92' }],
      explanation: 'Low SpO2: spo2 < 92 (latest 90 at 2026-11-20T08:05Z)',
      receivedAt: r.receivedAt,
    });
  });

  it('publishes nothing when the same readings hold against the same thresholds', () => {
    const rule = { id: 'either', title: 'Either', condition: { kind: 'any', of: [{ kind: 'threshold', type: 'spo2', op: '<', value: 92 }, { kind: 'threshold', type: 'heart_rate', op: '>', value: 130 }] } };
    const engine = createRuleEngine([pack([rule])]);
    expect(engine.onReading(reading('spo2', 90, T0), ctx)).toHaveLength(1);
    expect(engine.onReading(reading('heart_rate', 100, T0 + MIN), ctx)).toEqual([]);
    const [more] = engine.onReading(reading('heart_rate', 140, T0 + 2 * MIN), ctx);
    expect(more!.evidence.map((e) => e.type)).toEqual(['spo2', 'heart_rate']);
    expect(more!.revision).toBe(1);
    // Fewer lines of evidence is a change too.
    const [fewer] = engine.onReading(reading('heart_rate', 100, T0 + 3 * MIN), ctx);
    expect(fewer!.evidence.map((e) => e.type)).toEqual(['spo2']);
  });

  it('a level that holds steps the severity up, with its response and a line in the history', () => {
    const engine = createRuleEngine([pack([LOW_SPO2])]);
    const [open] = engine.onReading(reading('spo2', 91, T0), ctx);
    const [rose] = engine.onReading(reading('spo2', 87, T0 + MIN), ctx);
    expect(rose).toMatchObject({ alertId: open!.alertId, severity: 'high', state: 'open', response: 'Call 999', revision: 1 });
    expect(rose!.history).toEqual([...open!.history, { state: 'open', at: iso(T0 + MIN), by: 'vw', note: 'severity rose to high' }]);
    // It does not step down by itself.
    const [back] = engine.onReading(reading('spo2', 91, T0 + 2 * MIN), ctx);
    expect(back).toMatchObject({ severity: 'high', response: 'Call 999', revision: 2 });
    expect(back!.history).toHaveLength(2);
  });

  it('a rise reopens an acknowledged alert and restarts its escalation', () => {
    const engine = createRuleEngine([pack([LOW_SPO2])]);
    const [open] = engine.onReading(reading('spo2', 91, T0), ctx);
    engine.applyAction(act(open!, 'acknowledge', T0 + 10 * MIN));
    expect(engine.tick(T0 + 3 * 60 * MIN)).toEqual([]);
    const [rose] = engine.onReading(reading('spo2', 87, T0 + 3 * 60 * MIN), ctx);
    expect(rose).toMatchObject({ state: 'open', severity: 'high' });
    expect(rose!.history.at(-1)).toEqual({ state: 'open', at: iso(T0 + 180 * MIN), by: 'vw', note: 'severity rose to high' });
    expect(engine.tick(T0 + 209 * MIN)).toEqual([]);
    const [escalated] = engine.tick(T0 + 210 * MIN);
    expect(escalated).toMatchObject({ state: 'escalated', revision: 3 });
  });

  it('a rise on an acknowledged alert whose ladder is spent reopens it without a timer', () => {
    const rule = { ...LOW_SPO2, escalation: [{ afterUnacknowledged: '10m', to: 'medium', notify: 'nurse in charge' }] };
    const engine = createRuleEngine([pack([rule])]);
    const [open] = engine.onReading(reading('spo2', 91, T0), ctx);
    expect(engine.tick(T0 + 10 * MIN)).toHaveLength(1);
    engine.applyAction(act(open!, 'acknowledge', T0 + 11 * MIN));
    const [rose] = engine.onReading(reading('spo2', 87, T0 + 12 * MIN), ctx);
    expect(rose).toMatchObject({ state: 'open', severity: 'high' });
    expect(engine.tick(T0 + 24 * 60 * MIN)).toEqual([]);
  });

  it('steps severity down where the rule allows it, never below what escalation reached', () => {
    const rule = { ...LOW_SPO2, severityMayFall: true, escalation: [{ afterUnacknowledged: '30m', to: 'low-medium', notify: 'nurse' }] };
    const engine = createRuleEngine([pack([rule])]);
    engine.onReading(reading('spo2', 87, T0), ctx);
    const [fell] = engine.onReading(reading('spo2', 91, T0 + MIN), ctx);
    expect(fell).toMatchObject({ severity: 'medium', response: 'Review today' });
    expect(fell!.history.at(-1)).toEqual({ state: 'open', at: iso(T0 + MIN), by: 'vw', note: 'severity fell to medium' });

    const floorRule = { ...LOW_SPO2, severityMayFall: true, escalation: [{ afterUnacknowledged: '30m', to: 'high', notify: 'consultant' }] };
    const floored = createRuleEngine([pack([floorRule])]);
    floored.onReading(reading('spo2', 91, T0), ctx);
    expect(floored.tick(T0 + 30 * MIN)[0]).toMatchObject({ severity: 'high', state: 'escalated' });
    const [risen] = floored.onReading(reading('spo2', 87, T0 + 31 * MIN), ctx);
    const [held] = floored.onReading(reading('spo2', 91, T0 + 32 * MIN), ctx);
    // Escalation holds it at high: the level falling beneath that changes neither what is shown, nor
    // its advice, nor its history.
    expect(held).toMatchObject({ severity: 'high', state: 'escalated', response: risen!.response });
    expect(held!.history).toEqual(risen!.history);
    expect(held!.history.some((h) => h.note?.startsWith('severity fell'))).toBe(false);
  });
});

describe('escalating', () => {
  it('steps up the ladder on time when nobody acknowledges, each step timed from the one before', () => {
    const engine = createRuleEngine([pack([LOW_SPO2])]);
    const [open] = engine.onReading(reading('spo2', 91, T0), ctx);
    expect(engine.tick(T0 + 30 * MIN - 1)).toEqual([]);
    const [first] = engine.tick(T0 + 30 * MIN);
    expect(first).toEqual({
      ...open,
      severity: 'high',
      state: 'escalated',
      revision: 1,
      updatedAt: iso(T0 + 30 * MIN),
      history: [...open!.history, { state: 'escalated', at: iso(T0 + 30 * MIN), by: 'vw', note: 'not acknowledged in time: clinician on call', notify: 'clinician on call' }],
    });
    expect(engine.tick(T0 + 90 * MIN - 1)).toEqual([]);
    const [second] = engine.tick(T0 + 90 * MIN);
    expect(second).toMatchObject({ state: 'escalated', revision: 2 });
    expect(second!.history.at(-1)).toMatchObject({ at: iso(T0 + 90 * MIN), notify: 'consultant' });
    expect(engine.tick(T0 + 24 * 60 * MIN)).toEqual([]);
  });

  it('takes every step that fell due at once when the clock jumps, stamped when each was due', () => {
    const engine = createRuleEngine([pack([LOW_SPO2])]);
    engine.onReading(reading('spo2', 91, T0), ctx);
    const [alert] = engine.tick(T0 + 5 * 60 * MIN);
    expect(alert).toMatchObject({ revision: 2, state: 'escalated', updatedAt: iso(T0 + 90 * MIN) });
    expect(alert!.history.map((h) => [h.state, h.at])).toEqual([
      ['open', iso(T0)],
      ['escalated', iso(T0 + 30 * MIN)],
      ['escalated', iso(T0 + 90 * MIN)],
    ]);
  });

  it('a step that fell due before a later change of evidence keeps the update time from going back', () => {
    const engine = createRuleEngine([pack([LOW_SPO2])]);
    engine.onReading(reading('spo2', 91, T0), ctx);
    const [changed] = engine.onReading(reading('spo2', 90, T0 + 40 * MIN), ctx);
    expect(changed!.updatedAt).toBe(iso(T0 + 40 * MIN));
    const [escalated] = engine.tick(T0 + 40 * MIN);
    expect(escalated!.history.at(-1)).toMatchObject({ state: 'escalated', at: iso(T0 + 30 * MIN) });
    expect(escalated!.updatedAt).toBe(iso(T0 + 40 * MIN));
  });

  it('a process taking the patient over escalates when the first would have, timed from the opening', () => {
    const first = createRuleEngine([pack([LOW_SPO2])]);
    first.onReading(reading('spo2', 91, T0), ctx);
    // The evidence changes at 20 minutes; the ladder still counts from the opening.
    const [changed] = first.onReading(reading('spo2', 90, T0 + 20 * MIN), ctx);
    const takeover = createRuleEngine([pack([LOW_SPO2])]);
    takeover.seed(changed!, ctx);
    expect(takeover.tick(T0 + 30 * MIN - 1)).toEqual([]);
    const [fromTakeover] = takeover.tick(T0 + 30 * MIN);
    expect(fromTakeover).toEqual(first.tick(T0 + 30 * MIN)[0]);
    // And the next step, from the escalated revision.
    const again = createRuleEngine([pack([LOW_SPO2])]);
    again.seed(fromTakeover!, ctx);
    expect(again.tick(T0 + 90 * MIN - 1)).toEqual([]);
    expect(again.tick(T0 + 90 * MIN)[0]).toMatchObject({ revision: fromTakeover!.revision + 1, severity: 'high', history: expect.arrayContaining([expect.objectContaining({ notify: 'consultant' })]) });
  });

  it('does not escalate an acknowledged alert', () => {
    const engine = createRuleEngine([pack([LOW_SPO2])]);
    const [open] = engine.onReading(reading('spo2', 91, T0), ctx);
    engine.applyAction(act(open!, 'acknowledge', T0 + 29 * MIN));
    expect(engine.tick(T0 + 5 * 60 * MIN)).toEqual([]);
  });
});

describe('acknowledging and resolving', () => {
  it('records who acknowledged, when and why; absorbs a repeat; resolves; then the alert is gone', () => {
    const engine = createRuleEngine([pack([LOW_SPO2])]);
    const [open] = engine.onReading(reading('spo2', 91, T0), ctx);
    const ack = engine.applyAction(act(open!, 'acknowledge', T0 + 5 * MIN, { note: 'Phoned the patient' }));
    expect(ack).toEqual({
      changed: true,
      alert: { ...open, state: 'acknowledged', revision: 1, updatedAt: iso(T0 + 5 * MIN), history: [...open!.history, { state: 'acknowledged', at: iso(T0 + 5 * MIN), by: 'nurse.a', note: 'Phoned the patient' }] },
    });
    const again = engine.applyAction(act(open!, 'acknowledge', T0 + 6 * MIN));
    expect(again).toEqual({ changed: false, alert: (ack as { alert: Alert }).alert });
    const resolved = engine.applyAction(act(open!, 'resolve', T0 + 7 * MIN, { by: 'dr.b' }));
    expect(resolved).toMatchObject({ changed: true, alert: { state: 'resolved', revision: 2, updatedAt: iso(T0 + 7 * MIN) } });
    expect((resolved as { alert: Alert }).alert.history.at(-1)).toEqual({ state: 'resolved', at: iso(T0 + 7 * MIN), by: 'dr.b' });
    expect(engine.applyAction(act(open!, 'acknowledge', T0 + 8 * MIN))).toEqual({ error: 'already_resolved' });
    expect(engine.owns(open!.alertId)).toBe(true);
    expect(engine.applyAction({ ...act(open!, 'resolve', T0), alertId: 'al_none' })).toEqual({ error: 'not_found' });
  });

  it('refuses an action that names another patient than the alert’s', () => {
    const engine = createRuleEngine([pack([LOW_SPO2])]);
    const [open] = engine.onReading(reading('spo2', 91, T0), ctx);
    expect(engine.applyAction(act(open!, 'resolve', T0 + MIN, { patientId: 'p2' }))).toEqual({ error: 'wrong_patient' });
    expect(engine.applyAction(act(open!, 'acknowledge', T0 + MIN))).toMatchObject({ changed: true, alert: { state: 'acknowledged' } });
  });

  it('keeps the later of the action’s time and the alert’s as its update time', () => {
    const engine = createRuleEngine([pack([LOW_SPO2])]);
    engine.onReading(reading('spo2', 91, T0), ctx);
    const [later] = engine.onReading(reading('spo2', 90, T0 + 10 * MIN), ctx);
    const ack = engine.applyAction(act(later!, 'acknowledge', T0 + 5 * MIN)) as { alert: Alert };
    expect(ack.alert.updatedAt).toBe(iso(T0 + 10 * MIN));
    expect(ack.alert.history.at(-1)!.at).toBe(iso(T0 + 5 * MIN));
  });

  it('a resolution by hand while the condition holds opens nothing new until it has cleared', () => {
    const engine = createRuleEngine([pack([LOW_SPO2])]);
    const [open] = engine.onReading(reading('spo2', 91, T0), ctx);
    engine.applyAction(act(open!, 'resolve', T0 + MIN));
    expect(engine.onReading(reading('spo2', 90, T0 + 2 * MIN), ctx)).toEqual([]);
    expect(engine.onReading(reading('spo2', 96, T0 + 3 * MIN), ctx)).toEqual([]);
    const [again] = engine.onReading(reading('spo2', 90, T0 + 4 * MIN), ctx);
    expect(again).toMatchObject({ state: 'open', revision: 0 });
    expect(again!.alertId).not.toBe(open!.alertId);
    // An action on the first alert is told it was resolved, not applied to the new one.
    expect(engine.applyAction(act(open!, 'acknowledge', T0 + 5 * MIN))).toEqual({ error: 'already_resolved' });
  });

  it('resolves by itself when the condition clears, unless the rule leaves that to a person', () => {
    const engine = createRuleEngine([pack([LOW_SPO2])]);
    const [open] = engine.onReading(reading('spo2', 91, T0), ctx);
    const r = reading('spo2', 95, T0 + 10 * MIN);
    const [cleared] = engine.onReading(r, ctx);
    expect(cleared).toEqual({
      ...open,
      state: 'resolved',
      revision: 1,
      updatedAt: iso(T0 + 10 * MIN),
      eventTs: iso(T0 + 10 * MIN),
      history: [...open!.history, { state: 'resolved', at: iso(T0 + 10 * MIN), by: 'vw', note: 'condition cleared' }],
      receivedAt: r.receivedAt,
    });
    expect(engine.applyAction(act(open!, 'acknowledge', T0 + 11 * MIN))).toEqual({ error: 'already_resolved' });
    expect(engine.onReading(reading('spo2', 96, T0 + 12 * MIN), ctx)).toEqual([]);

    const manual = createRuleEngine([pack([{ ...LOW_SPO2, autoResolve: false }])]);
    const [kept] = manual.onReading(reading('spo2', 91, T0), ctx);
    expect(manual.onReading(reading('spo2', 95, T0 + 10 * MIN), ctx)).toEqual([]);
    const [still] = manual.onReading(reading('spo2', 90, T0 + 20 * MIN), ctx);
    expect(still).toMatchObject({ alertId: kept!.alertId, state: 'open', revision: 1 });
  });
});

describe('per-patient state and settings', () => {
  it('keeps each patient’s sustained state apart', () => {
    const rule = { id: 'fast', title: 'Fast', condition: { kind: 'threshold', type: 'heart_rate', op: '>', value: 130, sustained: { readings: 2 } } };
    const engine = createRuleEngine([pack([rule])]);
    expect(engine.onReading(reading('heart_rate', 140, T0), ctx)).toEqual([]);
    expect(engine.onReading(reading('heart_rate', 140, T0 + MIN, { patientId: 'p2' }), ctx)).toEqual([]);
    expect(engine.onReading(reading('heart_rate', 140, T0 + 2 * MIN), ctx)).toMatchObject([{ patientId: 'p1', explanation: 'Fast: heart_rate > 130, sustained over 2 readings (latest 140 at 2026-11-20T08:02Z)' }]);
    expect(engine.onReading(reading('heart_rate', 140, T0 + 3 * MIN, { patientId: 'p2' }), ctx)).toMatchObject([{ patientId: 'p2' }]);
  });

  it('names the patient’s settings version beside a setting an alert’s threshold uses', () => {
    const rule = { id: 'heavy', title: 'Heavy', condition: { kind: 'threshold', type: 'weight', op: '>', value: { setting: 'maxWeight' } } };
    const engine = createRuleEngine([pack([rule])]);
    const [alert] = engine.onReading(reading('weight', 90, T0), { ...ctx, settings: { maxWeight: 85 }, settingsVersion: 3 });
    expect(alert!.explanation).toBe('Heavy: weight > 85 (setting maxWeight, settings v3) (latest 90 at 2026-11-20T08:00Z)');
    const [next] = createRuleEngine([pack([rule])]).onReading(reading('weight', 90, T0), { ...ctx, settings: { maxWeight: 85 } });
    expect(next!.explanation).toBe('Heavy: weight > 85 (setting maxWeight) (latest 90 at 2026-11-20T08:00Z)');
  });

  it('shows a condition with nothing to quote as met', () => {
    const rule = {
      id: 'hot',
      title: 'Hot',
      condition: { kind: 'hysteresis', type: 'temperature', raise: { op: '>', value: { setting: 'hot' } }, clear: { op: '<', value: 37 } },
    };
    const engine = createRuleEngine([pack([rule])]);
    const [open] = engine.onReading(reading('temperature', 39, T0), { ...ctx, settings: { hot: 38 } });
    expect(open!.explanation).toBe('Hot: temperature > 38 (setting hot) raises, < 37 clears (latest 39 at 2026-11-20T08:00Z)');
    // The setting removed: still raised (hysteresis), but no threshold can be quoted.
    const [unquoted] = engine.onReading(reading('temperature', 39, T0 + MIN), ctx);
    expect(unquoted).toMatchObject({ state: 'open', evidence: [], explanation: 'Hot: condition met' });
  });
});
