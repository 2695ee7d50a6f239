import { z } from 'zod';
import { loadYamlAs, parseYamlAs } from '../src/config/yaml-file.ts';
import { Duration } from '../src/rules/engine/duration.ts';
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
  devices: z.record(z.string(), z.object({ unit: z.enum(['C', 'F', 'kg', 'lb', 'kPa']).optional() })).default({}),
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
  return parseYamlAs(Scenario, source, text);
}

export async function loadScenario(path: string): Promise<Scenario> {
  return loadYamlAs(Scenario, path);
}

const LocalTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a UK local time of day, HH:MM');

/**
 * A multi-day ward trace (simulators/trace.ts): home-monitoring cadences over days, written offline
 * at simulated time. Same seed, same trace.
 */
export const TraceScenario = z
  .object({
    name: z.string(),
    seed: z.number().int(),
    /** The UK calendar date the trace starts, at midnight UK time. */
    startDate: z.iso.date(),
    days: z.number().int().min(1).max(92),
    /** UK local times of day; each session's time moves by up to `jitter` either way, per day. */
    schedule: z
      .object({
        /** Observation sets: SpO2 and pulse, BP, temperature, then RR, ACVPU and oxygen in the app. */
        observations: z.array(LocalTime).min(1).default(['08:00', '12:00', '16:00', '20:00']),
        /** Hypertension pathway: seated BP pairs, a minute apart (NICE NG136 home protocol). */
        homeBp: z.array(LocalTime).min(1).default(['07:30', '19:30']),
        /** Heart failure: weight each morning. */
        weight: LocalTime.default('07:00'),
        /** Watches and ECG patches: one heart rate this often, worn day and night. */
        watchEvery: Duration.refine((ms) => ms >= 60_000, 'at least 1m').default(600_000),
        jitter: Duration.default(1_200_000),
        /** Chance that anyone misses a session; non-adherent personas miss far more. */
        missed: z.number().min(0).max(1).default(0.03),
      })
      .prefault({}),
    patients: z
      .array(
        z.object({
          patientId: z.string(),
          persona: z.enum(PERSONAS),
          /** From the trace start: when the persona's change begins (simulators/personas.ts, PersonaTiming). */
          onset: Duration.default(0),
          ramp: Duration.default(180_000),
        }),
      )
      .min(1),
    devices: z.record(z.string(), z.object({ unit: z.enum(['C', 'F', 'kg', 'lb', 'kPa']).optional() })).default({}),
  })
  .strict();
export type TraceScenario = z.infer<typeof TraceScenario>;

export async function loadTraceScenario(path: string): Promise<TraceScenario> {
  return loadYamlAs(TraceScenario, path);
}
