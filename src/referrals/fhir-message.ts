import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry, MessageHeader, Observation, Patient as FhirPatient, Resource, ServiceRequest } from '@medplum/fhirtypes';
import type { AlertEvidence, Patient, Referral, Ward } from '../domain/index.ts';
import type { ReferralRoute } from './routes-file.ts';

/**
 * A referral as a FHIR R4 message Bundle shaped after the NHS Booking and Referral Standard (BaRS):
 * MessageHeader (event servicerequest-request, source, destination), the ServiceRequest it focuses on,
 * the Patient (NHS number), and the evidence as vital-signs Observations with LOINC codes and UCUM
 * units, as UK Core profiles them (docs/referrals.md). Ids are derived from the referral id, so a
 * message sent again is the same message: receivers de-duplicate on MessageHeader.id.
 */
export const BARS_EVENT_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/message-events-bars';
export const BARS_REASON_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/message-reason-bars';
export const BARS_REFERRAL_DEFINITION = 'https://fhir.nhs.uk/MessageDefinition/bars-message-servicerequest-request-referral';
export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
export const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';
const SNOMED = 'http://snomed.info/sct';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
/** vw's own code system for its referral routes: local policy names them (rules/referral-routes.yaml). */
export const ROUTE_SYSTEM = 'https://vw.nhs.invalid/CodeSystem/referral-route';

const UK_CORE = 'https://fhir.hl7.org.uk/StructureDefinition/';
/**
 * Each vital as UK Core codes it: the LOINC "magic code" of FHIR's vital-signs profiles with the SNOMED
 * CT concept beside it, UCUM units, and the UK Core profile. Systolic and diastolic taken together
 * travel as one blood pressure panel (below).
 */
const VITAL: Record<string, { loinc: Array<{ code: string; display: string }>; snomed?: { code: string; display: string }; unit?: string; profile?: string }> = {
  respiratory_rate: { loinc: [{ code: '9279-1', display: 'Respiratory rate' }], snomed: { code: '86290005', display: 'Respiratory rate' }, unit: '/min', profile: 'UKCore-Observation-VitalSigns-RespiratoryRate' },
  heart_rate: { loinc: [{ code: '8867-4', display: 'Heart rate' }], snomed: { code: '364075005', display: 'Heart rate' }, unit: '/min', profile: 'UKCore-Observation-VitalSigns-HeartRate' },
  spo2: {
    loinc: [{ code: '2708-6', display: 'Oxygen saturation in Arterial blood' }, { code: '59408-5', display: 'Oxygen saturation in Arterial blood by Pulse oximetry' }],
    snomed: { code: '431314004', display: 'Peripheral oxygen saturation' },
    unit: '%',
    profile: 'UKCore-Observation-VitalSigns-OxygenSaturation',
  },
  temperature: { loinc: [{ code: '8310-5', display: 'Body temperature' }], snomed: { code: '276885007', display: 'Core body temperature' }, unit: 'Cel', profile: 'UKCore-Observation-VitalSigns-BodyTemperature' },
  weight: { loinc: [{ code: '29463-7', display: 'Body weight' }], snomed: { code: '27113001', display: 'Body weight' }, unit: 'kg', profile: 'UKCore-Observation-VitalSigns-BodyWeight' },
  systolic_bp: { loinc: [{ code: '8480-6', display: 'Systolic blood pressure' }], snomed: { code: '271649006', display: 'Systolic blood pressure' }, unit: 'mm[Hg]' },
  diastolic_bp: { loinc: [{ code: '8462-4', display: 'Diastolic blood pressure' }], snomed: { code: '271650006', display: 'Diastolic blood pressure' }, unit: 'mm[Hg]' },
};
const BP_PANEL = { loinc: [{ code: '85354-9', display: 'Blood pressure panel with all children optional' }], snomed: { code: '75367002', display: 'Blood pressure' } };

function codeOf(v: { loinc: Array<{ code: string; display: string }>; snomed?: { code: string; display: string } }, text: string) {
  return {
    coding: [...v.loinc.map((c) => ({ system: LOINC, ...c })), ...(v.snomed ? [{ system: SNOMED, ...v.snomed }] : [])],
    text,
  };
}

/** A stable name-based (version 5 style) UUID per resource of one referral's message. */
const uuid = (referralId: string, suffix: string) => {
  const hex = createHash('sha256').update(`${referralId}:${suffix}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

export function observationFor(evidence: AlertEvidence, patientRef: string): Observation {
  const vital = VITAL[evidence.type];
  const base: Observation = {
    resourceType: 'Observation',
    ...(vital?.profile ? { meta: { profile: [`${UK_CORE}${vital.profile}`] } } : { meta: { profile: [`${UK_CORE}UKCore-Observation`] } }),
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }],
    code: vital ? codeOf(vital, vital.loinc[0]!.display) : { text: evidence.type.replaceAll('_', ' ') },
    subject: { reference: patientRef },
    effectiveDateTime: evidence.ts,
    identifier: [{ system: 'https://vw.nhs.invalid/Id/reading', value: evidence.readingId }],
    note: [{ text: `Held against: ${evidence.threshold}` }],
  };
  if (typeof evidence.value === 'number' && vital?.unit) {
    return { ...base, valueQuantity: { value: evidence.value, unit: vital.unit, system: UCUM, code: vital.unit } };
  }
  if (typeof evidence.value === 'boolean') return { ...base, valueBoolean: evidence.value };
  return { ...base, valueString: String(evidence.value) };
}

/** A systolic and a diastolic reading taken together, as UK Core's blood pressure panel with two components. */
export function bloodPressureFor(systolic: AlertEvidence, diastolic: AlertEvidence, patientRef: string): Observation {
  const component = (e: AlertEvidence) => {
    const v = VITAL[e.type]!;
    return { code: codeOf(v, v.loinc[0]!.display), valueQuantity: { value: e.value as number, unit: 'mm[Hg]', system: UCUM, code: 'mm[Hg]' } };
  };
  return {
    resourceType: 'Observation',
    meta: { profile: [`${UK_CORE}UKCore-Observation-VitalSigns-BloodPressure`] },
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }],
    code: codeOf(BP_PANEL, 'Blood pressure'),
    subject: { reference: patientRef },
    effectiveDateTime: systolic.ts,
    identifier: [{ system: 'https://vw.nhs.invalid/Id/reading', value: systolic.readingId }, { system: 'https://vw.nhs.invalid/Id/reading', value: diastolic.readingId }],
    component: [component(systolic), component(diastolic)],
    note: [{ text: `Held against: ${[...new Set([systolic.threshold, diastolic.threshold])].join('; ')}` }],
  };
}

/** The evidence as Observations: systolic and diastolic of one measurement paired into a panel. */
function evidenceObservations(evidence: AlertEvidence[], patientRef: string): Observation[] {
  const out: Observation[] = [];
  const used = new Set<AlertEvidence>();
  for (const e of evidence) {
    if (used.has(e)) continue;
    if (e.type === 'systolic_bp' && typeof e.value === 'number') {
      const pair = evidence.find((d) => d.type === 'diastolic_bp' && d.ts === e.ts && typeof d.value === 'number' && !used.has(d));
      if (pair) {
        used.add(e).add(pair);
        out.push(bloodPressureFor(e, pair, patientRef));
        continue;
      }
    }
    used.add(e);
    out.push(observationFor(e, patientRef));
  }
  return out;
}

export function referralMessage(input: {
  referral: Referral;
  patient: Patient;
  ward: Ward;
  route: ReferralRoute;
  /** Where the receiver is (its endpoint URL). */
  destination: string;
  /** The sender's own base URL, for MessageHeader.source.endpoint. */
  sourceEndpoint: string;
}): Bundle {
  const { referral, patient, ward, route } = input;
  const cancelling = referral.state === 'cancelled';
  const ids = {
    // The cancellation is a message of its own: a receiver de-duplicating on MessageHeader.id must not drop it as a repeat.
    header: uuid(referral.referralId, cancelling ? 'header-cancel' : 'header'),
    request: uuid(referral.referralId, 'request'),
    patient: uuid(referral.referralId, 'patient'),
  };
  const patientRef = `urn:uuid:${ids.patient}`;
  const observations = evidenceObservations(referral.evidence, patientRef).map((resource, i) => {
    const id = uuid(referral.referralId, `obs-${i}`);
    return { id, resource: { ...resource, id } };
  });
  // The message's time is the clinician's act (the request, or the cancellation), not the last
  // revision's: a message sent again after retries is the same message, byte for byte.
  const messageTime = cancelling ? ([...referral.history].reverse().find((h) => h.state === 'cancelled')?.at ?? referral.updatedAt) : referral.requestedAt;
  const fhirPatient: FhirPatient = {
    resourceType: 'Patient',
    id: ids.patient,
    meta: { profile: [`${UK_CORE}UKCore-Patient`] },
    ...(patient.nhsNumber ? { identifier: [{ system: NHS_NUMBER_SYSTEM, value: patient.nhsNumber }] } : {}),
    name: [{ text: patient.displayName }],
    ...(patient.dateOfBirth ? { birthDate: patient.dateOfBirth } : {}),
  };
  const request: ServiceRequest = {
    resourceType: 'ServiceRequest',
    id: ids.request,
    meta: { profile: [`${UK_CORE}UKCore-ServiceRequest`] },
    identifier: [{ system: 'https://vw.nhs.invalid/Id/referral', value: referral.referralId }],
    status: referral.state === 'cancelled' ? 'revoked' : 'active',
    intent: 'order',
    category: [{ coding: [{ system: SNOMED, code: '3457005', display: 'Patient referral' }] }],
    priority: referral.priority,
    code: { coding: [{ system: ROUTE_SYSTEM, code: route.id, display: route.title }], text: `${route.title} (${referral.urgency})` },
    subject: { reference: patientRef },
    authoredOn: referral.requestedAt,
    requester: { display: `${referral.requestedBy}, ${ward.name}`, identifier: { system: ODS_SYSTEM, value: ward.organisation } },
    reasonCode: [{ text: referral.reason }],
    supportingInfo: observations.map((o) => ({ reference: `urn:uuid:${o.id}` })),
    note: [{ text: `Raised from ${ward.name}${referral.alertIds.length ? ` for alert ${referral.alertIds.join(', ')}` : ''}; route data version ${referral.routesVersion}.` }],
  };
  const header: MessageHeader = {
    resourceType: 'MessageHeader',
    id: ids.header,
    definition: BARS_REFERRAL_DEFINITION,
    eventCoding: { system: BARS_EVENT_SYSTEM, code: 'servicerequest-request', display: 'ServiceRequest Request' },
    reason: { coding: [{ system: BARS_REASON_SYSTEM, code: referral.state === 'cancelled' ? 'update' : 'new' }] },
    destination: [{ name: route.title, endpoint: input.destination }],
    sender: { identifier: { system: ODS_SYSTEM, value: ward.organisation }, display: ward.name },
    source: { name: 'vw', endpoint: input.sourceEndpoint },
    focus: [{ reference: `urn:uuid:${ids.request}` }],
  };
  const entry = (id: string, resource: Resource): BundleEntry => ({ fullUrl: `urn:uuid:${id}`, resource });
  return {
    resourceType: 'Bundle',
    id: uuid(referral.referralId, `bundle-${referral.state === 'cancelled' ? 'cancel' : 'request'}`),
    meta: { lastUpdated: messageTime },
    identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${ids.header}` },
    type: 'message',
    timestamp: messageTime,
    entry: [entry(ids.header, header), entry(ids.request, request), entry(ids.patient, fhirPatient), ...observations.map((o) => entry(o.id, o.resource))],
  };
}
