import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { formatZodError } from '../src/config/errors.ts';
import { PERSONAS } from './personas.ts';

/** A simulated ward run, as a file in simulators/scenarios/. Same seed, same stream. */
export const Scenario = z.object({
  name: z.string(),
  seed: z.number().int(),
  /** Time acceleration: simulated seconds per real second. */
  speed: z.number().positive().default(1),
  /** Simulated seconds between ticks; each device reports every CADENCE[kind] ticks. */
  intervalSeconds: z.number().positive().default(5),
  /**
   * Simulated length of the run. Required when speed > 1: the simulated clock then starts this far
   * in the past so that no event time lies in the future.
   */
  durationSeconds: z.number().positive().optional(),
  patients: z
    .array(
      z.object({
        patientId: z.string(),
        persona: z.enum(PERSONAS),
        onsetSeconds: z.number().nonnegative().default(0),
        rampSeconds: z.number().positive().default(180),
      }),
    )
    .min(1),
  devices: z.record(z.string(), z.object({ unit: z.enum(['C', 'F', 'kg', 'lb']).optional() })).default({}),
  faults: z
    .object({
      deviceId: z.string(),
      malformedEverySeconds: z.number().positive().optional(),
      implausibleEverySeconds: z.number().positive().optional(),
    })
    .optional(),
}).refine((s) => s.speed === 1 || s.durationSeconds !== undefined, { message: 'durationSeconds is required when speed is not 1', path: ['durationSeconds'] });
export type Scenario = z.infer<typeof Scenario>;

export function parseScenario(source: string, text: string): Scenario {
  const parsed = Scenario.safeParse(parse(text));
  if (!parsed.success) throw new Error(`${source}: ${formatZodError(parsed.error)}`);
  return parsed.data;
}

export async function loadScenario(path: string): Promise<Scenario> {
  return parseScenario(path, await readFile(path, 'utf8'));
}
