import { z } from 'zod';
import { Acvpu, Alert, CapacitySnapshot, FlowEvent, Reading, ReadingType, Referral, ScoreEvent } from '../domain/index.ts';

/**
 * The embedded store's journal and snapshot entries: each write call as it was made, and, in
 * snapshots, series as the store keeps them (older points without their whole reading) and the
 * patient-hours with readings that reports use after the points have gone.
 */
export const StoreState = z.union([
  z.object({ readings: z.array(Reading) }),
  z.object({ scores: z.array(ScoreEvent) }),
  z.object({ referrals: z.array(Referral) }),
  z.object({ flow: z.array(FlowEvent) }),
  z.object({ alerts: z.array(Alert) }),
  z.object({ capacity: z.array(CapacitySnapshot) }),
  z.object({
    series: z.object({
      patientId: z.string().min(1),
      type: ReadingType,
      points: z.array(z.tuple([z.number(), z.string(), z.union([z.number().finite(), Acvpu, z.boolean()])])),
      latest: Reading.optional(),
    }),
  }),
  z.object({ hours: z.array(z.tuple([z.string(), z.string(), z.number()])) }),
]);
export type StoreState = z.infer<typeof StoreState>;
