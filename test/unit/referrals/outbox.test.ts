import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Patient, Referral, Ward } from '../../../src/domain/index.ts';
import { referralMessage } from '../../../src/referrals/fhir-message.ts';
import { backoffMs, deliverMessage } from '../../../src/referrals/outbox.ts';
import { createRouteCatalogue, loadReferralRoutes, type RouteCatalogue } from '../../../src/referrals/routes-file.ts';
import { startReferralReceiver } from '../../../simulators/referral-receiver.ts';
import { freePort } from '../../support/processes.ts';

/**
 * The outbox's one delivery attempt, against the local receiving service (simulators/referral-receiver.ts)
 * and a server of the test's own: how each answer is classed (delivered, retry, failed) and that the
 * idempotency key makes a resend the same referral.
 */
type Receiver = Awaited<ReturnType<typeof startReferralReceiver>>;
let receiver: Receiver;
let routes: RouteCatalogue;
const servers: Server[] = [];

beforeAll(async () => {
  receiver = await startReferralReceiver({ name: 'Northshire UCR' });
  routes = createRouteCatalogue(await loadReferralRoutes('rules/referral-routes.yaml'));
});
afterEach(() => {
  receiver.setMode('accept');
  receiver.setDelay(0);
});
afterAll(async () => {
  await receiver?.close();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

const patient: Patient = { patientId: 'pt-0001', displayName: 'Ada Stable', nhsNumber: '9990000018', spo2Scale: 1 };
const ward: Ward = { wardId: 'ward-ari', name: 'Acute Respiratory Virtual Ward', organisation: 'RXX', capacity: 40 };
let n = 0;
function bundle(state: Referral['state'] = 'requested'): { bundle: Bundle; referralId: string } {
  const referralId = `ref-outbox-${String(++n).padStart(4, '0')}`;
  const at = '2026-11-22T12:00:00.000Z';
  const referral: Referral = {
    referralId, patientId: 'pt-0001', wardId: 'ward-ari', route: 'urgent-community-response', routeTitle: 'Urgent community response (2-hour)',
    routesVersion: '1.0.0', priority: 'asap', urgency: 'within 2 hours', alertIds: [], reason: 'Breathless at rest', evidence: [],
    requestedBy: 'nurse.jones', requestedAt: at, state, revision: 0, updatedAt: at, history: [{ state: 'requested', at, by: 'nurse.jones' }],
    delivery: { status: 'pending', attempts: 0 },
  };
  return { referralId, bundle: referralMessage({ referral, patient, ward, route: routes.route(referral.route)!, destination: receiver.url, sourceEndpoint: 'http://vw.test' }) };
}

/** A server answering every POST with the given status and body, recording what it was sent. */
async function server(status: number, body: unknown, contentType = 'application/fhir+json') {
  const seen: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const s = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(status, { 'content-type': contentType }).end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/fhir/$process-message`, seen };
}

const receivedFor = (referralId: string) => receiver.received().filter((r) => r.idempotencyKey === referralId);

describe('referral outbox delivery', () => {
  it('delivers to a receiver that accepts, reading its answer: outcome accepted and its reference', async () => {
    const { bundle: message, referralId } = bundle();
    const result = await deliverMessage({ url: receiver.url }, message, referralId, 5_000);
    const [received] = receivedFor(referralId);
    expect(received).toBeDefined();
    expect(result).toEqual({ kind: 'delivered', outcome: 'accepted', receiverReference: received!.reference, note: 'Accepted by Northshire UCR; a clinician will contact the patient.' });
    expect(received!.reference).toMatch(/^REF-\d{5}$/);
    expect(received!.bundle).toEqual(JSON.parse(JSON.stringify(message)));
    expect(received!.deliveries).toBe(1);
  });

  it('reads a rejection from the receiver’s answer as delivered with outcome rejected', async () => {
    receiver.setMode('reject');
    const { bundle: message, referralId } = bundle();
    const result = await deliverMessage({ url: receiver.url }, message, referralId, 5_000);
    expect(result).toMatchObject({ kind: 'delivered', outcome: 'rejected', receiverReference: receivedFor(referralId)[0]!.reference });
    expect(result.kind === 'delivered' && result.note).toMatch(/cannot take this referral/);
  });

  it('makes the same idempotency key sent twice one referral at the receiver, delivered twice', async () => {
    const { bundle: message, referralId } = bundle();
    const first = await deliverMessage({ url: receiver.url }, message, referralId, 5_000);
    const second = await deliverMessage({ url: receiver.url }, message, referralId, 5_000);
    expect(second).toEqual(first);
    const received = receivedFor(referralId);
    expect(received).toHaveLength(1);
    expect(received[0]!.deliveries).toBe(2);
    // A cancellation travels under a key of its own: a second message, not a repeat of the first.
    await deliverMessage({ url: receiver.url }, bundle('cancelled').bundle, `${referralId}:cancel`, 5_000);
    expect(receivedFor(referralId)).toHaveLength(1);
    expect(receiver.received().filter((r) => r.idempotencyKey === `${referralId}:cancel`)).toHaveLength(1);
  });

  it('asks for a retry while the receiver is down (503), and records nothing there', async () => {
    receiver.setMode('down');
    const { bundle: message, referralId } = bundle();
    expect(await deliverMessage({ url: receiver.url }, message, referralId, 5_000)).toEqual({ kind: 'retry', error: 'receiver answered 503' });
    expect(receivedFor(referralId)).toEqual([]);
    receiver.setMode('accept');
    expect(await deliverMessage({ url: receiver.url }, message, referralId, 5_000)).toMatchObject({ kind: 'delivered', outcome: 'accepted' });
    expect(receivedFor(referralId)[0]!.deliveries).toBe(1);
  });

  it('asks for a retry when nothing is listening', async () => {
    const port = await freePort();
    const result = await deliverMessage({ url: `http://127.0.0.1:${port}/fhir` }, bundle().bundle, 'k-nobody', 2_000);
    expect(result).toEqual({ kind: 'retry', error: 'could not reach the receiver (ECONNREFUSED)' });
  });

  it('asks for a retry when the receiver does not answer in time', async () => {
    receiver.setDelay(2_000);
    const { bundle: message, referralId } = bundle();
    const result = await deliverMessage({ url: receiver.url }, message, referralId, 200);
    expect(result).toEqual({ kind: 'retry', error: 'no answer within 0.2 s' });
    // The receiver may have it all the same: the retry goes under the same key, so it is not a second referral.
    expect(receivedFor(referralId)).toHaveLength(1);
  });

  it('fails, without retrying, a message the server refuses with 400, giving its OperationOutcome diagnostics', async () => {
    const refusing = await server(400, {
      resourceType: 'OperationOutcome',
      issue: [
        { severity: 'error', code: 'invalid', diagnostics: 'ServiceRequest.subject: Patient not found on PDS' },
        { severity: 'error', code: 'required', details: { text: 'MessageHeader.sender missing' } },
      ],
    });
    const result = await deliverMessage({ url: refusing.url }, bundle().bundle, 'k-400', 2_000);
    expect(result).toEqual({ kind: 'failed', error: 'receiver refused the message: 400: ServiceRequest.subject: Patient not found on PDS; MessageHeader.sender missing' });
  });

  it('fails a message the receiving service refuses as not a message Bundle (422)', async () => {
    const notAMessage = { resourceType: 'Bundle', type: 'collection', entry: [] } as Bundle;
    expect(await deliverMessage({ url: receiver.url }, notAMessage, 'k-422', 2_000)).toEqual({
      kind: 'failed',
      error: 'receiver refused the message: 422: expected a message Bundle starting with a MessageHeader',
    });
  });

  it.each([
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [401, 'failed'],
    [404, 'failed'],
  ] as const)('classes an answer of %i as %s', async (status, kind) => {
    const s = await server(status, 'plain text, not an OperationOutcome', 'text/plain');
    const result = await deliverMessage({ url: s.url }, bundle().bundle, `k-${status}`, 2_000);
    expect(result.kind).toBe(kind);
    expect(result.kind !== 'delivered' && result.error).toMatch(new RegExp(`${status}$`));
  });

  it('counts a 2xx answer without a response message as delivered, with no outcome yet', async () => {
    const s = await server(202, '');
    expect(await deliverMessage({ url: s.url }, bundle().bundle, 'k-202', 2_000)).toEqual({ kind: 'delivered' });
  });

  it('sends FHIR JSON with the idempotency key as header and correlation id, and the bearer token when set', async () => {
    const s = await server(200, '{}');
    const { bundle: message } = bundle();
    await deliverMessage({ url: s.url, token: 'receiver-token-0123456789' }, message, 'ref-key-1', 2_000);
    await deliverMessage({ url: s.url }, message, 'ref-key-1', 2_000);
    const [withToken, without] = s.seen;
    expect(withToken!.headers).toMatchObject({
      'content-type': 'application/fhir+json',
      accept: 'application/fhir+json',
      'idempotency-key': 'ref-key-1',
      'x-correlation-id': 'ref-key-1',
      authorization: 'Bearer receiver-token-0123456789',
    });
    expect(without!.headers.authorization).toBeUndefined();
    expect(JSON.parse(withToken!.body)).toEqual(JSON.parse(JSON.stringify(message)));
    expect(without!.body).toBe(withToken!.body);
  });

  it('backs off 2 s, 4 s, 8 s … after each failed attempt, up to 5 minutes', () => {
    expect([1, 2, 3, 4, 5].map(backoffMs)).toEqual([2_000, 4_000, 8_000, 16_000, 32_000]);
    expect(backoffMs(8)).toBe(256_000);
    expect(backoffMs(9)).toBe(300_000);
    expect(backoffMs(100)).toBe(300_000);
  });
});
