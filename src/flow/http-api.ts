import { randomUUID } from 'node:crypto';
import type { Bus } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import { AdmitEvent, DischargeEvent, FlowEvent, Id, TransferEvent } from '../domain/index.ts';
import type { TokenAuthority } from '../feed/auth.ts';
import { BodyTooLargeError, bearerToken, isJson, readBody, sendJson, type ApiRoute } from '../http/api.ts';
import type { Logger } from '../observability/logger.ts';
import type { Registry } from '../registry/registry.ts';
import type { FlowView } from './flow-view.ts';

export const FLOW_PATH = '/api/v1/flow';
/** The role a console token must name to admit, discharge or transfer (`vw token --roles "ward lead"`). */
export const WARD_LEAD_ROLE = 'ward lead';
const MAX_BODY_BYTES = 16 * 1024;

/** What a client sends: an event without `by` (the token's user) and, optionally, without an id. */
const WITHOUT = { by: true, eventId: true } as const;
const REQUESTS = {
  admit: AdmitEvent.omit(WITHOUT).extend({ eventId: Id.optional() }).strict(),
  discharge: DischargeEvent.omit(WITHOUT).extend({ eventId: Id.optional() }).strict(),
  transfer: TransferEvent.omit(WITHOUT).extend({ eventId: Id.optional() }).strict(),
} as const;

/**
 * POST /api/v1/flow: an admission, discharge or transfer, as JSON, with the bearer token of a ward lead
 * whose token grants the ward (both wards for a transfer). 202 with the event id once it is on the
 * patient-flow topic; an admission beyond the ward's commissioned beds is accepted and flagged
 * (`overCapacity`). 400 naming the field; 401; 403 for a ward not granted or a token without the role;
 * 409 when the event does not follow what is known (e.g. discharging a patient not on that ward).
 */
export function flowApi(deps: { bus: Bus; tokens: TokenAuthority; registry: Registry; view: FlowView; logger: Logger }): ApiRoute {
  return {
    method: 'POST',
    path: FLOW_PATH,
    async handle(req, res) {
      const token = bearerToken(req);
      const user = token ? await deps.tokens.verify(token) : undefined;
      if (!user) {
        sendJson(res, 401, { error: 'unauthorized', message: 'send a ward lead’s console token as Authorization: Bearer <token>' }, { 'www-authenticate': 'Bearer realm="vw-flow"' });
        return;
      }
      if (!user.roles.has(WARD_LEAD_ROLE)) {
        sendJson(res, 403, { error: 'forbidden', message: `the token does not name the role "${WARD_LEAD_ROLE}"` });
        return;
      }
      if (!isJson(req)) {
        sendJson(res, 415, { error: 'unsupported_media_type', message: 'send Content-Type: application/json' });
        return;
      }
      let body: Buffer;
      try {
        body = await readBody(req, MAX_BODY_BYTES);
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        sendJson(res, 413, { error: 'payload_too_large', message: `bodies are limited to ${MAX_BODY_BYTES} bytes` }, { connection: 'close' });
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        sendJson(res, 400, { error: 'malformed_json', message: 'the body is not JSON' });
        return;
      }
      const kind = (json as { kind?: unknown })?.kind;
      const schema = typeof kind === 'string' && Object.hasOwn(REQUESTS, kind) ? REQUESTS[kind as keyof typeof REQUESTS] : undefined;
      if (!schema) {
        sendJson(res, 400, { error: 'schema_violation', field: 'kind', message: 'kind: one of admit, discharge, transfer' });
        return;
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = issue.path.join('.') || undefined;
        sendJson(res, 400, { error: 'schema_violation', ...(field ? { field } : {}), message: field ? `${field}: ${issue.message}` : issue.message });
        return;
      }
      const event = FlowEvent.parse({ ...parsed.data, eventId: parsed.data.eventId ?? randomUUID(), by: user.user });
      const wards = event.kind === 'transfer' ? [event.fromWardId, event.wardId] : [event.wardId];
      for (const wardId of wards) {
        if (!deps.registry.ward(wardId) || !user.wards.has(wardId)) {
          sendJson(res, 403, { error: 'forbidden', field: wardId === event.wardId ? 'wardId' : 'fromWardId', message: `ward ${wardId} is not in your token` });
          return;
        }
      }
      if (deps.view.has(event.eventId)) {
        sendJson(res, 202, { eventId: event.eventId, duplicate: true });
        return;
      }
      const problem = deps.view.check(event);
      if (problem) {
        sendJson(res, 409, { error: 'conflict', message: problem });
        return;
      }
      try {
        await deps.bus.publish(Topics.patientFlow, [{ key: event.patientId, value: event }]);
      } catch (error) {
        deps.logger.error({ err: error, eventId: event.eventId }, 'could not put a flow event on the bus');
        sendJson(res, 503, { error: 'unavailable', message: 'not recorded: send it again shortly' }, { 'retry-after': '5' });
        return;
      }
      deps.view.apply(event);
      const ward = deps.registry.ward(event.wardId)!;
      const occupied = deps.view.occupied(event.wardId);
      sendJson(res, 202, { eventId: event.eventId, occupied, capacity: ward.capacity, overCapacity: event.kind !== 'discharge' && occupied > ward.capacity });
    },
  };
}
