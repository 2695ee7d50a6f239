import type { Bundle, Encounter, OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import {
  ACT_CODE_SYSTEM,
  ADMISSION_KIND_SYSTEM,
  ADMIT_SOURCE_SYSTEM,
  DISCHARGE_OUTCOME_SYSTEM,
  flowOutcomeOf,
  IMD_DECILE_EXTENSION,
  PATHWAY_SYSTEM,
} from '../../src/flow/fhir-encounter.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { testDataDir } from '../support/data-dir.ts';

/** Admissions, discharges and transfers as FHIR R4 Encounters, through the same intake as the JSON flow API, into the store. */
let app: VwApp;
let lead: string;

beforeAll(async () => {
  app = await startVw(loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'flow-fhir-secret-flow-fhir-secret-flow' }), { logger: createLogger({ level: 'silent' }) });
  lead = await app.tokens.issue({ sub: 'lead.fhir', wards: ['ward-ari', 'ward-hf'], roles: ['ward lead'] });
});
afterAll(async () => {
  await app?.close();
});

const post = async (body: unknown, token: string | null = lead, contentType = 'application/fhir+json') => {
  const response = await fetch(`${app.httpUrl}/api/v1/fhir/Encounter`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as OperationOutcome };
};
const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();

const admit = (id: string, patientId: string, wardId: string, start: string, extra: Partial<Encounter> = {}): Encounter => ({
  resourceType: 'Encounter',
  id,
  status: 'in-progress',
  class: { system: ACT_CODE_SYSTEM, code: 'HH' },
  type: [{ coding: [{ system: ADMISSION_KIND_SYSTEM, code: 'step-down' }] }],
  serviceType: { coding: [{ system: PATHWAY_SYSTEM, code: 'ari' }] },
  subject: { reference: `Patient/${patientId}` },
  period: { start },
  hospitalization: { admitSource: { coding: [{ system: ADMIT_SOURCE_SYSTEM, code: 'hosp-trans' }] } },
  location: [{ location: { reference: `Location/${wardId}` }, status: 'active' }],
  extension: [{ url: IMD_DECILE_EXTENSION, valueInteger: 2 }],
  ...extra,
});
const finish = (encounter: Encounter, end: string, outcome: string, wardId?: string): Encounter => ({
  ...encounter,
  status: 'finished',
  period: { ...encounter.period, end },
  hospitalization: { ...encounter.hospitalization, dischargeDisposition: { coding: [{ system: DISCHARGE_OUTCOME_SYSTEM, code: outcome }] } },
  ...(wardId ? { location: [{ location: { reference: `Location/${wardId}` }, status: 'completed' }] } : {}),
});

describe('FHIR Encounter flow API', () => {
  it('admits, absorbs a re-sent Encounter, transfers and discharges, into the store', async () => {
    const since = new Date(Date.now() - 3 * 3600_000);
    const encounter = admit('epr-enc-1', 'pt-fhir-1', 'ward-ari', at(90));
    const admitted = await post(encounter);
    expect(admitted.status).toBe(202);
    expect(admitted.type).toMatch(/^application\/fhir\+json/);
    expect(admitted.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational' }] });
    expect(flowOutcomeOf(admitted.body)).toMatchObject({ eventId: 'enc.epr-enc-1.admit.ward-ari', capacity: 40, overCapacity: false });

    // The same Encounter again (as application/json this time) is the same event: counted once.
    const again = await post(encounter, lead, 'application/json');
    expect(again.status).toBe(202);
    expect(flowOutcomeOf(again.body)).toEqual({ eventId: 'enc.epr-enc-1.admit.ward-ari', duplicate: true });

    const moved = admit('epr-enc-1', 'pt-fhir-1', 'ward-hf', at(90), {
      serviceType: { coding: [{ system: PATHWAY_SYSTEM, code: 'heart-failure' }] },
      location: [
        { location: { reference: 'Location/ward-ari' }, status: 'completed', period: { start: at(90), end: at(60) } },
        { location: { reference: 'Location/ward-hf' }, status: 'active', period: { start: at(60) } },
      ],
    });
    expect((await post(moved)).status).toBe(202);
    expect(flowOutcomeOf((await post(moved)).body)).toMatchObject({ duplicate: true });

    // A sender that replaced the location instead of completing it: a second admission, refused, not absorbed.
    expect(await post(admit('epr-enc-1', 'pt-fhir-1', 'ward-hf', at(90)))).toMatchObject({ status: 409, body: { issue: [{ code: 'conflict', expression: ['Encounter.subject'] }] } });

    const discharged = await post(finish(moved, at(30), 'admitted-acute'));
    expect(discharged.status).toBe(202);
    expect(flowOutcomeOf(discharged.body)).toMatchObject({ eventId: 'enc.epr-enc-1.discharge' });

    await expect
      .poll(async () => (await app.store.flowEvents(['ward-ari', 'ward-hf'], { since })).filter((e) => e.patientId === 'pt-fhir-1'))
      .toMatchObject([
        { kind: 'admit', eventId: 'enc.epr-enc-1.admit.ward-ari', wardId: 'ward-ari', pathway: 'ari', admission: 'step-down', source: 'acute-discharge', imdDecile: 2, by: 'lead.fhir' },
        { kind: 'transfer', fromWardId: 'ward-ari', wardId: 'ward-hf', pathway: 'heart-failure', by: 'lead.fhir' },
        { kind: 'discharge', eventId: 'enc.epr-enc-1.discharge', wardId: 'ward-hf', outcome: 'admitted-acute', by: 'lead.fhir' },
      ]);
  });

  it('takes a batch Bundle entry by entry, and refuses a transaction', async () => {
    const a = admit('epr-enc-2', 'pt-fhir-2', 'ward-ari', at(20));
    const answer = await post({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: a, request: { method: 'POST', url: 'Encounter' } },
        { resource: finish(a, at(10), 'not-an-outcome'), request: { method: 'POST', url: 'Encounter' } },
        { resource: finish(a, at(10), 'care-completed'), request: { method: 'POST', url: 'Encounter' } },
      ],
    });
    expect(answer.status).toBe(200);
    const bundle = answer.body as unknown as Bundle;
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'batch-response' });
    expect(bundle.entry!.map((e) => e.response!.status)).toEqual(['202 Accepted', '400 Bad Request', '202 Accepted']);
    expect((bundle.entry![1]!.response!.outcome as OperationOutcome).issue[0]!.expression).toEqual(['Encounter.hospitalization.dischargeDisposition.coding[0].code']);
    expect(await post({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: a }] })).toMatchObject({ status: 400, body: { issue: [{ code: 'not-supported', expression: ['Bundle.type'] }] } });
  });

  it('refuses, as OperationOutcomes with the flow API’s statuses', async () => {
    const encounter = admit('epr-enc-3', 'pt-fhir-3', 'ward-ari', at(5));
    const unauthenticated = await post(encounter, null);
    expect(unauthenticated).toMatchObject({ status: 401, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] } });
    expect((await post(encounter, 'not-a-token')).status).toBe(401);

    const nurse = await app.tokens.issue({ sub: 'nurse.f', wards: ['ward-ari'] });
    expect(await post(encounter, nurse)).toMatchObject({ status: 403, body: { issue: [{ code: 'forbidden' }] } });
    const otherLead = await app.tokens.issue({ sub: 'lead.g', wards: ['ward-hf'], roles: ['ward lead'] });
    expect(await post(encounter, otherLead)).toMatchObject({ status: 403, body: { issue: [{ severity: 'error', code: 'forbidden', expression: ['Encounter.location[0].location'] }] } });

    expect(await post({ ...encounter, hospitalization: { admitSource: { coding: [{ system: ADMIT_SOURCE_SYSTEM, code: 'born' }] } } })).toMatchObject({
      status: 400,
      body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'code-invalid', expression: ['Encounter.hospitalization.admitSource.coding[0].code'] }] },
    });
    expect(await post({ ...encounter, period: undefined })).toMatchObject({ status: 400, body: { issue: [{ code: 'required', expression: ['Encounter.period.start'] }] } });
    expect(await post('{"resourceType":')).toMatchObject({ status: 400, body: { issue: [{ code: 'structure' }] } });
    expect((await post(encounter, lead, 'text/plain')).status).toBe(415);
    expect(await post({ ...encounter, text: { status: 'generated', div: 'x'.repeat(20_000) } })).toMatchObject({ status: 413, body: { issue: [{ code: 'too-long' }] } });

    // Discharging a patient who is not on the ward.
    const conflict = await post(finish(admit('epr-enc-4', 'pt-fhir-4', 'ward-ari', at(5)), at(1), 'care-completed', 'ward-ari'));
    expect(conflict).toMatchObject({ status: 409, body: { issue: [{ severity: 'error', code: 'conflict', diagnostics: 'the patient is not on a virtual ward', expression: ['Encounter.location[0].location'] }] } });
  });
});
