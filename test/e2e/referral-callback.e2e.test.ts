import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { ServerFrame } from '../../src/feed/protocol.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startReferralReceiver } from '../../simulators/referral-receiver.ts';
import { connectConsole, isType } from '../support/console-client.ts';
import { testDataDir } from '../support/data-dir.ts';

/** A receiving service that answers later, through the callback API, as BaRS receivers do. */
const CALLBACK_TOKEN = 'callback-token-for-the-test-0001';
let app: VwApp;
let receiver: Awaited<ReturnType<typeof startReferralReceiver>>;

beforeAll(async () => {
  receiver = await startReferralReceiver({ name: 'Northshire clinical assessment service' });
  const config = loadConfig({}, { dataDir: testDataDir(),
    'http.port': 0,
    'mqtt.embeddedPort': 0,
    'feed.tokenSecret': 'referral-callback-secret-referral-callback',
    'referrals.endpoints': { 'nhs111-clinical-assessment': `${receiver.url}/cas` },
    'referrals.callbackToken': CALLBACK_TOKEN,
  });
  app = await startVw(config, { logger: createLogger({ level: 'silent' }) });
  receiver.answerLater({ baseUrl: app.httpUrl, token: CALLBACK_TOKEN, afterMs: 300 });
});

afterAll(async () => {
  await app?.close();
  await receiver?.close();
});

const callback = (referralId: string, body: unknown, token = CALLBACK_TOKEN) =>
  fetch(`${app.httpUrl}/api/v1/referrals/${referralId}/response`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });

describe('receiver answers through the callback API', () => {
  it('moves a referral from sent to accepted when the receiver posts its answer later', async () => {
    const console_ = await connectConsole(app.httpUrl);
    console_.send({ type: 'hello', token: await app.tokens.issue({ sub: 'nurse.li', wards: ['ward-ari'] }) });
    await console_.waitFor(isType('welcome'));
    console_.send({ type: 'subscribe', wardId: 'ward-ari' });
    await console_.waitFor(isType('snapshot'));
    console_.send({ type: 'refer', patientId: 'pt-0001', route: 'nhs111-clinical-assessment', note: 'Breathless overnight, wants advice' });
    const { referralId } = await console_.waitFor(isType('referralAccepted'));
    const stateOf = (state: string) => (f: ServerFrame): f is Extract<ServerFrame, { type: 'referral' }> => f.type === 'referral' && f.referral.referralId === referralId && f.referral.state === state;
    const sent = await console_.waitFor(stateOf('sent'));
    expect(sent.referral.delivery.status).toBe('delivered');
    const accepted = await console_.waitFor(stateOf('accepted'));
    expect(accepted.referral.history.at(-1)).toMatchObject({ state: 'accepted', by: 'Northshire clinical assessment service' });
    expect(accepted.referral.delivery.receiverReference).toBe(receiver.received()[0]!.reference);
    // A later answer moves it on again: the service has completed its part.
    const answer = { resourceType: 'Bundle', type: 'message', entry: [{ resource: { resourceType: 'MessageHeader', id: 'answer-1', source: { name: 'CAS' }, response: { code: 'ok' } } }, { resource: { resourceType: 'ServiceRequest', status: 'completed', intent: 'order', subject: {} } }] };
    expect((await callback(referralId, answer)).status).toBe(200);
    const completed = await console_.waitFor(stateOf('completed'));
    expect(completed.referral.revision).toBeGreaterThan(accepted.referral.revision);
    // The sink keeps the lifecycle in the store, for reports.
    await expect.poll(async () => (await app.store.referrals('ward-ari', { since: new Date(Date.now() - 3600_000) })).find((r) => r.referralId === referralId)?.state).toBe('completed');
    console_.close();
  });

  it('refuses an answer without the token, for an unknown referral, or that is no answer', async () => {
    const body = { resourceType: 'Bundle', type: 'message', entry: [{ resource: { resourceType: 'MessageHeader' } }, { resource: { resourceType: 'ServiceRequest', status: 'active' } }] };
    expect((await callback('0000000-unknown-0000', body, 'not-the-callback-token-at-all')).status).toBe(401);
    expect((await callback('00000000-0000-0000-0000-000000000000', body)).status).toBe(404);
    const console_ = await connectConsole(app.httpUrl);
    console_.send({ type: 'hello', token: await app.tokens.issue({ sub: 'nurse.li', wards: ['ward-ari'] }) });
    await console_.waitFor(isType('welcome'));
    console_.send({ type: 'subscribe', wardId: 'ward-ari' });
    await console_.waitFor(isType('snapshot'));
    console_.send({ type: 'refer', patientId: 'pt-0003', route: 'nhs111-clinical-assessment' });
    const { referralId } = await console_.waitFor(isType('referralAccepted'));
    await console_.waitFor((f): f is Extract<ServerFrame, { type: 'referral' }> => f.type === 'referral' && f.referral.referralId === referralId);
    await expect.poll(async () => (await callback(referralId, { resourceType: 'Bundle', type: 'message', entry: [{ resource: { resourceType: 'MessageHeader' } }, { resource: { resourceType: 'ServiceRequest', status: 'draft' } }] })).status).toBe(422);
    const wrong = await callback(referralId, { resourceType: 'Patient' });
    expect(wrong.status).toBe(422);
    expect(JSON.stringify(await wrong.json())).toContain('message Bundle');
    console_.close();
  });

  it('limits how many referrals one console can send in a burst', async () => {
    const console_ = await connectConsole(app.httpUrl);
    console_.send({ type: 'hello', token: await app.tokens.issue({ sub: 'nurse.burst', wards: ['ward-ari'] }) });
    await console_.waitFor(isType('welcome'));
    console_.send({ type: 'subscribe', wardId: 'ward-ari' });
    await console_.waitFor(isType('snapshot'));
    for (let i = 0; i < 6; i++) console_.send({ type: 'refer', patientId: 'pt-0005', route: 'same-day-gp', note: `burst ${i}` });
    const limited = await console_.waitFor((f): f is Extract<ServerFrame, { type: 'error' }> => f.type === 'error' && f.code === 'rate_limited');
    expect(limited.message).toMatch(/too many referrals/);
    await expect.poll(() => console_.frames.filter((f) => f.type === 'referralAccepted').length).toBe(5);
    console_.close();
  });
});
