import type { Bundle, MessageHeader, OperationOutcome, ServiceRequest } from '@medplum/fhirtypes';

/** Where a route's referrals are sent. */
export interface ReferralEndpoint {
  url: string;
  /** Sent as `Authorization: Bearer …` when set. */
  token?: string;
}

export type DeliveryResult =
  | { kind: 'delivered'; outcome?: 'accepted' | 'rejected' | 'completed'; receiverReference?: string; note?: string }
  /** Worth trying again: the receiver is down, busy or timed out. */
  | { kind: 'retry'; error: string }
  /** The receiver refused the message itself; sending it again would not help. */
  | { kind: 'failed'; error: string };

/**
 * Sends one referral message. The idempotency key (and the message's stable MessageHeader.id) let
 * the receiver recognise a message it has already had, so a retry after a crash is never a second
 * referral. A receiver may answer at once with a response message saying whether it accepted.
 */
export async function deliverMessage(endpoint: ReferralEndpoint, bundle: Bundle, idempotencyKey: string, timeoutMs: number): Promise<DeliveryResult> {
  let response: Response;
  try {
    response = await fetch(endpoint.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/fhir+json',
        accept: 'application/fhir+json',
        'idempotency-key': idempotencyKey,
        'x-correlation-id': idempotencyKey,
        ...(endpoint.token ? { authorization: `Bearer ${endpoint.token}` } : {}),
      },
      body: JSON.stringify(bundle),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { kind: 'retry', error: (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : `could not reach the receiver${cause ? ` (${cause})` : ''}` };
  }
  const text = await response.text().catch(() => '');
  if (response.status === 408 || response.status === 429 || response.status >= 500) {
    return { kind: 'retry', error: `receiver answered ${response.status}${diagnostics(text)}` };
  }
  if (response.status >= 400) return { kind: 'failed', error: `receiver refused the message: ${response.status}${diagnostics(text)}` };
  return { kind: 'delivered', ...readAnswer(text) };
}

/** What an immediate answer says, if it is a response message (BaRS servicerequest-response). */
function readAnswer(text: string): { outcome?: 'accepted' | 'rejected' | 'completed'; receiverReference?: string; note?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {};
  }
  const bundle = json as Bundle;
  if (bundle?.resourceType !== 'Bundle' || !Array.isArray(bundle.entry)) return {};
  const resources = bundle.entry.map((e) => e.resource);
  const header = resources.find((r): r is MessageHeader => r?.resourceType === 'MessageHeader');
  const request = resources.find((r): r is ServiceRequest => r?.resourceType === 'ServiceRequest');
  if (!header?.response || header.response.code !== 'ok' || !request) return {};
  const outcome = request.status === 'active' ? 'accepted' : request.status === 'revoked' ? 'rejected' : request.status === 'completed' ? 'completed' : undefined;
  const receiverReference = request.identifier?.[0]?.value ?? request.id;
  const note = request.note?.[0]?.text;
  return { ...(outcome ? { outcome } : {}), ...(receiverReference ? { receiverReference: receiverReference.slice(0, 200) } : {}), ...(note ? { note: note.slice(0, 1000) } : {}) };
}

function diagnostics(text: string): string {
  try {
    const outcome = JSON.parse(text) as OperationOutcome;
    const said = outcome.resourceType === 'OperationOutcome' ? outcome.issue?.map((i) => i.diagnostics ?? i.details?.text ?? i.code).join('; ') : undefined;
    return said ? `: ${said.slice(0, 300)}` : '';
  } catch {
    return '';
  }
}

export { backoffMs } from '../outbox/backoff.ts';
