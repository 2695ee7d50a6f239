import { describe, expect, it } from 'vitest';
import { decodeDevicePayload, DEFAULT_DECODE_LIMITS } from '../../../src/ingest/decode.ts';
import { implausibility } from '../../../src/ingest/plausibility.ts';
import { acceptedUnits, toCanonicalUnit } from '../../../src/ingest/units.ts';
import { decode, NOW, reasons, registry, T } from './fixtures.ts';

/** Names every plain object inherits: as input they must find nothing, never a prototype's property. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'valueOf', 'toString', 'hasOwnProperty', 'isPrototypeOf', 'toLocaleString', '__defineGetter__', 'propertyIsEnumerable'];

describe('lookups keyed by input find own entries only', () => {
  it.each(PROTOTYPE_KEYS)('unit %s is an unsupported unit, for every numeric type and shape', (unit) => {
    expect(toCanonicalUnit('heart_rate', 70, unit)).toBeUndefined();
    expect(acceptedUnits('heart_rate')).not.toContain(unit);
    expect(reasons(decode('app-1', { type: 'heart_rate', value: 70, unit, ts: T }))).toEqual(['unsupported_unit']);
    expect(reasons(decode('app-1', [{ type: 'temperature', value: 37, unit, ts: T }, { type: 'weight', value: 80, unit, ts: T }]))).toEqual(['unsupported_unit', 'unsupported_unit']);
    const fhir = { resourceType: 'Observation', status: 'final', code: { coding: [{ code: '8867-4' }] }, valueQuantity: { value: 70, code: unit }, effectiveDateTime: T };
    expect(reasons(decode('app-1', fhir))).toEqual(['unsupported_unit']);
  });

  it.each(PROTOTYPE_KEYS)('LOINC code %s is not a vital-sign code', (code) => {
    const fhir = { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code }] }, valueQuantity: { value: 70, code: '/min' }, effectiveDateTime: T };
    expect(decode('app-1', fhir).rejections).toEqual([{ reason: 'schema_violation', detail: 'code: no supported LOINC vital-sign code' }]);
    const panel = { ...fhir, code: { coding: [{ code: '85354-9' }] }, component: [{ code: { coding: [{ code }] }, valueQuantity: { value: 120, code: 'mm[Hg]' } }] };
    expect(decode('app-1', panel).rejections).toEqual([{ reason: 'schema_violation', detail: 'component: blood-pressure panel without systolic or diastolic values' }]);
  });

  it.each(PROTOTYPE_KEYS)('type %s, and measurement %s, are schema violations', (key) => {
    expect(reasons(decode('app-1', { type: key, value: 70, unit: '/min', ts: T }))).toEqual(['schema_violation']);
    expect(reasons(decode('app-1', { measurement: key, time: T }))).toEqual(['schema_violation']);
  });

  it('a type the plausibility table does not know has no limits, never an inherited one', () => {
    expect(implausibility('constructor' as never, 70)).toMatch(/no limits/);
  });

  it('a payload whose keys are prototype names is judged by its own keys', () => {
    // Only own keys make a shape: inherited `valueOf`/`toString` never make a payload look like one.
    expect(reasons(decode('app-1', '{"__proto__": {"type": "spo2", "value": 97}}'))).toEqual(['unknown_payload_shape']);
    expect(reasons(decode('app-1', '{"constructor": 1, "valueOf": 2, "toString": 3}'))).toEqual(['unknown_payload_shape']);
    const withProto = decode('app-1', `{"__proto__": {"unit": "/min"}, "type": "heart_rate", "value": 70, "unit": "/min", "ts": "${T}"}`);
    expect(withProto.readings.map((r) => [r.type, r.value, r.unit])).toEqual([['heart_rate', 70, '/min']]);
    // An inherited-looking key in a watch batch is not a sample array.
    expect(reasons(decode('app-1', '{"__proto__": {"heartRate": [{"time": "x", "bpm": 1}]}}'))).toEqual(['unknown_payload_shape']);
    expect(({} as Record<string, unknown>).heartRate).toBeUndefined();
  });
});

describe('limits on what one payload can cost', () => {
  it('refuses a payload offering more items than the limit, whole, without judging each', () => {
    const items = Array.from({ length: 11 }, () => ({ type: 1 }));
    const limits = { ...DEFAULT_DECODE_LIMITS, maxItemsPerPayload: 10 };
    expect(decode('app-1', items, limits).rejections).toEqual([{ reason: 'payload_too_large', detail: '11 items exceeds 10 per payload' }]);
    expect(reasons(decode('app-1', { heartRate: items.slice(0, 6), spo2: items.slice(0, 5) }, limits))).toEqual(['payload_too_large']);
    expect(reasons(decode('app-1', items.slice(0, 10), limits))).toHaveLength(10);
  });

  it('deep nesting, huge numbers and non-finite values are refusals, not exceptions', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(reasons(decode('app-1', deep)).length).toBe(1);
    const nested = `{"type":"heart_rate","value":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)},"unit":"/min","ts":"${T}"}`;
    expect(reasons(decode('app-1', nested))).toEqual(['schema_violation']);
    expect(reasons(decode('app-1', `{"type":"heart_rate","value":1e400,"unit":"/min","ts":"${T}"}`))).toEqual(['schema_violation']);
    expect(reasons(decode('app-1', { measurement: 'blood_pressure', time: T, systolic: 1e308, diastolic: 80, unit: 'kPa' }))).toEqual(['implausible_value', 'implausible_value']);
    for (const value of ['NaN', 'Infinity', '-Infinity', '1e999']) {
      expect(reasons(decode('app-1', { type: 'heart_rate', value, unit: '/min', ts: T }))).toEqual(['schema_violation']);
    }
  });
});

describe('a failure inside the decoder', () => {
  it('is this message’s internal_error, never an exception, and names no input', () => {
    const faulty = { ...registry, device: () => { throw new TypeError('secret value 97'); } };
    const result = decodeDevicePayload({ topicDeviceId: 'app-1', payload: Buffer.from(JSON.stringify({ type: 'spo2', value: 97, unit: '%', ts: T })), receivedAt: NOW }, { registry: faulty });
    expect(result).toEqual({ readings: [], rejections: [{ reason: 'internal_error', detail: 'ingest failed on this message (TypeError)' }] });
  });
});
