import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { schemaRefusal } from '../../../src/ingest/payloads/observation.ts';
import { decodeCanonical, looksCanonical } from '../../../src/ingest/payloads/canonical.ts';
import { decodeFhir, looksLikeFhir } from '../../../src/ingest/payloads/fhir.ts';
import { decodeMedicalDevice, looksLikeMedicalDevice } from '../../../src/ingest/payloads/medical-device.ts';
import { decodeSmartwatch, looksLikeSmartwatch } from '../../../src/ingest/payloads/smartwatch.ts';

/**
 * Each payload shape on its own: which JSON it claims, and the observations (field, type, value, unit,
 * time, item, device) or refusals it makes, before the checks every shape shares (decode.ts).
 */
const T = '2026-11-22T09:59:00Z';
const T2 = '2026-11-22T09:59:30Z';

describe('which shape a payload is', () => {
  it.each([
    ['a canonical reading', { type: 'spo2', value: 97 }, [false, false, false, true]],
    ['a canonical array', [{ type: 'spo2' }, { type: 'heart_rate' }], [false, false, false, true]],
    ['an empty array', [], [false, false, false, false]],
    ['an array with an item lacking a type', [{ type: 'spo2' }, { value: 1 }], [false, false, false, false]],
    ['an array with a non-object item', [{ type: 'spo2' }, 'spo2'], [false, false, false, false]],
    ['an array of arrays', [[{ type: 'spo2' }]], [false, false, false, false]],
    ['an object with a type and no value', { type: 'spo2' }, [false, false, false, false]],
    ['an object with a value and no type', { value: 97 }, [false, false, false, false]],
    ['a watch batch of heart rates', { heartRate: [] }, [false, false, true, false]],
    ['a watch batch of SpO2 checks', { spo2: [] }, [false, false, true, false]],
    ['a watch rhythm notification', { irregularRhythm: null }, [false, false, true, false]],
    ['a heart rate that is not a list', { heartRate: 70 }, [false, false, false, false]],
    ['SpO2 that is not a list', { spo2: 97 }, [false, false, false, false]],
    ['a watch batch with a type', { type: 'x', heartRate: [] }, [false, false, false, false]],
    ['a watch batch with a measurement', { measurement: 'x', heartRate: [] }, [false, true, false, false]],
    ['a medical-device measurement', { measurement: 'body_weight' }, [false, true, false, false]],
    ['an Observation', { resourceType: 'Observation' }, [true, false, false, false]],
    ['a Bundle', { resourceType: 'Bundle' }, [true, false, false, false]],
    ['another FHIR resource', { resourceType: 'Patient' }, [false, false, false, false]],
    ['null', null, [false, false, false, false]],
    ['a number', 42, [false, false, false, false]],
    ['a string', 'Observation', [false, false, false, false]],
  ] as const)('%s', (_name, json, expected) => {
    expect([looksLikeFhir(json), looksLikeMedicalDevice(json), looksLikeSmartwatch(json), looksCanonical(json)]).toEqual(expected);
  });

  it('an array is no FHIR resource, measurement or watch batch, whatever its own keys', () => {
    const array = Object.assign([{ type: 'spo2' }], { resourceType: 'Observation', measurement: 'body_weight', heartRate: [] });
    expect([looksLikeFhir(array), looksLikeMedicalDevice(array), looksLikeSmartwatch(array)]).toEqual([false, false, false]);
  });

  it('inherited keys make no shape', () => {
    const proto = { resourceType: 'Observation', measurement: 'body_weight', heartRate: [], spo2: [], irregularRhythm: {}, type: 'spo2', value: 1 };
    const json = Object.create(proto) as object;
    expect([looksLikeFhir(json), looksLikeMedicalDevice(json), looksLikeSmartwatch(json), looksCanonical(json), looksCanonical([json])]).toEqual([false, false, false, false, false]);
  });
});

describe('canonical', () => {
  it('a single reading: field "value", no item, the unit kept for numeric types only', () => {
    expect(decodeCanonical({ type: 'heart_rate', value: 70, unit: '/min', ts: T, deviceId: 'd1', patientId: 'p1', position: 'sitting' })).toEqual({
      observations: [{ field: 'value', type: 'heart_rate', value: 70, time: T, unit: '/min', deviceId: 'd1', patientId: 'p1', position: 'sitting' }],
      refusals: [],
    });
    expect(decodeCanonical({ type: 'consciousness', value: 'A', unit: '{ACVPU}', ts: T })).toEqual({ observations: [{ field: 'value', type: 'consciousness', value: 'A', time: T }], refusals: [] });
    expect(decodeCanonical({ type: 'supplemental_oxygen', value: true, ts: T }).observations).toEqual([{ field: 'value', type: 'supplemental_oxygen', value: true, time: T }]);
    expect(decodeCanonical({ type: 'irregular_rhythm', value: false, unit: '{boolean}', ts: T }).observations).toEqual([{ field: 'value', type: 'irregular_rhythm', value: false, time: T }]);
  });

  it('an array: each item by index, a bad one refused by its own index and path', () => {
    expect(decodeCanonical([{ type: 'spo2', value: 97, unit: '%', ts: T }, { type: 'spo2', value: 'high', unit: '%', ts: T }, { type: 'weight', value: 80, unit: 'kg', ts: T2 }])).toEqual({
      observations: [
        { field: '[0].value', type: 'spo2', value: 97, time: T, item: 0, unit: '%' },
        { field: '[2].value', type: 'weight', value: 80, time: T2, item: 2, unit: 'kg' },
      ],
      refusals: [{ reason: 'schema_violation', detail: expect.stringMatching(/^\[1\]\.value: /), item: 1 }],
    });
  });

  it('a single bad reading is refused naming the field, with no item', () => {
    expect(decodeCanonical({ type: 'spo2', value: 97, unit: '', ts: T })).toEqual({ observations: [], refusals: [{ reason: 'schema_violation', detail: expect.stringMatching(/^unit: /) }] });
    expect(decodeCanonical({ type: 'consciousness', value: 'X', ts: T }).refusals[0]!.detail).toMatch(/^value: /);
    expect(decodeCanonical({ type: 'spo2', value: 97, unit: '%', ts: T, deviceId: '' }).refusals[0]!.detail).toMatch(/^deviceId: /);
    expect(decodeCanonical({ type: 'spo2', value: 97, unit: '%', ts: T, position: 'kneeling' }).refusals[0]!.detail).toMatch(/^position: /);
  });
});

describe('smartwatch batch', () => {
  it('numbers heart-rate samples, then SpO2 checks, then the rhythm notification, as one run of items', () => {
    const result = decodeSmartwatch({
      deviceId: 'w1',
      heartRate: [{ time: T, bpm: 70 }, { time: T2, bpm: 72 }],
      spo2: [{ time: T, percent: 96 }],
      irregularRhythm: { time: T2, detected: false },
    });
    expect(result).toEqual({
      observations: [
        { item: 0, field: 'heartRate[0].bpm', type: 'heart_rate', value: 70, unit: '/min', time: T, deviceId: 'w1' },
        { item: 1, field: 'heartRate[1].bpm', type: 'heart_rate', value: 72, unit: '/min', time: T2, deviceId: 'w1' },
        { item: 2, field: 'spo2[0].percent', type: 'spo2', value: 96, unit: '%', time: T },
        { item: 3, field: 'irregularRhythm.detected', type: 'irregular_rhythm', value: false, time: T2 },
      ].map((o) => ({ ...o, deviceId: 'w1' })),
      refusals: [],
    });
  });

  it('refuses each bad sample by its own item and path, keeping the rest; names no device it was not given', () => {
    const result = decodeSmartwatch({ heartRate: [{ time: T, bpm: 'x' }], spo2: [{ time: 'now', percent: 96 }, { time: T, percent: 97 }], irregularRhythm: { time: T } });
    expect(result.observations).toEqual([{ item: 2, field: 'spo2[1].percent', type: 'spo2', value: 97, unit: '%', time: T }]);
    expect(result.refusals).toEqual([
      { reason: 'schema_violation', detail: expect.stringMatching(/^heartRate\[0\]\.bpm: /), item: 0 },
      { reason: 'schema_violation', detail: expect.stringMatching(/^spo2\[0\]\.time: /), item: 1 },
      { reason: 'schema_violation', detail: expect.stringMatching(/^irregularRhythm\.detected: /), item: 3 },
    ]);
  });

  it('refuses an envelope with nothing to read, or a bad battery level, as a whole', () => {
    expect(decodeSmartwatch({ deviceId: 'w1' })).toEqual({ observations: [], refusals: [{ reason: 'schema_violation', detail: '(payload): a watch batch needs heartRate, spo2 or irregularRhythm' }] });
    expect(decodeSmartwatch({ heartRate: [], batteryPercent: 101 }).refusals).toEqual([{ reason: 'schema_violation', detail: expect.stringMatching(/^batteryPercent: /) }]);
    expect(decodeSmartwatch({ spo2: [] })).toEqual({ observations: [], refusals: [] });
  });
});

describe('medical device', () => {
  it('blood pressure: both pressures and the pulse, in mmHg unless said, with the position', () => {
    expect(decodeMedicalDevice({ measurement: 'blood_pressure', time: T, systolic: 130, diastolic: 85, pulse: 64, position: 'sitting', deviceId: 'bp' })).toEqual({
      observations: [
        { time: T, deviceId: 'bp', position: 'sitting', field: 'systolic', type: 'systolic_bp', value: 130, unit: 'mmHg' },
        { time: T, deviceId: 'bp', position: 'sitting', field: 'diastolic', type: 'diastolic_bp', value: 85, unit: 'mmHg' },
        { time: T, deviceId: 'bp', position: 'sitting', field: 'pulse', type: 'heart_rate', value: 64, unit: '/min' },
      ],
      refusals: [],
    });
  });

  it('blood pressure with an irregular heartbeat: every value flagged, and the rhythm reported unflagged', () => {
    expect(decodeMedicalDevice({ measurement: 'blood_pressure', time: T, systolic: 17, diastolic: 11, unit: 'kPa', irregularHeartbeat: true }).observations).toEqual([
      { time: T, flags: ['irregular_pulse_during_measurement'], field: 'systolic', type: 'systolic_bp', value: 17, unit: 'kPa' },
      { time: T, flags: ['irregular_pulse_during_measurement'], field: 'diastolic', type: 'diastolic_bp', value: 11, unit: 'kPa' },
      { time: T, field: 'irregularHeartbeat', type: 'irregular_rhythm', value: true },
    ]);
    // A regular heartbeat flags nothing and reports no rhythm.
    expect(decodeMedicalDevice({ measurement: 'blood_pressure', time: T, systolic: 120, diastolic: 80, irregularHeartbeat: false }).observations).toEqual([
      { time: T, field: 'systolic', type: 'systolic_bp', value: 120, unit: 'mmHg' },
      { time: T, field: 'diastolic', type: 'diastolic_bp', value: 80, unit: 'mmHg' },
    ]);
  });

  it('refuses a diastolic at or above the systolic', () => {
    const refused = { observations: [], refusals: [{ reason: 'implausible_value', detail: 'diastolic: not below systolic' }] };
    expect(decodeMedicalDevice({ measurement: 'blood_pressure', time: T, systolic: 90, diastolic: 90 })).toEqual(refused);
    expect(decodeMedicalDevice({ measurement: 'blood_pressure', time: T, systolic: 90, diastolic: 95 })).toEqual(refused);
    expect(decodeMedicalDevice({ measurement: 'blood_pressure', time: T, systolic: 90, diastolic: 89 }).observations).toHaveLength(2);
  });

  it('pulse oximetry, temperature and weight, with their units', () => {
    expect(decodeMedicalDevice({ measurement: 'pulse_oximetry', time: T, spo2: 95, pulseRate: 90 }).observations).toEqual([
      { time: T, field: 'spo2', type: 'spo2', value: 95, unit: '%' },
      { time: T, field: 'pulseRate', type: 'heart_rate', value: 90, unit: '/min' },
    ]);
    expect(decodeMedicalDevice({ measurement: 'pulse_oximetry', time: T, spo2: 95 }).observations).toHaveLength(1);
    expect(decodeMedicalDevice({ measurement: 'body_temperature', time: T, temperature: 37.5 }).observations).toEqual([{ time: T, field: 'temperature', type: 'temperature', value: 37.5, unit: 'C' }]);
    expect(decodeMedicalDevice({ measurement: 'body_temperature', time: T, temperature: 99.5, unit: 'F' }).observations[0]!.unit).toBe('F');
    expect(decodeMedicalDevice({ measurement: 'body_weight', time: T, weight: 80 }).observations).toEqual([{ time: T, field: 'weight', type: 'weight', value: 80, unit: 'kg' }]);
    expect(decodeMedicalDevice({ measurement: 'body_weight', time: T, weight: 176, unit: 'lb' }).observations[0]!.unit).toBe('lb');
  });

  it('an ECG summary: whichever of rate, breathing and rhythm it carries; refused when it carries none', () => {
    expect(decodeMedicalDevice({ measurement: 'ecg_summary', time: T, respiratoryRate: 18 }).observations).toEqual([{ time: T, field: 'respiratoryRate', type: 'respiratory_rate', value: 18, unit: '/min' }]);
    expect(decodeMedicalDevice({ measurement: 'ecg_summary', time: T, irregularRhythm: true }).observations).toEqual([{ time: T, field: 'irregularRhythm', type: 'irregular_rhythm', value: true }]);
    expect(decodeMedicalDevice({ measurement: 'ecg_summary', time: T, heartRate: 50 }).observations).toEqual([{ time: T, field: 'heartRate', type: 'heart_rate', value: 50, unit: '/min' }]);
    expect(decodeMedicalDevice({ measurement: 'ecg_summary', time: T })).toEqual({
      observations: [],
      refusals: [{ reason: 'schema_violation', detail: 'ecg_summary: carries no heartRate, respiratoryRate or irregularRhythm' }],
    });
  });

  it('refuses a malformed measurement naming the field', () => {
    expect(decodeMedicalDevice({ measurement: 'body_weight', time: T, weight: '80' })).toEqual({ observations: [], refusals: [{ reason: 'schema_violation', detail: expect.stringMatching(/^weight: /) }] });
    expect(decodeMedicalDevice({ measurement: 'body_weight', time: T, weight: 80, deviceId: '' }).refusals[0]!.detail).toMatch(/^deviceId: /);
  });
});

describe('FHIR', () => {
  const obs = (code: string, extra: object = {}) => ({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code }] }, effectiveDateTime: T, ...extra });

  it.each([
    ['9279-1', 'respiratory_rate'],
    ['8867-4', 'heart_rate'],
    ['2708-6', 'spo2'],
    ['59408-5', 'spo2'],
    ['8310-5', 'temperature'],
    ['29463-7', 'weight'],
    ['8480-6', 'systolic_bp'],
    ['8462-4', 'diastolic_bp'],
  ])('LOINC %s is %s', (code, type) => {
    expect(decodeFhir(obs(code, { valueQuantity: { value: 1, code: 'u' } })).observations).toEqual([{ time: T, field: 'valueQuantity', type, value: 1, unit: 'u' }]);
  });

  it('takes the UCUM code before the display unit, and an empty unit when the quantity has neither', () => {
    expect(decodeFhir(obs('8867-4', { valueQuantity: { value: 70, unit: 'beats/minute', code: '/min' } })).observations[0]!.unit).toBe('/min');
    expect(decodeFhir(obs('8867-4', { valueQuantity: { value: 70, unit: '/min' } })).observations[0]!.unit).toBe('/min');
    expect(decodeFhir(obs('8867-4', { valueQuantity: { value: 70 } })).observations[0]!.unit).toBe('');
  });

  it('prefers effectiveInstant to effectiveDateTime, and refuses a resource with neither', () => {
    expect(decodeFhir(obs('8867-4', { valueQuantity: { value: 70, code: '/min' }, effectiveInstant: T2 })).observations[0]!.time).toBe(T2);
    const { effectiveDateTime: _, ...undated } = obs('8867-4', { valueQuantity: { value: 70, code: '/min' } });
    expect(decodeFhir(undated)).toEqual({ observations: [], refusals: [{ reason: 'schema_violation', detail: 'effectiveDateTime: needs effectiveDateTime or effectiveInstant with a time and offset' }] });
  });

  it('names the device by identifier, else by reference without "Device/"', () => {
    const q = { valueQuantity: { value: 70, code: '/min' } };
    expect(decodeFhir(obs('8867-4', { ...q, device: { identifier: { value: 'oxi-9' }, reference: 'Device/other' } })).observations[0]!.deviceId).toBe('oxi-9');
    expect(decodeFhir(obs('8867-4', { ...q, device: { reference: 'Device/oxi-8' } })).observations[0]!.deviceId).toBe('oxi-8');
    expect(decodeFhir(obs('8867-4', { ...q, device: { reference: 'oxi-7/Device/' } })).observations[0]!.deviceId).toBe('oxi-7/Device/');
    expect(decodeFhir(obs('8867-4', { ...q, device: {} })).observations[0]).not.toHaveProperty('deviceId');
  });

  it('takes the first LOINC coding it supports, from LOINC or an unnamed system only', () => {
    const coded = (coding: object[]) => decodeFhir({ ...obs('x', { valueQuantity: { value: 70, code: '/min' } }), code: { coding } });
    expect(coded([{ system: 'http://snomed.info/sct', code: '8867-4' }, { code: '9279-1' }]).observations[0]!.type).toBe('respiratory_rate');
    expect(coded([{ system: 'http://loinc.org', code: '0000-0' }, { system: 'http://loinc.org', code: '8310-5' }]).observations[0]!.type).toBe('temperature');
    expect(coded([{ system: 'http://snomed.info/sct', code: '8867-4' }])).toEqual({ observations: [], refusals: [{ reason: 'schema_violation', detail: 'code: no supported LOINC vital-sign code' }] });
  });

  it('refuses a vital sign without a value', () => {
    expect(decodeFhir(obs('8867-4'))).toEqual({ observations: [], refusals: [{ reason: 'schema_violation', detail: 'valueQuantity: required' }] });
  });

  it('a blood-pressure panel: its systolic and diastolic components, skipping any it cannot read', () => {
    const panel = obs('85354-9', {
      component: [
        { code: { coding: [{ code: '8867-4' }] } },
        { code: { coding: [{ code: '8480-6' }] }, valueQuantity: { value: 140, code: 'mm[Hg]' } },
        { code: { coding: [{ code: '9999-9' }] }, valueQuantity: { value: 1, code: 'u' } },
        { code: { coding: [{ code: '85354-9' }] }, valueQuantity: { value: 2, code: 'u' } },
        { code: { coding: [{ code: '8462-4' }] }, valueQuantity: { value: 90, unit: 'mmHg' } },
      ],
    });
    expect(decodeFhir(panel)).toEqual({
      observations: [
        { time: T, field: 'component[1].valueQuantity', type: 'systolic_bp', value: 140, unit: 'mm[Hg]' },
        { time: T, field: 'component[4].valueQuantity', type: 'diastolic_bp', value: 90, unit: 'mmHg' },
      ],
      refusals: [],
    });
    const noUnit = obs('85354-9', { component: [{ code: { coding: [{ code: '8480-6' }] }, valueQuantity: { value: 140 } }] });
    expect(decodeFhir(noUnit).observations[0]!.unit).toBe('');
    const refused = { observations: [], refusals: [{ reason: 'schema_violation', detail: 'component: blood-pressure panel without systolic or diastolic values' }] };
    expect(decodeFhir(obs('85354-9'))).toEqual(refused);
    expect(decodeFhir(obs('85354-9', { component: [{ code: { coding: [{ code: '8480-6' }] } }] }))).toEqual(refused);
  });

  it('a Bundle: each entry by index and path, its refusals by index', () => {
    const good = obs('8867-4', { valueQuantity: { value: 70, code: '/min' }, device: { reference: 'Device/d' } });
    const result = decodeFhir({ resourceType: 'Bundle', entry: [{ resource: good }, { resource: obs('8867-4') }, { resource: { resourceType: 'Observation' } }, { resource: obs('0000-0', { valueQuantity: { value: 1 } }) }] });
    expect(result).toEqual({
      observations: [{ time: T, deviceId: 'd', item: 0, field: 'entry[0].resource.valueQuantity', type: 'heart_rate', value: 70, unit: '/min' }],
      refusals: [
        { reason: 'schema_violation', detail: 'entry[1].resource.valueQuantity: required', item: 1 },
        { reason: 'schema_violation', detail: expect.stringMatching(/^entry\[2\]\.resource\.status: Invalid option/), item: 2 },
        { reason: 'schema_violation', detail: 'entry[3].resource.code: no supported LOINC vital-sign code', item: 3 },
      ],
    });
    const panel = obs('85354-9', { component: [{ code: { coding: [{ code: '8480-6' }] }, valueQuantity: { value: 140, code: 'mm[Hg]' } }] });
    expect(decodeFhir({ resourceType: 'Bundle', entry: [{ resource: panel }, { resource: obs('85354-9') }] })).toEqual({
      observations: [{ time: T, item: 0, field: 'entry[0].resource.component[0].valueQuantity', type: 'systolic_bp', value: 140, unit: 'mm[Hg]' }],
      refusals: [{ reason: 'schema_violation', detail: 'entry[1].resource.component: blood-pressure panel without systolic or diastolic values', item: 1 }],
    });
  });

  it('refuses an empty Bundle, or one that is not a list of entries', () => {
    expect(decodeFhir({ resourceType: 'Bundle', entry: [] })).toEqual({ observations: [], refusals: [{ reason: 'schema_violation', detail: expect.stringMatching(/^entry: /) }] });
    expect(decodeFhir({ resourceType: 'Bundle' }).refusals[0]!.detail).toMatch(/^entry: /);
  });
});

describe('schema refusals', () => {
  const issueOf = (schema: z.ZodType, value: unknown) => (schema.safeParse(value) as { error: z.ZodError }).error;
  const nested = z.object({ a: z.array(z.object({ b: z.number() })) });

  it('name the field by its path, indices in brackets, and the whole payload when there is no path', () => {
    expect(schemaRefusal(issueOf(nested, { a: [{ b: 1 }, { b: 'x' }] }))).toEqual({ reason: 'schema_violation', detail: expect.stringMatching(/^a\[1\]\.b: Invalid input/) });
    expect(schemaRefusal(issueOf(nested, { a: [{ b: 'x' }] }), 'batch', 3)).toEqual({ reason: 'schema_violation', detail: expect.stringMatching(/^batch\.a\[0\]\.b: /), item: 3 });
    expect(schemaRefusal(issueOf(z.array(z.number()), ['x']), 'spo2')).toMatchObject({ detail: expect.stringMatching(/^spo2\[0\]: /) });
    expect(schemaRefusal(issueOf(z.number(), 'x'))).toEqual({ reason: 'schema_violation', detail: expect.stringMatching(/^\(payload\): Invalid input/) });
    expect(schemaRefusal(issueOf(z.number(), 'x'), 'heartRate[2]', 2)).toEqual({ reason: 'schema_violation', detail: expect.stringMatching(/^heartRate\[2\]: /), item: 2 });
    expect(schemaRefusal(issueOf(z.number(), 'x'))).not.toHaveProperty('item');
  });
});
