import { REGISTRY_SETTER, type CapacitySource, type IntegratedCareSystem, type Device, type Enrolment, type Pathway, type Patient, type PatientSettings, type RegistryData, type Ward } from '../domain/index.ts';

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
  system(icsId: string): IntegratedCareSystem | undefined;
  /** Who may send capacity snapshots, and for which service and provider. */
  capacitySources(): CapacitySource[];
  /** Patients with at least one device enrolled on the ward at `at`. */
  patientsOfWard(wardId: string, at: Date): Patient[];
  pathwaysOf(patientId: string, at: Date): Pathway[];
  wardOf(patientId: string, at: Date): string | undefined;
  /**
   * The patient's settings in force at `at` by the registry: the newest history version effective by
   * then, or version 0 as registered. Undefined for an unknown patient or one never enrolled (no ward).
   * Versions set later travel on the settings topic; consumers apply them on top of this.
   */
  settingsAt(patientId: string, at: Date): PatientSettings | undefined;
  /** Every version the registry records for the patient, version 0 first. */
  settingsVersions(patientId: string): PatientSettings[];
}

function covers(e: Enrolment, at: number): boolean {
  return Date.parse(e.from) <= at && (e.until === undefined || at < Date.parse(e.until));
}

/** Refuses a history a consumer could not have produced: versions 1, 2, 3… taking effect in order. */
function checkSettingsHistory(patient: Patient): void {
  let previous: { version: number; effectiveFrom: string } | undefined;
  for (const entry of patient.settingsHistory ?? []) {
    const expected = (previous?.version ?? 0) + 1;
    if (entry.version !== expected) {
      throw new Error(`patient ${patient.patientId}: settingsHistory version ${entry.version} out of order (expected version ${expected}; versions run 1, 2, 3… oldest first)`);
    }
    if (previous && Date.parse(entry.effectiveFrom) < Date.parse(previous.effectiveFrom)) {
      throw new Error(`patient ${patient.patientId}: settingsHistory version ${entry.version} takes effect before version ${previous.version}`);
    }
    previous = entry;
  }
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
  for (const patient of data.patients) checkSettingsHistory(patient);
  const systems = new Map((data.systems ?? []).map((s) => [s.icsId, s]));
  for (const ward of data.wards) {
    if (ward.ics && !systems.has(ward.ics)) throw new Error(`ward ${ward.wardId} names unknown ics ${ward.ics} (add it under systems)`);
  }
  const sourceIds = new Set<string>();
  for (const source of data.capacitySources ?? []) {
    if (sourceIds.has(source.sourceId)) throw new Error(`capacity source ${source.sourceId} is listed twice`);
    if (devices.has(source.sourceId)) throw new Error(`capacity source ${source.sourceId} has a device's id: MQTT usernames must be unique`);
    sourceIds.add(source.sourceId);
  }
  const activeOf = (patientId: string, at: Date) =>
    (byPatient.get(patientId) ?? []).filter((e) => covers(e, at.getTime()));
  const firstEnrolment = (patientId: string) =>
    (byPatient.get(patientId) ?? []).reduce<Enrolment | undefined>((first, e) => (!first || Date.parse(e.from) < Date.parse(first.from) ? e : first), undefined);
  const wardAt = (patientId: string, at: Date) => activeOf(patientId, at)[0]?.wardId ?? firstEnrolment(patientId)?.wardId;

  /** Version 0 and the history as complete PatientSettings, oldest first; empty when there is no ward to name. */
  const versionsOf = new Map<string, PatientSettings[]>();
  for (const patient of data.patients) {
    const first = firstEnrolment(patient.patientId);
    if (!first) continue;
    const registered: PatientSettings = {
      patientId: patient.patientId,
      wardId: first.wardId,
      version: 0,
      effectiveFrom: first.from,
      setBy: REGISTRY_SETTER,
      reason: 'as registered',
      spo2Scale: patient.spo2Scale,
      values: { ...(patient.settings ?? {}) },
    };
    const versions = [registered];
    for (const entry of patient.settingsHistory ?? []) {
      const at = new Date(entry.effectiveFrom);
      versions.push({
        patientId: patient.patientId,
        wardId: wardAt(patient.patientId, at)!,
        version: entry.version,
        effectiveFrom: entry.effectiveFrom,
        setBy: entry.setBy,
        reason: entry.reason,
        spo2Scale: entry.spo2Scale ?? versions.at(-1)!.spo2Scale,
        ...(entry.pathways ? { pathways: entry.pathways } : {}),
        values: entry.values,
      });
    }
    versionsOf.set(patient.patientId, versions);
  }

  return {
    device: (id) => devices.get(id),
    enrolmentAt: (id, ts) => (byDevice.get(id) ?? []).find((e) => covers(e, ts.getTime())),
    everEnrolled: (id) => byDevice.has(id),
    patient: (id) => patients.get(id),
    ward: (id) => wards.get(id),
    wards: () => [...wards.values()],
    system: (id) => systems.get(id),
    capacitySources: () => [...(data.capacitySources ?? [])],
    patientsOfWard(wardId, at) {
      const out: Patient[] = [];
      for (const [patientId] of byPatient) {
        if (activeOf(patientId, at).some((e) => e.wardId === wardId)) out.push(patients.get(patientId)!);
      }
      return out;
    },
    pathwaysOf: (patientId, at) => [...new Set(activeOf(patientId, at).map((e) => e.pathway))],
    wardOf: (patientId, at) => activeOf(patientId, at)[0]?.wardId,
    settingsAt(patientId, at) {
      const versions = versionsOf.get(patientId);
      if (!versions) return undefined;
      // Version 0 applies from the start of time: the registry's values are all there is before v1.
      let held = versions[0]!;
      for (const v of versions) if (Date.parse(v.effectiveFrom) <= at.getTime()) held = v;
      const wardId = wardAt(patientId, at)!;
      return held.wardId === wardId ? held : { ...held, wardId };
    },
    settingsVersions: (patientId) => [...(versionsOf.get(patientId) ?? [])],
  };
}
