import { describe, expect, it } from 'vitest';
import type { AlertAction, News2Band, ScoreEvent } from '../../../src/domain/index.ts';
import { createAlertBook } from '../../../src/rules/alerts/alert-book.ts';

const explainer = {
  threshold: (_p: string, input: { subscore: number }) => `scores ${input.subscore}`,
  response: (band: News2Band) => `respond to ${band}`,
};

let seq = 0;
function score(band: News2Band, total: number, minute: number, overrides: Partial<ScoreEvent> = {}): ScoreEvent {
  const ts = new Date(Date.UTC(2026, 10, 22, 10, minute)).toISOString();
  return {
    scoreId: `s${++seq}`,
    patientId: 'pt-1',
    wardId: 'ward-a',
    ruleId: 'news2',
    ruleVersion: '1.0.0',
    ts,
    total,
    band,
    spo2Scale: 1,
    partial: false,
    missing: [],
    inputs: { respiratory_rate: { readingId: `r${seq}`, value: 20 + total, ts, subscore: Math.min(3, total) } },
    receivedAt: ts,
    ...overrides,
  };
}

function action(alertId: string, kind: AlertAction['action'], by = 'nurse.a', minute = 30): AlertAction {
  return {
    actionId: `a-${by}-${kind}-${minute}`,
    alertId,
    patientId: 'pt-1',
    wardId: 'ward-a',
    action: kind,
    by,
    at: new Date(Date.UTC(2026, 10, 22, 10, minute)).toISOString(),
  };
}

describe('alert book', () => {
  it('raises nothing for a low band', () => {
    const book = createAlertBook(explainer);
    expect(book.applyScore(score('low', 3, 0))).toBeUndefined();
  });

  it.each(['low-medium', 'medium', 'high'] as const)('raises an alert when the band enters %s', (band) => {
    const book = createAlertBook(explainer);
    const alert = book.applyScore(score(band, band === 'high' ? 7 : band === 'medium' ? 5 : 3, 0));
    expect(alert).toMatchObject({ severity: band, state: 'open', revision: 0, ruleId: 'news2', ruleVersion: '1.0.0', response: `respond to ${band}` });
    expect(alert!.evidence[0]).toMatchObject({ type: 'respiratory_rate', threshold: expect.stringMatching(/scores/) });
  });

  it('keeps one open alert per patient and cause: repeats update it', () => {
    const book = createAlertBook(explainer);
    const first = book.applyScore(score('medium', 5, 0))!;
    const repeat = book.applyScore(score('medium', 6, 5))!;
    expect(repeat.alertId).toBe(first.alertId);
    expect(repeat.revision).toBe(1);
    expect(repeat.score).toBe(6);
    expect(book.unresolved('pt-1')).toHaveLength(1);
  });

  it('absorbs an identical or older score', () => {
    const book = createAlertBook(explainer);
    const s = score('medium', 5, 10);
    book.applyScore(s);
    expect(book.applyScore({ ...s })).toBeUndefined();
    expect(book.applyScore(score('high', 9, 1))).toBeUndefined();
  });

  it('steps severity up, and reopens an acknowledged alert when it does', () => {
    const book = createAlertBook(explainer);
    const raised = book.applyScore(score('medium', 5, 0))!;
    const acked = book.applyAction(action(raised.alertId, 'acknowledge'));
    expect('alert' in acked && acked.alert.state).toBe('acknowledged');
    const risen = book.applyScore(score('high', 8, 40))!;
    expect(risen).toMatchObject({ severity: 'high', state: 'open', response: 'respond to high' });
    expect(risen.history.at(-1)).toMatchObject({ state: 'open', by: 'vw', note: 'severity rose to high' });
  });

  it('does not step severity down on its own', () => {
    const book = createAlertBook(explainer);
    book.applyScore(score('high', 8, 0));
    const lower = book.applyScore(score('medium', 5, 5))!;
    expect(lower.severity).toBe('high');
    expect(lower.score).toBe(5);
  });

  it('records who acknowledged and when, and absorbs a repeated acknowledgement', () => {
    const book = createAlertBook(explainer);
    const raised = book.applyScore(score('high', 7, 0))!;
    const first = book.applyAction(action(raised.alertId, 'acknowledge', 'nurse.b', 12));
    expect(first).toMatchObject({ changed: true, alert: { state: 'acknowledged', revision: 1 } });
    if (!('alert' in first)) throw new Error('expected an alert');
    expect(first.alert.history.at(-1)).toEqual({ state: 'acknowledged', by: 'nurse.b', at: '2026-11-22T10:12:00.000Z' });
    const again = book.applyAction(action(raised.alertId, 'acknowledge', 'nurse.b', 13));
    expect(again).toMatchObject({ changed: false, alert: { revision: 1 } });
  });

  it('after a resolution, opens a new alert only when the band crosses upwards again', () => {
    const book = createAlertBook(explainer);
    const raised = book.applyScore(score('medium', 5, 0))!;
    expect(book.applyAction(action(raised.alertId, 'resolve'))).toMatchObject({ alert: { state: 'resolved' } });
    expect(book.applyAction(action(raised.alertId, 'acknowledge'))).toEqual({ error: 'already_resolved' });
    // Reviewed and still at medium: no new alert on every reading.
    expect(book.applyScore(score('medium', 6, 45))).toBeUndefined();
    const risen = book.applyScore(score('high', 7, 50))!;
    expect(risen.alertId).not.toBe(raised.alertId);
    expect(risen).toMatchObject({ revision: 0, severity: 'high', state: 'open' });
  });

  it('opens a new alert when the band falls back to low and crosses again', () => {
    const book = createAlertBook(explainer);
    const raised = book.applyScore(score('low-medium', 3, 0))!;
    book.applyAction(action(raised.alertId, 'resolve'));
    expect(book.applyScore(score('low', 1, 10))).toBeUndefined();
    const again = book.applyScore(score('low-medium', 3, 20))!;
    expect(again.alertId).not.toBe(raised.alertId);
  });

  it('refuses actions on unknown alerts or naming another patient', () => {
    const book = createAlertBook(explainer);
    const raised = book.applyScore(score('medium', 5, 0))!;
    expect(book.applyAction(action('nope', 'acknowledge'))).toEqual({ error: 'not_found' });
    expect(book.applyAction({ ...action(raised.alertId, 'acknowledge'), patientId: 'pt-2' })).toEqual({ error: 'wrong_patient' });
  });

  it('explains a partial score as a lower bound naming what is missing', () => {
    const book = createAlertBook(explainer);
    const alert = book.applyScore(score('medium', 5, 0, { partial: true, missing: ['consciousness', 'temperature'] }))!;
    expect(alert.partial).toBe(true);
    expect(alert.explanation).toMatch(/partial, at least this high \(no fresh ACVPU, Temp\)/);
  });

  it('continues an alert seeded from another process instead of opening a second one', () => {
    const first = createAlertBook(explainer);
    const raised = first.applyScore(score('medium', 5, 0))!;
    const takeover = createAlertBook(explainer);
    takeover.seed(raised);
    takeover.seed({ ...raised, revision: raised.revision - 1 });
    const next = takeover.applyScore(score('medium', 6, 5))!;
    expect(next.alertId).toBe(raised.alertId);
    expect(next.revision).toBe(raised.revision + 1);
    expect(takeover.applyScore(score('medium', 6, 5))).toBeUndefined();
  });
});

describe('NEWS2 escalation on the clock', () => {
  const MIN = 60_000;
  const at = (minute: number) => Date.UTC(2026, 10, 22, 10, minute);
  const ladders = {
    medium: [
      { afterUnacknowledged: 30 * MIN, notify: 'clinician on call' },
      { afterUnacknowledged: 30 * MIN, notify: 'consultant' },
    ],
    high: [{ afterUnacknowledged: 10 * MIN, notify: 'consultant' }],
  };
  it('steps up the chain when nobody acknowledges, on time, without any new score', () => {
    const book = createAlertBook(explainer, ladders);
    const opened = book.applyScore(score('medium', 5, 0))!;
    expect(book.tick(at(29))).toEqual([]);
    const [first] = book.tick(at(30));
    expect(first).toMatchObject({ alertId: opened.alertId, state: 'escalated', severity: 'medium', revision: 1 });
    expect(first!.history.at(-1)).toEqual({ state: 'escalated', at: new Date(at(30)).toISOString(), by: 'vw', note: 'not acknowledged in time: clinician on call', notify: 'clinician on call' });
    // A late tick catches up both steps at their own due times, once.
    const book2 = createAlertBook(explainer, ladders);
    book2.applyScore(score('medium', 5, 0));
    const [both] = book2.tick(at(90));
    expect(both!.history.filter((h) => h.state === 'escalated').map((h) => h.at)).toEqual([new Date(at(30)).toISOString(), new Date(at(60)).toISOString()]);
    expect(book2.tick(at(200))).toEqual([]);
  });
  it('stops when acknowledged, and restarts with the new band’s ladder when severity rises', () => {
    const book = createAlertBook(explainer, ladders);
    const opened = book.applyScore(score('medium', 5, 0))!;
    book.applyAction(action(opened.alertId, 'acknowledge', 'nurse.a', 5));
    expect(book.tick(at(120))).toEqual([]);
    const risen = book.applyScore(score('high', 7, 121))!;
    expect(risen).toMatchObject({ state: 'open', severity: 'high' });
    expect(book.tick(at(130))).toEqual([]);
    expect(book.tick(at(131))[0]!.history.at(-1)?.note).toBe('not acknowledged in time: consultant');
  });
  it('resumes the ladder in a process that takes the alert over', () => {
    const book = createAlertBook(explainer, ladders);
    book.applyScore(score('medium', 5, 0));
    const [escalated] = book.tick(at(30));
    const other = createAlertBook(explainer, ladders);
    other.seed(escalated!);
    expect(other.tick(at(59))).toEqual([]);
    expect(other.tick(at(60))[0]!.history.at(-1)?.note).toBe('not acknowledged in time: consultant');
  });
});
