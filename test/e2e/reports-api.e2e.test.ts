import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { londonDate } from '../../src/time/calendar.ts';
import { testDataDir } from '../support/data-dir.ts';

/** A planner reads the capacity report of an ICS from the running store; nobody else does. */
let app: VwApp;
let planner: string;
const today = londonDate(Date.now());
// From yesterday, so events of the last hour fall in the period even just after midnight.
const yesterday = londonDate(Date.now() - 86_400_000);

beforeAll(async () => {
  app = await startVw(loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'reports-api-secret-reports-api-secret', 'capacity.secret': 'reports-api-capacity-secret' }), { logger: createLogger({ level: 'silent' }) });
  const wards = app.registry.wards().filter((w) => w.ics === 'QXX').map((w) => w.wardId);
  planner = await app.tokens.issue({ sub: 'planner.ng', wards, roles: ['planner'] });
  const lead = await app.tokens.issue({ sub: 'lead.jones', wards, roles: ['ward lead'] });
  const post = (path: string, token: string, body: unknown) =>
    fetch(`${app.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) }).then((r) => r.status);
  const at = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
  expect(await post('/api/v1/flow', lead, { kind: 'admit', patientId: 'pt-rep-1', wardId: 'ward-ari', pathway: 'ari', admission: 'step-up', source: 'ambulance', at: at(50) })).toBe(202);
  expect(await post('/api/v1/flow', lead, { kind: 'admit', patientId: 'pt-rep-2', wardId: 'ward-hf', pathway: 'heart-failure', admission: 'step-down', source: 'acute-discharge', at: at(40) })).toBe(202);
  expect(await post('/api/v1/flow', lead, { kind: 'discharge', patientId: 'pt-rep-1', wardId: 'ward-ari', outcome: 'admitted-acute', at: at(10) })).toBe(202);
  expect(await post('/api/v1/capacity', app.capacityCredentials.tokenFor('cap-rx9-ambulance'), { service: 'ambulance', providerId: 'RX9', ts: at(5), reapLevel: 3, responses: { c1: { meanMinutes: 9, p90Minutes: 16 }, c2: { meanMinutes: 44, p90Minutes: 95 }, c3: { meanMinutes: 80, p90Minutes: 200 }, c4: { meanMinutes: 100, p90Minutes: 260 } } })).toBe(202);
});
afterAll(async () => {
  await app?.close();
});

const get = (query: string, token = planner) => fetch(`${app.httpUrl}/api/v1/reports/capacity?${query}`, { headers: { authorization: `Bearer ${token}` } });

describe('reports API', () => {
  it('gives a planner the ICS report from the store: flow, pressure and plan', async () => {
    await expect
      .poll(async () => {
        const report = (await (await get(`ics=QXX&from=${yesterday}&to=${today}&format=json`)).json()) as { report: { groups: Array<{ level: string; admissions: { total: number | null }; acuteAdmissions: number | null; suppressed: string[] }> } };
        const ics = report.report.groups.find((g) => g.level === 'ics')!;
        // 2 admissions and 1 acute admission: counts of 1 to 4, withheld (docs/reports.md, "Small numbers").
        return [ics.admissions.total, ics.acuteAdmissions, ['admissions.total', 'acuteAdmissions'].filter((p) => ics.suppressed.includes(p))];
      })
      .toEqual([null, null, ['admissions.total', 'acuteAdmissions']]);
    const json = (await (await get(`ics=QXX&from=${yesterday}&to=${today}&format=json`)).json()) as { pressure: { daily: Array<Record<string, unknown>> }; plan: { pathways: unknown[] } };
    expect(json.pressure.daily.map((d) => d.date)).toEqual([yesterday, today]);
    expect(JSON.stringify(json.pressure.daily)).toContain('44');
    expect(json.plan.pathways.length).toBeGreaterThan(0);
    const csv = await get(`ics=QXX&from=${today}&to=${today}&format=csv`);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).split(/\r?\n/);
    expect(lines[0]).toMatch(/^period,icb,icb_name,provider,capacity,occupancy_percent,capacity_per_100k_adults/);
    // The admissions withheld as in the JSON (the period's row, or rows if it spans two months).
    const withheldCsv = await (await get(`ics=QXX&from=${yesterday}&to=${today}&format=csv`)).text();
    const column = lines[0]!.split(',').indexOf('admissions');
    expect(withheldCsv.split('\r\n').slice(1).some((l) => l.split(',')[column] === '*')).toBe(true);
    const html = await get(`ics=QXX&from=${today}&to=${today}&format=html`);
    const text = await html.text();
    expect(text).toMatch(/^<!doctype html>/i);
    expect(text).toContain('<td>withheld</td>');
    // Aggregates only: no patient id reaches the planner.
    expect(text).not.toContain('pt-rep-1');
  });

  it('refuses anyone who is not a planner for every ward of the ICS, and bad parameters by name', async () => {
    const nurse = await app.tokens.issue({ sub: 'nurse.a', wards: ['ward-ari'] });
    expect((await get(`ics=QXX&from=${today}&to=${today}`, nurse)).status).toBe(403);
    const partial = await app.tokens.issue({ sub: 'planner.b', wards: ['ward-ari'], roles: ['planner'] });
    expect((await get(`ics=QXX&from=${today}&to=${today}`, partial)).status).toBe(403);
    // An ICS that does not exist answers as one not granted: nothing about other ICSs leaks.
    expect((await get(`ics=QZZ&from=${today}&to=${today}`)).status).toBe(403);
    expect((await get(`ics=QXX&from=${today}&to=${today}`, 'not-a-token')).status).toBe(401);
    expect(await (await get(`ics=QXX&from=2026-02-30&to=${today}`)).json()).toMatchObject({ field: 'from' });
    expect(await (await get(`ics=QXX&from=${today}&to=${today}&format=pdf`)).json()).toMatchObject({ field: 'format' });
    expect(await (await get(`ics=QXX&from=2020-01-01&to=${today}`)).json()).toMatchObject({ field: 'to' });
  });
});
