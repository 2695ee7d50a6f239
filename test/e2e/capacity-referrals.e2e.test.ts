import type { Bundle, MessageHeader, Observation, Patient as FhirPatient, ServiceRequest } from '@medplum/fhirtypes';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { on, type Subscription } from '../../src/bus/bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import { createCapacityCredentials } from '../../src/capacity/credentials.ts';
import { capacityTopic } from '../../src/capacity/topic.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { DeadLetter, Referral } from '../../src/domain/index.ts';
import type { ServerFrame } from '../../src/feed/protocol.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startReferralReceiver } from '../../simulators/referral-receiver.ts';
import { connectConsole, isType } from '../support/console-client.ts';
import { metricOf } from '../support/processes.ts';
import { deviceSignIn } from '../support/ward-actions.ts';
import { testDataDir } from '../support/data-dir.ts';

/**
 * Capacity and referrals end to end on the embedded default: capacity sources post over HTTP and
 * publish over MQTT with their own credentials, and ward consoles see it live; a nurse refers a patient
 * from the console, and the referral reaches a receiving service as a FHIR message, through outages
 * and cancellation.
 */
type Console = Awaited<ReturnType<typeof connectConsole>>;
type Receiver = Awaited<ReturnType<typeof startReferralReceiver>>;
type ReferralFrame = Extract<ServerFrame, { type: 'referral' }>;
type CapacityFrame = Extract<ServerFrame, { type: 'capacity' }>;

const AMBULANCE_SOURCE = 'cap-rx9-ambulance';
const NHS111_SOURCE = 'cap-111-nwest';
const UCR = 'urgent-community-response';

let app: VwApp;
let receiver: Receiver;
let letters: Subscription;
const deadLetters: DeadLetter[] = [];
const consoles: Console[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  receiver = await startReferralReceiver({ name: 'Northshire UCR' });
  const config = loadConfig(
    {},
    { dataDir: testDataDir(),
      'http.port': 0,
      'mqtt.embeddedPort': 0,
      'feed.tokenSecret': 'capacity-referrals-e2e-secret-0123456789',
      'capacity.secret': 'capacity-e2e-secret-0123',
      'referrals.endpoints': { [UCR]: receiver.url },
      logLevel: 'silent',
    },
  );
  app = await startVw(config, { logger: createLogger({ level: 'silent' }) });
  letters = await app.bus.consume({ groupId: 'e2e-capacity-dead-letters', fromBeginning: true, topics: [on(Topics.deadLetter, async ({ value }) => void deadLetters.push(value))] });
});

afterEach(() => {
  receiver.setMode('accept');
  receiver.setDelay(0);
});

afterAll(async () => {
  for (const c of consoles) c.close();
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await letters?.stop();
  await app?.close();
  await receiver?.close();
});

async function signIn(user: string, wards: string[], subscribeTo: string): Promise<{ console: Console; snapshot: Extract<ServerFrame, { type: 'snapshot' }> }> {
  const c = await connectConsole(app.httpUrl);
  consoles.push(c);
  c.send({ type: 'hello', token: await app.tokens.issue({ sub: user, wards }) });
  await c.waitFor(isType('welcome'));
  c.send({ type: 'subscribe', wardId: subscribeTo });
  return { console: c, snapshot: await c.waitFor(isType('snapshot')) };
}

/** Resolves once every frame the server sent this console before now has arrived: a request's answer follows them on the socket. */
async function barrier(c: Console): Promise<void> {
  const before = c.frames.filter(isType('series')).length;
  c.send({ type: 'series', patientId: 'pt-0001', readingType: 'spo2' });
  await expect.poll(() => c.frames.filter(isType('series')).length).toBe(before + 1);
}

function postCapacity(body: unknown, token: string | undefined, contentType = 'application/json'): Promise<Response> {
  return fetch(`${app.httpUrl}/api/v1/capacity`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const now = () => new Date().toISOString();
const ambulance = (extra: Record<string, unknown> = {}) => ({
  service: 'ambulance',
  providerId: 'RX9',
  ts: now(),
  reapLevel: 3,
  responses: {
    c1: { meanMinutes: 8.5, p90Minutes: 15.2 },
    c2: { meanMinutes: 41, p90Minutes: 92 },
    c3: { meanMinutes: 130, p90Minutes: 310 },
    c4: { meanMinutes: 160, p90Minutes: 400 },
  },
  crewsAvailable: 6,
  incidentsWaiting: 27,
  handover: { meanMinutes: 48, over30: 9, over60: 4, handovers: 21 },
  ...extra,
});

const capacityWith = (wardId: string, check: (f: CapacityFrame) => boolean) => (f: ServerFrame): f is CapacityFrame => f.type === 'capacity' && f.wardId === wardId && check(f);
const referralFrame = (referralId: string, check: (r: Referral) => boolean = () => true) => (f: ServerFrame): f is ReferralFrame =>
  f.type === 'referral' && f.referral.referralId === referralId && check(f.referral);
const referralFrames = (c: Console, referralId: string) => c.frames.filter(referralFrame(referralId)).map((f) => f.referral);

/** The messages the receiving service has had about one referral, in arrival order. */
function bundlesFor(referralId: string) {
  return receiver
    .received()
    .filter((r) => r.bundle.entry?.some((e) => e.resource?.resourceType === 'ServiceRequest' && (e.resource as ServiceRequest).identifier?.[0]?.value === referralId))
    .sort((a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt));
}
const requestIn = (bundle: Bundle) => bundle.entry!.find((e) => e.resource?.resourceType === 'ServiceRequest')!.resource as ServiceRequest;
const headerOf = (bundle: Bundle) => bundle.entry![0]!.resource as MessageHeader;

async function refer(c: Console, patientId: string, route: string, note?: string): Promise<string> {
  const before = c.frames.filter(isType('referralAccepted')).length;
  c.send({ type: 'refer', patientId, route, ...(note ? { note } : {}) });
  await expect.poll(() => c.frames.filter(isType('referralAccepted')).length).toBe(before + 1);
  const accepted = c.frames.filter(isType('referralAccepted')).at(-1)!;
  expect(accepted.patientId).toBe(patientId);
  return accepted.referralId;
}

describe('capacity over HTTP', () => {
  it('takes a snapshot posted with the source’s token (202) and shows it on the consoles of the wards it serves', async () => {
    const { console: ari, snapshot } = await signIn('nurse.ari', ['ward-ari'], 'ward-ari');
    expect(snapshot.capacity).toMatchObject({ ics: { icsId: 'QXX' }, beds: { commissioned: app.registry.ward('ward-ari')!.capacity }, ambulance: { providerId: 'RX9' }, nhs111: { providerId: '111-NWEST' } });
    const { console: hf } = await signIn('nurse.hf', ['ward-hf'], 'ward-hf');

    const posted = ambulance();
    const response = await postCapacity(posted, app.capacityCredentials.tokenFor(AMBULANCE_SOURCE));
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 1 });

    const frame = await ari.waitFor(capacityWith('ward-ari', (f) => f.capacity.ambulance?.latest?.ts === posted.ts));
    expect(frame.capacity.ambulance?.latest).toEqual(posted);
    expect(frame.capacity.ambulance?.trend.at(-1)).toEqual(posted);
    await hf.waitFor(capacityWith('ward-hf', (f) => f.capacity.ambulance?.latest?.ts === posted.ts));
    // Each console hears only of its own ward.
    await barrier(ari);
    expect(ari.frames.filter(isType('capacity')).every((f) => f.wardId === 'ward-ari')).toBe(true);

    // A console that opens later starts from it.
    const { snapshot: later } = await signIn('nurse.later', ['ward-ari'], 'ward-ari');
    expect(later.capacity.ambulance?.latest).toEqual(posted);
  });

  it('refuses a missing or wrong token with 401, counted', async () => {
    const before = await metricOf(app.httpUrl, 'vw_capacity_rejected_total', 'reason="unauthorized"');
    const wrong = await postCapacity(ambulance(), 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await wrong.json()).toMatchObject({ error: 'unauthorized' });
    // Another deployment's secret gives another token.
    const foreign = createCapacityCredentials('some-other-secret-entirely', app.registry.capacitySources()).tokenFor(AMBULANCE_SOURCE);
    expect((await postCapacity(ambulance(), foreign)).status).toBe(401);
    expect((await postCapacity(ambulance(), undefined)).status).toBe(401);
    expect(await metricOf(app.httpUrl, 'vw_capacity_rejected_total', 'reason="unauthorized"')).toBe(before + 3);
  });

  it('refuses a bad field with 400 naming it, counts it in vw_capacity_rejected_total and dead-letters it with the source', async () => {
    const before = await metricOf(app.httpUrl, 'vw_capacity_rejected_total', 'reason="schema_violation"');
    const bad = ambulance();
    bad.responses.c2.meanMinutes = -4;
    const response = await postCapacity(bad, app.capacityCredentials.tokenFor(AMBULANCE_SOURCE));
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; field: string; message: string };
    expect(body).toMatchObject({ error: 'schema_violation', field: 'responses.c2.meanMinutes' });
    expect(body.message).toMatch(/^responses\.c2\.meanMinutes: /);
    expect(await metricOf(app.httpUrl, 'vw_capacity_rejected_total', 'reason="schema_violation"')).toBe(before + 1);
    await expect.poll(() => deadLetters.filter((d) => d.detail.startsWith('responses.c2.meanMinutes')).length).toBe(1);
    expect(deadLetters.find((d) => d.detail.startsWith('responses.c2.meanMinutes'))).toMatchObject({
      reason: 'schema_violation',
      sourceId: AMBULANCE_SOURCE,
      source: { kind: 'http', topic: 'POST /api/v1/capacity' },
    });

    const inArray = await postCapacity([ambulance(), { ...ambulance(), ts: 'yesterday' }], app.capacityCredentials.tokenFor(AMBULANCE_SOURCE));
    expect(inArray.status).toBe(400);
    expect(await inArray.json()).toMatchObject({ error: 'schema_violation', field: '[1].ts' });
  });

  it('refuses a source speaking for another provider with 403, and a body that is not JSON with 415', async () => {
    const other = await postCapacity(ambulance({ providerId: 'RYY' }), app.capacityCredentials.tokenFor(AMBULANCE_SOURCE));
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ error: 'source_mismatch', field: 'providerId' });
    // The 111 source's token does not let it post ambulance figures.
    const service = await postCapacity(ambulance(), app.capacityCredentials.tokenFor(NHS111_SOURCE));
    expect(service.status).toBe(403);
    expect(await service.json()).toMatchObject({ error: 'source_mismatch', field: 'service' });
    expect((await postCapacity('reapLevel=3', app.capacityCredentials.tokenFor(AMBULANCE_SOURCE), 'text/plain')).status).toBe(415);
    expect(await metricOf(app.httpUrl, 'vw_capacity_rejected_total', 'reason="source_mismatch"')).toBeGreaterThanOrEqual(2);
  });
});

describe('capacity over MQTT', () => {
  const nhs111 = (extra: Record<string, unknown> = {}) => ({ service: 'nhs111', providerId: '111-NWEST', ts: now(), callsWaiting: 57, callsOffered: 410, answeredWithin60sPct: 62.5, abandonedPct: 8.1, ...extra });

  async function source(sourceId: string, password: string, clientId = `${sourceId}-${clients.length}`): Promise<MqttClient> {
    const client = await mqtt.connectAsync(app.mqttUrl, { clientId, username: sourceId, password, protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(client);
    return client;
  }

  /** Publishes at QoS 1: 'acknowledged' on PUBACK, 'refused' if the broker drops the client instead. */
  async function attempt(client: MqttClient, topic: string, payload: string): Promise<'acknowledged' | 'refused'> {
    return Promise.race([
      client.publishAsync(topic, payload, { qos: 1 }).then(() => 'acknowledged' as const, () => 'refused' as const),
      new Promise<'refused'>((resolve) => client.once('close', () => resolve('refused'))),
    ]);
  }

  it('takes a snapshot a source publishes on its own topic, signed in with its id and token, to the consoles', async () => {
    const { console: ari } = await signIn('nurse.mqtt', ['ward-ari'], 'ward-ari');
    const client = await source(NHS111_SOURCE, app.capacityCredentials.tokenFor(NHS111_SOURCE));
    const snapshot = nhs111();
    // The PUBACK follows the snapshot onto the bus.
    expect(await attempt(client, capacityTopic(NHS111_SOURCE), JSON.stringify(snapshot))).toBe('acknowledged');
    const frame = await ari.waitFor(capacityWith('ward-ari', (f) => f.capacity.nhs111?.latest?.ts === snapshot.ts));
    expect(frame.capacity.nhs111?.latest).toEqual(snapshot);
    expect(await metricOf(app.httpUrl, 'vw_capacity_snapshots_total', 'service="nhs111"')).toBeGreaterThanOrEqual(1);
  });

  it('acknowledges a bad snapshot from a signed-in source, refusing it as over HTTP', async () => {
    const client = await source(NHS111_SOURCE, app.capacityCredentials.tokenFor(NHS111_SOURCE));
    const before = await metricOf(app.httpUrl, 'vw_capacity_rejected_total', 'reason="schema_violation"');
    expect(await attempt(client, capacityTopic(NHS111_SOURCE), JSON.stringify(nhs111({ abandonedPct: 140 })))).toBe('acknowledged');
    expect(await metricOf(app.httpUrl, 'vw_capacity_rejected_total', 'reason="schema_violation"')).toBe(before + 1);
    await expect.poll(() => deadLetters.filter((d) => d.source.kind === 'mqtt' && d.sourceId === NHS111_SOURCE).map((d) => d.detail)).toEqual([expect.stringMatching(/^abandonedPct: /)]);
    expect(deadLetters.find((d) => d.source.kind === 'mqtt')!.source.topic).toBe(capacityTopic(NHS111_SOURCE));
  });

  it('refuses a capacity source’s sign-in with a wrong password', async () => {
    await expect(
      mqtt.connectAsync(app.mqttUrl, { clientId: 'impostor-1', username: NHS111_SOURCE, password: 'guessed-password', protocolVersion: 4, reconnectPeriod: 0 }),
    ).rejects.toThrow(/Bad username or password|Not authorized/i);
    await expect(
      mqtt.connectAsync(app.mqttUrl, { clientId: 'impostor-2', username: AMBULANCE_SOURCE, password: app.capacityCredentials.tokenFor(NHS111_SOURCE), protocolVersion: 4, reconnectPeriod: 0 }),
    ).rejects.toThrow(/Bad username or password|Not authorized/i);
    await expect(mqtt.connectAsync(app.mqttUrl, { clientId: 'impostor-3', username: NHS111_SOURCE, protocolVersion: 4, reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password|Not authorized/i);
  });

  it('refuses a device publishing on a capacity topic', async () => {
    const before = await metricOf(app.httpUrl, 'vw_capacity_snapshots_total');
    const device = await mqtt.connectAsync(app.mqttUrl, deviceSignIn(app, 'oxi-0001'));
    clients.push(device);
    expect(await attempt(device, capacityTopic(NHS111_SOURCE), JSON.stringify(nhs111()))).toBe('refused');
    // Not under a topic naming a source either.
    const again = await mqtt.connectAsync(app.mqttUrl, deviceSignIn(app, 'oxi-0001'));
    clients.push(again);
    expect(await attempt(again, 'vw/v1/capacity/no/such/source/snapshots', JSON.stringify(nhs111()))).toBe('refused');
    expect(await metricOf(app.httpUrl, 'vw_capacity_snapshots_total')).toBe(before);
  });

  it('refuses a source publishing on another source’s topic, or as a device', async () => {
    const client = await source(AMBULANCE_SOURCE, app.capacityCredentials.tokenFor(AMBULANCE_SOURCE));
    expect(await attempt(client, capacityTopic(NHS111_SOURCE), JSON.stringify(nhs111()))).toBe('refused');
    const asDevice = await source(AMBULANCE_SOURCE, app.capacityCredentials.tokenFor(AMBULANCE_SOURCE));
    expect(await attempt(asDevice, 'vw/v1/devices/oxi-0002/readings', JSON.stringify({ measurement: 'pulse_oximetry', time: new Date().toISOString(), spo2: 80, pulseRate: 130 }))).toBe('refused');
  });

  it('lets no client subscribe to capacity topics, even by wildcard', async () => {
    const listener = await mqtt.connectAsync(app.mqttUrl, deviceSignIn(app, 'oxi-0003'));
    clients.push(listener);
    for (const filter of ['#', 'vw/#', 'vw/v1/capacity/+/snapshots', capacityTopic(NHS111_SOURCE)]) {
      // Refused in the SUBACK (failure code 0x80), which MQTT.js reports as a subscribe error.
      await expect(listener.subscribeAsync(filter, { qos: 1 }), filter).rejects.toThrow(/Subscribe error/);
    }
    expect(listener.connected).toBe(true);
  });
});

describe('referrals from the console', () => {
  let delivered: { referralId: string; console: Console };

  it('sends a nurse’s referral to the route’s receiver as one FHIR message, and shows it accepted', async () => {
    // A reading for pt-0001, so the referral carries the patient's latest observations.
    const device = await mqtt.connectAsync(app.mqttUrl, deviceSignIn(app, 'oxi-0001'));
    clients.push(device);
    await device.publishAsync('vw/v1/devices/oxi-0001/readings', JSON.stringify({ measurement: 'pulse_oximetry', time: new Date(Date.now() - 30_000).toISOString(), spo2: 94, pulseRate: 104 }), { qos: 1 });
    await expect.poll(async () => Object.keys(await app.store.latest('pt-0001')).sort()).toEqual(expect.arrayContaining(['heart_rate', 'spo2']));

    const { console: nurse, snapshot } = await signIn('nurse.jones', ['ward-ari'], 'ward-ari');
    expect(snapshot.routes.version).toBe('1.1.0');
    expect(snapshot.routes.patientRoutes).toContain(UCR);
    const referralId = await refer(nurse, 'pt-0001', UCR, 'Breathless at rest, SpO2 falling; family worried');

    const accepted = await nurse.waitFor(referralFrame(referralId, (r) => r.state === 'accepted'), 15_000);
    expect(accepted.wardId).toBe('ward-ari');
    expect(accepted.referral).toMatchObject({
      patientId: 'pt-0001',
      route: UCR,
      priority: 'asap',
      requestedBy: 'nurse.jones',
      reason: 'Breathless at rest, SpO2 falling; family worried',
      delivery: { status: 'delivered', attempts: 1 },
    });
    expect(accepted.referral.history.map((h) => h.state)).toEqual(['requested', 'sent', 'accepted']);
    expect(accepted.referral.history.at(-1)!.by).toBe('Urgent community response (2-hour)');
    // The console saw it first as requested and pending, each revision newer than the last.
    const seen = referralFrames(nurse, referralId);
    expect(seen[0]).toMatchObject({ state: 'requested', revision: 0, delivery: { status: 'pending' } });
    expect(seen.map((r) => r.revision)).toEqual([...seen.map((r) => r.revision)].sort((a, b) => a - b));

    const bundles = bundlesFor(referralId);
    expect(bundles).toHaveLength(1);
    expect(bundles[0]!.deliveries).toBe(1);
    expect(accepted.referral.delivery.receiverReference).toBe(bundles[0]!.reference);
    const message = bundles[0]!.bundle;
    expect(headerOf(message).eventCoding?.code).toBe('servicerequest-request');
    expect(requestIn(message)).toMatchObject({ status: 'active', priority: 'asap', reasonCode: [{ text: 'Breathless at rest, SpO2 falling; family worried' }] });
    const patient = message.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource as FhirPatient;
    expect(patient.identifier).toEqual([{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: app.registry.patient('pt-0001')!.nhsNumber }]);
    const observations = message.entry!.filter((e) => e.resource?.resourceType === 'Observation').map((e) => e.resource as Observation);
    expect(observations.find((o) => o.code.coding?.some((c) => c.code === '59408-5'))?.valueQuantity).toMatchObject({ value: 94, code: '%' });
    expect(observations.find((o) => o.code.coding?.[0]?.code === '8867-4')?.valueQuantity).toMatchObject({ value: 104, code: '/min' });

    expect(await metricOf(app.httpUrl, 'vw_referrals_requested_total', `route="${UCR}"`)).toBeGreaterThanOrEqual(1);
    expect(await metricOf(app.httpUrl, 'vw_referral_deliveries_total', `route="${UCR}"`, 'result="delivered"')).toBeGreaterThanOrEqual(1);
    // Another console on the ward sees it in its snapshot.
    const { snapshot: colleague } = await signIn('nurse.patel', ['ward-ari'], 'ward-ari');
    expect(colleague.referrals.find((r) => r.referralId === referralId)).toEqual(accepted.referral);
    delivered = { referralId, console: nurse };
  });

  it('keeps a referral for a route with no receiver, saying it was not sent', async () => {
    const { console: nurse } = await signIn('nurse.gp', ['ward-ari'], 'ward-ari');
    const referralId = await refer(nurse, 'pt-0001', 'same-day-gp');
    const kept = await nurse.waitFor(referralFrame(referralId));
    expect(kept.referral).toMatchObject({ state: 'requested', route: 'same-day-gp', reason: 'Referred from the virtual ward', delivery: { status: 'no_endpoint', attempts: 0 } });
    expect(kept.referral.delivery.lastError).toMatch(/no receiver is configured for Same-day GP review/);

    // Cancelled, it stays unsent.
    nurse.send({ type: 'cancelReferral', referralId, note: 'GP phoned the patient directly' });
    const cancelled = await nurse.waitFor(referralFrame(referralId, (r) => r.state === 'cancelled'));
    expect(cancelled.referral.delivery).toMatchObject({ status: 'no_endpoint', attempts: 0 });
  });

  it('retries while the receiver is down, backing off, and delivers once it is back', async () => {
    const { console: nurse } = await signIn('nurse.retry', ['ward-ari'], 'ward-ari');
    const retriesBefore = await metricOf(app.httpUrl, 'vw_referral_deliveries_total', `route="${UCR}"`, 'result="retry"');
    receiver.setMode('down');
    const referralId = await refer(nurse, 'pt-0001', UCR);
    const retrying = await nurse.waitFor(referralFrame(referralId, (r) => r.delivery.status === 'retrying'), 10_000);
    const { delivery } = retrying.referral;
    expect(retrying.referral.state).toBe('requested');
    expect(delivery.attempts).toBeGreaterThanOrEqual(1);
    expect(delivery.lastError).toBe('receiver answered 503');
    // The back-off starts at 2 s.
    expect(Date.parse(delivery.nextAttemptAt!) - Date.parse(delivery.lastAttemptAt!)).toBeGreaterThanOrEqual(1_900);
    expect(await metricOf(app.httpUrl, 'vw_referral_deliveries_total', `route="${UCR}"`, 'result="retry"')).toBeGreaterThan(retriesBefore);
    expect(bundlesFor(referralId)).toEqual([]);

    receiver.setMode('accept');
    const accepted = await nurse.waitFor(referralFrame(referralId, (r) => r.state === 'accepted'), 20_000);
    expect(accepted.referral.delivery.status).toBe('delivered');
    expect(accepted.referral.delivery.attempts).toBeGreaterThanOrEqual(2);
    expect(accepted.referral.delivery.lastError).toBeUndefined();
    expect(bundlesFor(referralId)).toHaveLength(1);
  });

  it('does not let a console refer or cancel for a patient on a ward its token does not grant', async () => {
    const { console: hf } = await signIn('nurse.hf2', ['ward-hf'], 'ward-hf');
    hf.send({ type: 'refer', patientId: 'pt-0001', route: UCR, note: 'not my patient' });
    const refused = await hf.waitFor(isType('error'));
    expect(refused).toMatchObject({ code: 'not_found', message: 'no such patient on your wards' });
    hf.send({ type: 'cancelReferral', referralId: delivered.referralId, note: 'not my referral' });
    await expect.poll(() => hf.frames.filter(isType('error')).map((e) => e.code)).toEqual(['not_found', 'not_found']);
    expect(hf.frames.filter(isType('referralAccepted'))).toEqual([]);
  });

  it('refuses a route the patient is not offered', async () => {
    const { console: nurse } = await signIn('nurse.route', ['ward-ari'], 'ward-ari');
    nurse.send({ type: 'refer', patientId: 'pt-0001', route: 'helicopter' });
    expect(await nurse.waitFor(isType('error'))).toMatchObject({ code: 'bad_frame', message: 'route helicopter is not offered for this patient' });
  });

  it('tells the receiver when a delivered referral is cancelled, with a second message revoking it', async () => {
    const { referralId, console: nurse } = delivered;
    nurse.send({ type: 'cancelReferral', referralId, note: 'Improved after nebuliser; reviewed by the ward doctor' });
    await expect.poll(() => nurse.frames.filter((f) => f.type === 'referralAccepted' && f.referralId === referralId).length).toBe(2);
    const cancelled = await nurse.waitFor(referralFrame(referralId, (r) => r.state === 'cancelled' && r.delivery.status === 'delivered'), 15_000);
    expect(cancelled.referral.history.at(-1)).toMatchObject({ state: 'cancelled', by: 'nurse.jones', note: 'Improved after nebuliser; reviewed by the ward doctor' });
    expect(cancelled.referral.delivery.attempts).toBe(1);

    const bundles = bundlesFor(referralId);
    expect(bundles).toHaveLength(2);
    expect(bundles.map((b) => requestIn(b.bundle).status)).toEqual(['active', 'revoked']);
    expect(headerOf(bundles[1]!.bundle).reason?.coding?.[0]?.code).toBe('update');
    // A message of its own, not a repeat of the request.
    expect(headerOf(bundles[1]!.bundle).id).not.toBe(headerOf(bundles[0]!.bundle).id);
    expect(bundles[1]!.idempotencyKey).not.toBe(bundles[0]!.idempotencyKey);
  });

  it('tells the receiver of a cancellation made while the referral was on its way', async () => {
    const { console: nurse } = await signIn('nurse.race', ['ward-ari'], 'ward-ari');
    // The receiver takes the referral at once but answers only after a while.
    receiver.setDelay(2_500);
    const referralId = await refer(nurse, 'pt-0001', UCR, 'Chest pain at rest');
    await expect.poll(() => bundlesFor(referralId).length, { timeout: 5_000 }).toBe(1);
    nurse.send({ type: 'cancelReferral', referralId, note: 'Wrong patient selected' });
    await nurse.waitFor(referralFrame(referralId, (r) => r.state === 'cancelled'));
    receiver.setDelay(0);

    await expect.poll(() => bundlesFor(referralId).map((b) => requestIn(b.bundle).status), { timeout: 15_000 }).toEqual(['active', 'revoked']);
    const final = await nurse.waitFor(referralFrame(referralId, (r) => r.state === 'cancelled' && r.delivery.status === 'delivered' && !r.delivery.lastError), 10_000);
    expect(final.referral.history.map((h) => h.state)).toEqual(['requested', 'cancelled']);
  });
});
