import { z } from 'zod';
import { IsoTimestamp } from './reading.ts';

/**
 * Telling someone about an alert nobody acknowledged in time: one per escalation step of an alert
 * (the rule's ladder names who), sent as a signed webhook where the deployment configures one for
 * that person or role, and shown on the ward's consoles. Every change publishes the whole record with
 * a higher revision. A notification that cannot be delivered is itself escalated to the fallback.
 */
/** `withdrawn`: the alert was acknowledged or resolved before the notification was delivered. */
export const NotificationStatus = z.enum(['pending', 'retrying', 'delivered', 'failed', 'console_only', 'withdrawn']);
export type NotificationStatus = z.infer<typeof NotificationStatus>;

export const Notification = z.object({
  /** `{alertId}:{history index}` of the escalation step, or of the failed notification it escalates. */
  notificationId: z.string().min(1).max(200),
  alertId: z.string(),
  patientId: z.string(),
  wardId: z.string(),
  /** Who is to be told, as the rule's escalation ladder names them (e.g. "virtual ward consultant"). */
  target: z.string().min(1).max(200),
  /** Why, in words for the person told. */
  message: z.string().max(1000),
  severity: z.string(),
  createdAt: IsoTimestamp,
  revision: z.number().int().nonnegative(),
  updatedAt: IsoTimestamp,
  status: NotificationStatus,
  attempts: z.number().int().nonnegative(),
  /** Wall-clock time of the first attempt: the give-up time runs from here. */
  firstAttemptAt: IsoTimestamp.optional(),
  lastAttemptAt: IsoTimestamp.optional(),
  nextAttemptAt: IsoTimestamp.optional(),
  lastError: z.string().max(500).optional(),
  /** Set on a notification raised because this one failed, and on the failed one, naming each other. */
  escalatedFrom: z.string().optional(),
  escalatedTo: z.string().optional(),
});
export type Notification = z.infer<typeof Notification>;
