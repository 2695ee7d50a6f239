import { z } from 'zod';
import { IsoTimestamp } from './reading.ts';

/**
 * Live pressure on the services a virtual ward escalates to. The simulators and, later, real feeds
 * publish these on the capacity topic; consoles show them beside each escalation.
 */
export const CapacitySnapshot = z.discriminatedUnion('service', [
  z.object({
    service: z.literal('ambulance'),
    providerId: z.string(),
    ts: IsoTimestamp,
    reapLevel: z.number().int().min(1).max(4),
    c1MeanMinutes: z.number().nonnegative().optional(),
    c2MeanMinutes: z.number().nonnegative().optional(),
    crewsAvailable: z.number().int().nonnegative().optional(),
  }),
  z.object({
    service: z.literal('nhs111'),
    providerId: z.string(),
    ts: IsoTimestamp,
    callsWaiting: z.number().int().nonnegative(),
    answeredWithin60sPct: z.number().min(0).max(100).optional(),
    abandonedPct: z.number().min(0).max(100).optional(),
    clinicalAdvisorsOnShift: z.number().int().nonnegative().optional(),
  }),
]);
export type CapacitySnapshot = z.infer<typeof CapacitySnapshot>;
