import type { DeviceKind, RegistryData } from '../../src/domain/index.ts';

/**
 * The registry that lets vw accept a load fleet's readings: one patient per device, in wards of
 * `wardSize`, every device enrolled since 2000 so any event time falls inside its enrolment.
 */
export function fleetRegistry(
  devices: ReadonlyArray<{ deviceId: string; kind: DeviceKind }>,
  options: { patientPrefix: string; wardPrefix: string; wardSize?: number },
): { registry: RegistryData; wardIds: string[]; patientsByDevice: Record<string, string> } {
  const wardSize = options.wardSize ?? 1000;
  const wardIds = Array.from({ length: Math.ceil(devices.length / wardSize) }, (_, w) => `${options.wardPrefix}${w + 1}`);
  const patientId = (i: number) => `${options.patientPrefix}${String(i).padStart(5, '0')}`;
  return {
    registry: {
      wards: wardIds.map((wardId) => ({ wardId, name: `Load ward ${wardId}`, organisation: 'RXX', capacity: wardSize })),
      patients: devices.map((_, i) => ({ patientId: patientId(i), displayName: `Load patient ${i}`, spo2Scale: 1 as const })),
      devices: devices.map((d) => ({ deviceId: d.deviceId, kind: d.kind, medicalGrade: false })),
      enrolments: devices.map((d, i) => ({ deviceId: d.deviceId, patientId: patientId(i), wardId: wardIds[Math.floor(i / wardSize)]!, pathway: 'ari' as const, from: '2000-01-01T00:00:00Z' })),
    },
    wardIds,
    patientsByDevice: Object.fromEntries(devices.map((d, i) => [d.deviceId, patientId(i)])),
  };
}
