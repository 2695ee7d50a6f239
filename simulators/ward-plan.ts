import type { DeviceKind, Pathway, RegistryData } from '../src/domain/index.ts';
import { RegistryData as RegistrySchema } from '../src/domain/index.ts';
import type { SimDevice } from './habits.ts';
import { type Persona } from './personas.ts';
import { mulberry32, rngFor } from './rng.ts';
import type { Scenario, WardSpec } from './scenario.ts';

/**
 * Who is on a simulated ward and what kit each has: a generated ward (scenario `ward`) becomes
 * registry data vw can load (`npx tsx simulators/cli.ts --write-seeds`), and every enrolled device
 * becomes a simulated device with its patient's persona.
 */
const HOUR = 3600;
const DAY = 86_400;

/** The pathway a persona is cared for under, and the kit that pathway lends every patient. */
export const PATHWAY_KIT: Record<Persona, { pathway: Pathway; kit: DeviceKind[]; spo2Scale?: 2 }> = {
  stable: { pathway: 'ari', kit: ['pulse_oximeter', 'thermometer', 'companion_app'] },
  deteriorating: { pathway: 'ari', kit: ['pulse_oximeter', 'thermometer', 'companion_app', 'bp_cuff'] },
  copd_stable: { pathway: 'copd', kit: ['pulse_oximeter', 'thermometer', 'companion_app'], spo2Scale: 2 },
  heart_failure_stable: { pathway: 'heart-failure', kit: ['scale', 'bp_cuff', 'pulse_oximeter'] },
  heart_failure_decompensating: { pathway: 'heart-failure', kit: ['scale', 'bp_cuff', 'pulse_oximeter'] },
  hypertensive: { pathway: 'hypertension', kit: ['bp_cuff'] },
  paroxysmal_af: { pathway: 'general', kit: ['smartwatch', 'bp_cuff'] },
  post_op_fever: { pathway: 'post-op', kit: ['thermometer', 'pulse_oximeter', 'companion_app', 'bp_cuff'] },
  non_adherent: { pathway: 'ari', kit: ['pulse_oximeter', 'thermometer', 'companion_app'] },
};

const PREFIX: Record<DeviceKind, string> = { smartwatch: 'watch', pulse_oximeter: 'oxi', bp_cuff: 'bp', thermometer: 'temp', scale: 'scale', ecg_patch: 'ecg', companion_app: 'app' };
const UNIT_VARIANT: Partial<Record<DeviceKind, 'F' | 'lb' | 'kPa'>> = { thermometer: 'F', scale: 'lb', bp_cuff: 'kPa' };

/**
 * When each persona's change comes in a generated ward, in simulated seconds from the start:
 * sepsis over 12 hours some time in the first half; heart-failure weight gain of about 0.7 kg a day;
 * post-operative fever on day 3; AF episodes of two hours; 13 severe BP hours; a day with no readings.
 */
function timingFor(persona: Persona, rng: () => number, durationSeconds: number): { onsetSeconds: number; rampSeconds: number } {
  const within = (share: number) => Math.floor(rng() * durationSeconds * share);
  switch (persona) {
    case 'deteriorating':
      return { onsetSeconds: within(0.5), rampSeconds: 12 * HOUR };
    case 'heart_failure_decompensating':
      // The persona gains 4 kg over its ramp.
      return { onsetSeconds: within(0.25), rampSeconds: Math.round((4 / 0.7) * DAY) };
    case 'post_op_fever':
      return { onsetSeconds: 2 * DAY, rampSeconds: 6 * HOUR };
    case 'paroxysmal_af':
      return { onsetSeconds: within(0.5), rampSeconds: 2 * HOUR };
    case 'hypertensive':
      // Severe for 13 hours: over at least one home-BP session, so both readings of a pair are severe.
      return { onsetSeconds: within(0.5), rampSeconds: 13 * HOUR };
    case 'non_adherent':
      return { onsetSeconds: within(0.5), rampSeconds: DAY };
    default:
      return { onsetSeconds: 0, rampSeconds: 180 };
  }
}

/** Persona counts in proportion to the weights, rounded by largest remainder so they sum to the ward size. */
function personaCounts(spec: WardSpec): Array<[Persona, number]> {
  const weights = Object.entries(spec.personas).filter(([, w]) => (w ?? 0) > 0) as Array<[Persona, number]>;
  const total = weights.reduce((s, [, w]) => s + w, 0);
  const exact = weights.map(([p, w]) => [p, (w / total) * spec.size] as const);
  const counts = exact.map(([p, x]) => [p, Math.floor(x)] as [Persona, number]);
  let left = spec.size - counts.reduce((s, [, n]) => s + n, 0);
  const byRemainder = exact.map(([, x], i) => [i, x - Math.floor(x)] as const).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  for (const [i] of byRemainder) {
    if (left === 0) break;
    counts[i]![1]++;
    left--;
  }
  return counts;
}

/** Enrolments of a generated ward start here, so any simulated time falls inside them. */
export const GENERATED_ENROLMENT_FROM = '2000-01-01T00:00:00Z';

export interface GeneratedWard {
  registry: RegistryData;
  patients: Array<{ patientId: string; persona: Persona; onsetSeconds: number; rampSeconds: number }>;
  devices: Scenario['devices'];
}

/** The registry and patients of a scenario's generated ward. Same seed, same ward. */
export function generateWard(scenario: Scenario, enrolFrom = GENERATED_ENROLMENT_FROM): GeneratedWard {
  const spec = scenario.ward;
  if (!spec) return { registry: { wards: [], patients: [], devices: [], enrolments: [] }, patients: [], devices: {} };
  const rng = mulberry32(rngFor(scenario.seed, `ward:${spec.wardId}`, 0)() * 2 ** 32);
  // Shuffled so personas are spread through the ward, not in blocks of patient numbers.
  const personas = personaCounts(spec).flatMap(([p, n]) => Array.from({ length: n }, () => p));
  for (let i = personas.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [personas[i], personas[j]] = [personas[j]!, personas[i]!];
  }
  const width = Math.max(4, String(spec.size).length);
  const registry: RegistryData = { wards: [{ wardId: spec.wardId, name: spec.name, organisation: spec.organisation, capacity: spec.size }], patients: [], devices: [], enrolments: [] };
  const patients: GeneratedWard['patients'] = [];
  const devices: Scenario['devices'] = {};
  const duration = scenario.durationSeconds ?? DAY;
  personas.forEach((persona, i) => {
    const n = String(i + 1).padStart(width, '0');
    const patientId = `${spec.wardId}-p${n}`;
    const { pathway, kit, spo2Scale } = PATHWAY_KIT[persona];
    registry.patients.push({ patientId, displayName: `Simulated ${persona.replace(/_/g, ' ')} ${n}`, spo2Scale: spo2Scale ?? 1 });
    patients.push({ patientId, persona, ...timingFor(persona, rng, duration) });
    const kinds = new Set<DeviceKind>(kit);
    for (const [kind, share] of Object.entries(spec.devices) as Array<[DeviceKind, number]>) if (rng() < share) kinds.add(kind);
    for (const kind of kinds) {
      const deviceId = `${spec.wardId}-${PREFIX[kind]}${n}`;
      registry.devices.push({ deviceId, kind, medicalGrade: kind !== 'smartwatch' && kind !== 'companion_app' });
      registry.enrolments.push({ deviceId, patientId, wardId: spec.wardId, pathway, from: enrolFrom });
      const unit = UNIT_VARIANT[kind];
      const options = {
        ...(unit && rng() < spec.unitVariants ? { unit } : {}),
        ...(kind === 'pulse_oximeter' && rng() < spec.continuousOximetry ? { mode: 'continuous' as const } : {}),
      };
      if (Object.keys(options).length) devices[deviceId] = options;
    }
  });
  return { registry: RegistrySchema.parse(registry), patients, devices };
}

/**
 * A registry with a generated ward added to it (the base's own wards and devices kept). A base that
 * already holds the ward (the seeds `--write-seeds` wrote) is returned as it is.
 */
export function withGeneratedWard(base: RegistryData | undefined, ward: GeneratedWard): RegistryData {
  const b = base ?? { wards: [], patients: [], devices: [], enrolments: [] };
  if (ward.registry.wards.every((w) => b.wards.some((held) => held.wardId === w.wardId))) return b;
  return { wards: [...b.wards, ...ward.registry.wards], patients: [...b.patients, ...ward.registry.patients], devices: [...b.devices, ...ward.registry.devices], enrolments: [...b.enrolments, ...ward.registry.enrolments] };
}

/**
 * The ward's devices for a scenario at `atMs`: every device enrolled then to a listed or generated
 * patient, with the patient's persona, pathway and the device's options and faults.
 */
export function planDevices(registry: RegistryData, scenario: Scenario, atMs: number, generated?: GeneratedWard): SimDevice[] {
  const kinds = new Map(registry.devices.map((d) => [d.deviceId, d.kind]));
  const options = { ...(generated?.devices ?? {}), ...scenario.devices };
  const lowBattery = scenario.faults.lowBattery;
  return [...scenario.patients, ...(generated?.patients ?? [])].flatMap((p) =>
    registry.enrolments
      .filter((e) => e.patientId === p.patientId && Date.parse(e.from) <= atMs && (!e.until || atMs < Date.parse(e.until)))
      .map((e) => {
        const kind = kinds.get(e.deviceId);
        if (!kind) throw new Error(`scenario ${scenario.name}: device ${e.deviceId} is enrolled but not in the registry`);
        const forgets = kind === 'smartwatch' && lowBattery !== undefined && rngFor(scenario.seed, `${e.deviceId}:forgets`, 0)() < lowBattery.share;
        return {
          deviceId: e.deviceId,
          kind,
          patientId: p.patientId,
          pathway: e.pathway,
          persona: p.persona,
          timing: { onsetSeconds: p.onsetSeconds, rampSeconds: p.rampSeconds },
          options: options[e.deviceId] ?? {},
          ...(forgets ? { forgetsCharging: true } : {}),
        };
      }),
  );
}

