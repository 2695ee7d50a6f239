import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { testDataDir } from '../support/data-dir.ts';

/** Admissions, discharges and transfers through the flow API, into the store for reports. */
let app: VwApp;
let lead: string;

beforeAll(async () => {
  app = await startVw(loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'flow-api-secret-flow-api-secret-flow' }), { logger: createLogger({ level: 'silent' }) });
  lead = await app.tokens.issue({ sub: 'lead.jones', wards: ['ward-ari', 'ward-hf'], roles: ['ward lead'] });
});
afterAll(async () => {
  await app?.close();
});

const post = async (body: unknown, token = lead) => {
  const response = await fetch(`${app.httpUrl}/api/v1/flow`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();

describe('patient flow API', () => {
  it('admits, transfers and discharges a patient, in order, into the store', async () => {
    const admitted = await post({ kind: 'admit', eventId: 'adm-x1', patientId: 'pt-x1', wardId: 'ward-ari', pathway: 'ari', admission: 'step-up', source: 'nhs111', imdDecile: 3, at: at(60) });
    expect(admitted).toMatchObject({ status: 202, body: { eventId: 'adm-x1', capacity: 40, overCapacity: false } });
    // The same admission again is absorbed; a second admission of a patient on a ward is refused.
    expect((await post({ kind: 'admit', eventId: 'adm-x1', patientId: 'pt-x1', wardId: 'ward-ari', pathway: 'ari', admission: 'step-up', source: 'nhs111', at: at(60) })).body).toMatchObject({ duplicate: true });
    expect(await post({ kind: 'admit', patientId: 'pt-x1', wardId: 'ward-hf', pathway: 'heart-failure', admission: 'step-up', source: 'gp', at: at(50) })).toMatchObject({ status: 409, body: { message: expect.stringContaining('already on ward-ari') } });
    expect((await post({ kind: 'transfer', patientId: 'pt-x1', fromWardId: 'ward-ari', wardId: 'ward-hf', at: at(40) })).status).toBe(202);
    expect(await post({ kind: 'discharge', patientId: 'pt-x1', wardId: 'ward-ari', outcome: 'care-completed', at: at(30) })).toMatchObject({ status: 409, body: { message: 'the patient is on ward-hf, not ward-ari' } });
    expect((await post({ kind: 'discharge', patientId: 'pt-x1', wardId: 'ward-hf', outcome: 'admitted-acute', at: at(20) })).status).toBe(202);
    // A patient enrolled from the registry can be discharged too.
    expect((await post({ kind: 'discharge', patientId: 'pt-0005', wardId: 'ward-ari', outcome: 'care-completed', at: at(10) })).status).toBe(202);
    await expect
      .poll(async () => (await app.store.flowEvents(['ward-ari', 'ward-hf'], { since: new Date(Date.now() - 2 * 3600_000) })).map((e) => `${e.kind}:${e.patientId}:${e.by}`))
      .toEqual(['admit:pt-x1:lead.jones', 'transfer:pt-x1:lead.jones', 'discharge:pt-x1:lead.jones', 'discharge:pt-0005:lead.jones']);
  });

  it('accepts an admission beyond the commissioned beds, and flags it', async () => {
    let last: { status: number; body: Record<string, unknown> } | undefined;
    const capacity = 25;
    for (let i = 0; i < capacity; i++) {
      last = await post({ kind: 'admit', patientId: `pt-over-${i}`, wardId: 'ward-hf', pathway: 'heart-failure', admission: 'step-down', source: 'acute-discharge', at: at(5) });
      expect(last.status).toBe(202);
      if (last.body.overCapacity) break;
    }
    expect(last!.body).toMatchObject({ overCapacity: true, capacity });
    expect(last!.body.occupied).toBe(capacity + 1);
  });

  it('refuses bad input naming the field, and anyone who is not a ward lead for the ward', async () => {
    expect(await post({ kind: 'discharge', patientId: 'pt-y', wardId: 'ward-ari', outcome: 'went-home', at: at(1) })).toMatchObject({ status: 400, body: { error: 'schema_violation', field: 'outcome' } });
    expect(await post({ kind: 'readmit', patientId: 'pt-y' })).toMatchObject({ status: 400, body: { field: 'kind' } });
    expect(await post({ kind: 'admit', patientId: 'pt-y', wardId: 'ward-ari', pathway: 'ari', admission: 'step-up', source: 'gp', at: at(1), by: 'someone.else' })).toMatchObject({ status: 400 });
    const nurse = await app.tokens.issue({ sub: 'nurse.a', wards: ['ward-ari'] });
    expect((await post({ kind: 'discharge', patientId: 'pt-0001', wardId: 'ward-ari', outcome: 'care-completed', at: at(1) }, nurse)).status).toBe(403);
    const otherLead = await app.tokens.issue({ sub: 'lead.b', wards: ['ward-hf'], roles: ['ward lead'] });
    expect(await post({ kind: 'discharge', patientId: 'pt-0001', wardId: 'ward-ari', outcome: 'care-completed', at: at(1) }, otherLead)).toMatchObject({ status: 403, body: { field: 'wardId' } });
    expect((await post({ kind: 'discharge', patientId: 'pt-0001', wardId: 'ward-ari', outcome: 'care-completed', at: at(1) }, 'not-a-token')).status).toBe(401);
  });

  it('lets the demo’s flow feed admit and discharge patients over time, in order', async () => {
    const { loadRegistryFile } = await import('../../src/registry/load.ts');
    const { startFlowFeed } = await import('../../simulators/flow-feed.ts');
    const { spellsFromEvents } = await import('../../src/reports/flow-measures.ts');
    const { data } = await loadRegistryFile('seeds/demo-ward.yaml');
    const errors: unknown[] = [];
    const since = new Date(Date.now() - 1000);
    const allWards = await app.tokens.issue({ sub: 'demo.lead', wards: data.wards.map((w) => w.wardId), roles: ['ward lead'] });
    const feed = startFlowFeed({ baseUrl: app.httpUrl, token: allWards, registry: data, everyMs: 20, seed: 3, onError: (e) => errors.push(e) });
    const wards = data.wards.map((w) => w.wardId);
    await expect.poll(async () => (await app.store.flowEvents(wards, { since })).filter((e) => e.kind === 'discharge' && e.patientId.startsWith('pt-flow-')).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    await feed.stop();
    expect(errors.map(String)).toEqual([]);
    const events = (await app.store.flowEvents(wards, { since })).filter((e) => e.patientId.startsWith('pt-flow-'));
    expect(spellsFromEvents(events).problems).toEqual([]);
  });
});
