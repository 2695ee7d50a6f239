import { z } from 'zod';
import { IsoTimestamp } from '../../domain/index.ts';
import { schemaRefusal, type ShapeResult } from './observation.ts';

/**
 * A consumer smartwatch's batch (docs/payloads.md, shape 2): heart-rate samples gathered over a
 * minute, SpO2 spot checks and an irregular-rhythm notification, each with its own time. Samples are
 * judged one by one, so one bad sample does not cost the others.
 */
const Envelope = z
  .object({
    deviceId: z.string().min(1).optional(),
    sentAt: IsoTimestamp.optional(),
    batteryPercent: z.number().min(0).max(100).optional(),
    heartRate: z.array(z.unknown()).optional(),
    spo2: z.array(z.unknown()).optional(),
    irregularRhythm: z.unknown().optional(),
  })
  .refine((e) => e.heartRate !== undefined || e.spo2 !== undefined || e.irregularRhythm !== undefined, {
    message: 'a watch batch needs heartRate, spo2 or irregularRhythm',
  });

const HeartRateSample = z.object({ time: IsoTimestamp, bpm: z.number().finite() });
const Spo2Sample = z.object({ time: IsoTimestamp, percent: z.number().finite() });
const IrregularRhythm = z.object({ time: IsoTimestamp, detected: z.boolean() });

/** Own properties only: a payload's keys are input, and `'type' in x` would also see the prototype's. */
export function looksLikeSmartwatch(json: unknown): boolean {
  if (typeof json !== 'object' || json === null || Array.isArray(json) || Object.hasOwn(json, 'type') || Object.hasOwn(json, 'measurement')) return false;
  const own = (key: string): unknown => (Object.hasOwn(json, key) ? (json as Record<string, unknown>)[key] : undefined);
  return Array.isArray(own('heartRate')) || Object.hasOwn(json, 'irregularRhythm') || Array.isArray(own('spo2'));
}

export function decodeSmartwatch(json: unknown): ShapeResult {
  const result: ShapeResult = { observations: [], refusals: [] };
  const envelope = Envelope.safeParse(json);
  if (!envelope.success) {
    result.refusals.push(schemaRefusal(envelope.error));
    return result;
  }
  const { deviceId } = envelope.data;
  const device = deviceId ? { deviceId } : {};
  let item = 0;
  (envelope.data.heartRate ?? []).forEach((raw, i) => {
    const index = item++;
    const sample = HeartRateSample.safeParse(raw);
    if (!sample.success) return void result.refusals.push(schemaRefusal(sample.error, `heartRate[${i}]`, index));
    result.observations.push({ item: index, field: `heartRate[${i}].bpm`, type: 'heart_rate', value: sample.data.bpm, unit: '/min', time: sample.data.time, ...device });
  });
  (envelope.data.spo2 ?? []).forEach((raw, i) => {
    const index = item++;
    const sample = Spo2Sample.safeParse(raw);
    if (!sample.success) return void result.refusals.push(schemaRefusal(sample.error, `spo2[${i}]`, index));
    result.observations.push({ item: index, field: `spo2[${i}].percent`, type: 'spo2', value: sample.data.percent, unit: '%', time: sample.data.time, ...device });
  });
  if (envelope.data.irregularRhythm !== undefined) {
    const index = item++;
    const notification = IrregularRhythm.safeParse(envelope.data.irregularRhythm);
    if (!notification.success) result.refusals.push(schemaRefusal(notification.error, 'irregularRhythm', index));
    else {
      result.observations.push({
        item: index,
        field: 'irregularRhythm.detected',
        type: 'irregular_rhythm',
        value: notification.data.detected,
        time: notification.data.time,
        ...device,
      });
    }
  }
  return result;
}
