import type { Bundle, MessageHeader, Observation, Patient as FhirPatient, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvidence, Patient, Referral, RequestPriority, Ward } from '../../../src/domain/index.ts';
import { BARS_EVENT_SYSTEM, NHS_NUMBER_SYSTEM, ODS_SYSTEM, referralMessage } from '../../../src/referrals/fhir-message.ts';
import { createRouteCatalogue, loadReferralRoutes, type RouteCatalogue } from '../../../src/referrals/routes-file.ts';

/**
 * A referral as a BaRS-shaped FHIR R4 message Bundle: its structure, that every reference resolves
 * inside it, the codes and units of its observations (LOINC and UCUM, ../shared/reference/clinical.md
 * section 5), and that the same referral always gives the same bytes.
 */
let routes: RouteCatalogue;
beforeAll(async () => {
  routes = createRouteCatalogue(await loadReferralRoutes('rules/referral-routes.yaml'));
});

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const UUID_URL = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const patient: Patient = { patientId: 'pt-0001', displayName: 'Ada Stable', nhsNumber: '9990000018', dateOfBirth: '1948-03-02', spo2Scale: 1 };
const ward: Ward = { wardId: 'ward-ari', name: 'Acute Respiratory Virtual Ward', organisation: 'RXX', capacity: 40 };
const ts = '2026-11-22T11:55:00.000Z';
const ev = (type: string, value: AlertEvidence['value'], i: number): AlertEvidence => ({ readingId: `r-${i}`, type, value, ts, threshold: `threshold ${i}` });
const EVIDENCE: AlertEvidence[] = [
  ev('spo2', 91, 1),
  ev('respiratory_rate', 25, 2),
  ev('heart_rate', 118, 3),
  ev('temperature', 38.4, 4),
  ev('systolic_bp', 96, 5),
  ev('diastolic_bp', 58, 6),
  ev('weight', 84.2, 7),
  ev('consciousness', 'A', 8),
  ev('supplemental_oxygen', false, 9),
];

function referral(extra: Partial<Referral> = {}): Referral {
  return {
    referralId: 'b4d7a3b0-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    patientId: 'pt-0001',
    wardId: 'ward-ari',
    route: 'urgent-community-response',
    routeTitle: 'Urgent community response (2-hour)',
    routesVersion: '1.0.0',
    priority: 'asap',
    urgency: 'within 2 hours',
    alertIds: ['al-42'],
    reason: 'NEWS2 7: RR 25, SpO2 91%, HR 118',
    evidence: EVIDENCE,
    requestedBy: 'nurse.jones',
    requestedAt: '2026-11-22T12:00:00.000Z',
    state: 'requested',
    revision: 0,
    updatedAt: '2026-11-22T12:00:00.000Z',
    history: [{ state: 'requested', at: '2026-11-22T12:00:00.000Z', by: 'nurse.jones' }],
    delivery: { status: 'pending', attempts: 0 },
    ...extra,
  };
}

function message(r: Referral = referral(), p: Patient = patient): Bundle {
  return referralMessage({ referral: r, patient: p, ward, route: routes.route(r.route)!, destination: 'https://ucr.example.nhs.uk/fhir/$process-message', sourceEndpoint: 'https://vw.example.nhs.uk' });
}

const resources = (bundle: Bundle) => (bundle.entry ?? []).map((e) => e.resource as Resource);
const only = <T extends Resource['resourceType']>(bundle: Bundle, type: T) => resources(bundle).filter((r) => r.resourceType === type) as Extract<Resource, { resourceType: T }>[];
const entryOf = (bundle: Bundle, reference: string) => bundle.entry?.find((e) => e.fullUrl === reference)?.resource;

/** Every `reference` anywhere in the value. */
function references(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => references(v, found));
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'reference' && typeof v === 'string') found.push(v);
      else references(v, found);
    }
  }
  return found;
}

describe('referral message', () => {
  it('is a message Bundle whose first entry is a BaRS servicerequest-request MessageHeader', () => {
    const bundle = message();
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'message', timestamp: '2026-11-22T12:00:00.000Z' });
    const header = bundle.entry![0]!.resource as MessageHeader;
    expect(header.resourceType).toBe('MessageHeader');
    expect(header.eventCoding).toMatchObject({ system: BARS_EVENT_SYSTEM, code: 'servicerequest-request' });
    expect(header.reason?.coding?.[0]?.code).toBe('new');
    expect(header.destination).toEqual([{ name: 'Urgent community response (2-hour)', endpoint: 'https://ucr.example.nhs.uk/fhir/$process-message' }]);
    expect(header.source).toEqual({ name: 'vw', endpoint: 'https://vw.example.nhs.uk' });
    expect(header.sender?.identifier).toEqual({ system: ODS_SYSTEM, value: 'RXX' });
    expect(only(bundle, 'MessageHeader')).toHaveLength(1);
    expect(bundle.identifier?.value).toBe(`urn:uuid:${header.id}`);
  });

  it('focuses on the ServiceRequest, whose fullUrl the focus names', () => {
    const bundle = message();
    const header = bundle.entry![0]!.resource as MessageHeader;
    expect(header.focus).toHaveLength(1);
    const focus = entryOf(bundle, header.focus![0]!.reference!);
    expect(focus?.resourceType).toBe('ServiceRequest');
    expect(bundle.entry![1]!.resource).toBe(focus);
  });

  it('resolves every reference to an entry of the bundle, each with a distinct urn:uuid fullUrl matching its id', () => {
    const bundle = message();
    const urls = bundle.entry!.map((e) => e.fullUrl!);
    expect(urls.every((u) => UUID_URL.test(u))).toBe(true);
    expect(new Set(urls).size).toBe(urls.length);
    // Every resource carries its id, and its fullUrl is that id.
    for (const e of bundle.entry!) expect(e.fullUrl).toBe(`urn:uuid:${e.resource!.id}`);
    const refs = references(bundle);
    // focus, the request's subject, its supporting info (one per observation: systolic and diastolic
    // travel as one panel) and each observation's subject.
    expect(refs).toHaveLength(1 + 1 + 2 * (EVIDENCE.length - 1));
    expect(refs.filter((r) => !urls.includes(r))).toEqual([]);
  });

  it('carries the request: referral id, route, priority, reason, requester and supporting observations', () => {
    const bundle = message();
    const [request] = only(bundle, 'ServiceRequest') as ServiceRequest[];
    expect(request).toMatchObject({
      status: 'active',
      intent: 'order',
      priority: 'asap',
      identifier: [{ value: 'b4d7a3b0-1c2d-4e5f-8a9b-0c1d2e3f4a5b' }],
      authoredOn: '2026-11-22T12:00:00.000Z',
      reasonCode: [{ text: 'NEWS2 7: RR 25, SpO2 91%, HR 118' }],
      requester: { display: 'nurse.jones, Acute Respiratory Virtual Ward', identifier: { system: ODS_SYSTEM, value: 'RXX' } },
    });
    expect(request!.code?.coding?.[0]).toMatchObject({ code: 'urgent-community-response', display: 'Urgent community response (2-hour)' });
    expect(request!.code?.text).toBe('Urgent community response (2-hour) (within 2 hours)');
    expect(request!.note?.[0]?.text).toMatch(/alert al-42.*version 1\.0\.0/);
    expect(entryOf(bundle, request!.subject!.reference!)?.resourceType).toBe('Patient');
    const supporting = request!.supportingInfo!.map((s) => entryOf(bundle, s.reference!));
    expect(supporting.map((o) => o?.resourceType)).toEqual(EVIDENCE.slice(1).map(() => 'Observation'));
  });

  it.each<[string, RequestPriority]>([
    ['ambulance-999', 'stat'],
    ['sdec-ed', 'asap'],
    ['nhs111-clinical-assessment', 'urgent'],
    ['same-day-gp', 'urgent'],
  ])('maps the priority of a %s referral (%s) to ServiceRequest.priority', (route, priority) => {
    const [request] = only(message(referral({ route, priority })), 'ServiceRequest') as ServiceRequest[];
    expect(request!.priority).toBe(priority);
    expect(request!.code?.coding?.[0]?.code).toBe(route);
  });

  it('names the patient by NHS number, name and date of birth', () => {
    const [fhirPatient] = only(message(), 'Patient') as FhirPatient[];
    expect(fhirPatient!.identifier).toEqual([{ system: NHS_NUMBER_SYSTEM, value: '9990000018' }]);
    expect(NHS_NUMBER_SYSTEM).toBe('https://fhir.nhs.uk/Id/nhs-number');
    expect(fhirPatient!.name).toEqual([{ text: 'Ada Stable' }]);
    expect(fhirPatient!.birthDate).toBe('1948-03-02');
    // A patient without an NHS number is sent without an identifier, never an empty one.
    const [unnumbered] = only(message(referral(), { patientId: 'pt-x', displayName: 'No Number', spo2Scale: 1 }), 'Patient') as FhirPatient[];
    expect(unnumbered!.identifier).toBeUndefined();
    expect(unnumbered!.birthDate).toBeUndefined();
  });

  it('codes vital-sign observations as UK Core does: LOINC magic code, SNOMED CT concept, UCUM units, profile', () => {
    const observations = only(message(), 'Observation') as Observation[];
    const byReading = new Map(observations.map((o) => [o.identifier![0]!.value!, o]));
    const expected: Array<[string, string[], string, number, string, string]> = [
      ['r-1', ['2708-6', '59408-5'], '431314004', 91, '%', 'OxygenSaturation'],
      ['r-2', ['9279-1'], '86290005', 25, '/min', 'RespiratoryRate'],
      ['r-3', ['8867-4'], '364075005', 118, '/min', 'HeartRate'],
      ['r-4', ['8310-5'], '276885007', 38.4, 'Cel', 'BodyTemperature'],
      ['r-7', ['29463-7'], '27113001', 84.2, 'kg', 'BodyWeight'],
    ];
    for (const [readingId, loinc, snomed, value, unit, profile] of expected) {
      const o = byReading.get(readingId)!;
      expect(o.status).toBe('final');
      expect(o.category?.[0]?.coding?.[0]?.code).toBe('vital-signs');
      expect(o.code.coding!.filter((c) => c.system === LOINC).map((c) => c.code)).toEqual(loinc);
      expect(o.code.coding!.filter((c) => c.system === 'http://snomed.info/sct').map((c) => c.code)).toEqual([snomed]);
      expect(o.meta?.profile).toEqual([`https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation-VitalSigns-${profile}`]);
      expect(o.valueQuantity).toEqual({ value, unit, system: UCUM, code: unit });
      expect(o.effectiveDateTime).toBe(ts);
    }
    // Systolic and diastolic of one measurement: one blood pressure panel with two components.
    const bp = byReading.get('r-5')!;
    expect(bp.identifier!.map((i) => i.value)).toEqual(['r-5', 'r-6']);
    expect(bp.code.coding!.map((c) => c.code)).toEqual(['85354-9', '75367002']);
    expect(bp.meta?.profile).toEqual(['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation-VitalSigns-BloodPressure']);
    expect(bp.component!.map((c) => [c.code.coding![0]!.code, c.code.coding![1]!.code, c.valueQuantity])).toEqual([
      ['8480-6', '271649006', { value: 96, unit: 'mm[Hg]', system: UCUM, code: 'mm[Hg]' }],
      ['8462-4', '271650006', { value: 58, unit: 'mm[Hg]', system: UCUM, code: 'mm[Hg]' }],
    ]);
    expect(bp.valueQuantity).toBeUndefined();
    // A systolic reading alone (NEWS2 scores only the systolic) is its own observation.
    const [alone] = only(message(referral({ evidence: [ev('systolic_bp', 96, 5)] })), 'Observation') as Observation[];
    expect(alone!.code.coding!.map((c) => c.code)).toEqual(['8480-6', '271649006']);
    expect(alone!.valueQuantity).toEqual({ value: 96, unit: 'mm[Hg]', system: UCUM, code: 'mm[Hg]' });
    // Values with no code here travel as they are, never with a made-up code.
    expect(byReading.get('r-8')).toMatchObject({ code: { text: 'consciousness' }, valueString: 'A' });
    expect(byReading.get('r-8')!.code.coding).toBeUndefined();
    expect(byReading.get('r-9')).toMatchObject({ code: { text: 'supplemental oxygen' }, valueBoolean: false });
    expect(byReading.get('r-1')!.note).toEqual([{ text: 'Held against: threshold 1' }]);
  });

  it('gives byte-identical bundles for the same referral, however many attempts revised it since', () => {
    const a = JSON.stringify(message());
    const b = JSON.stringify(message(structuredClone(referral())));
    expect(b).toBe(a);
    // A resend after retries: a later revision, a later updatedAt, the same message.
    const retried = referral({ revision: 4, updatedAt: '2026-11-22T12:09:00.000Z', delivery: { status: 'retrying', attempts: 3, lastError: 'receiver answered 503' } });
    expect(JSON.stringify(message(retried))).toBe(a);
    // A different referral is a different message throughout.
    const other = message(referral({ referralId: 'c4d7a3b0-1c2d-4e5f-8a9b-0c1d2e3f4a5b' }));
    const ids = (bundle: Bundle) => bundle.entry!.map((e) => e.fullUrl);
    expect(ids(other).filter((id) => ids(JSON.parse(a) as Bundle).includes(id))).toEqual([]);
  });

  it('sends a cancellation as a new message revoking the same ServiceRequest', () => {
    const request = message();
    const cancellation = message(referral({ state: 'cancelled', revision: 3, updatedAt: '2026-11-22T12:30:00.000Z' }));
    const header = cancellation.entry![0]!.resource as MessageHeader;
    const [revoked] = only(cancellation, 'ServiceRequest') as ServiceRequest[];
    expect(revoked!.status).toBe('revoked');
    expect(header.eventCoding?.code).toBe('servicerequest-request');
    expect(header.reason?.coding?.[0]?.code).toBe('update');
    expect(cancellation.timestamp).toBe('2026-11-22T12:30:00.000Z');
    // The same ServiceRequest and Patient, updated …
    expect(revoked!.id).toBe((only(request, 'ServiceRequest')[0] as ServiceRequest).id);
    // … in a message of its own: receivers de-duplicate on MessageHeader.id, and must not drop it as a repeat.
    expect(header.id).not.toBe((request.entry![0]!.resource as MessageHeader).id);
    expect(cancellation.id).not.toBe(request.id);
    expect(cancellation.identifier?.value).not.toBe(request.identifier?.value);
    expect(JSON.stringify(message(referral({ state: 'cancelled', revision: 3, updatedAt: '2026-11-22T12:30:00.000Z' })))).toBe(JSON.stringify(cancellation));
  });
});
