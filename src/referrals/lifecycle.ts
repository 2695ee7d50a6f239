import { TERMINAL_REFERRAL_STATES, type Referral, type ReferralAction } from '../domain/index.ts';

/**
 * The referral lifecycle as pure functions: requested → sent → accepted | rejected → completed, or
 * cancelled while not yet rejected or completed. Each step adds who, when and why to the history.
 */
export type ApplyOutcome = { changed: true; referral: Referral } | { changed: false; reason: string };

export function applyReferralAction(current: Referral | undefined, action: ReferralAction, hasEndpoint: boolean): ApplyOutcome {
  if (action.action === 'request') {
    if (current) return { changed: false, reason: 'duplicate request' };
    return {
      changed: true,
      referral: {
        referralId: action.referralId,
        patientId: action.patientId,
        wardId: action.wardId,
        route: action.route,
        routeTitle: action.routeTitle,
        routesVersion: action.routesVersion,
        priority: action.priority,
        urgency: action.urgency,
        alertIds: action.alertIds,
        reason: action.reason,
        evidence: action.evidence,
        requestedBy: action.by,
        requestedAt: action.at,
        state: 'requested',
        revision: 0,
        updatedAt: action.at,
        history: [{ state: 'requested', at: action.at, by: action.by, note: action.reason }],
        delivery: hasEndpoint ? { status: 'pending', attempts: 0 } : { status: 'no_endpoint', attempts: 0, lastError: `no receiver is configured for ${action.routeTitle}: the referral is kept, not sent` },
      },
    };
  }
  if (!current) return { changed: false, reason: 'no such referral' };
  if (current.history.some((h) => h.at === action.at && h.by === action.by && h.state === stateOf(action))) return { changed: false, reason: 'duplicate action' };
  if (TERMINAL_REFERRAL_STATES.has(current.state)) return { changed: false, reason: `referral is already ${current.state}` };
  // A receiver posting the same answer again (a retry of its own) changes nothing.
  if (action.action === 'response' && current.state === action.outcome) return { changed: false, reason: 'duplicate answer' };
  if (action.action === 'cancel') {
    // Once the receiver has the referral it is told of the cancellation; before that nothing is sent.
    // A retried attempt, or one another process may be making now, may have reached the receiver even
    // though no answer came back: it is told too (a cancellation of a referral it never had is harmless).
    const told = hasEndpoint && (current.delivery.status === 'delivered' || current.delivery.status === 'retrying' || current.delivery.status === 'pending');
    // The receiver's reference is kept: its answer to the cancellation need not repeat it.
    const reference = current.delivery.receiverReference ? { receiverReference: current.delivery.receiverReference } : {};
    return {
      changed: true,
      referral: step(current, { state: 'cancelled', at: action.at, by: action.by, note: action.note }, told ? { status: 'pending', attempts: 0, ...reference } : { ...current.delivery, status: current.delivery.status === 'no_endpoint' || current.delivery.status === 'failed' ? current.delivery.status : 'delivered', lastError: 'cancelled before it was sent: nothing was sent' }),
    };
  }
  return {
    changed: true,
    referral: step(
      current,
      { state: action.outcome, at: action.at, by: action.by, ...(action.note ? { note: action.note } : {}) },
      // The receiver answering says it has the referral: nothing is left to send.
      { ...current.delivery, status: 'delivered', ...(action.receiverReference ? { receiverReference: action.receiverReference } : {}) },
    ),
  };
}

function stateOf(action: ReferralAction): Referral['state'] {
  return action.action === 'cancel' ? 'cancelled' : action.action === 'request' ? 'requested' : action.outcome;
}

export function step(current: Referral, transition: Referral['history'][number], delivery: Referral['delivery']): Referral {
  return {
    ...current,
    state: transition.state,
    revision: current.revision + 1,
    updatedAt: transition.at,
    history: [...current.history, transition],
    delivery,
  };
}
