import type { ApiRoute } from '../http/api.ts';
import { BodyTooLargeError, bearerToken, isJson, readBody, sendJson } from '../http/api.ts';
import type { Logger } from '../observability/logger.ts';
import type { CapacityCredentials } from './credentials.ts';
import type { CapacityEdge } from './edge.ts';

export const CAPACITY_PATH = '/api/v1/capacity';
const MAX_BODY_BYTES = 64 * 1024;

/**
 * POST /api/v1/capacity: one snapshot, or an array of up to 20, as JSON, with the source's bearer
 * token. 202 when on the bus; 400/403/413/415 naming what to fix; 401 without a valid token; 503 when
 * the bus cannot take it (send again).
 */
export function capacityApi(deps: { edge: CapacityEdge; credentials: CapacityCredentials; logger: Logger }): ApiRoute {
  const log = deps.logger.child({ component: 'capacity-api' });
  return {
    method: 'POST',
    path: CAPACITY_PATH,
    async handle(req, res) {
      const token = bearerToken(req);
      const source = token ? deps.credentials.sourceForToken(token) : undefined;
      if (!source) {
        deps.edge.refusedUnauthenticated('unauthorized');
        sendJson(res, 401, { error: 'unauthorized', message: 'send the capacity source’s token as Authorization: Bearer <token>' }, { 'www-authenticate': 'Bearer realm="vw-capacity"' });
        return;
      }
      if (!isJson(req)) {
        deps.edge.refusedUnauthenticated('unsupported_media_type');
        sendJson(res, 415, { error: 'unsupported_media_type', message: 'send Content-Type: application/json' });
        return;
      }
      let body: Buffer;
      try {
        body = await readBody(req, MAX_BODY_BYTES);
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        deps.edge.refusedUnauthenticated('payload_too_large');
        sendJson(res, 413, { error: 'payload_too_large', message: `bodies are limited to ${MAX_BODY_BYTES} bytes` }, { connection: 'close' });
        return;
      }
      try {
        const outcome = await deps.edge.receive(source, body, { kind: 'http', topic: `POST ${CAPACITY_PATH}` });
        if (outcome.ok) {
          sendJson(res, 202, { accepted: outcome.accepted.length });
          return;
        }
        const { refusal } = outcome;
        const status = refusal.reason === 'source_mismatch' ? 403 : 400;
        sendJson(res, status, { error: refusal.reason, ...(refusal.field ? { field: refusal.field } : {}), message: refusal.field ? `${refusal.field}: ${refusal.message}` : refusal.message });
      } catch (error) {
        log.error({ err: error, sourceId: source.sourceId }, 'could not put a capacity snapshot on the bus');
        sendJson(res, 503, { error: 'unavailable', message: 'not stored: send it again shortly' }, { 'retry-after': '5' });
      }
    },
  };
}
