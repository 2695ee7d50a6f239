import { z } from 'zod';
import { Alert, IsoTimestamp, Pathway, Reading, ReadingType, ScoreEvent } from '../domain/index.ts';

/**
 * WebSocket frames between vw and a ward console, JSON text frames, one object each.
 * A console first sends `hello` with its token, then `subscribe` to a ward it may see; it receives a
 * `snapshot` and then live `reading`, `score` and `alert` deltas for that ward. Documented in docs/feed.md.
 */

export const ClientFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), token: z.string().min(1).max(4096) }),
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
    readingType: ReadingType,
    /** Defaults to the last 6 hours. */
    since: IsoTimestamp.optional(),
  }),
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
  pathways: z.array(Pathway),
  spo2Scale: z.union([z.literal(1), z.literal(2)]),
  latest: z.partialRecord(ReadingType, LatestValue),
  /** Event time of the newest reading from any of the patient's devices, or null if none yet. */
  lastSeen: IsoTimestamp.nullable(),
  score: ScoreEvent.nullable(),
});
export type PatientView = z.infer<typeof PatientView>;

export const ServerFrame = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('welcome'),
    user: z.string(),
    wards: z.array(z.object({ wardId: z.string(), name: z.string() })),
  }),
  z.object({
    type: z.literal('snapshot'),
    wardId: z.string(),
    wardName: z.string(),
    generatedAt: IsoTimestamp,
    patients: z.array(PatientView),
    /** Unresolved alerts, plus those resolved in the last 24 hours. */
    alerts: z.array(Alert),
  }),
  z.object({ type: z.literal('reading'), wardId: z.string(), reading: Reading }),
  z.object({ type: z.literal('score'), wardId: z.string(), score: ScoreEvent }),
  z.object({ type: z.literal('alert'), wardId: z.string(), alert: Alert }),
  z.object({
    type: z.literal('series'),
    patientId: z.string(),
    readingType: ReadingType,
    points: z.array(SeriesPoint),
  }),
  z.object({ type: z.literal('accepted'), alertId: z.string(), actionId: z.string() }),
  z.object({
    type: z.literal('error'),
    code: z.enum(['unauthorized', 'forbidden', 'bad_frame', 'not_found', 'unavailable']),
    message: z.string(),
  }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
