import { z } from 'zod';
import { IsoTimestamp } from './reading.ts';

/** People, places and kit: who a device's readings belong to, and under which pathway. */

/**
 * Ids travel in MQTT topics, Kafka keys, InfluxDB tags and URLs: one safe alphabet for all of them.
 * They are opaque, never an NHS number or a name.
 */
export const Id = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'ids are 1-64 of A-Z a-z 0-9 . _ -');

export const Pathway = z.enum(['ari', 'frailty', 'heart-failure', 'hypertension', 'post-op', 'copd', 'general']);
export type Pathway = z.infer<typeof Pathway>;

export const Ward = z.object({
  wardId: Id,
  name: z.string().min(1),
  /** The organisation running the virtual ward, e.g. an NHS trust's ODS code. */
  organisation: z.string().min(1),
  capacity: z.number().int().positive(),
});
export type Ward = z.infer<typeof Ward>;

export const Patient = z.object({
  patientId: Id,
  /** Shown on the console only; never logged. */
  displayName: z.string().min(1),
  nhsNumber: z.string().regex(/^\d{10}$/).optional(),
  dateOfBirth: z.iso.date().optional(),
  /** NEWS2 SpO2 Scale 2 is a clinician's decision for confirmed hypercapnic respiratory failure. */
  spo2Scale: z.union([z.literal(1), z.literal(2)]).default(1),
  /** Values rules refer to as `setting:` (e.g. baselineWeight in kg), set by a clinician. */
  settings: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).optional(),
});
export type Patient = z.infer<typeof Patient>;

export const DeviceKind = z.enum([
  'smartwatch',
  'pulse_oximeter',
  'bp_cuff',
  'thermometer',
  'scale',
  'ecg_patch',
  'companion_app',
]);
export type DeviceKind = z.infer<typeof DeviceKind>;

export const Device = z.object({
  deviceId: Id,
  kind: DeviceKind,
  model: z.string().optional(),
  medicalGrade: z.boolean().default(false),
});
export type Device = z.infer<typeof Device>;

/** A device lent to a patient on a ward, for a pathway, from a time until (optionally) a time. */
export const Enrolment = z.object({
  deviceId: z.string().min(1),
  patientId: z.string().min(1),
  wardId: z.string().min(1),
  pathway: Pathway,
  from: IsoTimestamp,
  until: IsoTimestamp.optional(),
});
export type Enrolment = z.infer<typeof Enrolment>;

export const RegistryData = z.object({
  wards: z.array(Ward),
  patients: z.array(Patient),
  devices: z.array(Device),
  enrolments: z.array(Enrolment),
});
export type RegistryData = z.infer<typeof RegistryData>;
