import type { Encounter, EncounterLocation } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { AdmitEvent, DischargeEvent, TransferEvent, type DischargeOutcome } from '../../../src/domain/index.ts';
import {
  ACT_CODE_SYSTEM,
  ADMISSION_KIND_SYSTEM,
  ADMISSION_SOURCE_SYSTEM,
  ADMIT_SOURCE_SYSTEM,
  DEVICE_LENT_EXTENSION,
  DISCHARGE_DISPOSITION_SYSTEM,
  DISCHARGE_OUTCOME_SYSTEM,
  encounterToFlow,
  flowOutcomeOf,
  flowOutcomeResource,
  IMD_DECILE_EXTENSION,
  PATHWAY_SYSTEM,
  PATIENT_ID_SYSTEM,
  WARD_ID_SYSTEM,
  type EncounterMapping,
} from '../../../src/flow/fhir-encounter.ts';

/**
 * A FHIR R4 Encounter read as an admission, a discharge or a transfer (docs/fhir-encounter.md): the
 * codes each element takes, the event id that makes a re-sent Encounter count once, and that every
 * refusal names the Encounter element at fault.
 */
const ward = (wardId: string, status: EncounterLocation['status'], period?: EncounterLocation['period']): EncounterLocation => ({
  location: { reference: `Location/${wardId}` },
  ...(status ? { status } : {}),
  ...(period ? { period } : {}),
});

function admission(extra: Partial<Encounter> = {}): Encounter {
  return {
    resourceType: 'Encounter',
    id: 'vw-enc-101',
    status: 'in-progress',
    class: { system: ACT_CODE_SYSTEM, code: 'HH', display: 'home health' },
    type: [{ coding: [{ system: ADMISSION_KIND_SYSTEM, code: 'step-up' }] }],
    serviceType: { coding: [{ system: PATHWAY_SYSTEM, code: 'ari' }] },
    subject: { reference: 'Patient/pt-0101' },
    period: { start: '2026-11-30T09:15:00Z' },
    hospitalization: { admitSource: { coding: [{ system: ADMISSION_SOURCE_SYSTEM, code: 'nhs111', display: 'NHS 111' }] } },
    location: [ward('ward-ari', 'active')],
    ...extra,
  };
}
const discharge = (code: string, system = DISCHARGE_OUTCOME_SYSTEM, extra: Partial<Encounter> = {}): Encounter =>
  admission({
    status: 'finished',
    period: { start: '2026-11-30T09:15:00Z', end: '2026-12-06T16:00:00Z' },
    hospitalization: { ...admission().hospitalization, dischargeDisposition: { coding: [{ system, code }] } },
    location: [ward('ward-ari', 'completed')],
    ...extra,
  });

const ok = (m: EncounterMapping) => {
  if (!m.ok) throw new Error(`refused: ${m.problem.expression}: ${m.problem.message}`);
  return m;
};
const refused = (m: EncounterMapping) => {
  if (m.ok) throw new Error(`accepted: ${JSON.stringify(m.request)}`);
  return m.problem;
};

describe('an in-progress Encounter with one ward is an admission', () => {
  it('maps a step-up from NHS 111, with the IMD decile and the devices lent', () => {
    const m = ok(
      encounterToFlow(
        admission({
          extension: [
            { url: IMD_DECILE_EXTENSION, valueInteger: 3 },
            { url: DEVICE_LENT_EXTENSION, valueReference: { reference: 'Device/oxi-0101' } },
            { url: 'https://example.org/other', valueString: 'ignored' },
            { url: DEVICE_LENT_EXTENSION, valueReference: { reference: 'Device/bp-0101' } },
          ],
        }),
      ),
    );
    expect(m.request).toEqual({
      kind: 'admit',
      eventId: 'enc.vw-enc-101.admit.ward-ari',
      patientId: 'pt-0101',
      wardId: 'ward-ari',
      pathway: 'ari',
      admission: 'step-up',
      source: 'nhs111',
      at: '2026-11-30T09:15:00Z',
      imdDecile: 3,
      deviceIds: ['oxi-0101', 'bp-0101'],
    });
    // What the intake takes, once it adds `by`.
    expect(AdmitEvent.safeParse({ ...m.request, by: 'lead.jones' }).success).toBe(true);
    expect(m.fields).toMatchObject({ wardId: 'Encounter.location[0].location', source: 'Encounter.hospitalization.admitSource', 'deviceIds.1': 'Encounter.extension[3].valueReference' });
  });

  it('maps a step-down from an acute hospital, given as the FHIR base admit-source code, with patient and ward as vw identifiers', () => {
    const m = ok(
      encounterToFlow(
        admission({
          class: { system: ACT_CODE_SYSTEM, code: 'VR' },
          type: [{ text: 'virtual ward' }, { coding: [{ system: 'http://snomed.info/sct', code: '0' }, { system: ADMISSION_KIND_SYSTEM, code: 'step-down' }] }],
          serviceType: { coding: [{ system: PATHWAY_SYSTEM, code: 'heart-failure' }] },
          subject: { identifier: { system: PATIENT_ID_SYSTEM, value: 'pt-0102' } },
          hospitalization: { admitSource: { coding: [{ system: ADMIT_SOURCE_SYSTEM, code: 'hosp-trans' }] } },
          location: [{ location: { identifier: { system: WARD_ID_SYSTEM, value: 'ward-hf' } } }],
        }),
      ),
    );
    expect(m.request).toMatchObject({ kind: 'admit', patientId: 'pt-0102', wardId: 'ward-hf', pathway: 'heart-failure', admission: 'step-down', source: 'acute-discharge' });
  });

  it.each([
    [ADMIT_SOURCE_SYSTEM, 'gp', 'gp'],
    [ADMIT_SOURCE_SYSTEM, 'emd', 'ed-sdec'],
    [ADMIT_SOURCE_SYSTEM, 'other', 'other'],
    [ADMISSION_SOURCE_SYSTEM, 'ambulance', 'ambulance'],
  ])('reads admitSource %s|%s as %s', (system, code, source) => {
    expect(ok(encounterToFlow(admission({ hospitalization: { admitSource: { coding: [{ system, code }] } } }))).request).toMatchObject({ source });
  });

  it('prefers vw’s own code when both are given', () => {
    const admitSource = { coding: [{ system: ADMIT_SOURCE_SYSTEM, code: 'emd' }, { system: ADMISSION_SOURCE_SYSTEM, code: 'ambulance' }] };
    expect(ok(encounterToFlow(admission({ hospitalization: { admitSource } }))).request).toMatchObject({ source: 'ambulance' });
  });
});

describe('a finished Encounter is a discharge', () => {
  it.each(['care-completed', 'admitted-acute', 'ed', 'died', 'self-discharged'] satisfies DischargeOutcome[])('maps the outcome %s', (outcome) => {
    const m = ok(encounterToFlow(discharge(outcome)));
    expect(m.request).toEqual({ kind: 'discharge', eventId: 'enc.vw-enc-101.discharge', patientId: 'pt-0101', wardId: 'ward-ari', outcome, at: '2026-12-06T16:00:00Z' });
    expect(DischargeEvent.safeParse({ ...m.request, by: 'lead.jones' }).success).toBe(true);
  });

  it.each([
    ['home', 'care-completed'],
    ['alt-home', 'care-completed'],
    ['exp', 'died'],
    ['aadvice', 'self-discharged'],
  ])('reads the FHIR base discharge disposition %s as %s', (code, outcome) => {
    expect(ok(encounterToFlow(discharge(code, DISCHARGE_DISPOSITION_SYSTEM))).request).toMatchObject({ outcome });
  });

  it('discharges from the last ward the Encounter lists', () => {
    const m = ok(encounterToFlow(discharge('ed', DISCHARGE_OUTCOME_SYSTEM, { location: [ward('ward-ari', 'completed'), ward('ward-hf', 'completed'), ward('ward-x', 'planned')] })));
    expect(m.request).toMatchObject({ wardId: 'ward-hf', outcome: 'ed' });
    expect(m.fields.wardId).toBe('Encounter.location[1].location');
  });
});

describe('an in-progress Encounter that has left one ward for another is a transfer', () => {
  const moved = (extra: Partial<Encounter> = {}) =>
    admission({
      location: [ward('ward-ari', 'completed', { start: '2026-11-30T09:15:00Z', end: '2026-12-02T10:00:00Z' }), ward('ward-hf', 'active', { start: '2026-12-02T10:00:00Z' })],
      serviceType: { coding: [{ system: PATHWAY_SYSTEM, code: 'heart-failure' }] },
      ...extra,
    });

  it('maps the move from the last completed ward to the active one', () => {
    const m = ok(encounterToFlow(moved()));
    expect(m.request).toMatchObject({ kind: 'transfer', patientId: 'pt-0101', fromWardId: 'ward-ari', wardId: 'ward-hf', pathway: 'heart-failure', at: '2026-12-02T10:00:00Z' });
    expect(m.request.eventId).toMatch(/^enc-[0-9a-f]{40}\.transfer$/);
    expect(TransferEvent.safeParse({ ...m.request, by: 'lead.jones' }).success).toBe(true);
    expect(m.fields).toMatchObject({ fromWardId: 'Encounter.location[0].location', wardId: 'Encounter.location[1].location' });
  });

  it('gives the same transfer the same id, and a later move back another', () => {
    const first = ok(encounterToFlow(moved())).request.eventId;
    expect(ok(encounterToFlow(moved())).request.eventId).toBe(first);
    const back = ok(
      encounterToFlow(
        moved({
          location: [
            ward('ward-ari', 'completed', { end: '2026-12-02T10:00:00Z' }),
            ward('ward-hf', 'completed', { start: '2026-12-02T10:00:00Z', end: '2026-12-03T10:00:00Z' }),
            ward('ward-ari', 'active', { start: '2026-12-03T10:00:00Z' }),
          ],
        }),
      ),
    );
    expect(back.request).toMatchObject({ kind: 'transfer', fromWardId: 'ward-hf', wardId: 'ward-ari' });
    expect(back.request.eventId).not.toBe(first);
  });

  it('takes the time from the completed location when the active one has no start, and a completed stay on the same ward is no transfer', () => {
    expect(ok(encounterToFlow(moved({ location: [ward('ward-ari', 'completed', { end: '2026-12-02T11:00:00Z' }), ward('ward-hf', 'active')] }))).request).toMatchObject({ kind: 'transfer', at: '2026-12-02T11:00:00Z' });
    expect(ok(encounterToFlow(admission({ location: [ward('ward-ari', 'completed'), ward('ward-ari', 'active')] }))).request.kind).toBe('admit');
  });
});

describe('the event id', () => {
  it('comes from Encounter.id, or from an identifier, and never from chance', () => {
    const { id: _id, ...noId } = admission();
    const viaIdentifier = { ...noId, identifier: [{ value: 'no-system' }, { system: 'https://trust.example.nhs.uk/Id/encounter', value: 'E/2026/1' }] };
    const a = ok(encounterToFlow(viaIdentifier));
    expect(a.request.eventId).toMatch(/^enc-[0-9a-f]{40}\.admit$/);
    expect(ok(encounterToFlow(viaIdentifier)).request.eventId).toBe(a.request.eventId);
    expect(a.fields.eventId).toBe('Encounter.identifier[1]');
    // The same Encounter naming only another ward is another admission (refused by the intake), never absorbed as this one.
    expect(ok(encounterToFlow(admission({ location: [ward('ward-hf', 'active')] }))).request.eventId).toBe('enc.vw-enc-101.admit.ward-hf');
    // An id too long to read inside the event id is digested.
    expect(ok(encounterToFlow(admission({ id: 'x'.repeat(64) }))).request.eventId).toMatch(/^enc-[0-9a-f]{40}\.admit$/);
  });
});

describe('every refusal names the Encounter element', () => {
  const { id: _id, ...noId } = admission();
  const cases: Array<[string, unknown, string, string?]> = [
    ['not an Encounter', { resourceType: 'Patient' }, 'Encounter', 'structure'],
    ['status missing', { ...admission(), status: undefined }, 'Encounter.status', 'required'],
    ['status not a FHIR status', admission({ status: 'admitted' as Encounter['status'] }), 'Encounter.status', 'code-invalid'],
    ['status planned', admission({ status: 'planned' }), 'Encounter.status', 'not-supported'],
    ['no id or identifier', noId, 'Encounter.id', 'required'],
    ['class inpatient', admission({ class: { system: ACT_CODE_SYSTEM, code: 'IMP' } }), 'Encounter.class', 'code-invalid'],
    ['subject an NHS number', admission({ subject: { identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9990000018' } } }), 'Encounter.subject.identifier.system'],
    ['subject another resource', admission({ subject: { reference: 'Group/g1' } }), 'Encounter.subject.reference'],
    ['subject missing', { ...admission(), subject: undefined }, 'Encounter.subject', 'required'],
    ['subject reference and identifier disagree', admission({ subject: { reference: 'Patient/pt-1', identifier: { system: PATIENT_ID_SYSTEM, value: 'pt-2' } } }), 'Encounter.subject'],
    ['no ward', admission({ location: [] }), 'Encounter.location', 'required'],
    ['two active wards', admission({ location: [ward('ward-ari', 'active'), ward('ward-hf', 'active')] }), 'Encounter.location[1].status'],
    ['ward not a Location', admission({ location: [{ location: { reference: 'Organization/RXX' }, status: 'active' }] }), 'Encounter.location[0].location.reference'],
    ['admission time missing', admission({ period: {} }), 'Encounter.period.start', 'required'],
    ['admission time without offset', admission({ period: { start: '2026-11-30' } }), 'Encounter.period.start', 'value'],
    ['pathway missing', admission({ serviceType: undefined }), 'Encounter.serviceType', 'required'],
    ['pathway unknown', admission({ serviceType: { coding: [{ system: PATHWAY_SYSTEM, code: 'renal' }] } }), 'Encounter.serviceType.coding[0].code', 'code-invalid'],
    ['step-up/step-down missing', admission({ type: undefined }), 'Encounter.type', 'required'],
    ['step-up/step-down from no known system', admission({ type: [{ coding: [{ system: 'http://snomed.info/sct', code: '0' }] }] }), 'Encounter.type[0]', 'code-invalid'],
    ['admit source missing', admission({ hospitalization: {} }), 'Encounter.hospitalization.admitSource', 'required'],
    ['admit source without vw meaning', admission({ hospitalization: { admitSource: { coding: [{ system: ADMIT_SOURCE_SYSTEM, code: 'born' }] } } }), 'Encounter.hospitalization.admitSource.coding[0].code', 'code-invalid'],
    ['admit source in no known system', admission({ hospitalization: { admitSource: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-SourceOfAdmissionEngland', code: '19' }] } } }), 'Encounter.hospitalization.admitSource', 'code-invalid'],
    ['IMD decile out of range', admission({ extension: [{ url: IMD_DECILE_EXTENSION, valueInteger: 11 }] }), 'Encounter.extension[0].valueInteger'],
    ['device lent twice', admission({ extension: [{ url: DEVICE_LENT_EXTENSION, valueReference: { reference: 'Device/d1' } }, { url: DEVICE_LENT_EXTENSION, valueReference: { reference: 'Device/d1' } }] }), 'Encounter.extension[1].valueReference'],
    ['device not a Device', admission({ extension: [{ url: DEVICE_LENT_EXTENSION, valueReference: { reference: 'Patient/d1' } }] }), 'Encounter.extension[0].valueReference.reference'],
    ['modifier extension', admission({ modifierExtension: [{ url: 'https://example.org/x', valueBoolean: true }] }), 'Encounter.modifierExtension', 'not-supported'],
    ['transfer without a time', admission({ location: [ward('ward-ari', 'completed'), ward('ward-hf', 'active')] }), 'Encounter.location[1].period.start', 'required'],
    ['discharge time missing', discharge('died', DISCHARGE_OUTCOME_SYSTEM, { period: { start: '2026-11-30T09:15:00Z' } }), 'Encounter.period.end', 'required'],
    ['discharge disposition missing', discharge('died', DISCHARGE_OUTCOME_SYSTEM, { hospitalization: {} }), 'Encounter.hospitalization.dischargeDisposition', 'required'],
    ['discharge to a hospice (FHIR hosp)', discharge('hosp', DISCHARGE_DISPOSITION_SYSTEM), 'Encounter.hospitalization.dischargeDisposition.coding[0].code', 'code-invalid'],
    ['discharge outcome unknown', discharge('went-home'), 'Encounter.hospitalization.dischargeDisposition.coding[0].code', 'code-invalid'],
    ['discharge from no ward', discharge('died', DISCHARGE_OUTCOME_SYSTEM, { location: undefined }), 'Encounter.location', 'required'],
  ];
  it.each(cases.map(([name, input, expression, code]) => ({ name, input, expression, code })))('$name → $expression', ({ input, expression, code }) => {
    const p = refused(encounterToFlow(input));
    expect(p.expression).toBe(expression);
    if (code) expect(p.code).toBe(code);
    expect(p.message.length).toBeGreaterThan(0);
  });
});

describe('the intake’s answer as an OperationOutcome', () => {
  const m = ok(encounterToFlow(admission({ extension: [{ url: DEVICE_LENT_EXTENSION, valueReference: { reference: 'Device/oxi-0101' } }] })));
  it('carries the flow outcome on 202, and warns past the commissioned beds', () => {
    const r = flowOutcomeResource({ status: 202, body: { eventId: 'enc.vw-enc-101.admit.ward-ari', occupied: 41, capacity: 40, overCapacity: true } }, m.request, m.fields);
    expect(r.issue.map((i) => i.severity)).toEqual(['information', 'warning']);
    expect(flowOutcomeOf(r)).toEqual({ eventId: 'enc.vw-enc-101.admit.ward-ari', occupied: 41, capacity: 40, overCapacity: true });
  });
  it('names the Encounter element of the intake’s field', () => {
    expect(flowOutcomeResource({ status: 403, body: { error: 'forbidden', field: 'wardId', message: 'ward ward-ari is not in your token' } }, m.request, m.fields).issue[0]).toMatchObject({
      severity: 'error',
      code: 'forbidden',
      expression: ['Encounter.location[0].location'],
    });
    expect(flowOutcomeResource({ status: 409, body: { error: 'conflict', field: 'deviceIds.0', message: 'deviceIds.0: device oxi-0101 is lent to another patient' } }, m.request, m.fields).issue[0]).toMatchObject({
      code: 'conflict',
      diagnostics: 'device oxi-0101 is lent to another patient',
      expression: ['Encounter.extension[0].valueReference'],
    });
    expect(flowOutcomeResource({ status: 409, body: { error: 'conflict', message: 'the patient is already on ward-hf' } }, m.request, m.fields).issue[0]!.expression).toEqual(['Encounter.subject']);
    expect(flowOutcomeResource({ status: 503, body: { error: 'unavailable', message: 'not recorded' } }, m.request, m.fields).issue[0]!.code).toBe('transient');
  });
});
