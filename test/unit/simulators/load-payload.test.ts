import { describe, expect, it } from 'vitest';
import { DeviceKind } from '../../../src/domain/index.ts';
import { decodeDevicePayload } from '../../../src/ingest/decode.ts';
import { createRegistry } from '../../../src/registry/registry.ts';
import { createEventClock, loadPayload, MIN_GAP_MS, NEWS2_CYCLE, readingsIn, type LoadMode } from '../../../simulators/fleet/load-payload.ts';

const NOW = Date.parse('2026-11-22T10:00:00Z');
const KINDS = DeviceKind.options;
const idOf = (kind: string) => `load-${kind.replace(/_/g, '-')}`;
const registry = createRegistry({
  wards: [{ wardId: 'w1', name: 'Ward', organisation: 'RXX', capacity: 10 }],
  patients: [{ patientId: 'p1', displayName: 'P One', spo2Scale: 1 }],
  devices: KINDS.map((kind) => ({ deviceId: idOf(kind), kind, medicalGrade: false })),
  enrolments: KINDS.map((kind) => ({ deviceId: idOf(kind), patientId: 'p1', wardId: 'w1', pathway: 'ari' as const, from: '2026-01-01T00:00:00Z' })),
});

function decode(deviceId: string, body: string, receivedAtMs = NOW) {
  return decodeDevicePayload({ topicDeviceId: deviceId, payload: Buffer.from(body), receivedAt: new Date(receivedAtMs) }, { registry });
}

/** `calls` consecutive payloads of one device at the same clock reading, as the worker makes them. */
function burst(mode: LoadMode, kind: DeviceKind, calls: number) {
  const clock = createEventClock(1, MIN_GAP_MS[mode]);
  return Array.from({ length: calls }, (_, seq) => {
    const { atMs, intervalMs } = clock.next(0, NOW);
    return loadPayload(mode, kind, idOf(kind), atMs, seq, intervalMs);
  });
}

describe('load payloads', () => {
  it.each(KINDS)('families, %s: readings counts what ingest decodes, nothing refused', (kind) => {
    for (const payload of burst('families', kind, 20)) {
      const result = decode(idOf(kind), payload.body);
      expect(result.rejections).toEqual([]);
      expect(payload.readings).toBeGreaterThan(0);
      expect(payload.readings).toBe(result.readings.length);
      expect(readingsIn(JSON.parse(payload.body))).toBe(result.readings.length);
    }
  });

  it('canonical: one reading each, cycling through every NEWS2 parameter, nothing refused', () => {
    const types = new Set<string>();
    for (const kind of KINDS) {
      for (const payload of burst('canonical', kind, 28)) {
        const result = decode(idOf(kind), payload.body);
        expect(result.rejections).toEqual([]);
        expect(result.shape).toBe('canonical');
        expect(payload.readings).toBe(1);
        expect(result.readings).toHaveLength(1);
        expect(readingsIn(JSON.parse(payload.body))).toBe(1);
        types.add(result.readings[0]!.type);
      }
    }
    expect([...types].sort()).toEqual(NEWS2_CYCLE.map(([type]) => type).sort());
  });

  it.each(['canonical', 'families'] as const)('%s: a device never reuses an event time, even called repeatedly at the same moment', (mode) => {
    for (const kind of KINDS) {
      const ids = burst(mode, kind, 50).flatMap((p) => decode(idOf(kind), p.body, NOW + 60_000).readings.map((r) => r.readingId));
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('the event clock bumps only when needed, and the interval is the time since the last payload', () => {
    const clock = createEventClock(2, 1, 60_000);
    expect(clock.next(0, NOW)).toEqual({ atMs: NOW, intervalMs: 60_000 });
    expect(clock.next(0, NOW)).toEqual({ atMs: NOW + 1, intervalMs: 1 });
    expect(clock.next(0, NOW)).toEqual({ atMs: NOW + 2, intervalMs: 1 });
    expect(clock.next(1, NOW)).toEqual({ atMs: NOW, intervalMs: 60_000 });
    expect(clock.next(0, NOW + 2_000)).toEqual({ atMs: NOW + 2_000, intervalMs: 1_998 });
    expect(clock.maxLeadMs()).toBe(2);
  });
});

describe('readingsIn', () => {
  const ts = '2026-11-22T09:59:00Z';
  const t = (s: number) => `2026-11-22T09:58:${String(s).padStart(2, '0')}Z`;
  const loinc = (code: string) => ({ coding: [{ system: 'http://loinc.org', code }] });
  // Shapes (and variants) the device families do not all send today, held to the decoder too.
  const cases: Array<[string, string, unknown]> = [
    ['canonical batch', idOf('companion_app'), [{ type: 'heart_rate', value: 70, unit: '/min', ts }, { type: 'consciousness', value: 'A', ts: t(1) }]],
    ['watch with SpO2 spot checks and a rhythm notification', idOf('smartwatch'), { heartRate: [{ time: t(1), bpm: 70 }], spo2: [{ time: t(2), percent: 97 }, { time: t(3), percent: 96 }], irregularRhythm: { time: t(4), detected: true } }],
    ['watch with only a rhythm notification', idOf('smartwatch'), { irregularRhythm: { time: t(4), detected: false } }],
    ['cuff with an irregular heartbeat', idOf('bp_cuff'), { measurement: 'blood_pressure', time: ts, systolic: 130, diastolic: 80, pulse: 70, irregularHeartbeat: true }],
    ['cuff without pulse', idOf('bp_cuff'), { measurement: 'blood_pressure', time: ts, systolic: 130, diastolic: 80, irregularHeartbeat: false }],
    ['oximeter without pulse', idOf('pulse_oximeter'), { measurement: 'pulse_oximetry', time: ts, spo2: 97 }],
    ['ECG patch with heart rate only', idOf('ecg_patch'), { measurement: 'ecg_summary', time: ts, heartRate: 70 }],
    ['FHIR Observation', idOf('thermometer'), { resourceType: 'Observation', status: 'final', code: loinc('8310-5'), valueQuantity: { value: 37.1, code: 'Cel' }, effectiveDateTime: ts }],
    [
      'FHIR Bundle with a blood-pressure panel',
      idOf('bp_cuff'),
      {
        resourceType: 'Bundle',
        entry: [
          { resource: { resourceType: 'Observation', status: 'final', code: loinc('85354-9'), effectiveDateTime: ts, component: [{ code: loinc('8480-6'), valueQuantity: { value: 130, code: 'mm[Hg]' } }, { code: loinc('8462-4'), valueQuantity: { value: 80, code: 'mm[Hg]' } }] } },
          { resource: { resourceType: 'Observation', status: 'final', code: loinc('8867-4'), valueQuantity: { value: 72, code: '/min' }, effectiveDateTime: t(5) } },
        ],
      },
    ],
  ];
  it.each(cases)('%s', (_, deviceId, payload) => {
    const result = decode(deviceId, JSON.stringify(payload));
    expect(result.rejections).toEqual([]);
    expect(readingsIn(payload)).toBe(result.readings.length);
  });

  it('is 0 for what no decoder accepts', () => {
    expect(readingsIn(null)).toBe(0);
    expect(readingsIn('text')).toBe(0);
    expect(readingsIn({ hello: 'world' })).toBe(0);
  });
});
