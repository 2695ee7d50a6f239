import { describe, expect, it } from 'vitest';
import type { RegistryData } from '../../../src/domain/index.ts';
import { devicePassword, mosquittoAcl, mosquittoPasswordLines } from '../../../src/mqtt/credentials.ts';

const registry: RegistryData = {
  wards: [{ wardId: 'w', name: 'W', organisation: 'RXX', capacity: 1 }],
  patients: [{ patientId: 'p', displayName: 'P', spo2Scale: 1 }],
  devices: [
    { deviceId: 'oxi-1', kind: 'pulse_oximeter', medicalGrade: true },
    { deviceId: 'returned-1', kind: 'scale', medicalGrade: true },
    { deviceId: 'spare-1', kind: 'thermometer', medicalGrade: true },
  ],
  enrolments: [
    { deviceId: 'oxi-1', patientId: 'p', wardId: 'w', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
    { deviceId: 'returned-1', patientId: 'p', wardId: 'w', pathway: 'ari', from: '2026-01-01T00:00:00Z', until: '2026-02-01T00:00:00Z' },
  ],
};

describe('Mosquitto credentials from the registry', () => {
  it('derives a stable password per device that differs between devices and secrets', () => {
    expect(devicePassword('secret-one-123456', 'oxi-1')).toBe(devicePassword('secret-one-123456', 'oxi-1'));
    expect(devicePassword('secret-one-123456', 'oxi-1')).not.toBe(devicePassword('secret-one-123456', 'oxi-2'));
    expect(devicePassword('secret-one-123456', 'oxi-1')).not.toBe(devicePassword('secret-two-123456', 'oxi-1'));
  });

  it('lists ingest and only currently enrolled devices', () => {
    const lines = mosquittoPasswordLines(registry, { deviceSecret: 's'.repeat(16), ingestUser: 'vw-ingest', ingestPassword: 'pw', now: new Date('2026-06-01T00:00:00Z') })
      .trim()
      .split('\n');
    expect(lines.map((l) => l.split(':')[0])).toEqual(['vw-ingest', 'oxi-1']);
    expect(lines[1]).toBe(`oxi-1:${devicePassword('s'.repeat(16), 'oxi-1')}`);
  });

  it('lets ingest read device topics and a device write only its own', () => {
    const acl = mosquittoAcl({ ingestUser: 'vw-ingest' });
    expect(acl).toContain('user vw-ingest\ntopic read vw/v1/devices/+/readings');
    expect(acl).toContain('pattern write vw/v1/devices/%u/readings');
    expect(acl).not.toMatch(/topic (readwrite|write) vw\/v1\/devices\/\+/);
  });
});
