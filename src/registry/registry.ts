import { REGISTRY_SETTER, type CapacitySource, type FlowEvent, type IntegratedCareSystem, type Device, type Enrolment, type Pathway, type Patient, type PatientSettings, type RegistryData, type Ward } from '../domain/index.ts';

/** What an admission, transfer or discharge changed: who, on which wards (their list of patients, their devices). */
export interface EnrolmentChange {
  patientId: string;
  /** The wards that gained or lost the patient. */
  wardIds: string[];
  at: string;
}

/**
 * Lookups over wards, patients, devices and enrolments. Ingest uses it to map a device to a patient
 * at the reading's event time; the feed uses it to list a ward's patients. Wards, patients and devices
 * are as registered; enrolments follow the patient-flow topic (`applyFlow`).
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
  /** Patients with at least one device enrolled on the ward at `at`, or admitted to it by the flow. */
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
  /** Device ids enrolled to the patient at `at`. */
  devicesOf(patientId: string, at: Date): string[];
  /**
   * Why the admission cannot lend these devices, or undefined when it can: each must be registered,
   * and lent to nobody else from `at` on; the patient must be registered to be lent any.
   */
  lendingProblem(patientId: string, deviceIds: readonly string[], at: Date): { field: string; message: string; conflict: boolean } | undefined;
  /**
   * Enrolments follow the flow: an admission enrols the devices it names from its time, a transfer
   * moves the patient's enrolments to the new ward, a discharge ends them; a registered patient is on
   * the ward from admission to discharge, devices or not. Idempotent by event id; returns what
   * changed, or undefined for a redelivery or an event that changes nothing the registry knows.
   */
  applyFlow(event: FlowEvent): EnrolmentChange | undefined;
  /** Called after each change `applyFlow` makes. */
  onEnrolmentChange(listener: (change: EnrolmentChange) => void): () => void;
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
  const enrol = (e: Enrolment) => {
    byDevice.set(e.deviceId, [...(byDevice.get(e.deviceId) ?? []), e]);
    byPatient.set(e.patientId, [...(byPatient.get(e.patientId) ?? []), e]);
  };
  /** Ends an enrolment at `at` (one starting later is withdrawn altogether). */
  const end = (e: Enrolment, at: string) => {
    const ended: Enrolment | undefined = Date.parse(e.from) < Date.parse(at) ? { ...e, until: at } : undefined;
    const swap = (list: Enrolment[]) => list.flatMap((x) => (x === e ? (ended ? [ended] : []) : [x]));
    byDevice.set(e.deviceId, swap(byDevice.get(e.deviceId)!));
    byPatient.set(e.patientId, swap(byPatient.get(e.patientId)!));
  };
  for (const e of data.enrolments) {
    if (!devices.has(e.deviceId)) throw new Error(`enrolment names unknown device ${e.deviceId}`);
    if (!patients.has(e.patientId)) throw new Error(`enrolment of ${e.deviceId} names an unknown patient`);
    if (!wards.has(e.wardId)) throw new Error(`enrolment of ${e.deviceId} names unknown ward ${e.wardId}`);
    enrol(e);
  }
  const flowApplied = new Set<string>();
  const listeners = new Set<(change: EnrolmentChange) => void>();
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

  /**
   * Version 0 and the history as complete PatientSettings, oldest first; undefined when there is no
   * ward to name. Worked out when first asked for, and again after the patient's enrolments change.
   */
  const versionsCache = new Map<string, PatientSettings[] | undefined>();
  const versionsOf = (patientId: string): PatientSettings[] | undefined => {
    if (versionsCache.has(patientId)) return versionsCache.get(patientId);
    const patient = patients.get(patientId);
    const first = patient && firstEnrolment(patientId);
    let versions: PatientSettings[] | undefined;
    if (patient && first) {
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
      versions = [registered];
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
    }
    versionsCache.set(patientId, versions);
    return versions;
  };
  /** The patient's enrolments not ended by `at` (including any starting later). */
  const openAt = (patientId: string, at: number) => (byPatient.get(patientId) ?? []).filter((e) => e.until === undefined || at < Date.parse(e.until));

  /**
   * Registered patients' time on wards by the flow, devices or not: a patient admitted before any
   * device is lent is on the ward all the same, and consoles list them.
   */
  const flowStays = new Map<string, Array<{ wardId: string; pathway: Pathway; from: number; until?: number }>>();
  const stayAt = (patientId: string, at: number) => flowStays.get(patientId)?.find((st) => st.from <= at && (st.until === undefined || at < st.until));
  function followStay(event: FlowEvent, at: number): string[] {
    if (!patients.has(event.patientId)) return [];
    const list = flowStays.get(event.patientId) ?? [];
    flowStays.set(event.patientId, list);
    if (event.kind === 'admit') {
      if (!wards.has(event.wardId)) return [];
      list.push({ wardId: event.wardId, pathway: event.pathway, from: at });
      return [event.wardId];
    }
    const fromWard = event.kind === 'transfer' ? event.fromWardId : event.wardId;
    const open = list.find((st) => st.wardId === fromWard && (st.until === undefined || at < st.until));
    if (!open) return [];
    open.until = at;
    if (event.kind === 'discharge' || !wards.has(event.wardId)) return [fromWard];
    list.push({ wardId: event.wardId, pathway: event.pathway ?? open.pathway, from: at });
    return [fromWard, event.wardId];
  }

  function applyFlow(event: FlowEvent): EnrolmentChange | undefined {
    if (flowApplied.has(event.eventId)) return undefined;
    flowApplied.add(event.eventId);
    const at = Date.parse(event.at);
    let wardIds: string[] = followStay(event, at);
    if (event.kind === 'admit') {
      for (const deviceId of event.deviceIds ?? []) {
        // The intake checked these; a record that no longer fits (e.g. replayed against other seeds) enrols what it can.
        if (!devices.has(deviceId) || !patients.has(event.patientId) || !wards.has(event.wardId)) continue;
        if ((byDevice.get(deviceId) ?? []).some((e) => e.patientId !== event.patientId && (e.until === undefined || at < Date.parse(e.until)))) continue;
        enrol({ deviceId, patientId: event.patientId, wardId: event.wardId, pathway: event.pathway, from: event.at });
        wardIds = [...new Set([...wardIds, event.wardId])];
      }
    } else {
      for (const e of openAt(event.patientId, at)) {
        if (event.kind === 'transfer' && e.wardId !== event.fromWardId) continue;
        end(e, event.at);
        wardIds = [...new Set([...wardIds, e.wardId])];
        if (event.kind === 'transfer' && wards.has(event.wardId)) {
          enrol({ deviceId: e.deviceId, patientId: e.patientId, wardId: event.wardId, pathway: event.pathway ?? e.pathway, from: event.at });
          wardIds = [...new Set([...wardIds, event.wardId])];
        }
      }
    }
    if (!wardIds.length) return undefined;
    versionsCache.delete(event.patientId);
    const change: EnrolmentChange = { patientId: event.patientId, wardIds, at: event.at };
    for (const listener of listeners) listener(change);
    return change;
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
      for (const [patientId] of flowStays) {
        if (stayAt(patientId, at.getTime())?.wardId === wardId && !out.some((p) => p.patientId === patientId)) out.push(patients.get(patientId)!);
      }
      return out;
    },
    pathwaysOf(patientId, at) {
      const enrolled = [...new Set(activeOf(patientId, at).map((e) => e.pathway))];
      const stay = enrolled.length ? undefined : stayAt(patientId, at.getTime());
      return stay ? [stay.pathway] : enrolled;
    },
    wardOf: (patientId, at) => activeOf(patientId, at)[0]?.wardId ?? stayAt(patientId, at.getTime())?.wardId,
    settingsAt(patientId, at) {
      const versions = versionsOf(patientId);
      if (!versions) return undefined;
      // Version 0 applies from the start of time: the registry's values are all there is before v1.
      let held = versions[0]!;
      for (const v of versions) if (Date.parse(v.effectiveFrom) <= at.getTime()) held = v;
      const wardId = wardAt(patientId, at)!;
      return held.wardId === wardId ? held : { ...held, wardId };
    },
    settingsVersions: (patientId) => [...(versionsOf(patientId) ?? [])],
    devicesOf: (patientId, at) => activeOf(patientId, at).map((e) => e.deviceId),
    lendingProblem(patientId, deviceIds, at) {
      if (deviceIds.length && !patients.has(patientId)) {
        return { field: 'patientId', conflict: false, message: `patient ${patientId} is not in the registry: register the patient before lending devices` };
      }
      for (const [i, deviceId] of deviceIds.entries()) {
        if (!devices.has(deviceId)) return { field: `deviceIds.${i}`, conflict: false, message: `device ${deviceId} is not in the registry` };
        const lent = (byDevice.get(deviceId) ?? []).find((e) => e.patientId !== patientId && (e.until === undefined || at.getTime() < Date.parse(e.until)));
        if (lent) return { field: `deviceIds.${i}`, conflict: true, message: `device ${deviceId} is lent to another patient${lent.until ? ` until ${lent.until}` : ''}` };
      }
      return undefined;
    },
    applyFlow,
    onEnrolmentChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
