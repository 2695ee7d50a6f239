import { describe, expect, it } from 'vitest';
import { admitRequest, applyRoster, applyRosterRecords, deviceList, dischargeRequest, fieldOf, inputTime, isoFromInput, plainMessage, postFlow, readAnswer, transferRequest } from '../../../dashboards/console/flow-model.js';
import type { Alert, HandoverNote, Notification, Referral } from '../../../src/domain/index.ts';
import type { PatientView } from '../../../src/feed/protocol.ts';

/** The console's admit, discharge and transfer forms, without a browser (dashboards/console/flow-model.js). */
const NOW = Date.parse('2026-11-22T12:00:00Z');
const minutesAgo = (m: number) => inputTime(new Date(NOW - m * 60_000));
const admitValues = { patientId: ' pt-0012 ', pathway: 'ari', admission: 'step-up', source: 'nhs111', imdDecile: '', deviceIds: '', at: minutesAgo(5) };

describe('flow requests from the console’s forms', () => {
  it('reads a datetime-local value as local time, to the minute', () => {
    const date = new Date(2026, 10, 22, 9, 5, 42);
    expect(inputTime(date)).toBe('2026-11-22T09:05');
    expect(isoFromInput('2026-11-22T09:05')).toBe(new Date(2026, 10, 22, 9, 5).toISOString());
    expect(isoFromInput('')).toBeNull();
    expect(isoFromInput('22/11/2026 09:05')).toBeNull();
    expect(isoFromInput('2026-13-45T99:99')).toBeNull();
  });

  it('splits device ids typed with commas, spaces or new lines', () => {
    expect(deviceList(' oxi-0012, bp-0012 ,,\ntemp-0012 ')).toEqual(['oxi-0012', 'bp-0012', 'temp-0012']);
    expect(deviceList('')).toEqual([]);
  });

  it('builds an admission, leaving out what was left blank', () => {
    expect(admitRequest('ward-ari', admitValues, NOW)).toEqual({
      body: { kind: 'admit', patientId: 'pt-0012', wardId: 'ward-ari', pathway: 'ari', admission: 'step-up', source: 'nhs111', at: isoFromInput(admitValues.at) },
    });
    expect(admitRequest('ward-ari', { ...admitValues, imdDecile: '3', deviceIds: 'oxi-0012, bp-0012' }, NOW).body).toMatchObject({ imdDecile: 3, deviceIds: ['oxi-0012', 'bp-0012'] });
  });

  it('names the field to correct, in plain words, before sending anything', () => {
    const problem = (values: Record<string, string>) => admitRequest('ward-ari', { ...admitValues, ...values }, NOW).problem;
    expect(problem({ patientId: '  ' })).toEqual({ field: 'patientId', message: 'Enter the patient’s ID.' });
    expect(problem({ patientId: 'pt 12' })?.field).toBe('patientId');
    expect(problem({ pathway: '' })).toEqual({ field: 'pathway', message: 'Choose a pathway.' });
    expect(problem({ admission: '' })?.field).toBe('admission');
    expect(problem({ source: 'walk-in' })?.field).toBe('source');
    expect(problem({ imdDecile: '11' })?.field).toBe('imdDecile');
    expect(problem({ imdDecile: '2.5' })?.field).toBe('imdDecile');
    expect(problem({ deviceIds: 'oxi-1, oxi-1' })).toEqual({ field: 'deviceIds', message: 'oxi-1 is listed twice.' });
    expect(problem({ deviceIds: 'oxi/1' })?.field).toBe('deviceIds');
    expect(problem({ deviceIds: Array.from({ length: 13 }, (_, i) => `d${i}`).join(',') })?.field).toBe('deviceIds');
    expect(problem({ at: '' })).toEqual({ field: 'at', message: 'Enter the date and time.' });
    // A time box left as it opened stands for that moment to the second.
    expect(admitRequest('ward-ari', { ...admitValues, at: '2026-11-22T11:59:37.250Z' }, NOW).body?.at).toBe('2026-11-22T11:59:37.250Z');
    expect(problem({ at: inputTime(new Date(NOW + 3600_000)) })).toEqual({ field: 'at', message: 'That time is in the future: enter when it happened.' });
  });

  it('builds discharges and transfers', () => {
    const at = minutesAgo(1);
    expect(dischargeRequest('pt-1', 'ward-hf', { outcome: 'died', at }, NOW)).toEqual({ body: { kind: 'discharge', patientId: 'pt-1', wardId: 'ward-hf', outcome: 'died', at: isoFromInput(at) } });
    expect(dischargeRequest('pt-1', 'ward-hf', { outcome: '', at }, NOW).problem?.field).toBe('outcome');
    expect(transferRequest('pt-1', 'ward-ari', { wardId: 'ward-hf', pathway: '', at }, NOW)).toEqual({ body: { kind: 'transfer', patientId: 'pt-1', fromWardId: 'ward-ari', wardId: 'ward-hf', at: isoFromInput(at) } });
    expect(transferRequest('pt-1', 'ward-ari', { wardId: 'ward-hf', pathway: 'heart-failure', at }, NOW).body).toMatchObject({ pathway: 'heart-failure' });
    expect(transferRequest('pt-1', 'ward-ari', { wardId: '', at }, NOW).problem?.field).toBe('wardId');
    expect(transferRequest('pt-1', 'ward-ari', { wardId: 'ward-ari', at }, NOW).problem?.field).toBe('wardId');
  });
});

describe('the server’s answer in words', () => {
  const names = { 'ward-ari': 'Acute Respiratory Virtual Ward' };

  it('reports the beds, and warns beyond the commissioned capacity', () => {
    expect(readAnswer('admit', 202, { eventId: 'e', occupied: 12, capacity: 40, overCapacity: false })).toMatchObject({ ok: true, beds: { occupied: 12, capacity: 40 }, capacityWarning: null });
    expect(readAnswer('admit', 202, { eventId: 'e', occupied: 41, capacity: 40, overCapacity: true })).toMatchObject({ ok: true, overCapacity: true, capacityWarning: 'Over commissioned capacity: 41 of 40 beds in use.' });
    expect(readAnswer('admit', 202, { eventId: 'e', duplicate: true })).toMatchObject({ ok: true, duplicate: true });
    expect(readAnswer('admit', 202, { eventId: 'e', occupied: 3, capacity: 40, overCapacity: false, registered: true })).toMatchObject({ listed: true });
    expect(readAnswer('admit', 202, { eventId: 'e', occupied: 3, capacity: 40, overCapacity: false, registered: false })).toMatchObject({ listed: false });
  });

  it('puts an error beside the field it names, without the field’s code name', () => {
    expect(readAnswer('admit', 400, { error: 'unknown_reference', field: 'deviceIds.0', message: 'deviceIds.0: device oxi-9999 is not in the registry' })).toEqual({ ok: false, field: 'deviceIds', message: 'Device oxi-9999 is not in the registry' });
    expect(readAnswer('admit', 409, { error: 'conflict', message: 'the patient is already on ward-ari (since 2026-11-22T10:00:00.000Z)' }, names)).toEqual({ ok: false, field: null, message: 'The patient is already on Acute Respiratory Virtual Ward (since 2026-11-22T10:00:00.000Z)' });
    // The ward an admission goes to is the ward shown, not a field of the form.
    expect(readAnswer('admit', 403, { error: 'forbidden', field: 'wardId', message: 'ward ward-x is not in your token' })).toMatchObject({ ok: false, field: null });
    expect(readAnswer('transfer', 403, { error: 'forbidden', field: 'wardId', message: 'ward ward-x is not in your token' })).toMatchObject({ ok: false, field: 'wardId' });
    expect(readAnswer('discharge', 403, { error: 'forbidden', message: 'the token does not name the role "ward lead"' })).toMatchObject({ ok: false, field: null, message: expect.stringContaining('Only a ward lead') });
    expect(readAnswer('discharge', 401, {})).toMatchObject({ ok: false, message: expect.stringContaining('sign in again') });
    expect(readAnswer('discharge', 503, { error: 'unavailable' })).toMatchObject({ ok: false, message: expect.stringContaining('Try again') });
    expect(readAnswer('discharge', 0, { message: 'Not recorded: could not reach vw.' })).toMatchObject({ ok: false, field: null, message: 'Not recorded: could not reach vw.' });
    expect(fieldOf('fromWardId', 'transfer')).toBeNull();
    expect(plainMessage('at: Invalid ISO datetime', { field: 'at' })).toBe('Invalid ISO datetime');
  });

  it('posts with the console token as a bearer token', async () => {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    const fake = (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(JSON.stringify({ eventId: 'e1' }), { status: 202, headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    expect(await postFlow('tok', { kind: 'discharge' }, fake)).toEqual({ status: 202, body: { eventId: 'e1' } });
    expect(calls[0]!.url).toBe('/api/v1/flow');
    expect(calls[0]!.init.headers).toMatchObject({ authorization: 'Bearer tok', 'content-type': 'application/json' });
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    expect((await postFlow('tok', {}, down)).status).toBe(0);
  });
});

describe('a roster applied to the console’s patients', () => {
  const view = (patientId: string, over: Partial<PatientView> = {}): PatientView => ({
    patientId, displayName: patientId.toUpperCase(), pathways: ['ari'], spo2Scale: 1, latest: {}, lastSeen: null, score: null, settings: null, ...over,
  });
  const roster = (patientIds: string[], patients: PatientView[]) => ({ type: 'roster' as const, wardId: 'w1', generatedAt: new Date(NOW).toISOString(), patientIds, patients, handoverNotes: [] });

  it('adds who joined, drops who left, and says which ids it could not draw', () => {
    const patients = new Map([['p1', view('p1')], ['p2', view('p2')]]);
    const result = applyRoster(patients, roster(['p1', 'p3', 'p4'], [view('p3')]));
    expect(result.joined.map((p) => p.patientId)).toEqual(['p3']);
    expect(result.left.map((p) => p.patientId)).toEqual(['p2']);
    expect(result.missing).toEqual(['p4']);
    expect([...patients.keys()]).toEqual(['p1', 'p3']);
  });

  it('keeps newer readings and scores the console already holds when a patient is redrawn', () => {
    const newer = { value: 90, unit: '%', ts: '2026-11-22T11:59:00Z', deviceId: 'd1' };
    const older = { value: 96, unit: '%', ts: '2026-11-22T11:00:00Z', deviceId: 'd1' };
    const patients = new Map([['p1', view('p1', { latest: { spo2: newer }, lastSeen: newer.ts })]]);
    applyRoster(patients, roster(['p1'], [view('p1', { pathways: ['copd'], latest: { spo2: older, heart_rate: { value: 80, unit: '/min', ts: older.ts, deviceId: 'd1' } }, lastSeen: older.ts })]));
    const p1 = patients.get('p1')!;
    expect(p1.pathways).toEqual(['copd']);
    expect(p1.latest.spo2).toEqual(newer);
    expect(p1.latest.heart_rate?.value).toBe(80);
    expect(p1.lastSeen).toBe(newer.ts);
  });
});

describe('a roster’s alerts, referrals and notifications applied to the console’s', () => {
  const at = new Date(NOW).toISOString();
  const alert = (alertId: string, patientId: string, revision = 1) => ({ alertId, patientId, wardId: 'w1', state: 'open', revision, updatedAt: at }) as unknown as Alert;
  const referral = (referralId: string, patientId: string) => ({ referralId, patientId, wardId: 'w1', state: 'sent', revision: 1 }) as unknown as Referral;
  const notification = (notificationId: string, patientId: string) => ({ notificationId, patientId, wardId: 'w1', revision: 1 }) as unknown as Notification;
  const held = () => ({
    alerts: new Map([['a1', alert('a1', 'p1')], ['a2', alert('a2', 'p2', 3)]]),
    alertRoutes: new Map([['a1', ['ucr']], ['a2', ['gp']]]),
    referrals: new Map([['r1', referral('r1', 'p1')]]),
    notifications: new Map([['a1:1', notification('a1:1', 'p1')]]),
    notes: new Map<string, HandoverNote[]>([['p1', []], ['p2', []]]),
  });

  it('drops everything of a patient transferred away, and nothing of the others', () => {
    const shown = held();
    expect(applyRosterRecords(shown, { transferredOut: ['p1'], alerts: [], alertRoutes: {}, referrals: [], notifications: [] })).toEqual({ dropped: ['a1'], arrived: [] });
    expect([...shown.alerts.keys()]).toEqual(['a2']);
    expect([...shown.alertRoutes.keys()]).toEqual(['a2']);
    expect(shown.referrals.size).toBe(0);
    expect(shown.notifications.size).toBe(0);
    expect([...shown.notes.keys()]).toEqual(['p2']);
  });

  it('adds an arriving patient’s, keeping the higher revision of any already held', () => {
    const shown = held();
    const result = applyRosterRecords(shown, {
      transferredOut: [],
      alerts: [alert('a3', 'p3'), alert('a2', 'p2', 2)],
      alertRoutes: { a3: ['ucr', 'gp'], a2: [] },
      referrals: [referral('r3', 'p3')],
      notifications: [notification('a3:1', 'p3')],
    });
    expect(result.arrived.map((a) => a.alertId)).toEqual(['a3']);
    expect(result.dropped).toEqual([]);
    expect(shown.alerts.get('a2')!.revision).toBe(3);
    expect(shown.alertRoutes.get('a2')).toEqual(['gp']);
    expect(shown.alertRoutes.get('a3')).toEqual(['ucr', 'gp']);
    expect([...shown.referrals.keys()]).toEqual(['r1', 'r3']);
    expect([...shown.notifications.keys()]).toEqual(['a1:1', 'a3:1']);
  });
});
