import { describe, expect, it } from 'vitest';
import type { Alert, AlertAction } from '../../../src/domain/index.ts';
import { actOnAlert, alertIdFor, escalateDue, openAlert, resolveCleared, resumeLadder, reviseAlert, startLadder, type Ladder } from '../../../src/rules/alerts/lifecycle.ts';

/**
 * The one alert lifecycle the rule engine and NEWS2 share, on its own: what each transition makes of
 * an alert, and where the escalation ladder stands after it.
 */
const T0 = Date.parse('2026-11-20T08:00:00Z');
const MIN = 60_000;
const iso = (t: number) => new Date(t).toISOString();
const LADDER: Ladder = [
  { afterUnacknowledged: 30 * MIN, notify: 'clinician on call' },
  { afterUnacknowledged: 60 * MIN, notify: 'consultant' },
];

const opened = (extra: { score?: number } = {}): Alert =>
  openAlert(
    {
      openedBy: String(T0),
      patientId: 'p1',
      wardId: 'w1',
      cause: 'low-spo2',
      ruleId: 'low-spo2',
      ruleVersion: '1.0.0',
      severity: 'medium',
      partial: false,
      explanation: 'Low SpO2: <92',
      response: 'Review today',
      evidence: [{ readingId: 'r1', type: 'spo2', value: 91, ts: iso(T0), threshold: '<92' }],
      receivedAt: iso(T0 + 1_000),
      ...extra,
    },
    iso(T0),
  );

const action = (alert: Alert, kind: AlertAction['action'], at: number, extra: Partial<AlertAction> = {}): AlertAction => ({
  actionId: `a-${kind}-${at}`,
  alertId: alert.alertId,
  patientId: alert.patientId,
  wardId: alert.wardId,
  action: kind,
  by: 'nurse.a',
  at: iso(at),
  ...extra,
});

const change = (at: number, extra: Partial<Parameters<typeof reviseAlert>[3]> = {}) => ({
  at: iso(at),
  severity: 'medium' as const,
  rises: false,
  explanation: 'Low SpO2: <92 (again)',
  evidence: [],
  receivedAt: iso(at + 1_000),
  ...extra,
});

describe('opening', () => {
  it('gives revision 0, open, one history line, and an id from patient, cause and opening alone', () => {
    const alert = opened();
    expect(alert).toMatchObject({ state: 'open', revision: 0, raisedAt: iso(T0), updatedAt: iso(T0), eventTs: iso(T0), history: [{ state: 'open', at: iso(T0), by: 'vw' }] });
    expect(alert.alertId).toBe(alertIdFor('p1', 'low-spo2', String(T0)));
    expect(alert.alertId).not.toBe(alertIdFor('p1', 'low-spo2', String(T0 + 1)));
    expect(alert.alertId).not.toBe(alertIdFor('p2', 'low-spo2', String(T0)));
  });

  it('keeps the published field order, with the score after the event time when there is one', () => {
    expect(Object.keys(opened({ score: 6 })).slice(9, 14)).toEqual(['raisedAt', 'updatedAt', 'eventTs', 'score', 'partial']);
    expect(Object.keys(opened())).not.toContain('score');
  });
});

describe('the ladder', () => {
  it('takes each step due, timed from the one before, and stops at the last', () => {
    const alert = opened();
    const start = startLadder(LADDER, T0);
    expect(start).toEqual({ step: 0, due: T0 + 30 * MIN });
    expect(escalateDue(alert, start, LADDER, T0 + 30 * MIN - 1)).toBeUndefined();
    const both = escalateDue(alert, start, LADDER, T0 + 24 * 60 * MIN)!;
    expect(both.position).toEqual({ step: 2, due: undefined });
    expect(both.alert.history.map((h) => [h.state, h.at, h.notify])).toEqual([
      ['open', iso(T0), undefined],
      ['escalated', iso(T0 + 30 * MIN), 'clinician on call'],
      ['escalated', iso(T0 + 90 * MIN), 'consultant'],
    ]);
    expect(both.alert).toMatchObject({ state: 'escalated', revision: 2, updatedAt: iso(T0 + 90 * MIN) });
  });

  it('never moves the update time back when a step falls due before the alert last changed', () => {
    const start = startLadder(LADDER, T0);
    const revised = reviseAlert(opened(), start, LADDER, change(T0 + 45 * MIN), 'continue-ladder');
    const stepped = escalateDue(revised.alert, revised.position, LADDER, T0 + 45 * MIN)!;
    expect(stepped.alert.history.at(-1)!.at).toBe(iso(T0 + 30 * MIN));
    expect(stepped.alert.updatedAt).toBe(iso(T0 + 45 * MIN));
  });

  it('does not step for an acknowledged alert', () => {
    const acknowledged = actOnAlert(opened(), action(opened(), 'acknowledge', T0 + MIN));
    if ('error' in acknowledged) throw new Error(acknowledged.error);
    expect(escalateDue(acknowledged.alert, startLadder(LADDER, T0), LADDER, T0 + 24 * 60 * MIN)).toBeUndefined();
  });
});

describe('revising', () => {
  it('a change without a rise keeps state, ladder and history', () => {
    const escalated = escalateDue(opened(), startLadder(LADDER, T0), LADDER, T0 + 30 * MIN)!;
    const revised = reviseAlert(escalated.alert, escalated.position, LADDER, change(T0 + 40 * MIN), 'continue-ladder');
    expect(revised.position).toBe(escalated.position);
    expect(revised.alert).toMatchObject({ state: 'escalated', revision: 2, updatedAt: iso(T0 + 40 * MIN), eventTs: iso(T0 + 40 * MIN), explanation: 'Low SpO2: <92 (again)' });
    expect(revised.alert.history).toEqual(escalated.alert.history);
  });

  it('keeps the update time of an action stamped after the evidence that follows it (a nurse on wall time, readings on event time)', () => {
    const acked = actOnAlert(opened(), action(opened(), 'acknowledge', T0 + 30 * MIN));
    if ('error' in acked) throw new Error(acked.error);
    const revised = reviseAlert(acked.alert, { step: 0, due: undefined }, LADDER, change(T0 + 20 * MIN), 'continue-ladder');
    expect(revised.alert).toMatchObject({ updatedAt: iso(T0 + 30 * MIN), eventTs: iso(T0 + 20 * MIN) });
    expect(resolveCleared(acked.alert, iso(T0 + 25 * MIN), iso(T0 + 25 * MIN))).toMatchObject({ state: 'resolved', updatedAt: iso(T0 + 30 * MIN), eventTs: iso(T0 + 25 * MIN) });
  });

  it("continue-ladder: a rise reopens an acknowledged alert from its next step; an escalated one stays escalated", () => {
    const escalated = escalateDue(opened(), startLadder(LADDER, T0), LADDER, T0 + 30 * MIN)!;
    const rise = change(T0 + 40 * MIN, { severity: 'high', rises: true, note: 'severity rose to high', response: 'Call 999' });
    const stays = reviseAlert(escalated.alert, escalated.position, LADDER, rise, 'continue-ladder');
    expect(stays.alert).toMatchObject({ state: 'escalated', severity: 'high', response: 'Call 999' });
    expect(stays.alert.history.at(-1)).toEqual({ state: 'escalated', at: iso(T0 + 40 * MIN), by: 'vw', note: 'severity rose to high' });
    expect(stays.position).toEqual(escalated.position);

    const acked = actOnAlert(escalated.alert, action(escalated.alert, 'acknowledge', T0 + 35 * MIN));
    if ('error' in acked) throw new Error(acked.error);
    const reopened = reviseAlert(acked.alert, { step: 1, due: undefined }, LADDER, rise, 'continue-ladder');
    expect(reopened.alert.state).toBe('open');
    expect(reopened.position).toEqual({ step: 1, due: T0 + 40 * MIN + 60 * MIN });
  });

  it('restart-ladder: a rise opens the alert again and starts the (new) ladder from its first step', () => {
    const escalated = escalateDue(opened(), startLadder(LADDER, T0), LADDER, T0 + 30 * MIN)!;
    const rise = change(T0 + 40 * MIN, { severity: 'high', rises: true, note: 'severity rose to high' });
    const restarted = reviseAlert(escalated.alert, escalated.position, LADDER, rise, 'restart-ladder');
    expect(restarted.alert.state).toBe('open');
    expect(restarted.alert.history.at(-1)).toMatchObject({ state: 'open', note: 'severity rose to high' });
    expect(restarted.position).toEqual({ step: 0, due: T0 + 70 * MIN });
  });
});

describe('acting', () => {
  it('records who acted, absorbs a repeat, and keeps the later update time', () => {
    const alert = { ...opened(), updatedAt: iso(T0 + 20 * MIN) };
    const ack = actOnAlert(alert, action(alert, 'acknowledge', T0 + 10 * MIN, { note: 'seen' }));
    if ('error' in ack) throw new Error(ack.error);
    expect(ack.changed).toBe(true);
    expect(ack.alert).toMatchObject({ state: 'acknowledged', revision: 1, updatedAt: iso(T0 + 20 * MIN) });
    expect(ack.alert.history.at(-1)).toEqual({ state: 'acknowledged', at: iso(T0 + 10 * MIN), by: 'nurse.a', note: 'seen' });
    expect(actOnAlert(ack.alert, action(alert, 'acknowledge', T0 + 11 * MIN))).toEqual({ alert: ack.alert, changed: false });
  });

  it('refuses an action naming another patient, and any action on a resolved alert', () => {
    const alert = opened();
    expect(actOnAlert(alert, action(alert, 'resolve', T0 + MIN, { patientId: 'p2' }))).toEqual({ error: 'wrong_patient' });
    const resolved = actOnAlert(alert, action(alert, 'resolve', T0 + MIN));
    if ('error' in resolved) throw new Error(resolved.error);
    expect(actOnAlert(resolved.alert, action(alert, 'acknowledge', T0 + 2 * MIN))).toEqual({ error: 'already_resolved' });
  });
});

describe('resuming the ladder from an alert published earlier', () => {
  it('times the next step from the opening, not from a later change of evidence', () => {
    const revised = reviseAlert(opened(), startLadder(LADDER, T0), LADDER, change(T0 + 20 * MIN), 'continue-ladder');
    expect(resumeLadder(revised.alert, LADDER, 'continue-ladder')).toEqual({ step: 0, due: T0 + 30 * MIN });
  });

  it('counts only steps taken, not severity changes recorded while escalated', () => {
    const escalated = escalateDue(opened(), startLadder(LADDER, T0), LADDER, T0 + 30 * MIN)!;
    const rose = reviseAlert(escalated.alert, escalated.position, LADDER, change(T0 + 40 * MIN, { severity: 'high', rises: true, note: 'severity rose to high' }), 'continue-ladder');
    expect(resumeLadder(rose.alert, LADDER, 'continue-ladder')).toEqual(rose.position);
    expect(rose.position).toEqual({ step: 1, due: T0 + 90 * MIN });
  });

  it('resumes a reopened alert from the reopening, and a restarted ladder from the rise', () => {
    const escalated = escalateDue(opened(), startLadder(LADDER, T0), LADDER, T0 + 30 * MIN)!;
    const acked = actOnAlert(escalated.alert, action(escalated.alert, 'acknowledge', T0 + 35 * MIN));
    if ('error' in acked) throw new Error(acked.error);
    const rise = change(T0 + 40 * MIN, { severity: 'high', rises: true, note: 'severity rose to high' });
    const reopened = reviseAlert(acked.alert, { step: 1, due: undefined }, LADDER, rise, 'continue-ladder');
    expect(resumeLadder(reopened.alert, LADDER, 'continue-ladder')).toEqual(reopened.position);
    const restarted = reviseAlert(escalated.alert, escalated.position, LADDER, rise, 'restart-ladder');
    expect(resumeLadder(restarted.alert, LADDER, 'restart-ladder')).toEqual(restarted.position);
  });

  it('has nothing due for an acknowledged alert or a spent ladder', () => {
    const acked = actOnAlert(opened(), action(opened(), 'acknowledge', T0 + MIN));
    if ('error' in acked) throw new Error(acked.error);
    expect(resumeLadder(acked.alert, LADDER, 'continue-ladder').due).toBeUndefined();
    const spent = escalateDue(opened(), startLadder(LADDER, T0), LADDER, T0 + 24 * 60 * MIN)!;
    expect(resumeLadder(spent.alert, LADDER, 'continue-ladder')).toEqual({ step: 2, due: undefined });
  });
});
