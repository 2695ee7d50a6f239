import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Bundle, MessageHeader, ServiceRequest } from '@medplum/fhirtypes';
import { verifySignature } from '../src/notify/webhook.ts';

/**
 * A receiving service for referrals (an urgent community response team, a 111 clinical assessment
 * service…) as vw's demo and tests need one: it takes BaRS-shaped FHIR message Bundles by POST,
 * recognises a message it has had by its idempotency key, and answers at once with a response message
 * accepting (or, if told to, rejecting) the referral. GET / lists what arrived, bundles in full.
 */
export interface ReceivedReferral {
  idempotencyKey: string;
  receivedAt: string;
  bundle: Bundle;
  /** Times the same key arrived: more than one is a retry, never a second referral. */
  deliveries: number;
  reference: string;
}

export async function startReferralReceiver(options: { host?: string; port?: number; name?: string; answer?: 'accept' | 'reject'; delayMs?: number; webhookSecret?: string } = {}) {
  const received = new Map<string, ReceivedReferral>();
  /** Escalation webhooks posted to /notify/…, with whether their signature checked out. */
  const webhooks: Array<{ path: string; receivedAt: string; body: unknown; signed: boolean }> = [];
  const name = options.name ?? 'Demo receiving service';
  let mode: 'accept' | 'reject' | 'down' = options.answer ?? 'accept';
  let delayMs = options.delayMs ?? 0;
  /** When set, the answer comes later, posted back to vw as a BaRS response message, as a real service's would. */
  let callback: { baseUrl: string; token: string; afterMs: number } | undefined;

  function responseMessage(entry: ReceivedReferral): Bundle {
    const header = entry.bundle.entry?.[0]?.resource as MessageHeader | undefined;
    const request = entry.bundle.entry?.find((e) => e.resource?.resourceType === 'ServiceRequest')?.resource as ServiceRequest | undefined;
    const cancelling = request?.status === 'revoked';
    return {
      resourceType: 'Bundle',
      id: randomUUID(),
      type: 'message',
      timestamp: new Date().toISOString(),
      entry: [
        {
          fullUrl: `urn:uuid:${randomUUID()}`,
          resource: {
            resourceType: 'MessageHeader',
            id: randomUUID(),
            eventCoding: { system: 'https://fhir.nhs.uk/CodeSystem/message-events-bars', code: 'servicerequest-response' },
            source: { name, endpoint: 'urn:vw:demo-receiver' },
            response: { identifier: header?.id ?? 'unknown', code: 'ok' },
          },
        },
        {
          fullUrl: `urn:uuid:${randomUUID()}`,
          resource: {
            resourceType: 'ServiceRequest',
            identifier: [{ value: entry.reference }],
            status: cancelling ? 'revoked' : mode === 'reject' ? 'revoked' : 'active',
            intent: 'order',
            subject: request?.subject ?? { display: 'unknown' },
            note: [{ text: cancelling ? 'Cancellation received.' : mode === 'reject' ? `${name} cannot take this referral: refer elsewhere.` : `Accepted by ${name}; a clinician will contact the patient.` }],
          },
        },
      ],
    };
  }

  function answer(res: ServerResponse, entry: ReceivedReferral): void {
    const request = entry.bundle.entry?.find((e) => e.resource?.resourceType === 'ServiceRequest')?.resource as ServiceRequest | undefined;
    const referralId = request?.identifier?.find((i) => i.system === 'https://vw.nhs.invalid/Id/referral')?.value;
    if (callback && referralId && request?.status !== 'revoked') {
      // Received now, answered later: the acknowledgement says only that it arrived.
      res.writeHead(202, { 'content-type': 'application/fhir+json' }).end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: `received as ${entry.reference}` }] }));
      const { baseUrl, token, afterMs } = callback;
      setTimeout(() => {
        void fetch(`${baseUrl}/api/v1/referrals/${referralId}/response`, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${token}` },
          body: JSON.stringify(responseMessage(entry)),
        }).then((r) => r.arrayBuffer(), () => undefined);
      }, afterMs);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(JSON.stringify(responseMessage(entry)));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET') {
      const items = [...received.values()].reverse();
      const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" }).end(
        `<!doctype html><html lang="en-GB"><meta charset="utf-8"><title>${esc(name)}: referrals received</title>` +
          `<style>body{font-family:system-ui,sans-serif;margin:20px}pre{background:#f0f4f5;padding:10px;overflow:auto;font-size:12px}</style>` +
          `<h1>${esc(name)}: referrals received (${items.length})</h1>` +
          (webhooks.length ? `<h2>Escalation webhooks (${webhooks.length})</h2><pre>${esc(webhooks.map((w) => `${w.receivedAt} ${w.path} ${w.signed ? 'signature ok' : 'unsigned'}\n${JSON.stringify(w.body)}`).reverse().join('\n\n'))}</pre>` : '') +
          items.map((r) => `<section><h2>${esc(r.reference)} · ${esc(r.receivedAt)} · accepted${r.deliveries > 1 ? ` · ${r.deliveries} deliveries of one message` : ''}</h2><pre>${esc(JSON.stringify(r.bundle, null, 2))}</pre></section>`).join('') +
          '</html>',
      );
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    if (req.url?.startsWith('/notify/')) {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      const header = String(req.headers['vw-signature'] ?? '');
      const signed = options.webhookSecret ? verifySignature(options.webhookSecret, text, header) : false;
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text
      }
      webhooks.push({ path: req.url, receivedAt: new Date().toISOString(), body, signed });
      res.writeHead(options.webhookSecret && !signed ? 401 : 204).end();
      return;
    }
    if (mode === 'down') {
      res.writeHead(503, { 'retry-after': '5' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let bundle: Bundle;
    try {
      bundle = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Bundle;
    } catch {
      res.writeHead(400, { 'content-type': 'application/fhir+json' }).end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'not JSON' }] }));
      return;
    }
    if (bundle.resourceType !== 'Bundle' || bundle.type !== 'message' || bundle.entry?.[0]?.resource?.resourceType !== 'MessageHeader') {
      res.writeHead(422, { 'content-type': 'application/fhir+json' }).end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'structure', diagnostics: 'expected a message Bundle starting with a MessageHeader' }] }));
      return;
    }
    const key = String(req.headers['idempotency-key'] ?? bundle.entry[0].resource.id ?? randomUUID());
    let entry = received.get(key);
    if (entry) entry.deliveries++;
    else received.set(key, (entry = { idempotencyKey: key, receivedAt: new Date().toISOString(), bundle, deliveries: 1, reference: `REF-${String(received.size + 1).padStart(5, '0')}` }));
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    answer(res, entry);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const url = `http://${options.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received: () => [...received.values()],
    webhooks: () => [...webhooks],
    setMode(next: 'accept' | 'reject' | 'down') {
      mode = next;
    },
    setDelay(ms: number) {
      delayMs = ms;
    },
    /** Answer later through vw's callback API instead of in the reply. */
    answerLater(next: { baseUrl: string; token: string; afterMs: number } | undefined) {
      callback = next;
    },
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
