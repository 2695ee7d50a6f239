import { z } from 'zod';
import { AlertEvidence } from './alert.ts';
import { IsoTimestamp } from './reading.ts';

/**
 * A referral or escalation of a patient to another service (999, NHS 111, urgent community response,
 * GP, a home visit, SDEC/ED), chosen by a clinician from the routes the rule data offers. Every change
 * publishes the whole referral with a higher `revision` on the referrals topic.
 */
export const ReferralState = z.enum(['requested', 'sent', 'accepted', 'rejected', 'completed', 'cancelled']);
export type ReferralState = z.infer<typeof ReferralState>;
export const TERMINAL_REFERRAL_STATES: ReadonlySet<ReferralState> = new Set(['rejected', 'completed', 'cancelled']);

/** FHIR ServiceRequest.priority (request-priority): routine < urgent < asap < stat. */
export const RequestPriority = z.enum(['routine', 'urgent', 'asap', 'stat']);
export type RequestPriority = z.infer<typeof RequestPriority>;

/**
 * How sending the referral message is going. `no_endpoint`: the route has no receiver configured, so
 * it is kept, not sent; `failed`: the receiver refused the message itself (not the patient).
 */
export const DeliveryStatus = z.enum(['pending', 'retrying', 'delivered', 'failed', 'no_endpoint']);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

export const ReferralTransition = z.object({
  state: ReferralState,
  at: IsoTimestamp,
  by: z.string().min(1),
  note: z.string().max(1000).optional(),
});
export type ReferralTransition = z.infer<typeof ReferralTransition>;

export const Referral = z.object({
  referralId: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
  patientId: z.string(),
  wardId: z.string(),
  route: z.string(),
  routeTitle: z.string(),
  /** Version of the routes file the route was offered under. */
  routesVersion: z.string(),
  priority: RequestPriority,
  /** The urgency in words, as the route data gives it (e.g. "within 2 hours"). */
  urgency: z.string(),
  /** Alerts this referral answers (may be none: a referral from the patient). */
  alertIds: z.array(z.string()),
  /** The clinical reason, in the referrer's words or the alert's explanation. */
  reason: z.string().min(1).max(1000),
  evidence: z.array(AlertEvidence),
  requestedBy: z.string(),
  requestedAt: IsoTimestamp,
  state: ReferralState,
  revision: z.number().int().nonnegative(),
  updatedAt: IsoTimestamp,
  history: z.array(ReferralTransition),
  delivery: z.object({
    status: DeliveryStatus,
    attempts: z.number().int().nonnegative(),
    lastAttemptAt: IsoTimestamp.optional(),
    nextAttemptAt: IsoTimestamp.optional(),
    /** Why the last attempt failed, for the console (never the message body). */
    lastError: z.string().max(500).optional(),
    /** The receiver's own id for the referral, once it has one. */
    receiverReference: z.string().max(200).optional(),
  }),
});
export type Referral = z.infer<typeof Referral>;

const actionBase = {
  actionId: z.string().min(1),
  referralId: Referral.shape.referralId,
  patientId: z.string(),
  wardId: z.string(),
  by: z.string().min(1),
  at: IsoTimestamp,
};

/**
 * What moves a referral on, travelling to the referrals role that owns referral state: a clinician's
 * request or cancellation from a console, or the receiving service's answer.
 */
export const ReferralAction = z.discriminatedUnion('action', [
  z.object({
    ...actionBase,
    action: z.literal('request'),
    route: z.string(),
    routeTitle: z.string(),
    routesVersion: z.string(),
    priority: RequestPriority,
    urgency: z.string(),
    alertIds: z.array(z.string()),
    reason: z.string().min(1).max(1000),
    evidence: z.array(AlertEvidence),
  }),
  z.object({ ...actionBase, action: z.literal('cancel'), note: z.string().min(3).max(1000) }),
  /** The receiving service's answer. */
  z.object({
    ...actionBase,
    action: z.literal('response'),
    outcome: z.enum(['accepted', 'rejected', 'completed']),
    note: z.string().max(1000).optional(),
    receiverReference: z.string().max(200).optional(),
  }),
]);
export type ReferralAction = z.infer<typeof ReferralAction>;
