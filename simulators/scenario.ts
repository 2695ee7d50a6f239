import { z } from 'zod';
import { loadYamlAs, parseYamlAs } from '../src/config/yaml-file.ts';
import { Duration } from '../src/time/duration.ts';
import { DeviceKind, Id } from '../src/domain/index.ts';
import { PERSONAS } from './personas.ts';

const LocalTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a UK local time of day, HH:MM');
const Share = z.number().min(0).max(1);
const UnitVariant = z.enum(['C', 'F', 'kg', 'lb', 'kPa']);

/** When patients take their readings at home, UK local time; each session moves by up to `jitter`, per day. */
export const Schedule = z
  .object({
    /** Observation sets: SpO2 and pulse, BP, temperature, then RR, ACVPU and oxygen in the app. */
    observations: z.array(LocalTime).min(1).default(['08:00', '12:00', '16:00', '20:00']),
    /** Hypertension pathway: seated BP pairs, a minute apart (NICE NG136 home protocol). */
    homeBp: z.array(LocalTime).min(1).default(['07:30', '19:30']),
    /** Heart failure: weight each morning. */
    weight: LocalTime.default('07:00'),
    jitter: Duration.default(1_200_000),
    /** Chance that anyone misses a session; non-adherent personas miss far more. */
    missed: Share.default(0.03),
  })
  .strict();
export type Schedule = z.infer<typeof Schedule>;

/**
 * A generated ward: `size` patients drawn from a persona mix, each given the devices their pathway
 * needs plus a share of each family from the device mix.
 */
export const WardSpec = z
  .object({
    wardId: Id.default('sim-ward'),
    name: z.string().min(1).default('Simulated virtual ward'),
    organisation: z.string().min(1).default('RXX'),
    size: z.number().int().min(1).max(100_000),
    /** Relative weights; the ward holds each persona in proportion, rounded by largest remainder (a tiny weight may round to none). */
    personas: z.partialRecord(z.enum(PERSONAS), z.number().nonnegative()).refine((m) => Object.values(m).some((w) => (w ?? 0) > 0), 'at least one persona weighted above 0'),
    /** Share of patients given each family on top of their pathway's kit (simulators/ward-plan.ts). */
    devices: z.partialRecord(DeviceKind, Share).default({}),
    /** Share of pulse oximeters worn continuously (1 Hz) rather than used for spot checks. */
    continuousOximetry: Share.default(0),
    /** Share of thermometers, scales and cuffs set to °F, lb or kPa. */
    unitVariants: Share.default(0),
  })
  .strict();
export type WardSpec = z.infer<typeof WardSpec>;

/**
 * Device faults, as the stream delivers them (simulators/ward-stream.ts). Shares are of payloads, or of
 * devices where the fault is a device's own (skew, offline spells, forgetting to charge).
 */
const Periodic = z.object({ everySeconds: z.number().positive(), deviceId: z.string().optional() }).strict();
export const FaultCatalogue = z
  .object({
    /** The same payload delivered twice, as after a lost PUBACK. */
    duplicates: Share.default(0),
    /** Payloads held back by up to `maxDelaySeconds`, so later ones overtake them. */
    outOfOrder: z.object({ share: Share, maxDelaySeconds: z.number().positive().default(30) }).strict().optional(),
    /** Devices that go offline daily for a spell, buffer what they measure, and send it all on reconnect. */
    offline: z.object({ share: Share, durationMinutes: z.number().positive().default(60) }).strict().optional(),
    /** Devices whose clock is off by a fixed amount within [minSeconds, maxSeconds]. */
    clockSkew: z.object({ share: Share, minSeconds: z.number().default(-900), maxSeconds: z.number().default(900) }).strict().optional(),
    /** Smartwatches whose owners forget to charge them on some days, so they go flat and fall silent. */
    lowBattery: z.object({ share: Share, forgetChance: Share.default(0.5) }).strict().optional(),
    malformed: Periodic.optional(),
    oversized: Periodic.optional(),
    implausible: Periodic.optional(),
  })
  .strict();
export type FaultCatalogue = z.infer<typeof FaultCatalogue>;

/** A simulated ward run, as a file in simulators/scenarios/. Same seed, same stream. */
export const Scenario = z
  .object({
    name: z.string(),
    seed: z.number().int(),
    /** Time acceleration: simulated seconds per real second (three days in five minutes is 864). */
    speed: z.number().positive().default(1),
    /**
     * Simulated length of the run. Required when speed > 1: the simulated clock then starts this far
     * in the past so that no event time lies in the future.
     */
    durationSeconds: z.number().positive().optional(),
    /** A generated ward, besides or instead of the listed patients (who must be in the registry). */
    ward: WardSpec.optional(),
    patients: z
      .array(
        z.object({
          patientId: z.string(),
          persona: z.enum(PERSONAS),
          onsetSeconds: z.number().nonnegative().default(0),
          rampSeconds: z.number().positive().default(180),
        }),
      )
      .default([]),
    /**
     * Seconds between a family's reports, overriding its real habit (simulators/habits.ts): for demos,
     * where four observation sets a day would show nothing in a minute.
     */
    cadence: z.partialRecord(DeviceKind, z.number().positive()).optional(),
    schedule: Schedule.prefault({}),
    devices: z.record(z.string(), z.object({ unit: UnitVariant.optional(), mode: z.enum(['spot', 'continuous']).optional() }).strict()).default({}),
    faults: FaultCatalogue.prefault({}),
  })
  .strict()
  .refine((s) => s.speed === 1 || s.durationSeconds !== undefined, { message: 'durationSeconds is required when speed is not 1', path: ['durationSeconds'] })
  .refine((s) => s.patients.length > 0 || s.ward !== undefined, { message: 'list patients, or generate a ward', path: ['patients'] });
export type Scenario = z.infer<typeof Scenario>;

export function parseScenario(source: string, text: string): Scenario {
  return parseYamlAs(Scenario, source, text);
}

export async function loadScenario(path: string): Promise<Scenario> {
  return loadYamlAs(Scenario, path);
}

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
