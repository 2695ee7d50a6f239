import { decodeDevicePayload, DEFAULT_DECODE_LIMITS, type DecodeLimits } from '../../../src/ingest/decode.ts';
import { createRegistry } from '../../../src/registry/registry.ts';

/** A small ward for the ingest tests: every device enrolled to p1 from the start of 2026. */
export const NOW = new Date('2026-11-22T10:00:00Z');
export const T = '2026-11-22T09:59:00Z';
export const DEVICES = ['app-1', 'watch-1', 'bp-1', 'oxi-1', 'other-1'] as const;

export const registry = createRegistry({
  wards: [{ wardId: 'w1', name: 'Ward', organisation: 'RXX', capacity: 10 }],
  patients: [{ patientId: 'p1', displayName: 'P One', spo2Scale: 1 }],
  devices: DEVICES.map((deviceId) => ({ deviceId, kind: 'companion_app' as const, medicalGrade: false })),
  enrolments: DEVICES.map((deviceId) => ({ deviceId, patientId: 'p1', wardId: 'w1', pathway: 'ari' as const, from: '2026-01-01T00:00:00Z' })),
});

export function decode(deviceId: string, payload: unknown, limits: DecodeLimits = DEFAULT_DECODE_LIMITS) {
  const bytes = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return decodeDevicePayload({ topicDeviceId: deviceId, payload: Buffer.from(bytes), receivedAt: NOW }, { registry, limits });
}

export const reasons = (result: ReturnType<typeof decode>) => result.rejections.map((r) => r.reason);
