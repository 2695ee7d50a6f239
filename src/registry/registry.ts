import type { Device, Enrolment, Pathway, Patient, RegistryData, Ward } from '../domain/index.ts';

/**
 * Read-only lookups over wards, patients, devices and enrolments. Ingest uses it to map a device to a
 * patient at the reading's event time; the feed uses it to list a ward's patients.
 */
export interface Registry {
  device(deviceId: string): Device | undefined;
  /** The enrolment covering the device at `ts`, if any. */
  enrolmentAt(deviceId: string, ts: Date): Enrolment | undefined;
  /** True if the device has ever been enrolled (distinguishes "unknown" from "not enrolled now"). */
  everEnrolled(deviceId: string): boolean;
  patient(patientId: string): Patient | undefined;
  ward(wardId: string): Ward | undefined;
  wards(): Ward[];
  /** Patients with at least one device enrolled on the ward at `at`. */
  patientsOfWard(wardId: string, at: Date): Patient[];
  pathwaysOf(patientId: string, at: Date): Pathway[];
  wardOf(patientId: string, at: Date): string | undefined;
}

function covers(e: Enrolment, at: number): boolean {
  return Date.parse(e.from) <= at && (e.until === undefined || at < Date.parse(e.until));
}

export function createRegistry(data: RegistryData): Registry {
  const devices = new Map(data.devices.map((d) => [d.deviceId, d]));
  const patients = new Map(data.patients.map((p) => [p.patientId, p]));
  const wards = new Map(data.wards.map((w) => [w.wardId, w]));
  const byDevice = new Map<string, Enrolment[]>();
  const byPatient = new Map<string, Enrolment[]>();
  for (const e of data.enrolments) {
    if (!devices.has(e.deviceId)) throw new Error(`enrolment names unknown device ${e.deviceId}`);
    if (!patients.has(e.patientId)) throw new Error(`enrolment of ${e.deviceId} names an unknown patient`);
    if (!wards.has(e.wardId)) throw new Error(`enrolment of ${e.deviceId} names unknown ward ${e.wardId}`);
    byDevice.set(e.deviceId, [...(byDevice.get(e.deviceId) ?? []), e]);
    byPatient.set(e.patientId, [...(byPatient.get(e.patientId) ?? []), e]);
  }
  const activeOf = (patientId: string, at: Date) =>
    (byPatient.get(patientId) ?? []).filter((e) => covers(e, at.getTime()));

  return {
    device: (id) => devices.get(id),
    enrolmentAt: (id, ts) => (byDevice.get(id) ?? []).find((e) => covers(e, ts.getTime())),
    everEnrolled: (id) => byDevice.has(id),
    patient: (id) => patients.get(id),
    ward: (id) => wards.get(id),
    wards: () => [...wards.values()],
    patientsOfWard(wardId, at) {
      const out: Patient[] = [];
      for (const [patientId] of byPatient) {
        if (activeOf(patientId, at).some((e) => e.wardId === wardId)) out.push(patients.get(patientId)!);
      }
      return out;
    },
    pathwaysOf: (patientId, at) => [...new Set(activeOf(patientId, at).map((e) => e.pathway))],
    wardOf: (patientId, at) => activeOf(patientId, at)[0]?.wardId,
  };
}
