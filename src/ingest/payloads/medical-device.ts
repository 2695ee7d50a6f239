import { z } from 'zod';
import { IsoTimestamp } from '../../domain/index.ts';
import { schemaRefusal, type Observation, type ShapeResult } from './observation.ts';

/**
 * A medical-grade device's measurement as a gateway forwards it, flattened from IEEE 11073
 * (docs/payloads.md, shape 3). `measurement` selects the kind.
 */
const common = { deviceId: z.string().min(1).optional(), time: IsoTimestamp };
export const MedicalDevicePayload = z.discriminatedUnion('measurement', [
  z.object({
    ...common,
    measurement: z.literal('blood_pressure'),
    systolic: z.number().finite(),
    diastolic: z.number().finite(),
    unit: z.enum(['mmHg', 'kPa']).default('mmHg'),
    pulse: z.number().finite().optional(),
    irregularHeartbeat: z.boolean().optional(),
    /** Seated is the NICE home protocol; a standing reading after a seated one shows a postural drop. */
    position: z.enum(['sitting', 'standing', 'lying']).optional(),
  }),
  z.object({ ...common, measurement: z.literal('pulse_oximetry'), spo2: z.number().finite(), pulseRate: z.number().finite().optional() }),
  z.object({ ...common, measurement: z.literal('body_temperature'), temperature: z.number().finite(), unit: z.enum(['C', 'F']).default('C') }),
  z.object({ ...common, measurement: z.literal('body_weight'), weight: z.number().finite(), unit: z.enum(['kg', 'lb']).default('kg') }),
  z.object({
    ...common,
    measurement: z.literal('ecg_summary'),
    heartRate: z.number().finite().optional(),
    respiratoryRate: z.number().finite().optional(),
    irregularRhythm: z.boolean().optional(),
  }),
]);

export function looksLikeMedicalDevice(json: unknown): boolean {
  return typeof json === 'object' && json !== null && !Array.isArray(json) && Object.hasOwn(json, 'measurement');
}

export function decodeMedicalDevice(json: unknown): ShapeResult {
  const parsed = MedicalDevicePayload.safeParse(json);
  if (!parsed.success) return { observations: [], refusals: [schemaRefusal(parsed.error)] };
  const m = parsed.data;
  const base = { time: m.time, ...(m.deviceId ? { deviceId: m.deviceId } : {}) };
  const out: Observation[] = [];
  switch (m.measurement) {
    case 'blood_pressure': {
      if (m.diastolic >= m.systolic) {
        return { observations: [], refusals: [{ reason: 'implausible_value', detail: 'diastolic: not below systolic' }] };
      }
      // Cuffs misread an irregular pulse (e.g. AF): keep the values, flag them, and report the rhythm.
      const flags = { ...(m.irregularHeartbeat ? { flags: ['irregular_pulse_during_measurement' as const] } : {}), ...(m.position ? { position: m.position } : {}) };
      out.push({ ...base, ...flags, field: 'systolic', type: 'systolic_bp', value: m.systolic, unit: m.unit });
      out.push({ ...base, ...flags, field: 'diastolic', type: 'diastolic_bp', value: m.diastolic, unit: m.unit });
      if (m.pulse !== undefined) out.push({ ...base, ...flags, field: 'pulse', type: 'heart_rate', value: m.pulse, unit: '/min' });
      if (m.irregularHeartbeat) out.push({ ...base, field: 'irregularHeartbeat', type: 'irregular_rhythm', value: true });
      break;
    }
    case 'pulse_oximetry':
      out.push({ ...base, field: 'spo2', type: 'spo2', value: m.spo2, unit: '%' });
      if (m.pulseRate !== undefined) out.push({ ...base, field: 'pulseRate', type: 'heart_rate', value: m.pulseRate, unit: '/min' });
      break;
    case 'body_temperature':
      out.push({ ...base, field: 'temperature', type: 'temperature', value: m.temperature, unit: m.unit });
      break;
    case 'body_weight':
      out.push({ ...base, field: 'weight', type: 'weight', value: m.weight, unit: m.unit });
      break;
    case 'ecg_summary':
      if (m.heartRate !== undefined) out.push({ ...base, field: 'heartRate', type: 'heart_rate', value: m.heartRate, unit: '/min' });
      if (m.respiratoryRate !== undefined) out.push({ ...base, field: 'respiratoryRate', type: 'respiratory_rate', value: m.respiratoryRate, unit: '/min' });
      if (m.irregularRhythm !== undefined) out.push({ ...base, field: 'irregularRhythm', type: 'irregular_rhythm', value: m.irregularRhythm });
      if (out.length === 0) return { observations: [], refusals: [{ reason: 'schema_violation', detail: 'ecg_summary: carries no heartRate, respiratoryRate or irregularRhythm' }] };
      break;
  }
  return { observations: out, refusals: [] };
}
