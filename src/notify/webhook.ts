import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed HTTP webhooks: the body is JSON, and `vw-signature: t=<unix seconds>,v1=<hex>` carries an
 * HMAC-SHA256 of `<t>.<body>` under the shared secret, so a receiver can check who sent it and refuse
 * replays older than it tolerates (docs/notifications.md).
 */
export function signature(secret: string, body: string, at = Date.now()): string {
  const t = Math.floor(at / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** Checks a signature as a receiver would: right key, and no older than `toleranceSeconds`. */
export function verifySignature(secret: string, body: string, header: string, toleranceSeconds = 300, now = Date.now()): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=') as [string, string]));
  const t = Number(parts.t);
  if (!Number.isFinite(t) || Math.abs(now / 1000 - t) > toleranceSeconds || !parts.v1) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return expected.length === parts.v1.length && timingSafeEqual(Buffer.from(expected), Buffer.from(parts.v1));
}

export type WebhookResult = { kind: 'delivered' } | { kind: 'retry'; error: string } | { kind: 'failed'; error: string };

export async function sendWebhook(url: string, secret: string, payload: unknown, id: string, timeoutMs: number): Promise<WebhookResult> {
  const body = JSON.stringify(payload);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'vw-signature': signature(secret, body), 'idempotency-key': id },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { kind: 'retry', error: (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : `could not reach the webhook${cause ? ` (${cause})` : ''}` };
  }
  await response.arrayBuffer().catch(() => undefined);
  if (response.ok) return { kind: 'delivered' };
  if (response.status === 408 || response.status === 429 || response.status >= 500) return { kind: 'retry', error: `webhook answered ${response.status}` };
  return { kind: 'failed', error: `webhook refused it: ${response.status}` };
}
