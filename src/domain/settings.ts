import { z } from 'zod';
import { Id, Pathway } from './ids.ts';
import { IsoTimestamp } from './reading.ts';

/**
 * Per-patient settings a clinician sets (rules read them as `setting: NAME`), kept as numbered
 * versions. Each version is complete, never a delta, so any one version can be read on its own in an
 * audit and a consumer that missed a version still ends up with the right values.
 */

/** Names end up in rule files, logs of rule ids and console forms: keep them identifier-like. */
export const SettingName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'setting names are a letter then up to 63 of A-Z a-z 0-9 _');

export const SettingValue = z.union([z.number(), z.string().max(200), z.boolean()]);
export type SettingValue = z.infer<typeof SettingValue>;

export const MAX_SETTINGS = 64;
export const SettingValues = z
  .record(SettingName, SettingValue)
  .refine((values) => Object.keys(values).length <= MAX_SETTINGS, `at most ${MAX_SETTINGS} settings`);
export type SettingValues = z.infer<typeof SettingValues>;

export const Spo2Scale = z.union([z.literal(1), z.literal(2)]);
export type Spo2Scale = z.infer<typeof Spo2Scale>;

/** Why a clinician changed a setting: part of the audit record, shown to colleagues, never logged. */
export const SettingsReason = z.string().min(3).max(500);

/** Who set version 0: the patient record as registered, before any clinician changed it in vw. */
export const REGISTRY_SETTER = 'registry';

/**
 * One complete version of a patient's settings. Version 0 is the registry's record as registered;
 * every version a clinician sets is 1 or more, so version 0 never travels on the settings topic
 * (applySettings refuses it).
 */
export const PatientSettings = z.object({
  patientId: Id,
  /** The ward the patient was on when the version was set: decides which consoles are told. */
  wardId: Id,
  version: z.number().int().nonnegative(),
  effectiveFrom: IsoTimestamp,
  setBy: z.string().min(1),
  reason: SettingsReason,
  spo2Scale: Spo2Scale,
  /** When present, rules use these instead of the pathways of the patient's enrolments. */
  pathways: z.array(Pathway).min(1).optional(),
  values: SettingValues,
});
export type PatientSettings = z.infer<typeof PatientSettings>;

/**
 * A version recorded in the registry (seed file). The patient and ward are implied; a missing
 * spo2Scale keeps the scale of the version before.
 */
export const SettingsHistoryEntry = z.object({
  version: z.number().int().min(1),
  effectiveFrom: IsoTimestamp,
  setBy: z.string().min(1),
  reason: SettingsReason,
  spo2Scale: Spo2Scale.optional(),
  pathways: z.array(Pathway).min(1).optional(),
  values: SettingValues,
});
export type SettingsHistoryEntry = z.infer<typeof SettingsHistoryEntry>;

export type ApplySettingsResult =
  | { ok: true; settings: PatientSettings }
  | { ok: false; reason: 'stale_version' | 'wrong_patient' };

/**
 * Optimistic concurrency: a version is accepted only as the direct successor of the one held. Two
 * consoles that change the same version race to two records with the same number; every consumer
 * applies the first in partition order and refuses the second, so all consumers agree without a lock.
 * Duplicates from at-least-once delivery are refused the same way.
 */
export function applySettings(current: PatientSettings | undefined, next: PatientSettings): ApplySettingsResult {
  if (current && current.patientId !== next.patientId) return { ok: false, reason: 'wrong_patient' };
  if (next.version !== (current?.version ?? 0) + 1) return { ok: false, reason: 'stale_version' };
  return { ok: true, settings: next };
}
