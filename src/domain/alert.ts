import { z } from 'zod';
import { IsoTimestamp } from './reading.ts';

export const AlertSeverity = z.enum(['low-medium', 'medium', 'high']);
export type AlertSeverity = z.infer<typeof AlertSeverity>;
export const SEVERITY_RANK: Record<AlertSeverity, number> = { 'low-medium': 1, medium: 2, high: 3 };

/** open → (escalated when nobody acknowledges in time) → acknowledged → resolved. */
export const AlertState = z.enum(['open', 'escalated', 'acknowledged', 'resolved']);
export type AlertState = z.infer<typeof AlertState>;

export const AlertEvidence = z.object({
  readingId: z.string(),
  type: z.string(),
  value: z.union([z.number(), z.string(), z.boolean()]),
  ts: IsoTimestamp,
  /** What the value was compared with, in words a clinician checks against the rule source. */
  threshold: z.string(),
});
export type AlertEvidence = z.infer<typeof AlertEvidence>;

export const AlertTransition = z.object({
  state: AlertState,
  at: IsoTimestamp,
  by: z.string(),
  note: z.string().max(500).optional(),
  /** On an escalation: who is to be told (the rule's ladder step), for the notifier. */
  notify: z.string().max(200).optional(),
});
export type AlertTransition = z.infer<typeof AlertTransition>;

/**
 * One alert per patient and cause while it is unresolved. Every change publishes the whole alert with
 * a higher `revision`, so a consumer keeps the highest revision it has seen and absorbs duplicates.
 */
export const Alert = z.object({
  alertId: z.string(),
  patientId: z.string(),
  wardId: z.string(),
  /** The cause: one rule (e.g. news2) raises at most one open alert per patient. */
  cause: z.string(),
  ruleId: z.string(),
  ruleVersion: z.string(),
  severity: AlertSeverity,
  state: AlertState,
  revision: z.number().int().nonnegative(),
  raisedAt: IsoTimestamp,
  updatedAt: IsoTimestamp,
  /** Event time of the evidence that last changed the alert. */
  eventTs: IsoTimestamp,
  score: z.number().int().optional(),
  partial: z.boolean().default(false),
  explanation: z.string(),
  response: z.string(),
  evidence: z.array(AlertEvidence),
  history: z.array(AlertTransition),
  /** Receipt time of the reading behind the latest change, for end-to-end latency. */
  receivedAt: IsoTimestamp,
});
export type Alert = z.infer<typeof Alert>;

/** A person's action on an alert, travelling from a console to the rules role that owns alert state. */
export const AlertAction = z.object({
  actionId: z.string(),
  alertId: z.string(),
  patientId: z.string(),
  wardId: z.string(),
  action: z.enum(['acknowledge', 'resolve']),
  by: z.string().min(1),
  at: IsoTimestamp,
  note: z.string().max(500).optional(),
});
export type AlertAction = z.infer<typeof AlertAction>;
