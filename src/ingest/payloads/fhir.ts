import { z } from 'zod';
import { IsoTimestamp, type NumericReadingType } from '../../domain/index.ts';
import { schemaRefusal, type Observation, type Refusal, type ShapeResult } from './observation.ts';

/**
 * FHIR R4 vital-sign Observations (docs/payloads.md, shape 4), alone or in a Bundle. Only the parts
 * vw needs are validated; everything else in the resource is allowed and ignored.
 */
const LOINC = 'http://loinc.org';
/** Keyed by the code the payload sends: a Map, so `constructor` or `__proto__` is just an unknown code. */
const LOINC_TYPES: ReadonlyMap<string, NumericReadingType> = new Map([
  ['9279-1', 'respiratory_rate'],
  ['8867-4', 'heart_rate'],
  ['2708-6', 'spo2'],
  ['59408-5', 'spo2'],
  ['8310-5', 'temperature'],
  ['29463-7', 'weight'],
  ['8480-6', 'systolic_bp'],
  ['8462-4', 'diastolic_bp'],
]);
const BP_PANEL = '85354-9';

const Coding = z.object({ system: z.string().optional(), code: z.string() });
const CodeableConcept = z.object({ coding: z.array(Coding).min(1) });
const Quantity = z.object({ value: z.number().finite(), unit: z.string().optional(), system: z.string().optional(), code: z.string().optional() });

const FhirObservation = z
  .object({
    resourceType: z.literal('Observation'),
    status: z.enum(['final', 'amended', 'corrected', 'preliminary']),
    code: CodeableConcept,
    valueQuantity: Quantity.optional(),
    component: z.array(z.object({ code: CodeableConcept, valueQuantity: Quantity.optional() })).optional(),
    effectiveDateTime: IsoTimestamp.optional(),
    effectiveInstant: IsoTimestamp.optional(),
    device: z.object({ reference: z.string().optional(), identifier: z.object({ value: z.string() }).optional() }).optional(),
  })
  .refine((o) => o.effectiveDateTime ?? o.effectiveInstant, { message: 'needs effectiveDateTime or effectiveInstant with a time and offset', path: ['effectiveDateTime'] });

const Bundle = z.object({
  resourceType: z.literal('Bundle'),
  entry: z.array(z.object({ resource: z.unknown() })).min(1),
});

export function looksLikeFhir(json: unknown): boolean {
  if (typeof json !== 'object' || json === null || Array.isArray(json) || !Object.hasOwn(json, 'resourceType')) return false;
  const type = (json as { resourceType?: unknown }).resourceType;
  return type === 'Observation' || type === 'Bundle';
}

function loincType(concept: z.infer<typeof CodeableConcept>): { code: string; type?: NumericReadingType } | undefined {
  const coding = concept.coding.find((c) => (c.system === undefined || c.system === LOINC) && (LOINC_TYPES.has(c.code) || c.code === BP_PANEL));
  if (!coding) return undefined;
  const type = LOINC_TYPES.get(coding.code);
  return { code: coding.code, ...(type ? { type } : {}) };
}

function unitOf(q: z.infer<typeof Quantity>): string | undefined {
  return q.code ?? q.unit;
}

function decodeObservation(raw: unknown, prefix: string, item: number | undefined): ShapeResult {
  const at = (refusal: Omit<Refusal, 'item'>): Refusal => ({ ...refusal, ...(item !== undefined ? { item } : {}) });
  const parsed = FhirObservation.safeParse(raw);
  if (!parsed.success) return { observations: [], refusals: [schemaRefusal(parsed.error, prefix, item)] };
  const o = parsed.data;
  const time = (o.effectiveInstant ?? o.effectiveDateTime)!;
  // The device the resource names, if it names one (even an empty one): checked against the topic's in decode.ts.
  const deviceId = o.device?.identifier?.value ?? o.device?.reference?.replace(/^Device\//, '');
  const base = { time, ...(deviceId !== undefined ? { deviceId } : {}), ...(item !== undefined ? { item } : {}) };
  const code = loincType(o.code);
  if (!code) return { observations: [], refusals: [at({ reason: 'schema_violation', detail: `${prefix}code: no supported LOINC vital-sign code` })] };

  const observations: Observation[] = [];
  if (code.code === BP_PANEL) {
    for (const [i, c] of (o.component ?? []).entries()) {
      const component = loincType(c.code);
      if (!component?.type || !c.valueQuantity) continue;
      observations.push({ ...base, field: `${prefix}component[${i}].valueQuantity`, type: component.type, value: c.valueQuantity.value, unit: unitOf(c.valueQuantity) ?? '' });
    }
    if (observations.length === 0) {
      return { observations: [], refusals: [at({ reason: 'schema_violation', detail: `${prefix}component: blood-pressure panel without systolic or diastolic values` })] };
    }
    return { observations, refusals: [] };
  }
  if (!o.valueQuantity) return { observations: [], refusals: [at({ reason: 'schema_violation', detail: `${prefix}valueQuantity: required` })] };
  observations.push({ ...base, field: `${prefix}valueQuantity`, type: code.type!, value: o.valueQuantity.value, unit: unitOf(o.valueQuantity) ?? '' });
  return { observations, refusals: [] };
}

export function decodeFhir(json: unknown): ShapeResult {
  if ((json as { resourceType?: unknown }).resourceType === 'Observation') return decodeObservation(json, '', undefined);
  const bundle = Bundle.safeParse(json);
  if (!bundle.success) return { observations: [], refusals: [schemaRefusal(bundle.error)] };
  const result: ShapeResult = { observations: [], refusals: [] };
  bundle.data.entry.forEach((entry, i) => {
    const one = decodeObservation(entry.resource, `entry[${i}].resource.`, i);
    result.observations.push(...one.observations);
    result.refusals.push(...one.refusals);
  });
  return result;
}
