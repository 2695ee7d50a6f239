import { randomUUID } from 'node:crypto';
import type { Bus } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import { AdmitEvent, DischargeEvent, FlowEvent, Id, TransferEvent } from '../domain/index.ts';
import type { ConsoleUser, TokenAuthority } from '../feed/auth.ts';
import { BodyTooLargeError, bearerToken, isJson, readBody, sendJson, type ApiRoute } from '../http/api.ts';
import type { Logger } from '../observability/logger.ts';
import type { Registry } from '../registry/registry.ts';
import type { FlowView } from './flow-view.ts';

export const FLOW_PATH = '/api/v1/flow';
/** The role a console token must name to admit, discharge or transfer (`vw token --roles "ward lead"`). */
export const WARD_LEAD_ROLE = 'ward lead';
export const MAX_FLOW_BODY_BYTES = 16 * 1024;

/** What a client sends: an event without `by` (the token's user) and, optionally, without an id. */
const WITHOUT = { by: true, eventId: true } as const;
const REQUESTS = {
  admit: AdmitEvent.omit(WITHOUT).extend({ eventId: Id.optional() }).strict(),
  discharge: DischargeEvent.omit(WITHOUT).extend({ eventId: Id.optional() }).strict(),
  transfer: TransferEvent.omit(WITHOUT).extend({ eventId: Id.optional() }).strict(),
} as const;

/** An answer to a flow request, whichever API it came through. */
export interface FlowOutcome {
  status: 202 | 400 | 403 | 409 | 503;
  body: { eventId?: string; duplicate?: boolean; occupied?: number; capacity?: number; overCapacity?: boolean; registered?: boolean; error?: string; field?: string; message?: string };
  headers?: Record<string, string>;
}

/**
 * Checks an admission, discharge or transfer against the token, the registry and who is on which
 * ward, and puts it on the patient-flow topic. Shared by the JSON API and the FHIR Encounter API.
 */
export function createFlowIntake(deps: { bus: Bus; registry: Registry; view: FlowView; logger: Logger }) {
  return {
    /** `request`: a parsed JSON flow request (an event without `by`). The user must hold the ward lead role. */
    async submit(user: ConsoleUser, request: unknown): Promise<FlowOutcome> {
      const kind = (request as { kind?: unknown })?.kind;
      const schema = typeof kind === 'string' && Object.hasOwn(REQUESTS, kind) ? REQUESTS[kind as keyof typeof REQUESTS] : undefined;
      if (!schema) return { status: 400, body: { error: 'schema_violation', field: 'kind', message: 'kind: one of admit, discharge, transfer' } };
      const parsed = schema.safeParse(request);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = issue.path.join('.') || undefined;
        return { status: 400, body: { error: 'schema_violation', ...(field ? { field } : {}), message: field ? `${field}: ${issue.message}` : issue.message } };
      }
      const event = FlowEvent.parse({ ...parsed.data, eventId: parsed.data.eventId ?? randomUUID(), by: user.user });
      const wards = event.kind === 'transfer' ? [event.fromWardId, event.wardId] : [event.wardId];
      for (const wardId of wards) {
        if (!deps.registry.ward(wardId) || !user.wards.has(wardId)) {
          return { status: 403, body: { error: 'forbidden', field: wardId === event.wardId ? 'wardId' : 'fromWardId', message: `ward ${wardId} is not in your token` } };
        }
      }
      if (deps.view.has(event.eventId)) return { status: 202, body: { eventId: event.eventId, duplicate: true } };
      const problem = deps.view.check(event);
      if (problem) return { status: 409, body: { error: 'conflict', message: problem } };
      if (event.kind === 'admit' && event.deviceIds?.length) {
        const lending = deps.registry.lendingProblem(event.patientId, event.deviceIds, new Date(event.at));
        if (lending) return { status: lending.conflict ? 409 : 400, body: { error: lending.conflict ? 'conflict' : 'unknown_reference', field: lending.field, message: `${lending.field}: ${lending.message}` } };
      }
      try {
        await deps.bus.publish(Topics.patientFlow, [{ key: event.patientId, value: event }]);
      } catch (error) {
        deps.logger.error({ err: error, eventId: event.eventId }, 'could not put a flow event on the bus');
        return { status: 503, body: { error: 'unavailable', message: 'not recorded: send it again shortly' }, headers: { 'retry-after': '5' } };
      }
      deps.view.apply(event);
      // The process's own registry follows at once, so a console sees the admission before the topic comes round.
      deps.registry.applyFlow(event);
      const ward = deps.registry.ward(event.wardId)!;
      const occupied = deps.view.occupied(event.wardId);
      return {
        status: 202,
        body: { eventId: event.eventId, occupied, capacity: ward.capacity, overCapacity: event.kind !== 'discharge' && occupied > ward.capacity, registered: Boolean(deps.registry.patient(event.patientId)) },
      };
    },
  };
}
export type FlowIntake = ReturnType<typeof createFlowIntake>;

/**
 * The ward lead's token from the request, or why not (already answered). Shared by the flow APIs.
 */
export async function wardLead(req: Parameters<ApiRoute['handle']>[0], tokens: TokenAuthority): Promise<ConsoleUser | { status: 401 | 403; body: FlowOutcome['body']; headers?: Record<string, string> }> {
  const token = bearerToken(req);
  const user = token ? await tokens.verify(token) : undefined;
  if (!user) return { status: 401, body: { error: 'unauthorized', message: 'send a ward lead’s console token as Authorization: Bearer <token>' }, headers: { 'www-authenticate': 'Bearer realm="vw-flow"' } };
  if (!user.roles.has(WARD_LEAD_ROLE)) return { status: 403, body: { error: 'forbidden', message: `the token does not name the role "${WARD_LEAD_ROLE}"` } };
  return user;
}

/**
 * POST /api/v1/flow: an admission, discharge or transfer, as JSON, with the bearer token of a ward lead
 * whose token grants the ward (both wards for a transfer). 202 with the event id once it is on the
 * patient-flow topic; an admission beyond the ward's commissioned beds is accepted and flagged
 * (`overCapacity`). 400 naming the field; 401; 403 for a ward not granted or a token without the role;
 * 409 when the event does not follow what is known (e.g. discharging a patient not on that ward, or
 * lending a device another patient has).
 */
export function flowApi(deps: { intake: FlowIntake; tokens: TokenAuthority }): ApiRoute {
  return {
    method: 'POST',
    path: FLOW_PATH,
    async handle(req, res) {
      const user = await wardLead(req, deps.tokens);
      if ('status' in user) return sendJson(res, user.status, user.body, user.headers);
      if (!isJson(req)) return sendJson(res, 415, { error: 'unsupported_media_type', message: 'send Content-Type: application/json' });
      let body: Buffer;
      try {
        body = await readBody(req, MAX_FLOW_BODY_BYTES);
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        return sendJson(res, 413, { error: 'payload_too_large', message: `bodies are limited to ${MAX_FLOW_BODY_BYTES} bytes` }, { connection: 'close' });
      }
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        return sendJson(res, 400, { error: 'malformed_json', message: 'the body is not JSON' });
      }
      const outcome = await deps.intake.submit(user, json);
      sendJson(res, outcome.status, outcome.body, outcome.headers);
    },
  };
}
