import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reading } from '../../../src/domain/index.ts';
import { decodeDevicePayload, DEFAULT_DECODE_LIMITS } from '../../../src/ingest/decode.ts';
import { createRegistry } from '../../../src/registry/registry.ts';

const NOW = new Date('2026-11-22T10:00:00Z');
const T = '2026-11-22T09:59:00Z';
const registry = createRegistry({
  wards: [{ wardId: 'w1', name: 'Ward', organisation: 'RXX', capacity: 10 }],
  patients: [
    { patientId: 'p1', displayName: 'P One', spo2Scale: 1 },
    { patientId: 'p2', displayName: 'P Two', spo2Scale: 1 },
  ],
  devices: [
    { deviceId: 'watch-1', kind: 'smartwatch', medicalGrade: false },
    { deviceId: 'bp-1', kind: 'bp_cuff', medicalGrade: true },
    { deviceId: 'oxi-1', kind: 'pulse_oximeter', medicalGrade: true },
    { deviceId: 'app-1', kind: 'companion_app', medicalGrade: false },
    { deviceId: 'spare-1', kind: 'thermometer', medicalGrade: true },
    { deviceId: 'returned-1', kind: 'scale', medicalGrade: true },
  ],
  enrolments: [
    { deviceId: 'watch-1', patientId: 'p1', wardId: 'w1', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
    { deviceId: 'bp-1', patientId: 'p1', wardId: 'w1', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
    { deviceId: 'oxi-1', patientId: 'p1', wardId: 'w1', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
    { deviceId: 'app-1', patientId: 'p1', wardId: 'w1', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
    { deviceId: 'returned-1', patientId: 'p2', wardId: 'w1', pathway: 'heart-failure', from: '2026-01-01T00:00:00Z', until: '2026-11-01T00:00:00Z' },
  ],
});

function decode(deviceId: string, payload: unknown, limits = DEFAULT_DECODE_LIMITS) {
  const bytes = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return decodeDevicePayload({ topicDeviceId: deviceId, payload: Buffer.from(bytes), receivedAt: NOW }, { registry, limits });
}

function values(result: ReturnType<typeof decode>) {
  return result.readings.map((r) => [r.type, r.value, r.unit]);
}

describe('accepted shapes', () => {
  it('canonical: one reading, mapped to the enrolled patient and ward', () => {
    const result = decode('app-1', { deviceId: 'app-1', type: 'respiratory_rate', value: 18, unit: '/min', ts: T });
    expect(result.shape).toBe('canonical');
    expect(result.rejections).toEqual([]);
    expect(result.readings[0]).toMatchObject({ patientId: 'p1', wardId: 'w1', deviceId: 'app-1', type: 'respiratory_rate', value: 18, unit: '/min', ts: '2026-11-22T09:59:00.000Z', receivedAt: NOW.toISOString() });
  });

  it('canonical: an array with coded and boolean types, units optional for them', () => {
    const result = decode('app-1', [
      { type: 'consciousness', value: 'C', ts: T },
      { type: 'supplemental_oxygen', value: true, unit: '{boolean}', ts: T },
      { type: 'temperature', value: 100.4, unit: '[degF]', ts: T },
    ]);
    expect(values(result)).toEqual([
      ['consciousness', 'C', '{ACVPU}'],
      ['supplemental_oxygen', true, '{boolean}'],
      ['temperature', 38, 'Cel'],
    ]);
  });

  it('smartwatch batch: each sample its own reading at its own time, plus the rhythm notification', () => {
    const result = decode('watch-1', {
      deviceId: 'watch-1',
      sentAt: '2026-11-22T09:59:30Z',
      batteryPercent: 55,
      heartRate: [{ time: '2026-11-22T09:58:05Z', bpm: 71 }, { time: '2026-11-22T09:58:35Z', bpm: 74 }],
      spo2: [{ time: '2026-11-22T09:58:40Z', percent: 96 }],
      irregularRhythm: { time: '2026-11-22T09:58:50Z', detected: true },
    });
    expect(result.shape).toBe('smartwatch_batch');
    expect(values(result)).toEqual([
      ['heart_rate', 71, '/min'],
      ['heart_rate', 74, '/min'],
      ['spo2', 96, '%'],
      ['irregular_rhythm', true, '{boolean}'],
    ]);
    expect(result.readings.map((r) => r.ts)).toEqual(['2026-11-22T09:58:05.000Z', '2026-11-22T09:58:35.000Z', '2026-11-22T09:58:40.000Z', '2026-11-22T09:58:50.000Z']);
  });

  it('BP cuff: systolic, diastolic and pulse; kPa converted to mmHg', () => {
    const result = decode('bp-1', { measurement: 'blood_pressure', time: T, systolic: 18.9, diastolic: 11.7, unit: 'kPa', pulse: 80 });
    expect(result.shape).toBe('medical_device');
    expect(values(result)).toEqual([
      ['systolic_bp', 142, 'mm[Hg]'],
      ['diastolic_bp', 88, 'mm[Hg]'],
      ['heart_rate', 80, '/min'],
    ]);
  });

  it('BP cuff with an irregular heartbeat: values flagged unreliable and the rhythm reported', () => {
    const result = decode('bp-1', { measurement: 'blood_pressure', time: T, systolic: 150, diastolic: 95, pulse: 118, irregularHeartbeat: true });
    expect(result.readings.filter((r) => r.type !== 'irregular_rhythm').every((r) => r.flags?.includes('irregular_pulse_during_measurement'))).toBe(true);
    expect(result.readings.find((r) => r.type === 'irregular_rhythm')?.value).toBe(true);
  });

  it('pulse oximeter: SpO2 and pulse rate', () => {
    expect(values(decode('oxi-1', { measurement: 'pulse_oximetry', time: T, spo2: 94, pulseRate: 88 }))).toEqual([
      ['spo2', 94, '%'],
      ['heart_rate', 88, '/min'],
    ]);
  });

  it('thermometer in °F, scale in lb, ECG summary', () => {
    expect(values(decode('app-1', { measurement: 'body_temperature', time: T, temperature: 98.6, unit: 'F' }))).toEqual([['temperature', 37, 'Cel']]);
    expect(values(decode('app-1', { measurement: 'body_weight', time: T, weight: 180, unit: 'lb' }))).toEqual([['weight', 81.65, 'kg']]);
    expect(values(decode('app-1', { measurement: 'ecg_summary', time: T, heartRate: 88, respiratoryRate: 18, irregularRhythm: false }))).toEqual([
      ['heart_rate', 88, '/min'],
      ['respiratory_rate', 18, '/min'],
      ['irregular_rhythm', false, '{boolean}'],
    ]);
  });

  it('FHIR Observation with a LOINC code and UCUM quantity', () => {
    const result = decode('oxi-1', {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '59408-5', display: 'Oxygen saturation by pulse oximetry' }] },
      valueQuantity: { value: 95, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
      effectiveDateTime: T,
      device: { reference: 'Device/oxi-1' },
    });
    expect(result.shape).toBe('fhir_observation');
    expect(values(result)).toEqual([['spo2', 95, '%']]);
  });

  it('FHIR blood-pressure panel and a Bundle with a temperature in [degF]', () => {
    const bp = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
      component: [
        { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 128, code: 'mm[Hg]' } },
        { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 82, code: 'mm[Hg]' } },
      ],
      effectiveDateTime: T,
    };
    const temp = {
      resourceType: 'Observation',
      status: 'amended',
      code: { coding: [{ system: 'http://loinc.org', code: '8310-5' }] },
      valueQuantity: { value: 101.3, code: '[degF]' },
      effectiveInstant: T,
    };
    const result = decode('app-1', { resourceType: 'Bundle', type: 'collection', entry: [{ resource: bp }, { resource: temp }] });
    expect(values(result)).toEqual([
      ['systolic_bp', 128, 'mm[Hg]'],
      ['diastolic_bp', 82, 'mm[Hg]'],
      ['temperature', 38.5, 'Cel'],
    ]);
  });

  it('gives the same observation the same id however often it is sent, and every reading is canonical', () => {
    const a = decode('oxi-1', { measurement: 'pulse_oximetry', time: T, spo2: 94 });
    const b = decode('oxi-1', { measurement: 'pulse_oximetry', time: T, spo2: 94 });
    expect(a.readings[0]!.readingId).toBe(b.readings[0]!.readingId);
    expect(decode('oxi-1', { measurement: 'pulse_oximetry', time: '2026-11-22T09:59:01Z', spo2: 94 }).readings[0]!.readingId).not.toBe(a.readings[0]!.readingId);
    for (const r of [...a.readings, ...b.readings]) expect(Reading.safeParse(r).success).toBe(true);
  });
});

describe('refusals, each with its reason', () => {
  const reasons = (result: ReturnType<typeof decode>) => result.rejections.map((r) => r.reason);

  it('payload_too_large', () => {
    const result = decode('app-1', { type: 'spo2', value: 97, unit: '%', ts: T, pad: 'x'.repeat(300) }, { ...DEFAULT_DECODE_LIMITS, maxPayloadBytes: 100 });
    expect(reasons(result)).toEqual(['payload_too_large']);
  });
  it('malformed_json, including bytes that are not UTF-8', () => {
    expect(reasons(decode('app-1', '{"type": "spo2",'))).toEqual(['malformed_json']);
    const invalidUtf8 = decodeDevicePayload({ topicDeviceId: 'app-1', payload: Uint8Array.from([0x7b, 0xff, 0x7d]), receivedAt: NOW }, { registry });
    expect(invalidUtf8.rejections[0]).toMatchObject({ reason: 'malformed_json', detail: 'not valid UTF-8' });
  });
  it('unknown_payload_shape', () => {
    expect(reasons(decode('app-1', { hello: 'world' }))).toEqual(['unknown_payload_shape']);
    expect(reasons(decode('app-1', 42))).toEqual(['unknown_payload_shape']);
  });
  it('schema_violation: wrong types name the field', () => {
    const result = decode('app-1', { type: 'heart_rate', value: 'fast', unit: '/min', ts: T });
    expect(result.rejections[0]).toMatchObject({ reason: 'schema_violation', detail: expect.stringMatching(/^value: /) });
    expect(reasons(decode('bp-1', { measurement: 'blood_pressure', time: T, systolic: 120 }))).toEqual(['schema_violation']);
    expect(reasons(decode('bp-1', { measurement: 'tea', time: T }))).toEqual(['schema_violation']);
    expect(reasons(decode('app-1', { type: 'spo2', value: 97, unit: '%', ts: '22/11/2026 10:00' }))).toEqual(['schema_violation']);
  });
  it('unknown_device', () => {
    expect(decode('stranger-9', { type: 'spo2', value: 97, unit: '%', ts: T }).rejections[0]).toMatchObject({ reason: 'unknown_device' });
  });
  it('device_not_enrolled: a known device whose enrolment has ended or never began', () => {
    expect(reasons(decode('returned-1', { measurement: 'body_weight', time: T, weight: 80 }))).toEqual(['device_not_enrolled']);
    expect(reasons(decode('spare-1', { measurement: 'body_temperature', time: T, temperature: 37 }))).toEqual(['device_not_enrolled']);
  });
  it('device_mismatch: a payload naming another device than its topic', () => {
    expect(reasons(decode('oxi-1', { deviceId: 'bp-1', measurement: 'pulse_oximetry', time: T, spo2: 97 }))).toEqual(['device_mismatch']);
  });
  it('patient_mismatch', () => {
    expect(reasons(decode('app-1', { patientId: 'p2', type: 'spo2', value: 97, unit: '%', ts: T }))).toEqual(['patient_mismatch']);
  });
  it('unsupported_unit', () => {
    const result = decode('app-1', { type: 'temperature', value: 310, unit: 'K', ts: T });
    expect(result.rejections[0]).toMatchObject({ reason: 'unsupported_unit', detail: expect.stringContaining('accepted: Cel') });
  });
  it('implausible_value: heart rate 900, diastolic above systolic', () => {
    const result = decode('watch-1', { heartRate: [{ time: T, bpm: 900 }] });
    expect(result.rejections[0]).toMatchObject({ reason: 'implausible_value', item: 0, detail: 'heartRate[0].bpm: 900 /min outside 20-300' });
    expect(reasons(decode('bp-1', { measurement: 'blood_pressure', time: T, systolic: 80, diastolic: 90 }))).toEqual(['implausible_value']);
    expect(reasons(decode('app-1', { type: 'temperature', value: 120, unit: 'Cel', ts: T }))).toEqual(['implausible_value']);
  });
  it('timestamp_in_future beyond the allowed skew, but not within it', () => {
    expect(reasons(decode('oxi-1', { measurement: 'pulse_oximetry', time: '2026-11-22T10:10:00Z', spo2: 97 }))).toEqual(['timestamp_in_future']);
    expect(reasons(decode('oxi-1', { measurement: 'pulse_oximetry', time: '2026-11-22T10:04:00Z', spo2: 97 }))).toEqual([]);
  });
  it('timestamp_too_old', () => {
    expect(reasons(decode('oxi-1', { measurement: 'pulse_oximetry', time: '2026-11-10T10:00:00Z', spo2: 97 }))).toEqual(['timestamp_too_old']);
  });
  it('refuses only the bad item of a batch, by index', () => {
    const result = decode('watch-1', {
      heartRate: [{ time: T, bpm: 70 }, { time: T, bpm: 900 }, { time: 'yesterday', bpm: 72 }, { time: '2026-11-22T09:59:10Z', bpm: 75 }],
    });
    expect(result.readings.map((r) => r.value)).toEqual([70, 75]);
    expect(result.rejections.map((r) => [r.reason, r.item])).toEqual([
      ['schema_violation', 2],
      ['implausible_value', 1],
    ]);
  });
  it('never quotes patient identity in a refusal', () => {
    const result = decode('app-1', { patientId: 'p2', type: 'spo2', value: 97, unit: '%', ts: T });
    expect(result.rejections[0]!.detail).not.toContain('p2');
  });
});

describe('robustness', () => {
  it('never throws, and accounts for every input with readings or refusals, for arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const result = decodeDevicePayload({ topicDeviceId: 'watch-1', payload: bytes, receivedAt: NOW }, { registry });
        return result.readings.length + result.rejections.length > 0;
      }),
    );
  });
  it('never throws for arbitrary JSON, including JSON shaped like each payload', () => {
    const near = fc.oneof(
      fc.jsonValue(),
      fc.record({ type: fc.constantFrom('spo2', 'heart_rate', 'consciousness', 'weight'), value: fc.jsonValue(), unit: fc.string(), ts: fc.string() }),
      fc.record({ measurement: fc.constantFrom('blood_pressure', 'pulse_oximetry', 'ecg_summary'), time: fc.constant(T), systolic: fc.jsonValue(), diastolic: fc.double(), spo2: fc.jsonValue() }),
      fc.record({ heartRate: fc.array(fc.record({ time: fc.constant(T), bpm: fc.jsonValue() })), irregularRhythm: fc.jsonValue() }),
      fc.record({ resourceType: fc.constantFrom('Observation', 'Bundle'), status: fc.constant('final'), code: fc.jsonValue(), entry: fc.jsonValue(), valueQuantity: fc.jsonValue() }),
    );
    fc.assert(
      fc.property(near, (json) => {
        const result = decode('watch-1', JSON.stringify(json));
        return result.readings.every((r) => Reading.safeParse(r).success) && result.readings.length + result.rejections.length > 0;
      }),
      { numRuns: 500 },
    );
  });
});
