import { describe, expect, it } from 'vitest';
import { decodeDevicePayload, DEFAULT_DECODE_LIMITS, DEFAULT_MAX_ITEMS_PER_PAYLOAD, MAX_DETAIL_CHARS, type DecodeLimits } from '../../../src/ingest/decode.ts';
import type { Registry } from '../../../src/registry/registry.ts';
import { decode, NOW, reasons, registry, T } from './fixtures.ts';

/** The decoder's limits at their exact edges, and the words of each refusal. */
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();
const spo2 = (ts: string) => ({ type: 'spo2', value: 97, unit: '%', ts });

describe('default limits', () => {
  it('are 256 KiB a payload, 5 minutes ahead, 7 days old, 2000 items', () => {
    expect(DEFAULT_DECODE_LIMITS).toEqual({ maxPayloadBytes: 262_144, maxFutureSkewMs: 300_000, maxAgeMs: 604_800_000, maxItemsPerPayload: 2_000 });
    expect(DEFAULT_MAX_ITEMS_PER_PAYLOAD).toBe(2_000);
    expect(MAX_DETAIL_CHARS).toBe(300);
  });

  it('apply when the context gives none', () => {
    const send = (ts: string) =>
      decodeDevicePayload({ topicDeviceId: 'app-1', payload: Buffer.from(JSON.stringify(spo2(ts))), receivedAt: NOW }, { registry }).rejections.map((r) => r.reason);
    expect(send(at(300_000))).toEqual([]);
    expect(send(at(300_001))).toEqual(['timestamp_in_future']);
    expect(send(at(-604_800_000))).toEqual([]);
    expect(send(at(-604_800_001))).toEqual(['timestamp_too_old']);
  });
});

describe('payload size', () => {
  const payload = JSON.stringify(spo2(T));
  const bytes = Buffer.byteLength(payload);
  it('accepts a payload of exactly the limit, refuses one byte more, naming both sizes', () => {
    expect(reasons(decode('app-1', payload, { ...DEFAULT_DECODE_LIMITS, maxPayloadBytes: bytes }))).toEqual([]);
    expect(decode('app-1', payload, { ...DEFAULT_DECODE_LIMITS, maxPayloadBytes: bytes - 1 })).toEqual({
      readings: [],
      rejections: [{ reason: 'payload_too_large', detail: `${bytes} bytes exceeds ${bytes - 1}` }],
    });
  });
});

describe('items per payload', () => {
  const limits = (maxItemsPerPayload?: number): DecodeLimits => ({ ...DEFAULT_DECODE_LIMITS, maxItemsPerPayload });
  it('counts a single reading as one item', () => {
    expect(reasons(decode('app-1', spo2(T), limits(1)))).toEqual([]);
    expect(decode('app-1', spo2(T), limits(0))).toEqual({ shape: 'canonical', readings: [], rejections: [{ reason: 'payload_too_large', detail: '1 items exceeds 0 per payload' }] });
  });

  it('counts a watch batch’s heart-rate and SpO2 samples together, and a Bundle’s entries', () => {
    const watch = { heartRate: [{ time: T, bpm: 70 }, { time: T, bpm: 71 }], spo2: [{ time: T, percent: 96 }] };
    expect(decode('app-1', watch, limits(3)).readings).toHaveLength(3);
    expect(decode('app-1', watch, limits(2))).toEqual({ shape: 'smartwatch_batch', readings: [], rejections: [{ reason: 'payload_too_large', detail: '3 items exceeds 2 per payload' }] });
    const entry = { resource: { resourceType: 'Observation', status: 'final', code: { coding: [{ code: '8867-4' }] }, valueQuantity: { value: 70, code: '/min' }, effectiveDateTime: T } };
    const bundle = { resourceType: 'Bundle', entry: [entry, entry] };
    expect(decode('app-1', bundle, limits(2)).rejections).toEqual([]);
    expect(decode('app-1', bundle, limits(1)).rejections).toEqual([{ reason: 'payload_too_large', detail: '2 items exceeds 1 per payload' }]);
  });

  it('counts an array’s entries', () => {
    expect(decode('app-1', [spo2(T), spo2(T)], limits(2)).rejections).toEqual([]);
    expect(decode('app-1', [spo2(T), spo2(T)], limits(1)).rejections).toEqual([{ reason: 'payload_too_large', detail: '2 items exceeds 1 per payload' }]);
  });

  it(`allows ${DEFAULT_MAX_ITEMS_PER_PAYLOAD} when the limits name no count`, () => {
    const items = (n: number) => Array.from({ length: n }, () => ({ type: 'spo2' }));
    expect(reasons(decode('app-1', items(2_000), limits(undefined)))).not.toContain('payload_too_large');
    expect(decode('app-1', items(2_001), limits(undefined)).rejections).toEqual([{ reason: 'payload_too_large', detail: '2001 items exceeds 2000 per payload' }]);
  });
});

describe('event time', () => {
  it('accepts up to the allowed skew ahead of receipt, and refuses beyond it with the seconds', () => {
    expect(reasons(decode('app-1', spo2(at(300_000))))).toEqual([]);
    expect(decode('app-1', spo2(at(301_000))).rejections).toEqual([{ reason: 'timestamp_in_future', detail: 'value: event time 301 s after receipt (allowed 300 s)' }]);
    expect(decode('app-1', [spo2(T), spo2(at(600_400))]).rejections).toEqual([
      { reason: 'timestamp_in_future', detail: '[1].value: event time 600 s after receipt (allowed 300 s)', item: 1 },
    ]);
  });

  it('accepts readings as old as the limit, and refuses older ones naming the limit in hours', () => {
    expect(reasons(decode('app-1', spo2(at(-604_800_000))))).toEqual([]);
    expect(decode('app-1', spo2(at(-604_801_000))).rejections).toEqual([{ reason: 'timestamp_too_old', detail: 'value: event time older than 168 h' }]);
    const limits = { ...DEFAULT_DECODE_LIMITS, maxAgeMs: 90 * 60_000 };
    expect(decode('app-1', spo2(at(-91 * 60_000)), limits).rejections).toEqual([{ reason: 'timestamp_too_old', detail: 'value: event time older than 2 h' }]);
  });

  it('refuses a time a Date cannot represent', () => {
    expect(decode('app-1', spo2('+275760-09-13T00:00:01Z')).rejections.map((r) => r.reason)).toEqual(['schema_violation']);
  });
});

describe('refusal details', () => {
  it('are cut to the limit, whatever the input they name', () => {
    const longId = `dev-${'x'.repeat(400)}`;
    const stub = { ...registry, device: () => ({ deviceId: longId, kind: 'companion_app', medicalGrade: false }), enrolmentAt: () => undefined } as unknown as Registry;
    const result = decodeDevicePayload({ topicDeviceId: longId, payload: Buffer.from(JSON.stringify(spo2(T))), receivedAt: NOW }, { registry: stub });
    const full = `device ${longId} is not enrolled at the event time`;
    expect(result.rejections).toEqual([{ reason: 'device_not_enrolled', detail: `${full.slice(0, MAX_DETAIL_CHARS)}…` }]);
    // One of exactly the limit is kept whole.
    const exact = `dev-${'y'.repeat(MAX_DETAIL_CHARS - 'device dev- is not enrolled at the event time'.length)}`;
    const exactStub = { ...stub, device: () => ({ deviceId: exact }) } as unknown as Registry;
    const kept = decodeDevicePayload({ topicDeviceId: exact, payload: Buffer.from(JSON.stringify(spo2(T))), receivedAt: NOW }, { registry: exactStub });
    expect(kept.rejections[0]!.detail).toBe(`device ${exact} is not enrolled at the event time`);
    expect(kept.rejections[0]!.detail).toHaveLength(MAX_DETAIL_CHARS);
  });

  it('quote a unit to 32 characters, and list the units accepted', () => {
    const unit = 'u'.repeat(40);
    expect(decode('app-1', { type: 'heart_rate', value: 70, unit, ts: T }).rejections).toEqual([
      { reason: 'unsupported_unit', detail: `value: unit '${'u'.repeat(32)}…' for heart_rate; accepted: /min, {beats}/min, {breaths}/min, count/min, 1/min` },
    ]);
    expect(decode('app-1', { type: 'weight', value: 70, unit: 'u'.repeat(32), ts: T }).rejections[0]!.detail).toBe(`value: unit '${'u'.repeat(32)}' for weight; accepted: kg, g, [lb_av], lb`);
  });

  it('name each refusal’s reason and field exactly', () => {
    expect(decode('app-1', '{"type":').rejections).toEqual([{ reason: 'malformed_json', detail: 'not valid JSON' }]);
    expect(decode('app-1', { hello: 1 })).toEqual({
      readings: [],
      rejections: [{ reason: 'unknown_payload_shape', detail: 'not a canonical reading, watch batch, medical-device measurement or FHIR Observation' }],
    });
    expect(decode('stranger-1', spo2(T))).toEqual({ shape: 'canonical', readings: [], rejections: [{ reason: 'unknown_device', detail: 'device stranger-1 is not registered' }] });
    expect(decode('app-1', { deviceId: 'other-1', ...spo2(T) }).rejections).toEqual([{ reason: 'device_mismatch', detail: 'deviceId: differs from the device in the topic' }]);
    expect(decode('app-1', { patientId: 'p2', ...spo2(T) }).rejections).toEqual([{ reason: 'patient_mismatch', detail: 'patientId: not the patient this device is enrolled to' }]);
    expect(decode('app-1', { type: 'spo2', value: 30, unit: '%', ts: T }).rejections).toEqual([{ reason: 'implausible_value', detail: 'value: 30 % outside 40-100' }]);
    expect(decode('app-1', [spo2(T), { type: 'spo2', value: 130, unit: '%', ts: T }]).rejections).toEqual([{ reason: 'implausible_value', detail: '[1].value: 130 % outside 40-100', item: 1 }]);
  });

  it('a reading for the enrolled patient, named or not, is accepted', () => {
    expect(decode('app-1', { patientId: 'p1', deviceId: 'app-1', ...spo2(T) }).readings).toHaveLength(1);
  });
});

describe('what a reading carries', () => {
  it('has the canonical value and unit, both times in ISO form, and no flags or position unless sent', () => {
    const [r] = decode('app-1', { type: 'temperature', value: 100.5, unit: 'F', ts: '2026-11-22T10:59:00+01:00' }).readings;
    expect(r).toEqual({
      readingId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      patientId: 'p1',
      wardId: 'w1',
      deviceId: 'app-1',
      type: 'temperature',
      value: 38.1,
      unit: 'Cel',
      ts: '2026-11-22T09:59:00.000Z',
      receivedAt: NOW.toISOString(),
    });
  });

  it('keeps a position and flags when sent, and units for coded and boolean types', () => {
    const [sys] = decode('bp-1', { measurement: 'blood_pressure', time: T, systolic: 130, diastolic: 80, irregularHeartbeat: true, position: 'standing' }).readings;
    expect(sys).toMatchObject({ type: 'systolic_bp', value: 130, unit: 'mm[Hg]', flags: ['irregular_pulse_during_measurement'], position: 'standing' });
    expect(decode('app-1', { type: 'consciousness', value: 'V', ts: T }).readings[0]).toMatchObject({ value: 'V', unit: '{ACVPU}' });
    expect(decode('app-1', { type: 'irregular_rhythm', value: false, ts: T }).readings[0]).toMatchObject({ value: false, unit: '{boolean}' });
    expect(decode('app-1', { type: 'heart_rate', value: 70, unit: '/min', ts: T, position: 'lying' }).readings[0]).toMatchObject({ position: 'lying' });
    expect(decode('app-1', { type: 'heart_rate', value: 70, unit: '/min', ts: T }).readings[0]).not.toHaveProperty('position');
    expect(decode('app-1', { type: 'heart_rate', value: 70, unit: '/min', ts: T }).readings[0]).not.toHaveProperty('flags');
  });

  it('gives the same device, type and time one id, and any difference another', () => {
    const id = (deviceId: string, payload: object) => decode(deviceId, payload).readings[0]!.readingId;
    const base = id('app-1', spo2(T));
    expect(id('app-1', { ...spo2(T), value: 98 })).toBe(base);
    expect(id('other-1', spo2(T))).not.toBe(base);
    expect(id('app-1', { type: 'heart_rate', value: 97, unit: '/min', ts: T })).not.toBe(base);
    expect(id('app-1', spo2('2026-11-22T09:59:00.001Z'))).not.toBe(base);
  });
});

describe('the last gates', () => {
  const send = (stub: Registry, payload: unknown = spo2(T)) =>
    decodeDevicePayload({ topicDeviceId: 'app-1', payload: Buffer.from(JSON.stringify(payload)), receivedAt: NOW }, { registry: stub });

  it('refuses a reading that would not be a valid canonical reading, naming the field', () => {
    const noWard = { ...registry, enrolmentAt: () => ({ patientId: 'p1', wardId: '' }) } as unknown as Registry;
    const result = send(noWard, [spo2(T)]);
    expect(result.readings).toEqual([]);
    expect(result.rejections).toEqual([{ reason: 'schema_violation', detail: expect.stringMatching(/^\[0\]\.value: ./), item: 0 }]);
    expect(result.rejections[0]!.detail).not.toBe('[0].value: invalid');
  });

  it('names only the kind of a failure inside, whatever was thrown', () => {
    const throwsText = { ...registry, device: () => { throw 'secret 97'; } } as unknown as Registry;
    expect(send(throwsText)).toEqual({ readings: [], rejections: [{ reason: 'internal_error', detail: 'ingest failed on this message (string)' }] });
    const throwsRange = { ...registry, enrolmentAt: () => { throw new RangeError('p1'); } } as unknown as Registry;
    expect(send(throwsRange)).toEqual({ readings: [], rejections: [{ reason: 'internal_error', detail: 'ingest failed on this message (RangeError)' }] });
  });

  it('looks the enrolment up at the reading’s event time, for the topic’s device', () => {
    const asked: Array<[string, string]> = [];
    const spy = { ...registry, enrolmentAt: (deviceId: string, at: Date) => (asked.push([deviceId, at.toISOString()]), registry.enrolmentAt(deviceId, at)) } as unknown as Registry;
    expect(send(spy).readings).toHaveLength(1);
    expect(asked).toEqual([['app-1', '2026-11-22T09:59:00.000Z']]);
  });
});
