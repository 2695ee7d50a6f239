import { describe, expect, it } from 'vitest';
import type { RegistryData } from '../../../src/domain/index.ts';
import { capacitySourceToken } from '../../../src/capacity/credentials.ts';
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
  capacitySources: [
    { sourceId: 'cap-amb', service: 'ambulance', providerId: 'RX9' },
    { sourceId: 'cap-111', service: 'nhs111', providerId: '111-NWEST' },
  ],
};

describe('Mosquitto credentials from the registry', () => {
  it('derives a stable password per device that differs between devices and secrets', () => {
    expect(devicePassword('secret-one-123456', 'oxi-1')).toBe(devicePassword('secret-one-123456', 'oxi-1'));
    expect(devicePassword('secret-one-123456', 'oxi-1')).not.toBe(devicePassword('secret-one-123456', 'oxi-2'));
    expect(devicePassword('secret-one-123456', 'oxi-1')).not.toBe(devicePassword('secret-two-123456', 'oxi-1'));
  });

  it('lists ingest and every registered device, lent now or not: admissions lend them without touching the broker', () => {
    const lines = mosquittoPasswordLines(registry, { deviceSecret: 's'.repeat(16), ingestUser: 'vw-ingest', ingestPassword: 'pw' })
      .trim()
      .split('\n');
    expect(lines.map((l) => l.split(':')[0])).toEqual(['vw-ingest', 'oxi-1', 'returned-1', 'spare-1']);
    expect(lines[1]).toBe(`oxi-1:${devicePassword('s'.repeat(16), 'oxi-1')}`);
  });

  it('gives each capacity source its token as password, given the capacity secret', () => {
    const lines = mosquittoPasswordLines(registry, { deviceSecret: 's'.repeat(16), ingestUser: 'vw-ingest', ingestPassword: 'pw', capacitySecret: 'c'.repeat(16) })
      .trim()
      .split('\n');
    expect(lines.map((l) => l.split(':')[0])).toEqual(['vw-ingest', 'oxi-1', 'returned-1', 'spare-1', 'cap-amb', 'cap-111']);
    expect(lines).toContain(`cap-amb:${capacitySourceToken('c'.repeat(16), 'cap-amb')}`);
    expect(lines).toContain(`cap-111:${capacitySourceToken('c'.repeat(16), 'cap-111')}`);
  });

  it('lets ingest read device topics and a device write only its own', () => {
    const acl = mosquittoAcl({ ingestUser: 'vw-ingest' });
    expect(acl).toContain('user vw-ingest\ntopic read vw/v1/devices/+/readings');
    expect(acl).toContain('pattern write vw/v1/devices/%u/readings');
    expect(acl).not.toMatch(/topic (readwrite|write) vw\/v1\/devices\/\+/);
  });

  it('lets ingest read every capacity topic and each source write only its own', () => {
    const acl = mosquittoAcl({ ingestUser: 'vw-ingest', capacitySources: ['cap-amb', 'cap-111'] });
    expect(acl).toContain('user vw-ingest\ntopic read vw/v1/devices/+/readings\ntopic read vw/v1/capacity/+/snapshots\n');
    expect(acl).toContain('user cap-amb\ntopic write vw/v1/capacity/cap-amb/snapshots\n\n');
    expect(acl).toContain('user cap-111\ntopic write vw/v1/capacity/cap-111/snapshots\n\n');
    expect(acl.match(/^topic .*capacity.*$/gm)).toEqual(['topic read vw/v1/capacity/+/snapshots', 'topic write vw/v1/capacity/cap-amb/snapshots', 'topic write vw/v1/capacity/cap-111/snapshots']);
    // Nobody writes to every capacity topic, and no source reads any.
    expect(acl).not.toMatch(/topic (readwrite|write) vw\/v1\/capacity\/\+/);
    expect(acl).not.toMatch(/^pattern .*capacity/m);
    // Without capacity sources there are no source blocks, but ingest still reads the capacity topics.
    expect(mosquittoAcl({ ingestUser: 'vw-ingest' })).toContain('topic read vw/v1/capacity/+/snapshots');
    expect(mosquittoAcl({ ingestUser: 'vw-ingest' })).not.toContain('user cap-');
  });
});
