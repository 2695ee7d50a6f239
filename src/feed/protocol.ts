import { z } from 'zod';
import { WardCapacity } from '../capacity/board.ts';
import { Alert, HandoverNote, IsoTimestamp, Notification, Pathway, PatientSettings, Reading, ReadingType, Referral, ScoreEvent, SettingValues, Spo2Scale } from '../domain/index.ts';
import { ReferralRoute } from '../referrals/routes-file.ts';
import { ChartBands } from './chart-bands.ts';

/**
 * WebSocket frames between vw and a ward console, JSON text frames, one object each.
 * A console first sends `hello` with its token, then `subscribe` to a ward it may see; it receives a
 * `snapshot` and then live `reading`, `score` and `alert` deltas for that ward, and a `roster` whenever
 * an admission, transfer or discharge changes who is on it. A patient's alerts, referrals,
 * notifications and handover notes are sent to the ward the patient is on now (the ward they were
 * raised on once the patient is on none), which is the `wardId` of their frames. Documented in docs/feed.md.
 */

export const ClientFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), token: z.string().min(1).max(4096) }),
  /**
   * A fresh token for the same user, sent before the session's token expires: the session goes on with
   * the new token's wards and expiry (subscriptions to wards it no longer grants are dropped).
   */
  z.object({ type: z.literal('refresh'), token: z.string().min(1).max(4096) }),
  z.object({ type: z.literal('subscribe'), wardId: z.string().min(1) }),
  z.object({ type: z.literal('unsubscribe'), wardId: z.string().min(1) }),
  z.object({
    type: z.literal('acknowledge'),
    alertId: z.string().min(1),
    note: z.string().max(500).optional(),
  }),
  /** Closes an alert once the patient has been reviewed; a later deterioration opens a new one. */
  z.object({
    type: z.literal('resolve'),
    alertId: z.string().min(1),
    note: z.string().max(500).optional(),
  }),
  z.object({
    type: z.literal('series'),
    patientId: z.string().min(1),
    /** A reading type, or `news2` for the patient's NEWS2 totals. */
    readingType: z.union([ReadingType, z.literal('news2')]),
    /** Defaults to the last 6 hours. */
    since: IsoTimestamp.optional(),
  }),
  /**
   * A new complete version of a patient's settings, made from version `baseVersion`: refused with
   * `conflict` when someone else changed them first, so nobody overwrites a change they have not seen.
   */
  z.object({
    type: z.literal('settings'),
    patientId: z.string().min(1),
    baseVersion: z.number().int().nonnegative(),
    /** Omitted: keep the current scale. */
    spo2Scale: Spo2Scale.optional(),
    /** Omitted: keep the current pathways; null: back to the pathways of the patient's enrolments. */
    pathways: z.array(Pathway).min(1).nullable().optional(),
    values: SettingValues,
    reason: z.string().trim().min(3).max(500),
  }),
  z.object({ type: z.literal('settingsHistory'), patientId: z.string().min(1) }),
  /**
   * Refers the patient to a route: one the alert offers, or (without an alert) one of the routes
   * offered from a patient. The note is the clinical reason; without one, the alert's explanation.
   */
  z.object({
    type: z.literal('refer'),
    patientId: z.string().min(1),
    route: z.string().min(1).max(64),
    alertId: z.string().min(1).optional(),
    note: z.string().trim().max(1000).optional(),
  }),
  /** A handover note about a patient: kept, with who wrote it and when, and shown to every console on the ward. */
  z.object({ type: z.literal('handoverNote'), patientId: z.string().min(1), text: z.string().trim().min(1).max(2000) }),
  z.object({ type: z.literal('cancelReferral'), referralId: z.string().min(1), note: z.string().trim().min(3).max(1000) }),
]);
export type ClientFrame = z.infer<typeof ClientFrame>;

export const LatestValue = z.object({
  value: z.union([z.number(), z.string(), z.boolean()]),
  unit: z.string(),
  ts: IsoTimestamp,
  deviceId: z.string(),
  flags: z.array(z.string()).optional(),
});
export type LatestValue = z.infer<typeof LatestValue>;

export const SeriesPoint = z.object({ ts: IsoTimestamp, value: z.union([z.number(), z.string(), z.boolean()]) });
export type SeriesPoint = z.infer<typeof SeriesPoint>;

export const PatientView = z.object({
  patientId: z.string(),
  displayName: z.string(),
  nhsNumber: z.string().optional(),
  dateOfBirth: z.string().optional(),
  contacts: z.array(z.object({ name: z.string(), relationship: z.string(), phone: z.string().optional() })).optional(),
  escalationPlan: z.string().optional(),
  pathways: z.array(Pathway),
  spo2Scale: z.union([z.literal(1), z.literal(2)]),
  latest: z.partialRecord(ReadingType, LatestValue),
  /** Event time of the newest reading from any of the patient's devices, or null if none yet. */
  lastSeen: IsoTimestamp.nullable(),
  score: ScoreEvent.nullable(),
  /**
   * The version of the patient's settings in force (version 0 is as registered), with who set it,
   * when and why; null for a patient the registry cannot name a ward for. `pathways` and `spo2Scale`
   * above are the enrolments' pathways and the scale in force.
   */
  settings: PatientSettings.nullable(),
});
export type PatientView = z.infer<typeof PatientView>;

export const ServerFrame = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('welcome'),
    user: z.string(),
    /** Roles the token names: notifications to them show as a banner on this console. */
    roles: z.array(z.string()).default([]),
    /**
     * The token names the role "ward lead": this console offers admitting, discharging and transferring
     * patients (POST /api/v1/flow with the same token, which enforces it again).
     */
    wardLead: z.boolean().default(false),
    wards: z.array(z.object({ wardId: z.string(), name: z.string() })),
    /** When the token expires: vw then closes the socket (4001, "token expired") unless a `refresh` came first. */
    expiresAt: IsoTimestamp.optional(),
  }),
  /** A `refresh` was accepted: the session goes on with this token. `dropped`: subscriptions it no longer grants, now ended. */
  z.object({
    type: z.literal('refreshed'),
    user: z.string(),
    roles: z.array(z.string()).default([]),
    wardLead: z.boolean().default(false),
    wards: z.array(z.object({ wardId: z.string(), name: z.string() })),
    expiresAt: IsoTimestamp,
    dropped: z.array(z.string()).default([]),
  }),
  z.object({
    type: z.literal('snapshot'),
    wardId: z.string(),
    wardName: z.string(),
    generatedAt: IsoTimestamp,
    patients: z.array(PatientView),
    /** Unresolved alerts, plus those resolved in the last 24 hours. */
    alerts: z.array(Alert),
    /** Beds, and live pressure on the services the ward escalates to. */
    capacity: WardCapacity,
    /** The ward's referrals: open ones, and those closed in the last 24 hours. */
    referrals: z.array(Referral),
    /** The referral routes (rules/referral-routes.yaml) and which of them each alert offers. */
    routes: z.object({ version: z.string(), routes: z.array(ReferralRoute), patientRoutes: z.array(z.string()) }),
    alertRoutes: z.record(z.string(), z.array(z.string())),
    /** Notifications of the ward's escalations in the last 24 hours. */
    notifications: z.array(Notification),
    /** Threshold bands shaded behind the charts, from the NEWS2 rule. */
    chartBands: ChartBands,
    /** Each patient's recent handover notes, newest first. */
    handoverNotes: z.array(HandoverNote),
    /**
     * True on a snapshot vw sent unasked because records were dropped before it could read them: the
     * console's picture had missed updates and this one replaces it.
     */
    missedUpdates: z.boolean().optional(),
  }),
  /**
   * Who is on the ward now, after an admission, transfer or discharge changed it: a console drops the
   * patients not in `patientIds` and adds (or redraws) those in `patients`, keeping what it holds of
   * the others. A console that finds an id it holds no view of asks for a snapshot (subscribes again).
   */
  z.object({
    type: z.literal('roster'),
    wardId: z.string(),
    generatedAt: IsoTimestamp,
    /** Every patient on the ward now, in no particular order. */
    patientIds: z.array(z.string()),
    /** The patients the change brought onto the ward, drawn as in a snapshot. */
    patients: z.array(PatientView),
    /** Their recent handover notes, newest first. */
    handoverNotes: z.array(HandoverNote),
    /**
     * Their alerts, referrals and notifications as the snapshot lists them (they follow the patient
     * to the ward they are on now), and the routes each of those alerts offers.
     */
    alerts: z.array(Alert).default([]),
    alertRoutes: z.record(z.string(), z.array(z.string())).default({}),
    referrals: z.array(Referral).default([]),
    notifications: z.array(Notification).default([]),
    /**
     * Patients the change took from this ward to another: their alerts, referrals, notifications and
     * handover notes are shown there now, so the console drops what it holds of them. (A discharged
     * patient is not listed: their items stay on the ward they were raised on.)
     */
    transferredOut: z.array(z.string()).default([]),
  }),
  z.object({ type: z.literal('handoverNote'), wardId: z.string(), note: HandoverNote }),
  z.object({ type: z.literal('handoverNoteAccepted'), noteId: z.string(), patientId: z.string() }),
  z.object({ type: z.literal('notification'), wardId: z.string(), notification: Notification }),
  z.object({ type: z.literal('referral'), wardId: z.string(), referral: Referral }),
  /** This console's referral request is on its way: the referral follows as a `referral` frame. */
  z.object({ type: z.literal('referralAccepted'), referralId: z.string(), patientId: z.string() }),
  /** A service the ward escalates to sent a new snapshot: the ward's whole capacity picture again. */
  z.object({ type: z.literal('capacity'), wardId: z.string(), capacity: WardCapacity }),
  z.object({ type: z.literal('reading'), wardId: z.string(), reading: Reading }),
  z.object({ type: z.literal('score'), wardId: z.string(), score: ScoreEvent }),
  z.object({
    type: z.literal('alert'),
    wardId: z.string(),
    alert: Alert,
    /** Referral routes the alert offers, most urgent first. */
    routes: z.array(z.string()).default([]),
  }),
  z.object({
    type: z.literal('series'),
    patientId: z.string(),
    readingType: z.union([ReadingType, z.literal('news2')]),
    points: z.array(SeriesPoint),
  }),
  z.object({ type: z.literal('accepted'), alertId: z.string(), actionId: z.string() }),
  /** A patient's settings changed: the whole new version, to every console on the ward. */
  z.object({ type: z.literal('settings'), wardId: z.string(), settings: PatientSettings }),
  /** This console's change is now the patient's current version. */
  z.object({ type: z.literal('settingsAccepted'), patientId: z.string(), version: z.number().int().positive() }),
  /** Every version of a patient's settings the feed knows, newest first. */
  z.object({ type: z.literal('settingsHistory'), patientId: z.string(), versions: z.array(PatientSettings) }),
  z.object({
    type: z.literal('error'),
    /** `conflict`: the settings changed since the console read them; reload and decide again. */
    code: z.enum(['unauthorized', 'forbidden', 'bad_frame', 'not_found', 'unavailable', 'conflict', 'rate_limited']),
    message: z.string(),
  }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
