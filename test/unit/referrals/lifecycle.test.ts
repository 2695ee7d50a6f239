import { describe, expect, it } from 'vitest';
import type { Referral, ReferralAction } from '../../../src/domain/index.ts';
import { Referral as ReferralSchema } from '../../../src/domain/index.ts';
import { applyReferralAction, step, type ApplyOutcome } from '../../../src/referrals/lifecycle.ts';

/** The referral lifecycle as pure functions: each step, who made it and when, and what it refuses. */
const ID = 'ref-00000001';
const T0 = Date.parse('2026-11-22T12:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const base = { referralId: ID, patientId: 'pt-0001', wardId: 'ward-ari' };

const EVIDENCE = [{ readingId: 'r-1', type: 'respiratory_rate', value: 25, ts: at(-5), threshold: '≥ 25 scores 3' }];

const request = (extra: Partial<Extract<ReferralAction, { action: 'request' }>> = {}): ReferralAction => ({
  ...base,
  action: 'request',
  actionId: 'a-request',
  by: 'nurse.jones',
  at: at(0),
  route: 'urgent-community-response',
  routeTitle: 'Urgent community response (2-hour)',
  routesVersion: '1.0.0',
  priority: 'asap',
  urgency: 'within 2 hours',
  alertIds: ['al-1'],
  reason: 'NEWS2 6: RR 25, SpO2 92%',
  evidence: EVIDENCE,
  ...extra,
});
const cancel = (minutes: number, by = 'nurse.jones', note = 'Seen by GP, no longer needed'): ReferralAction => ({ ...base, action: 'cancel', actionId: `a-cancel-${minutes}`, by, at: at(minutes), note });
const response = (minutes: number, outcome: 'accepted' | 'rejected' | 'completed', extra: { note?: string; receiverReference?: string } = {}): ReferralAction => ({
  ...base,
  action: 'response',
  actionId: `a-${outcome}-${minutes}`,
  by: 'UCR team',
  at: at(minutes),
  outcome,
  ...extra,
});

function changed(outcome: ApplyOutcome): Referral {
  if (!outcome.changed) throw new Error(`expected a change, got: ${outcome.reason}`);
  // Every revision is a valid record for the referrals topic.
  return ReferralSchema.parse(outcome.referral);
}
function unchanged(outcome: ApplyOutcome): string {
  if (outcome.changed) throw new Error(`expected no change, got state ${outcome.referral.state}`);
  return outcome.reason;
}
/** What the outbox records once the receiver has the message. */
const delivered = (r: Referral, minutes: number, receiverReference = 'REF-00001'): Referral =>
  step(r, { state: 'sent', at: at(minutes), by: 'vw outbox' }, { status: 'delivered', attempts: 1, lastAttemptAt: at(minutes), receiverReference });

describe('referral lifecycle', () => {
  it('opens a referral from a request: requested, revision 0, pending delivery, the request as its history', () => {
    const r = changed(applyReferralAction(undefined, request(), true));
    expect(r).toEqual({
      referralId: ID,
      patientId: 'pt-0001',
      wardId: 'ward-ari',
      route: 'urgent-community-response',
      routeTitle: 'Urgent community response (2-hour)',
      routesVersion: '1.0.0',
      priority: 'asap',
      urgency: 'within 2 hours',
      alertIds: ['al-1'],
      reason: 'NEWS2 6: RR 25, SpO2 92%',
      evidence: EVIDENCE,
      requestedBy: 'nurse.jones',
      requestedAt: at(0),
      state: 'requested',
      revision: 0,
      updatedAt: at(0),
      history: [{ state: 'requested', at: at(0), by: 'nurse.jones', note: 'NEWS2 6: RR 25, SpO2 92%' }],
      delivery: { status: 'pending', attempts: 0 },
    });
  });

  it('keeps a referral for a route without a receiver, saying it was not sent', () => {
    const r = changed(applyReferralAction(undefined, request({ route: 'same-day-gp', routeTitle: 'Same-day GP review' }), false));
    expect(r.state).toBe('requested');
    expect(r.delivery).toEqual({ status: 'no_endpoint', attempts: 0, lastError: 'no receiver is configured for Same-day GP review: the referral is kept, not sent' });
  });

  it('moves requested → accepted on the receiver’s answer, keeping its reference, then → completed', () => {
    const requested = changed(applyReferralAction(undefined, request(), true));
    const accepted = changed(applyReferralAction(requested, response(3, 'accepted', { note: 'Visit booked', receiverReference: 'UCR-77' }), true));
    // The receiver answering says it has the referral: nothing is left to send.
    expect(accepted).toMatchObject({ state: 'accepted', revision: 1, updatedAt: at(3), delivery: { status: 'delivered', attempts: 0, receiverReference: 'UCR-77' } });
    expect(accepted.history.at(-1)).toEqual({ state: 'accepted', at: at(3), by: 'UCR team', note: 'Visit booked' });
    const completed = changed(applyReferralAction(accepted, response(90, 'completed'), true));
    expect(completed).toMatchObject({ state: 'completed', revision: 2, delivery: { receiverReference: 'UCR-77' } });
    expect(completed.history.map((h) => h.state)).toEqual(['requested', 'accepted', 'completed']);
    // The original is untouched: each step is a new revision.
    expect(requested).toMatchObject({ state: 'requested', revision: 0, history: [{ state: 'requested' }] });
  });

  it('absorbs a duplicate request and a redelivered action', () => {
    const requested = changed(applyReferralAction(undefined, request(), true));
    expect(unchanged(applyReferralAction(requested, request(), true))).toBe('duplicate request');
    expect(unchanged(applyReferralAction(requested, request({ actionId: 'another', at: at(1) }), true))).toBe('duplicate request');
    const accepted = changed(applyReferralAction(requested, response(3, 'accepted'), true));
    expect(unchanged(applyReferralAction(accepted, response(3, 'accepted'), true))).toBe('duplicate action');
  });

  it('refuses an action on a referral it does not hold', () => {
    expect(unchanged(applyReferralAction(undefined, cancel(1), true))).toBe('no such referral');
    expect(unchanged(applyReferralAction(undefined, response(1, 'accepted'), true))).toBe('no such referral');
  });

  it('tells the receiver of a cancellation whenever an attempt may have reached it, and sends nothing when none can have', () => {
    const requested = changed(applyReferralAction(undefined, request(), true));
    const cancelled = changed(applyReferralAction(requested, cancel(1), true));
    expect(cancelled).toMatchObject({ state: 'cancelled', revision: 1, updatedAt: at(1) });
    expect(cancelled.history.at(-1)).toEqual({ state: 'cancelled', at: at(1), by: 'nurse.jones', note: 'Seen by GP, no longer needed' });
    // Still pending: an attempt may be under way in another process, so the cancellation is sent.
    expect(cancelled.delivery).toEqual({ status: 'pending', attempts: 0 });
    // Refused by the receiver: it never had it, and nothing is sent.
    const refused = { ...requested, delivery: { status: 'failed' as const, attempts: 1, lastError: 'receiver refused the message: 400' } };
    expect(changed(applyReferralAction(refused, cancel(2), true)).delivery).toMatchObject({ status: 'failed', lastError: 'cancelled before it was sent: nothing was sent' });

    const kept = changed(applyReferralAction(undefined, request(), false));
    expect(changed(applyReferralAction(kept, cancel(1), false)).delivery.status).toBe('no_endpoint');
  });

  it('cancels after delivery by sending the receiver a cancellation, keeping the receiver’s reference', () => {
    const requested = changed(applyReferralAction(undefined, request(), true));
    const sent = delivered(requested, 1, 'REF-00042');
    expect(sent).toMatchObject({ state: 'sent', revision: 1 });
    const cancelled = changed(applyReferralAction(sent, cancel(5, 'nurse.khan'), true));
    expect(cancelled).toMatchObject({ state: 'cancelled', revision: 2, updatedAt: at(5) });
    expect(cancelled.delivery).toEqual({ status: 'pending', attempts: 0, receiverReference: 'REF-00042' });
    expect(cancelled.history.map((h) => [h.state, h.by])).toEqual([['requested', 'nurse.jones'], ['sent', 'vw outbox'], ['cancelled', 'nurse.khan']]);
  });

  it('may cancel an accepted referral', () => {
    const accepted = changed(applyReferralAction(delivered(changed(applyReferralAction(undefined, request(), true)), 1), response(2, 'accepted'), true));
    const cancelled = changed(applyReferralAction(accepted, cancel(10), true));
    expect(cancelled).toMatchObject({ state: 'cancelled', delivery: { status: 'pending' } });
  });

  it('changes nothing after a terminal state', () => {
    const requested = changed(applyReferralAction(undefined, request(), true));
    const rejected = changed(applyReferralAction(requested, response(2, 'rejected', { note: 'Out of area' }), true));
    const cancelled = changed(applyReferralAction(requested, cancel(2), true));
    const completed = changed(applyReferralAction(changed(applyReferralAction(requested, response(2, 'accepted'), true)), response(60, 'completed'), true));
    for (const terminal of [rejected, cancelled, completed]) {
      for (const action of [cancel(100, 'nurse.other'), response(100, 'accepted'), response(101, 'completed'), response(102, 'rejected')]) {
        expect(unchanged(applyReferralAction(terminal, action, true))).toBe(`referral is already ${terminal.state}`);
      }
      expect(unchanged(applyReferralAction(terminal, request(), true))).toBe('duplicate request');
    }
  });
});

describe('referral lifecycle: answers repeated by a receiver', () => {
  it('absorbs the same answer posted twice', () => {
    const requested = changed(applyReferralAction(undefined, request(), true));
    const accepted = changed(applyReferralAction(requested, response(2, 'accepted'), true));
    expect(unchanged(applyReferralAction(accepted, response(3, 'accepted'), true))).toBe('duplicate answer');
  });
});
