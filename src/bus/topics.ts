import { Alert, AlertAction, CapacitySnapshot, DeadLetter, FlowEvent, HandoverNote, Notification, PatientSettings, Reading, Referral, ReferralAction, ScoreEvent } from '../domain/index.ts';
import { defineTopic } from './bus.ts';

/**
 * The topics between vw's roles, with the schema each record must satisfy: the contracts, in domain
 * types. All clinical topics are keyed by patient.
 */
export const Topics = {
  readings: defineTopic('vw.readings.v1', Reading),
  scores: defineTopic('vw.scores.v1', ScoreEvent),
  alerts: defineTopic('vw.alerts.v1', Alert),
  alertActions: defineTopic('vw.alert-actions.v1', AlertAction),
  /** Refusals, for people to inspect (nothing consumes them): bounded, since a device can send any number. */
  deadLetter: defineTopic('vw.dead-letter.v1', DeadLetter, { keep: { recordsPerPartition: 2_000, retentionMs: 7 * 86_400_000 } }),
  capacity: defineTopic('vw.capacity.v1', CapacitySnapshot),
  /** Every revision of every referral, keyed by patient: the referral lifecycle, kept for reports. */
  referrals: defineTopic('vw.referrals.v1', Referral, { retainForever: true }),
  /** Requests, cancellations and receivers' answers, to the referrals role that owns referral state. */
  referralActions: defineTopic('vw.referral-actions.v1', ReferralAction),
  /** Admissions, discharges and transfers, keyed by patient: the record capacity reports are made from, kept for ever. */
  patientFlow: defineTopic('vw.patient-flow.v1', FlowEvent, { retainForever: true }),
  /** Handover notes per patient: the audit log, never compacted or expired. */
  handoverNotes: defineTopic('vw.handover-notes.v1', HandoverNote, { retainForever: true }),
  /** Notifications of escalations: every revision, keyed by patient; the outbox of the notify role. */
  notifications: defineTopic('vw.notifications.v1', Notification, { retainForever: true }),
  /** Every version of every patient's settings ever set: the audit log, so never compacted or expired. */
  patientSettings: defineTopic('vw.patient-settings.v1', PatientSettings, { retainForever: true }),
} as const;
// The rules role's changelog (vw.rules-state.v1) is that role's own: rules/state-record.ts declares it.
