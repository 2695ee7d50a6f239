import type { z } from 'zod';
import type { ReadingType, RejectionReason } from '../../domain/index.ts';

/**
 * What a payload decoder extracts: one observation in the device's own units, before the device,
 * unit, plausibility and time checks that every shape shares (decode.ts).
 */
export interface Observation {
  /** Index of the item in a batch payload; undefined for a single-item payload. */
  item?: number;
  /** Where in the payload it came from, for refusal details, e.g. heartRate[2].bpm */
  field: string;
  type: ReadingType;
  value: number | string | boolean;
  /** The unit as sent; undefined for coded and boolean types. */
  unit?: string;
  time: string;
  /** The device the payload (or item) says it is from, if it says. */
  deviceId?: string;
  patientId?: string;
  flags?: Array<'irregular_pulse_during_measurement'>;
  position?: 'sitting' | 'standing' | 'lying';
}

export interface Refusal {
  reason: RejectionReason;
  detail: string;
  item?: number;
}

export interface ShapeResult {
  observations: Observation[];
  refusals: Refusal[];
}

/** A zod failure as a refusal that names the field but never echoes the value. */
export function schemaRefusal(error: z.ZodError, prefix = '', item?: number): Refusal {
  const issue = error.issues[0]!;
  // A prefix may end in a dot already (`entry[2].resource.`): one dot between it and a field name.
  const path = [prefix, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))].join('').replace(/\.{2,}/g, '.').replace(/^\./, '');
  return { reason: 'schema_violation', detail: `${path || '(payload)'}: ${issue.message}`, ...(item !== undefined ? { item } : {}) };
}
