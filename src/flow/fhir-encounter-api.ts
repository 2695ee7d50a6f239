import type { Bundle, BundleEntry, OperationOutcome } from '@medplum/fhirtypes';
import { z } from 'zod';
import type { TokenAuthority } from '../feed/auth.ts';
import { BodyTooLargeError, isJson, readBody, sendJson, type ApiRoute } from '../http/api.ts';
import { encounterToFlow, errorOutcome, flowOutcomeResource } from './fhir-encounter.ts';
import { MAX_FLOW_BODY_BYTES, wardLead, type FlowIntake } from './http-api.ts';

export const FHIR_ENCOUNTER_PATH = '/api/v1/fhir/Encounter';
const FHIR_JSON = { 'content-type': 'application/fhir+json; charset=utf-8' } as const;
const REASON: Record<number, string> = { 202: 'Accepted', 400: 'Bad Request', 403: 'Forbidden', 409: 'Conflict', 503: 'Service Unavailable' };

const BatchBundle = z.object({
  resourceType: z.literal('Bundle'),
  type: z.string(),
  entry: z.array(z.object({ resource: z.unknown().optional(), request: z.object({ method: z.string().optional() }).optional() })).optional(),
});

/**
 * POST /api/v1/fhir/Encounter: an admission, discharge or transfer as a FHIR R4 Encounter
 * (docs/fhir-encounter.md), or a batch Bundle of them, with a ward lead's bearer token. The Encounter
 * is mapped by src/flow/fhir-encounter.ts and goes through the same flow intake as POST /api/v1/flow,
 * so the checks and statuses are the JSON API's; answers are OperationOutcomes (a batch-response
 * Bundle for a batch).
 */
export function fhirEncounterApi(deps: { intake: FlowIntake; tokens: TokenAuthority }): ApiRoute {
  const send = (res: Parameters<ApiRoute['handle']>[1], status: number, body: OperationOutcome | Bundle, headers: Record<string, string> = {}) => sendJson(res, status, body, { ...FHIR_JSON, ...headers });
  return {
    method: 'POST',
    path: FHIR_ENCOUNTER_PATH,
    async handle(req, res) {
      const user = await wardLead(req, deps.tokens);
      if ('status' in user) return send(res, user.status, errorOutcome(user.status === 401 ? 'login' : 'forbidden', user.body.message ?? 'refused'), user.headers);
      if (!isJson(req)) return send(res, 415, errorOutcome('not-supported', 'send Content-Type: application/fhir+json (or application/json)'));
      let body: Buffer;
      try {
        body = await readBody(req, MAX_FLOW_BODY_BYTES);
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        return send(res, 413, errorOutcome('too-long', `bodies are limited to ${MAX_FLOW_BODY_BYTES} bytes`), { connection: 'close' });
      }
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        return send(res, 400, errorOutcome('structure', 'the body is not JSON'));
      }

      /** One Encounter through the mapping and the intake. */
      const one = async (resource: unknown): Promise<{ status: number; outcome: OperationOutcome; headers?: Record<string, string> }> => {
        const mapped = encounterToFlow(resource);
        if (!mapped.ok) return { status: 400, outcome: errorOutcome(mapped.problem.code, mapped.problem.message, mapped.problem.expression) };
        const answer = await deps.intake.submit(user, mapped.request);
        return { status: answer.status, outcome: flowOutcomeResource(answer, mapped.request, mapped.fields), ...(answer.headers ? { headers: answer.headers } : {}) };
      };

      if ((json as { resourceType?: unknown })?.resourceType !== 'Bundle') {
        const answer = await one(json);
        return send(res, answer.status, answer.outcome, answer.headers);
      }
      // A batch: each entry on its own, in order. A transaction cannot be all-or-nothing here (each event is on the bus once accepted).
      const bundle = BatchBundle.safeParse(json);
      if (!bundle.success) {
        const issue = bundle.error.issues[0]!;
        return send(res, 400, errorOutcome('structure', issue.message, issue.path.reduce<string>((out, p) => (typeof p === 'number' ? `${out}[${p}]` : `${out}.${String(p)}`), 'Bundle')));
      }
      if (bundle.data.type !== 'batch') return send(res, 400, errorOutcome('not-supported', 'send one Encounter, or a Bundle of type batch (vw cannot apply a transaction all or nothing)', 'Bundle.type'));
      const entry: BundleEntry[] = [];
      for (const [i, e] of (bundle.data.entry ?? []).entries()) {
        const answer =
          e.request?.method !== undefined && e.request.method !== 'POST'
            ? { status: 400, outcome: errorOutcome('not-supported', 'each entry is a POST of an Encounter', `Bundle.entry[${i}].request.method`) }
            : await one(e.resource);
        entry.push({ response: { status: `${answer.status} ${REASON[answer.status] ?? ''}`.trim(), outcome: answer.outcome } });
      }
      send(res, 200, { resourceType: 'Bundle', type: 'batch-response', entry });
    },
  };
}
