import { z } from 'zod';
import { Id, Pathway } from './ids.ts';
import { CapacityService } from './capacity.ts';
import { IsoTimestamp } from './reading.ts';
import { SettingValues, SettingsHistoryEntry, Spo2Scale } from './settings.ts';

// Defined apart so settings.ts can use them without a circular import.
export { Id, Pathway };

/** People, places and kit: who a device's readings belong to, and under which pathway. */

export const Ward = z.object({
  wardId: Id,
  name: z.string().min(1),
  /** The organisation running the virtual ward, e.g. an NHS trust's ODS code. */
  organisation: z.string().min(1),
  /** Commissioned beds. */
  capacity: z.number().int().positive(),
  /** The integrated care system the ward belongs to (an `ics` of the registry). */
  ics: Id.optional(),
  /** Who the ward escalates to: the providerIds whose capacity its consoles show. */
  ambulanceService: Id.optional(),
  nhs111Provider: Id.optional(),
});
export type Ward = z.infer<typeof Ward>;

/** An integrated care system: the wards of its trusts plan capacity together with its ambulance and 111 services. */
export const IntegratedCareSystem = z.object({
  icsId: Id,
  name: z.string().min(1),
  /** GP-registered adults (16 and over), for capacity per 100,000 as the national statistics give it. */
  adultPopulation: z.number().int().positive().optional(),
});
export type IntegratedCareSystem = z.infer<typeof IntegratedCareSystem>;

/**
 * Who may send capacity snapshots: one source per provider feed. A source authenticates with a token
 * derived from VW_CAPACITY_SECRET (HTTP bearer token, or MQTT password with the source id as username)
 * and may send snapshots only for its own service and provider.
 */
export const CapacitySource = z.object({
  sourceId: Id,
  service: CapacityService,
  providerId: Id,
});
export type CapacitySource = z.infer<typeof CapacitySource>;

export const Patient = z.object({
  patientId: Id,
  /** Shown on the console only; never logged. */
  displayName: z.string().min(1),
  nhsNumber: z.string().regex(/^\d{10}$/).optional(),
  dateOfBirth: z.iso.date().optional(),
  /** People to call: next of kin, carers, the patient's own phone. Shown on the console only. */
  contacts: z.array(z.object({ name: z.string().min(1), relationship: z.string().min(1), phone: z.string().max(40).optional() })).optional(),
  /** The escalation plan agreed with the patient (NICE QS210): what to do, and whom to call, when they deteriorate. */
  escalationPlan: z.string().max(2000).optional(),
  /**
   * NEWS2 SpO2 Scale 2 is a clinician's decision for confirmed hypercapnic respiratory failure.
   * With `settings`, this is version 0 of the patient's settings ("as registered").
   */
  spo2Scale: Spo2Scale.default(1),
  /** Values rules refer to as `setting:` (e.g. baselineWeight in kg), as registered: version 0. */
  settings: SettingValues.optional(),
  /**
   * Versions a clinician set before vw recorded them on the settings topic (e.g. migrated from
   * another system), oldest first. createRegistry checks the order, since zod cannot name the patient.
   */
  settingsHistory: z.array(SettingsHistoryEntry).optional(),
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
  systems: z.array(IntegratedCareSystem).optional(),
  capacitySources: z.array(CapacitySource).optional(),
  wards: z.array(Ward),
  patients: z.array(Patient),
  devices: z.array(Device),
  enrolments: z.array(Enrolment),
});
export type RegistryData = z.infer<typeof RegistryData>;
