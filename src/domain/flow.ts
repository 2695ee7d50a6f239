import { z } from 'zod';
import { Id, Pathway } from './ids.ts';
import { IsoTimestamp } from './reading.ts';

/**
 * Patient flow on virtual wards: admissions, discharges and transfers, as events. Occupancy, length
 * of stay and every rate per patient-day in the capacity reports are computed from these (docs/reports.md).
 */
/** Step-up: admitted instead of going into hospital. Step-down: discharged early from hospital to the ward. */
export const AdmissionKind = z.enum(['step-up', 'step-down']);
export type AdmissionKind = z.infer<typeof AdmissionKind>;

export const AdmissionSource = z.enum(['gp', 'nhs111', 'ambulance', 'ed-sdec', 'acute-discharge', 'other']);
export type AdmissionSource = z.infer<typeof AdmissionSource>;

export const DischargeOutcome = z.enum(['care-completed', 'admitted-acute', 'ed', 'died', 'self-discharged']);
export type DischargeOutcome = z.infer<typeof DischargeOutcome>;

const base = {
  eventId: Id,
  patientId: Id,
  /** When it happened (not when it was recorded). */
  at: IsoTimestamp,
  by: z.string().min(1),
};

export const AdmitEvent = z.object({
  ...base,
  kind: z.literal('admit'),
  wardId: Id,
  pathway: Pathway,
  admission: AdmissionKind,
  source: AdmissionSource,
  /** Index of Multiple Deprivation decile of the patient's home (1 most deprived), when known. */
  imdDecile: z.number().int().min(1).max(10).optional(),
  /**
   * Devices lent to the patient on admission: each is enrolled to the patient on this ward and pathway
   * from `at` until discharge (transfers carry the enrolments to the new ward).
   */
  deviceIds: z.array(Id).max(12).refine((ids) => new Set(ids).size === ids.length, 'a device is named twice').optional(),
});
export const DischargeEvent = z.object({ ...base, kind: z.literal('discharge'), wardId: Id, outcome: DischargeOutcome });
export const TransferEvent = z.object({ ...base, kind: z.literal('transfer'), fromWardId: Id, wardId: Id, pathway: Pathway.optional() });

export const FlowEvent = z.discriminatedUnion('kind', [AdmitEvent, DischargeEvent, TransferEvent]);
export type FlowEvent = z.infer<typeof FlowEvent>;
