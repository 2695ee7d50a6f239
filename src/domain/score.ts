import { z } from 'zod';
import { IsoTimestamp } from './reading.ts';

export const News2Band = z.enum(['low', 'low-medium', 'medium', 'high']);
export type News2Band = z.infer<typeof News2Band>;

export const News2Parameter = z.enum([
  'respiratory_rate',
  'spo2',
  'supplemental_oxygen',
  'systolic_bp',
  'heart_rate',
  'consciousness',
  'temperature',
]);
export type News2Parameter = z.infer<typeof News2Parameter>;

/** The reading a sub-score was computed from, so every score can be traced to its evidence. */
export const ScoredInput = z.object({
  readingId: z.string(),
  value: z.union([z.number(), z.string(), z.boolean()]),
  ts: IsoTimestamp,
  subscore: z.number().int().min(0).max(3),
});
export type ScoredInput = z.infer<typeof ScoredInput>;

export const ScoreEvent = z.object({
  scoreId: z.string(),
  patientId: z.string(),
  wardId: z.string(),
  ruleId: z.string(),
  ruleVersion: z.string(),
  /** Event time of the newest reading that contributed. */
  ts: IsoTimestamp,
  total: z.number().int().min(0).max(20),
  band: News2Band,
  spo2Scale: z.union([z.literal(1), z.literal(2)]),
  /**
   * A partial score lacks fresh readings for some parameters. Sub-scores are never negative, so its
   * total is a lower bound on the full score: it can raise an alert but never rule one out.
   */
  partial: z.boolean(),
  missing: z.array(News2Parameter),
  inputs: z.partialRecord(News2Parameter, ScoredInput),
  /** Receipt time of the reading that triggered this score, carried for latency measurement. */
  receivedAt: IsoTimestamp,
});
export type ScoreEvent = z.infer<typeof ScoreEvent>;
