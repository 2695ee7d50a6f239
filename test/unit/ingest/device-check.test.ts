import { describe, expect, it } from 'vitest';
import { decode, reasons, T } from './fixtures.ts';

/**
 * The topic names the sender; a payload that names another device is refused, in every shape and
 * in every place a shape can name one. Each case is also sent naming its own device (accepted) and
 * naming none (accepted), so a check that refuses everything would fail here too.
 */
const fhirSpo2 = (device?: object) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '59408-5' }] },
  valueQuantity: { value: 95, code: '%' },
  effectiveDateTime: T,
  ...(device ? { device } : {}),
});
const fhirBp = (device?: object) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
  component: [
    { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 128, code: 'mm[Hg]' } },
    { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 82, code: 'mm[Hg]' } },
  ],
  effectiveDateTime: T,
  ...(device ? { device } : {}),
});

/** [shape, case, payload naming `id` (undefined: names no device)] */
const CASES: Array<[string, string, (id: string | undefined) => unknown]> = [
  ['canonical', 'single reading', (id) => ({ ...(id ? { deviceId: id } : {}), type: 'heart_rate', value: 70, unit: '/min', ts: T })],
  ['canonical', 'array item', (id) => [{ type: 'spo2', value: 96, unit: '%', ts: T, ...(id ? { deviceId: id } : {}) }]],
  ['canonical', 'coded reading', (id) => ({ ...(id ? { deviceId: id } : {}), type: 'consciousness', value: 'A', ts: T })],
  ['canonical', 'boolean reading', (id) => ({ ...(id ? { deviceId: id } : {}), type: 'supplemental_oxygen', value: false, ts: T })],
  ['smartwatch_batch', 'heart-rate samples', (id) => ({ ...(id ? { deviceId: id } : {}), heartRate: [{ time: T, bpm: 71 }] })],
  ['smartwatch_batch', 'spo2 spot check', (id) => ({ ...(id ? { deviceId: id } : {}), spo2: [{ time: T, percent: 97 }] })],
  ['smartwatch_batch', 'irregular-rhythm notification', (id) => ({ ...(id ? { deviceId: id } : {}), irregularRhythm: { time: T, detected: true } })],
  ['medical_device', 'blood_pressure', (id) => ({ ...(id ? { deviceId: id } : {}), measurement: 'blood_pressure', time: T, systolic: 130, diastolic: 80, pulse: 70, irregularHeartbeat: true })],
  ['medical_device', 'pulse_oximetry', (id) => ({ ...(id ? { deviceId: id } : {}), measurement: 'pulse_oximetry', time: T, spo2: 96, pulseRate: 70 })],
  ['medical_device', 'body_temperature', (id) => ({ ...(id ? { deviceId: id } : {}), measurement: 'body_temperature', time: T, temperature: 37 })],
  ['medical_device', 'body_weight', (id) => ({ ...(id ? { deviceId: id } : {}), measurement: 'body_weight', time: T, weight: 80 })],
  ['medical_device', 'ecg_summary', (id) => ({ ...(id ? { deviceId: id } : {}), measurement: 'ecg_summary', time: T, heartRate: 80, respiratoryRate: 16, irregularRhythm: false })],
  ['fhir_observation', 'device.identifier.value', (id) => fhirSpo2(id ? { identifier: { value: id } } : undefined)],
  ['fhir_observation', 'device.reference', (id) => fhirSpo2(id ? { reference: `Device/${id}` } : undefined)],
  ['fhir_observation', 'blood-pressure panel', (id) => fhirBp(id ? { reference: `Device/${id}` } : undefined)],
  ['fhir_observation', 'Bundle entry', (id) => ({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: fhirSpo2(id ? { identifier: { value: id } } : undefined) }] })],
];

describe('device_mismatch: every payload shape checks the device it names against its topic', () => {
  it('covers all four shapes', () => {
    expect(new Set(CASES.map(([shape]) => shape))).toEqual(new Set(['canonical', 'smartwatch_batch', 'medical_device', 'fhir_observation']));
  });

  it.each(CASES)('%s (%s): another device is refused, every reading of it', (shape, _case, payload) => {
    const result = decode('app-1', payload('other-1'));
    expect(result.shape).toBe(shape);
    expect(result.readings).toEqual([]);
    expect(result.rejections.length).toBeGreaterThan(0);
    expect(new Set(reasons(result))).toEqual(new Set(['device_mismatch']));
  });

  it.each(CASES)('%s (%s): its own device, or none named, is accepted', (shape, _case, payload) => {
    for (const named of ['app-1', undefined]) {
      const result = decode('app-1', payload(named));
      expect(result.shape).toBe(shape);
      expect(result.rejections).toEqual([]);
      expect(result.readings.length).toBeGreaterThan(0);
      expect(result.readings.every((r) => r.deviceId === 'app-1' && r.patientId === 'p1')).toBe(true);
    }
  });

  it('refuses only the item naming another device in a canonical array', () => {
    const result = decode('app-1', [
      { deviceId: 'app-1', type: 'heart_rate', value: 70, unit: '/min', ts: T },
      { deviceId: 'other-1', type: 'heart_rate', value: 71, unit: '/min', ts: T },
    ]);
    expect(result.readings.map((r) => r.value)).toEqual([70]);
    expect(result.rejections).toEqual([expect.objectContaining({ reason: 'device_mismatch', item: 1 })]);
  });

  it('FHIR: an empty device identifier is not the topic device either', () => {
    expect(reasons(decode('app-1', fhirSpo2({ identifier: { value: '' } })))).toEqual(['device_mismatch']);
    expect(reasons(decode('app-1', fhirSpo2({ reference: 'Patient/p1' })))).toEqual(['device_mismatch']);
  });
});
