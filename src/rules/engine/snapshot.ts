import { z } from 'zod';
import { SeriesType } from './pack-file.ts';

/**
 * One patient's rule state in a compact, JSON-safe form: what a rules process writes to its changelog
 * after each reading, and what a process taking the patient over restores. Points are tuples
 * [event time, reading id, value, flags?, position?] to keep the record small.
 */
const Value = z.union([z.number(), z.string(), z.boolean()]);
const PointTuple = z.union([
  z.tuple([z.number(), z.string(), Value]),
  z.tuple([z.number(), z.string(), Value, z.array(z.string()), z.enum(['sitting', 'standing', 'lying']).nullable()]),
]);

export const EngineSnapshot = z.object({
  firstSeen: z.number(),
  clock: z.number(),
  series: z.array(z.object({ type: SeriesType, first: z.number(), points: z.array(PointTuple) })),
  /** [node path, since, count, last event time, active] */
  nodes: z.array(z.tuple([z.string(), z.number().nullable(), z.number().int().nonnegative(), z.number().nullable(), z.boolean()])),
  rearm: z.array(z.string()),
});
export type EngineSnapshot = z.infer<typeof EngineSnapshot>;
