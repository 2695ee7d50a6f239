import { z } from 'zod';
import { IsoTimestamp } from './reading.ts';

/**
 * Live pressure on the services a virtual ward escalates to. Capacity sources post these to vw's
 * capacity edge (HTTP or MQTT, docs/capacity.md), which puts them on the capacity topic; consoles show
 * them in a strip for the ward's ICS and beside each referral route. Measures follow what the services
 * themselves report: the Ambulance Response Programme categories and REAP levels, hospital handover
 * times, the NHS 111 call measures of the IUC aggregate data collection, and the system's OPEL level.
 */
const Minutes = z.number().nonnegative();
const Percent = z.number().min(0).max(100);

/** Mean and 90th centile response time of an Ambulance Response Programme category, in minutes. */
export const CategoryResponse = z.object({ meanMinutes: Minutes, p90Minutes: Minutes }).strict();
export type CategoryResponse = z.infer<typeof CategoryResponse>;

export const AmbulanceCapacity = z
  .object({
    service: z.literal('ambulance'),
    /** The ambulance trust, e.g. its ODS code. */
    providerId: z.string().min(1),
    ts: IsoTimestamp,
    /** Resource Escalation Action Plan level: 1 normal, 2 moderate, 3 severe, 4 extreme pressure. */
    reapLevel: z.number().int().min(1).max(4),
    /** Response times over the last hour, by category (C1 life-threatening … C4 less urgent). */
    responses: z.object({ c1: CategoryResponse, c2: CategoryResponse, c3: CategoryResponse, c4: CategoryResponse }).strict().optional(),
    crewsAvailable: z.number().int().nonnegative().optional(),
    /** Calls waiting for a resource to be assigned. */
    incidentsWaiting: z.number().int().nonnegative().optional(),
    /** Hospital handovers in the last hour: mean time and how many took over 30 and over 60 minutes. */
    handover: z
      .object({ meanMinutes: Minutes, over30: z.number().int().nonnegative(), over60: z.number().int().nonnegative(), handovers: z.number().int().nonnegative() })
      .strict()
      .optional(),
  })
  .strict();
export type AmbulanceCapacity = z.infer<typeof AmbulanceCapacity>;

export const Nhs111Capacity = z
  .object({
    service: z.literal('nhs111'),
    providerId: z.string().min(1),
    ts: IsoTimestamp,
    callsWaiting: z.number().int().nonnegative(),
    /** Calls offered in the last hour. */
    callsOffered: z.number().int().nonnegative().optional(),
    /** Share of calls answered within 60 seconds (standard: 95%). */
    answeredWithin60sPct: Percent.optional(),
    /** Share of calls abandoned after 30 seconds (standard: under 5%). */
    abandonedPct: Percent.optional(),
    clinicalAdvisorsOnShift: z.number().int().nonnegative().optional(),
    /** Share of clinical call-backs made within 20 minutes. */
    callBackWithin20MinPct: Percent.optional(),
  })
  .strict();
export type Nhs111Capacity = z.infer<typeof Nhs111Capacity>;

/** The whole system's pressure as the ICS reports it each day (and when it changes). */
export const SystemPressure = z
  .object({
    service: z.literal('system'),
    /** The integrated care system (its ICB's ODS code). */
    providerId: z.string().min(1),
    ts: IsoTimestamp,
    /** Operational Pressures Escalation Level: 1 steady … 4 extreme pressure. */
    opelLevel: z.number().int().min(1).max(4),
  })
  .strict();
export type SystemPressure = z.infer<typeof SystemPressure>;

export const CapacitySnapshot = z.discriminatedUnion('service', [AmbulanceCapacity, Nhs111Capacity, SystemPressure]);
export const CAPACITY_SERVICES = ['ambulance', 'nhs111', 'system'] as const;
export const CapacityService = z.enum(CAPACITY_SERVICES);
export type CapacityService = z.infer<typeof CapacityService>;
export type CapacitySnapshot = z.infer<typeof CapacitySnapshot>;
