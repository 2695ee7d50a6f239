import { z } from 'zod';
import { Acvpu, IsoTimestamp, NUMERIC_READING_TYPES } from '../../domain/index.ts';
import { schemaRefusal, type Observation, type ShapeResult } from './observation.ts';

/** The canonical reading as a device may send it (docs/payloads.md, shape 1). */
const common = {
  deviceId: z.string().min(1).optional(),
  patientId: z.string().min(1).optional(),
  ts: IsoTimestamp,
  position: z.enum(['sitting', 'standing', 'lying']).optional(),
};
export const CanonicalPayloadItem = z.discriminatedUnion('type', [
  z.object({ ...common, type: z.enum(NUMERIC_READING_TYPES), value: z.number().finite(), unit: z.string().min(1) }),
  z.object({ ...common, type: z.literal('consciousness'), value: Acvpu, unit: z.literal('{ACVPU}').optional() }),
  z.object({
    ...common,
    type: z.enum(['supplemental_oxygen', 'irregular_rhythm']),
    value: z.boolean(),
    unit: z.literal('{boolean}').optional(),
  }),
]);

const isRecord = (v: unknown): v is object => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Own properties only: a payload's keys are input, and `'type' in x` would also see the prototype's. */
export function looksCanonical(json: unknown): boolean {
  if (Array.isArray(json)) return json.length > 0 && json.every((i) => isRecord(i) && Object.hasOwn(i, 'type'));
  return isRecord(json) && Object.hasOwn(json, 'type') && Object.hasOwn(json, 'value');
}

export function decodeCanonical(json: unknown): ShapeResult {
  const batch = Array.isArray(json);
  const items: unknown[] = batch ? json : [json];
  const result: ShapeResult = { observations: [], refusals: [] };
  items.forEach((raw, index) => {
    const item = batch ? index : undefined;
    const parsed = CanonicalPayloadItem.safeParse(raw);
    if (!parsed.success) {
      result.refusals.push(schemaRefusal(parsed.error, batch ? `[${index}]` : '', item));
      return;
    }
    const r = parsed.data;
    const observation: Observation = {
      field: batch ? `[${index}].value` : 'value',
      type: r.type,
      value: r.value,
      time: r.ts,
      ...(item !== undefined ? { item } : {}),
      ...(r.type !== 'consciousness' && r.type !== 'supplemental_oxygen' && r.type !== 'irregular_rhythm' ? { unit: r.unit } : {}),
      ...(r.deviceId ? { deviceId: r.deviceId } : {}),
      ...(r.patientId ? { patientId: r.patientId } : {}),
      ...(r.position ? { position: r.position } : {}),
    };
    result.observations.push(observation);
  });
  return result;
}
