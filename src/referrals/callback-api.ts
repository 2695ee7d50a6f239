import { timingSafeEqual } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import type { Bundle, MessageHeader, ServiceRequest } from '@medplum/fhirtypes';
import type { Bus } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import { TERMINAL_REFERRAL_STATES, type Referral, type ReferralAction } from '../domain/index.ts';
import { BodyTooLargeError, bearerToken, isJson, readBody, sendJson, type ApiRoute } from '../http/api.ts';
import type { Logger } from '../observability/logger.ts';

export const CALLBACK_PATH = /^\/api\/v1\/referrals\/([A-Za-z0-9-]{8,64})\/response$/;
const MAX_BODY_BYTES = 256 * 1024;

/**
 * POST /api/v1/referrals/{referralId}/response: a receiving service's later answer, as a BaRS
 * servicerequest-response message Bundle whose ServiceRequest.status says accepted (active),
 * rejected (revoked) or completed; authenticated with the callback token (VW_REFERRAL_CALLBACK_TOKEN).
 * The answer becomes a `response` action for the referrals role, which moves the lifecycle on.
 */
export function referralCallbackApi(deps: { bus: Bus; token: string; referral(id: string): Referral | undefined; logger: Logger }): ApiRoute {
  const expected = Buffer.from(deps.token);
  return {
    method: 'POST',
    path: CALLBACK_PATH,
    async handle(req, res, [referralId]) {
      const given = Buffer.from(bearerToken(req) ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        sendJson(res, 401, outcome('security', 'send the callback token as Authorization: Bearer <token>'), { 'www-authenticate': 'Bearer realm="vw-referrals"', 'content-type': 'application/fhir+json' });
        return;
      }
      if (!isJson(req)) {
        sendJson(res, 415, outcome('not-supported', 'send Content-Type: application/fhir+json'), { 'content-type': 'application/fhir+json' });
        return;
      }
      let body: Buffer;
      try {
        body = await readBody(req, MAX_BODY_BYTES);
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        sendJson(res, 413, outcome('too-long', `bodies are limited to ${MAX_BODY_BYTES} bytes`), { connection: 'close', 'content-type': 'application/fhir+json' });
        return;
      }
      const referral = deps.referral(referralId!);
      if (!referral) {
        sendJson(res, 404, outcome('not-found', `no referral ${referralId}`), { 'content-type': 'application/fhir+json' });
        return;
      }
      if (TERMINAL_REFERRAL_STATES.has(referral.state)) {
        sendJson(res, 409, outcome('conflict', `the referral is already ${referral.state}`), { 'content-type': 'application/fhir+json' });
        return;
      }
      const answer = readResponseMessage(body);
      if ('error' in answer) {
        sendJson(res, 422, outcome('invalid', answer.error), { 'content-type': 'application/fhir+json' });
        return;
      }
      const action: ReferralAction = {
        action: 'response',
        actionId: answer.messageId ?? randomUUID(),
        referralId: referral.referralId,
        patientId: referral.patientId,
        wardId: referral.wardId,
        by: answer.by ?? referral.routeTitle,
        at: new Date().toISOString(),
        outcome: answer.outcome,
        ...(answer.note ? { note: answer.note } : {}),
        ...(answer.reference ? { receiverReference: answer.reference } : {}),
      };
      try {
        await deps.bus.publish(Topics.referralActions, [{ key: referral.patientId, value: action }]);
      } catch (error) {
        deps.logger.error({ err: error, referralId }, 'could not record a receiver’s answer');
        sendJson(res, 503, outcome('transient', 'not recorded: send it again shortly'), { 'retry-after': '5', 'content-type': 'application/fhir+json' });
        return;
      }
      sendJson(res, 200, outcome('informational', `recorded: ${answer.outcome}`, 'information'), { 'content-type': 'application/fhir+json' });
    },
  };
}

function outcome(code: string, diagnostics: string, severity = 'error') {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

type Answer = { outcome: 'accepted' | 'rejected' | 'completed'; note?: string; reference?: string; by?: string; messageId?: string } | { error: string };

export function readResponseMessage(body: Buffer): Answer {
  let bundle: Bundle;
  try {
    bundle = JSON.parse(body.toString('utf8')) as Bundle;
  } catch {
    return { error: 'the body is not JSON' };
  }
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'message' || !Array.isArray(bundle.entry)) return { error: 'expected a message Bundle' };
  const header = bundle.entry[0]?.resource as MessageHeader | undefined;
  if (header?.resourceType !== 'MessageHeader') return { error: 'the first entry must be a MessageHeader' };
  const request = bundle.entry.map((e) => e.resource).find((r): r is ServiceRequest => r?.resourceType === 'ServiceRequest');
  if (!request) return { error: 'no ServiceRequest in the message' };
  const outcome = request.status === 'active' ? 'accepted' : request.status === 'revoked' ? 'rejected' : request.status === 'completed' ? 'completed' : undefined;
  if (!outcome) return { error: `ServiceRequest.status ${String(request.status)} is not an answer (active, revoked or completed)` };
  const note = request.note?.[0]?.text?.slice(0, 1000);
  const reference = (request.identifier?.[0]?.value ?? request.id)?.slice(0, 200);
  const by = header.source?.name?.slice(0, 200);
  return { outcome, ...(note ? { note } : {}), ...(reference ? { reference } : {}), ...(by ? { by } : {}), ...(header.id ? { messageId: header.id } : {}) };
}
