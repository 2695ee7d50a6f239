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

describe('alert book: what an alert says', () => {
  const inputs = (ts: string): ScoreEvent['inputs'] => ({
    respiratory_rate: { readingId: 'r-rr', value: 26, ts, subscore: 3 },
    spo2: { readingId: 'r-spo2', value: 97, ts, subscore: 0 },
    supplemental_oxygen: { readingId: 'r-o2', value: true, ts, subscore: 2 },
    heart_rate: { readingId: 'r-hr', value: 95, ts, subscore: 1 },
  });

  it('opens with the score’s times, ids and total, its raised parameters largest first, and the band’s response', () => {
    const book = createAlertBook(explainer);
    const s = score('high', 7, 0, { inputs: inputs('2026-11-22T10:00:00.000Z'), receivedAt: '2026-11-22T10:00:03.000Z', wardId: 'ward-b' });
    const alert = book.applyScore(s)!;
    expect(alert).toEqual({
      alertId: expect.stringMatching(/^al_[A-Za-z0-9_-]{20}$/),
      patientId: 'pt-1',
      wardId: 'ward-b',
      cause: 'news2',
      ruleId: 'news2',
      ruleVersion: '1.0.0',
      severity: 'high',
      state: 'open',
      revision: 0,
      raisedAt: s.ts,
      updatedAt: s.ts,
      eventTs: s.ts,
      score: 7,
      partial: false,
      explanation: 'NEWS2 7 (high): RR 26 (+3), O2 yes (+2), HR 95 (+1)',
      response: 'respond to high',
      evidence: [
        { readingId: 'r-rr', type: 'respiratory_rate', value: 26, ts: s.ts, threshold: 'scores 3' },
        { readingId: 'r-o2', type: 'supplemental_oxygen', value: true, ts: s.ts, threshold: 'scores 2' },
        { readingId: 'r-hr', type: 'heart_rate', value: 95, ts: s.ts, threshold: 'scores 1' },
      ],
      history: [{ state: 'open', at: s.ts, by: 'vw' }],
      receivedAt: '2026-11-22T10:00:03.000Z',
    });
    expect(book.get(alert.alertId)).toEqual(alert);
    expect(book.unresolved('pt-1')).toEqual([alert]);
    expect(book.unresolved('pt-2')).toEqual([]);
  });

  it('names every parameter NEWS2 scores, air as “no”, and says so when none is raised', () => {
    const book = createAlertBook(explainer);
    const ts = '2026-11-22T10:00:00.000Z';
    const all = score('high', 7, 0, {
      inputs: {
        spo2: { readingId: 'a', value: 91, ts, subscore: 3 },
        systolic_bp: { readingId: 'b', value: 95, ts, subscore: 2 },
        consciousness: { readingId: 'c', value: 'C', ts, subscore: 3 },
        temperature: { readingId: 'd', value: 35.5, ts, subscore: 1 },
        supplemental_oxygen: { readingId: 'e', value: false, ts, subscore: 1 },
      },
    });
    expect(book.applyScore(all)!.explanation).toBe('NEWS2 7 (high): SpO2 91 (+3), ACVPU C (+3), SBP 95 (+2), Temp 35.5 (+1), O2 no (+1)');
    const other = createAlertBook(explainer);
    const none = other.applyScore(score('medium', 5, 0, { inputs: { heart_rate: { readingId: 'h', value: 70, ts, subscore: 0 } }, partial: true, missing: ['respiratory_rate', 'spo2', 'systolic_bp'] }))!;
    expect(none.explanation).toBe('NEWS2 5 (medium): no raised parameters; partial, at least this high (no fresh RR, SpO2, SBP)');
    expect(none.evidence).toEqual([]);
  });

  it('updates an acknowledged alert in place for a new score of the same band: state, response and history kept', () => {
    const book = createAlertBook(explainer);
    const raised = book.applyScore(score('medium', 5, 0))!;
    const acked = (book.applyAction(action(raised.alertId, 'acknowledge', 'nurse.a', 1)) as { alert: typeof raised }).alert;
    const s = score('medium', 6, 5, { receivedAt: '2026-11-22T10:05:09.000Z' });
    const updated = book.applyScore(s)!;
    expect(updated).toEqual({
      ...acked,
      revision: 2,
      updatedAt: s.ts,
      eventTs: s.ts,
      score: 6,
      partial: false,
      explanation: 'NEWS2 6 (medium): RR 26 (+3)',
      evidence: [{ readingId: s.inputs.respiratory_rate!.readingId, type: 'respiratory_rate', value: 26, ts: s.ts, threshold: 'scores 3' }],
      receivedAt: '2026-11-22T10:05:09.000Z',
    });
  });

  it('a score that differs only in being partial is an update; the same score again is not', () => {
    const book = createAlertBook(explainer);
    const s = score('medium', 5, 0);
    book.applyScore(s);
    const partial = book.applyScore({ ...s, scoreId: 'x', partial: true, missing: ['temperature'] })!;
    expect(partial).toMatchObject({ partial: true, revision: 1 });
    expect(partial.explanation).toBe('NEWS2 5 (medium): RR 25 (+3); partial, at least this high (no fresh Temp)');
    expect(book.applyScore({ ...s, scoreId: 'y', partial: true, missing: ['temperature'] })).toBeUndefined();
    // Complete again with the same values: the explanation changes, so it is an update.
    expect(book.applyScore({ ...s, scoreId: 'z' })).toMatchObject({ partial: false, revision: 2, explanation: 'NEWS2 5 (medium): RR 25 (+3)' });
  });

  it('a score at the same time as the one held counts; an older one, of any band, does not', () => {
    const book = createAlertBook(explainer);
    book.applyScore(score('medium', 5, 10));
    expect(book.applyScore(score('medium', 6, 10))).toMatchObject({ score: 6 });
    expect(book.applyScore(score('high', 9, 9))).toBeUndefined();
    expect(book.applyScore(score('low', 0, 9))).toBeUndefined();
    expect(book.exportBand('pt-1', 'news2')).toEqual({ band: 'medium', t: Date.UTC(2026, 10, 22, 10, 10) });
  });

  it('a low band changes no alert but is remembered, so the next rise is a crossing once resolved', () => {
    const book = createAlertBook(explainer);
    const raised = book.applyScore(score('medium', 5, 0))!;
    expect(book.applyScore(score('low', 1, 5))).toBeUndefined();
    expect(book.get(raised.alertId)).toMatchObject({ score: 5, revision: 0 });
    expect(book.exportBand('pt-1', 'news2')).toMatchObject({ band: 'low' });
    book.applyAction(action(raised.alertId, 'resolve', 'nurse.a', 6));
    expect(book.get(raised.alertId)).toBeUndefined();
    expect(book.unresolved('pt-1')).toEqual([]);
    expect(book.applyScore(score('medium', 5, 7))).toMatchObject({ state: 'open', revision: 0 });
  });

  it('keeps causes apart: another rule’s band is its own', () => {
    const book = createAlertBook(explainer);
    book.applyScore(score('medium', 5, 0));
    const other = book.applyScore(score('medium', 5, 1, { ruleId: 'news2-rise' }))!;
    expect(other).toMatchObject({ cause: 'news2-rise', revision: 0 });
    expect(book.unresolved('pt-1').map((a) => a.cause)).toEqual(['news2', 'news2-rise']);
    expect(book.exportBand('pt-1', 'other')).toBeUndefined();
    expect(book.exportBand('pt-9', 'news2')).toBeUndefined();
  });

  it('records an action’s note, keeps the later update time, and refuses actions on a resolved alert', () => {
    const book = createAlertBook(explainer);
    const raised = book.applyScore(score('high', 7, 20))!;
    const acked = book.applyAction({ ...action(raised.alertId, 'acknowledge', 'nurse.a', 10), note: 'On the phone' });
    expect(acked).toMatchObject({ changed: true, alert: { updatedAt: raised.updatedAt } });
    expect((acked as { alert: typeof raised }).alert.history.at(-1)).toEqual({ state: 'acknowledged', at: '2026-11-22T10:10:00.000Z', by: 'nurse.a', note: 'On the phone' });
    const resolved = book.applyAction(action(raised.alertId, 'resolve', 'dr.b', 40));
    expect(resolved).toMatchObject({ changed: true, alert: { state: 'resolved', revision: 2, updatedAt: '2026-11-22T10:40:00.000Z' } });
    expect(book.applyAction(action(raised.alertId, 'resolve', 'dr.b', 41))).toEqual({ error: 'already_resolved' });
  });
});

describe('alert book: taking over and the changelog', () => {
  const MIN = 60_000;
  const at = (minute: number) => Date.UTC(2026, 10, 22, 10, minute);
  const ladders = { medium: [{ afterUnacknowledged: 30 * MIN, notify: 'clinician on call' }, { afterUnacknowledged: 30 * MIN, notify: 'consultant' }] };

  it('a seeded alert sets the band it shows, unless a newer band is held', () => {
    const first = createAlertBook(explainer);
    const raised = first.applyScore(score('medium', 5, 0))!;
    const takeover = createAlertBook(explainer);
    takeover.seed(raised);
    expect(takeover.exportBand('pt-1', 'news2')).toEqual({ band: 'medium', t: Date.parse(raised.eventTs) });
    expect(takeover.unresolved('pt-1')).toEqual([raised]);
    const newer = createAlertBook(explainer);
    newer.importBand('pt-1', 'news2', { band: 'low', t: at(5) });
    newer.seed(raised);
    expect(newer.exportBand('pt-1', 'news2')).toEqual({ band: 'low', t: at(5) });
    newer.importBand('pt-1', 'news2', { band: 'high', t: at(4) });
    expect(newer.exportBand('pt-1', 'news2')).toEqual({ band: 'low', t: at(5) });
    newer.importBand('pt-1', 'news2', { band: 'high', t: at(5) });
    expect(newer.exportBand('pt-1', 'news2')).toEqual({ band: 'high', t: at(5) });
  });

  it('a seeded resolution forgets the alert, and an older copy of it does not bring it back', () => {
    const first = createAlertBook(explainer);
    const raised = first.applyScore(score('medium', 5, 0))!;
    const resolved = (first.applyAction(action(raised.alertId, 'resolve', 'nurse.a', 1)) as { alert: typeof raised }).alert;
    const takeover = createAlertBook(explainer);
    takeover.seed(raised);
    takeover.seed(resolved);
    expect(takeover.unresolved('pt-1')).toEqual([]);
    takeover.seed(raised);
    expect(takeover.get(raised.alertId)).toBeUndefined();
    expect(takeover.applyAction(action(raised.alertId, 'acknowledge'))).toEqual({ error: 'already_resolved' });
  });

  it('resumes escalation from the latest opening or rise, counting steps already taken', () => {
    const book = createAlertBook(explainer, ladders);
    book.applyScore(score('medium', 5, 0));
    const [once] = book.tick(at(30));
    const takeover = createAlertBook(explainer, ladders);
    takeover.seed(once!);
    expect(takeover.tick(at(59))).toEqual([]);
    const [twice] = takeover.tick(at(60));
    expect(twice!.history.filter((h) => h.state === 'escalated')).toHaveLength(2);
    // All steps taken: nothing more, here or in a process that takes it over next.
    expect(takeover.tick(at(600))).toEqual([]);
    const third = createAlertBook(explainer, ladders);
    third.seed(twice!);
    expect(third.tick(at(600))).toEqual([]);
    // An acknowledged alert is not escalated after a takeover.
    const acked = createAlertBook(explainer, ladders);
    const fresh = createAlertBook(explainer, ladders).applyScore(score('medium', 5, 0))!;
    acked.seed({ ...fresh, state: 'acknowledged', revision: 1 });
    expect(acked.tick(at(600))).toEqual([]);
  });

  it('escalates only the patients the process owns, earliest first', () => {
    const book = createAlertBook(explainer, ladders);
    book.applyScore(score('medium', 5, 1, { patientId: 'pt-b' }));
    book.applyScore(score('medium', 5, 0, { patientId: 'pt-a' }));
    book.applyScore(score('medium', 5, 0, { patientId: 'pt-c' }));
    expect(book.tick(at(45), (p) => p !== 'pt-c').map((a) => a.patientId)).toEqual(['pt-a', 'pt-b']);
    expect(book.tick(at(45)).map((a) => a.patientId)).toEqual(['pt-c']);
  });

  it('a severity without a ladder is never escalated', () => {
    const book = createAlertBook(explainer, ladders);
    book.applyScore(score('high', 7, 0));
    expect(book.tick(at(600))).toEqual([]);
    expect(createAlertBook(explainer).tick(at(600))).toEqual([]);
  });
});

describe('alert book: escalation timing', () => {
  const MIN = 60_000;
  const at = (minute: number) => Date.UTC(2026, 10, 22, 10, minute);
  const iso = (minute: number) => new Date(at(minute)).toISOString();
  const ladders = {
    medium: [{ afterUnacknowledged: 30 * MIN, notify: 'clinician on call' }, { afterUnacknowledged: 30 * MIN, notify: 'consultant' }],
    high: [{ afterUnacknowledged: 10 * MIN, notify: 'consultant' }],
  };

  it('takes one step per tick as each falls due, then stops', () => {
    const book = createAlertBook(explainer, ladders);
    book.applyScore(score('medium', 5, 0));
    expect(book.tick(at(30)).map((a) => [a.revision, a.updatedAt])).toEqual([[1, iso(30)]]);
    expect(book.tick(at(59))).toEqual([]);
    expect(book.tick(at(60)).map((a) => [a.revision, a.updatedAt, a.history.at(-1)!.notify])).toEqual([[2, iso(60), 'consultant']]);
    expect(book.tick(at(600))).toEqual([]);
  });

  it('a new score of the same band neither restarts the ladder nor moves the update time back', () => {
    const book = createAlertBook(explainer, ladders);
    book.applyScore(score('medium', 5, 0));
    book.applyScore(score('medium', 6, 40));
    const [escalated] = book.tick(at(45));
    expect(escalated).toMatchObject({ state: 'escalated', updatedAt: iso(40), score: 6 });
    expect(escalated!.history.at(-1)!.at).toBe(iso(30));
  });

  it('alerts due at the same time are escalated in the order of their ids', () => {
    const book = createAlertBook(explainer, ladders);
    const ids = ['pt-x', 'pt-y', 'pt-z', 'pt-w'].map((patientId) => book.applyScore(score('medium', 5, 0, { patientId }))!.alertId);
    expect(book.tick(at(30)).map((a) => a.alertId)).toEqual([...ids].sort());
  });

  it('a process that takes an alert over after a rise times the new band’s ladder from the rise', () => {
    const book = createAlertBook(explainer, ladders);
    book.applyScore(score('medium', 5, 0));
    book.tick(at(30));
    const risen = book.applyScore(score('high', 7, 40))!;
    expect(risen.history.map((h) => h.state)).toEqual(['open', 'escalated', 'open']);
    const other = createAlertBook(explainer, ladders);
    other.seed(risen);
    expect(other.tick(at(49))).toEqual([]);
    expect(other.tick(at(50))[0]!.history.at(-1)).toMatchObject({ at: iso(50), notify: 'consultant' });
  });

  it('a process that takes over an alert with no escalation yet starts at the first step, from its opening', () => {
    const fresh = createAlertBook(explainer, ladders).applyScore(score('medium', 5, 0))!;
    const other = createAlertBook(explainer, ladders);
    other.seed(fresh);
    expect(other.tick(at(29))).toEqual([]);
    expect(other.tick(at(30))[0]!.history.at(-1)).toMatchObject({ at: iso(30), notify: 'clinician on call' });
    // With no history to go by, from when it was raised.
    const bare = createAlertBook(explainer, ladders);
    bare.seed({ ...fresh, history: [] });
    expect(bare.tick(at(30))[0]!.history.at(-1)).toMatchObject({ at: iso(30) });
  });

  it('a seeded alert sets the band of its time even when one of the same time is held', () => {
    const fresh = createAlertBook(explainer).applyScore(score('medium', 5, 0))!;
    const book = createAlertBook(explainer);
    book.importBand('pt-1', 'news2', { band: 'low', t: Date.parse(fresh.eventTs) });
    book.seed(fresh);
    expect(book.exportBand('pt-1', 'news2')).toEqual({ band: 'medium', t: Date.parse(fresh.eventTs) });
  });

  it('a resolution seeded with nothing open is remembered as resolved', () => {
    const first = createAlertBook(explainer);
    const raised = first.applyScore(score('medium', 5, 0))!;
    const resolved = (first.applyAction(action(raised.alertId, 'resolve')) as { alert: typeof raised }).alert;
    const book = createAlertBook(explainer);
    book.seed(resolved);
    expect(book.get(raised.alertId)).toBeUndefined();
    expect(book.applyAction(action(raised.alertId, 'acknowledge'))).toEqual({ error: 'already_resolved' });
  });

  it('keeps each cause’s band apart', () => {
    const book = createAlertBook(explainer);
    book.applyScore(score('medium', 5, 0));
    book.applyScore(score('high', 7, 1, { ruleId: 'news2-rise' }));
    book.applyScore(score('low', 1, 2, { ruleId: 'news2-rise' }));
    expect(book.exportBand('pt-1', 'news2')).toEqual({ band: 'medium', t: at(0) });
    expect(book.exportBand('pt-1', 'news2-rise')).toEqual({ band: 'low', t: at(2) });
  });
});
