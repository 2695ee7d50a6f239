import { createHash } from 'node:crypto';
import type { Encounter, Extension, OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { z } from 'zod';
import { AdmissionKind, AdmissionSource, AdmitEvent, DischargeEvent, DischargeOutcome, Id, Pathway, TransferEvent } from '../domain/index.ts';
import type { FlowOutcome } from './http-api.ts';

/**
 * A FHIR R4 Encounter read as an admission, a discharge or a transfer on a virtual ward (docs/fhir-encounter.md):
 *
 * - `in-progress` with one active location → admit; with an active location and, before it, a `completed`
 *   location on another ward → transfer from that ward;
 * - `finished` → discharge from its last location.
 *
 * Pure: the result is a flow request for the flow intake (src/flow/http-api.ts), which checks it against
 * the token, the registry and who is on which ward; or a problem naming the Encounter element at fault.
 * The event id comes from the Encounter's id (or identifier) and what the Encounter records, so the same
 * Encounter sent again is the same event and counts once.
 */
const VW = 'https://vw.nhs.invalid';
export const PATIENT_ID_SYSTEM = `${VW}/Id/patient`;
export const WARD_ID_SYSTEM = `${VW}/Id/ward`;
export const DEVICE_ID_SYSTEM = `${VW}/Id/device`;
/** vw's own code systems: the flow's terms, for which no national code says the same thing. */
export const ADMISSION_KIND_SYSTEM = `${VW}/CodeSystem/admission-kind`;
export const PATHWAY_SYSTEM = `${VW}/CodeSystem/pathway`;
export const ADMISSION_SOURCE_SYSTEM = `${VW}/CodeSystem/admission-source`;
export const DISCHARGE_OUTCOME_SYSTEM = `${VW}/CodeSystem/discharge-outcome`;
export const IMD_DECILE_EXTENSION = `${VW}/StructureDefinition/imd-decile`;
export const DEVICE_LENT_EXTENSION = `${VW}/StructureDefinition/device-lent`;
/** On a 202 OperationOutcome: what the JSON API answers (eventId, duplicate, occupied, capacity, overCapacity). */
export const FLOW_OUTCOME_EXTENSION = `${VW}/StructureDefinition/flow-outcome`;
/** FHIR R4 base code systems (terminology.hl7.org). */
export const ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const ADMIT_SOURCE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/admit-source';
export const DISCHARGE_DISPOSITION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/discharge-disposition';

/** Encounter.class of a virtual ward stay: v3-ActCode HH (home health) or VR (virtual). */
export const VIRTUAL_WARD_CLASSES = ['HH', 'VR'] as const;

const same = <T extends string>(codes: readonly T[]) => Object.fromEntries(codes.map((c) => [c, c])) as Record<string, T>;
/** Codes of the FHIR base value sets that say what a vw code says; the others have no vw meaning and are refused. */
const BASE_ADMIT_SOURCE: Record<string, AdmissionSource> = { gp: 'gp', emd: 'ed-sdec', 'hosp-trans': 'acute-discharge', other: 'other' };
const BASE_DISCHARGE_DISPOSITION: Record<string, DischargeOutcome> = { home: 'care-completed', 'alt-home': 'care-completed', exp: 'died', aadvice: 'self-discharged' };

const FhirId = z.string().regex(/^[A-Za-z0-9.-]{1,64}$/, 'a FHIR id is 1-64 of A-Z a-z 0-9 - .');
const DateTime = z.iso.datetime({ offset: true, error: 'a dateTime with a time and an offset, e.g. 2026-11-30T09:15:00Z' });
const Coding = z.object({ system: z.string().optional(), code: z.string().optional(), display: z.string().optional() });
const CodeableConcept = z.object({ coding: z.array(Coding).optional(), text: z.string().optional() });
const Identifier = z.object({ system: z.string().optional(), value: z.string().optional() });
const Reference = z.object({ reference: z.string().optional(), identifier: Identifier.optional(), display: z.string().optional() });
const Period = z.object({ start: DateTime.optional(), end: DateTime.optional() });

/** The part of an Encounter vw reads: anything else is ignored, except a modifierExtension (FHIR forbids ignoring one). */
export const EncounterSubset = z.object({
  resourceType: z.literal('Encounter'),
  id: FhirId.optional(),
  identifier: z.array(Identifier).optional(),
  status: z.enum(['planned', 'arrived', 'triaged', 'in-progress', 'onleave', 'finished', 'cancelled', 'entered-in-error', 'unknown']),
  class: Coding,
  type: z.array(CodeableConcept).optional(),
  serviceType: CodeableConcept.optional(),
  subject: Reference,
  period: Period.optional(),
  hospitalization: z.object({ admitSource: CodeableConcept.optional(), dischargeDisposition: CodeableConcept.optional() }).optional(),
  location: z.array(z.object({ location: Reference, status: z.enum(['planned', 'active', 'reserved', 'completed']).optional(), period: Period.optional() })).optional(),
  extension: z.array(z.object({ url: z.string(), valueInteger: z.number().optional(), valueReference: Reference.optional() })).optional(),
  modifierExtension: z.array(z.unknown()).max(0, 'vw understands no modifier extension').optional(),
});
export type EncounterSubset = z.infer<typeof EncounterSubset>;
// What the schema reads is a part of an R4 Encounter, element for element.
const _isAnEncounter = (e: EncounterSubset): Encounter => ({ ...e, modifierExtension: e.modifierExtension as Extension[] | undefined });
void _isAnEncounter;

const WITHOUT_BY = { by: true } as const;
const AdmitRequest = AdmitEvent.omit(WITHOUT_BY);
const DischargeRequest = DischargeEvent.omit(WITHOUT_BY);
const TransferRequest = TransferEvent.omit(WITHOUT_BY);
/** What the flow intake takes: an event without `by` (the token's user). */
export type FlowRequest = z.infer<typeof AdmitRequest> | z.infer<typeof DischargeRequest> | z.infer<typeof TransferRequest>;

/** FHIR's issue types, as OperationOutcome.issue.code spells them. */
export type IssueType = OperationOutcomeIssue['code'];
export interface EncounterProblem {
  code: IssueType;
  /** The element at fault, as a FHIRPath expression, e.g. `Encounter.hospitalization.admitSource`. */
  expression: string;
  message: string;
}
export type EncounterMapping =
  | {
      ok: true;
      request: FlowRequest;
      /** Which Encounter element each field of the request came from, to name it in the intake's answers. */
      fields: Record<string, string>;
    }
  | { ok: false; problem: EncounterProblem };

const problem = (code: IssueType, expression: string, message: string): { ok: false; problem: EncounterProblem } => ({ ok: false, problem: { code, expression, message } });
type Problem = ReturnType<typeof problem>;
const isProblem = (v: unknown): v is Problem => typeof v === 'object' && v !== null && (v as { ok?: unknown }).ok === false;

const fhirPath = (path: readonly PropertyKey[]) => path.reduce<string>((out, p) => (typeof p === 'number' ? `${out}[${p}]` : `${out}.${String(p)}`), 'Encounter');

/** A vw id from a reference `Type/<id>` or an identifier of vw's system for that type. */
function vwId(ref: z.infer<typeof Reference>, type: 'Patient' | 'Location' | 'Device', system: string, path: string): string | Problem {
  const what = { Patient: 'patient', Location: 'ward', Device: 'device' }[type];
  let fromReference: string | undefined;
  if (ref.reference !== undefined) {
    const match = new RegExp(`^${type}/([^/]+)$`).exec(ref.reference);
    if (!match || !Id.safeParse(match[1]).success) return problem('value', `${path}.reference`, `expected ${type}/<vw ${what} id> (ids are 1-64 of A-Z a-z 0-9 . _ -), got ${JSON.stringify(ref.reference.slice(0, 80))}`);
    fromReference = match[1]!;
  }
  let fromIdentifier: string | undefined;
  if (ref.identifier !== undefined) {
    if (ref.identifier.system !== system) {
      if (fromReference) return fromReference; // another system's identifier beside vw's own reference: informative only
      return problem('value', `${path}.identifier.system`, `vw knows a ${what} by its own id: identifier system ${system}${type === 'Patient' ? ' (not the NHS number)' : ''}`);
    }
    if (!Id.safeParse(ref.identifier.value).success) return problem('value', `${path}.identifier.value`, `a vw ${what} id is 1-64 of A-Z a-z 0-9 . _ -`);
    fromIdentifier = ref.identifier.value!;
  }
  if (fromReference && fromIdentifier && fromReference !== fromIdentifier) return problem('invariant', path, `the reference (${fromReference}) and the identifier (${fromIdentifier}) name different ${what}s`);
  return fromReference ?? fromIdentifier ?? problem('required', path, `name the ${what}: reference ${type}/<id> or identifier system ${system}`);
}

/** The vw code a CodeableConcept carries, from the first of `systems` it has a coding of. */
function codeOf<T extends string>(concepts: Array<{ concept: z.infer<typeof CodeableConcept>; path: string }>, missing: string, systems: Array<{ system: string; codes: Record<string, T> }>, what: string): T | Problem {
  if (!concepts.length) return problem('required', missing, `required: the ${what}`);
  for (const { system, codes } of systems) {
    for (const { concept, path } of concepts) {
      for (const [j, coding] of (concept.coding ?? []).entries()) {
        if (coding.system !== system) continue;
        if (coding.code !== undefined && Object.hasOwn(codes, coding.code)) return codes[coding.code]!;
        return problem('code-invalid', `${path}.coding[${j}].code`, `${JSON.stringify(coding.code ?? null)} is not a ${what} vw takes from ${system}: one of ${Object.keys(codes).join(', ')}`);
      }
    }
  }
  return problem('code-invalid', concepts.length === 1 ? concepts[0]!.path : missing, `no coding of the ${what} from ${systems.map((s) => s.system).join(' or ')}`);
}

/**
 * The deterministic event id: `enc.<Encounter.id>.discharge`, `enc.<Encounter.id>.admit.<wardId>` where
 * that fits, else `enc-<digest>.<kind>`. An admission's id names its ward: an Encounter that names only
 * a new ward (its sender replaced the location instead of completing it) is then a second admission the
 * intake refuses (409), not a re-sent admission silently absorbed. A transfer's names both wards and its time.
 */
function eventIdFor(key: { id?: string; identifier?: string }, kind: FlowRequest['kind'], detail: string[]): string {
  if (key.id && kind !== 'transfer') {
    const readable = [`enc.${key.id}.${kind}`, ...detail].join('.');
    if (Id.safeParse(readable).success) return readable;
  }
  const basis = [key.id ? `id:${key.id}` : `identifier:${key.identifier}`, kind, ...detail].join('|');
  return `enc-${createHash('sha256').update(basis).digest('hex').slice(0, 40)}.${kind}`;
}

export function encounterToFlow(input: unknown): EncounterMapping {
  if (typeof input !== 'object' || input === null || (input as { resourceType?: unknown }).resourceType !== 'Encounter') {
    return problem('structure', 'Encounter', 'send a FHIR R4 Encounter (resourceType "Encounter")');
  }
  const parsed = EncounterSubset.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const missing = issue.path.reduce<unknown>((v, p) => (typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[p] : undefined), input) === undefined;
    const code: IssueType = missing ? 'required' : issue.code === 'invalid_value' ? 'code-invalid' : issue.path[0] === 'modifierExtension' ? 'not-supported' : issue.code === 'invalid_type' ? 'structure' : 'value';
    return problem(code, fhirPath(issue.path), missing ? 'required' : issue.message);
  }
  const enc = parsed.data;

  const identifierIndex = (enc.identifier ?? []).findIndex((i) => i.system && i.value);
  const key = enc.id ? { id: enc.id } : identifierIndex >= 0 ? { identifier: `${enc.identifier![identifierIndex]!.system}|${enc.identifier![identifierIndex]!.value}` } : undefined;
  if (!key) return problem('required', 'Encounter.id', 'send Encounter.id (or an identifier with system and value): it makes the event id, so an Encounter sent again counts once');
  const fields: Record<string, string> = { eventId: enc.id ? 'Encounter.id' : `Encounter.identifier[${identifierIndex}]` };

  if (enc.class.system !== ACT_CODE_SYSTEM || !(VIRTUAL_WARD_CLASSES as readonly string[]).includes(enc.class.code ?? '')) {
    return problem('code-invalid', 'Encounter.class', `a virtual ward stay has class HH (home health) or VR (virtual) of ${ACT_CODE_SYSTEM}`);
  }
  const patientId = vwId(enc.subject, 'Patient', PATIENT_ID_SYSTEM, 'Encounter.subject');
  if (isProblem(patientId)) return patientId;
  fields.patientId = 'Encounter.subject';

  // Where the patient is and has been: planned and reserved locations are not where the patient is.
  const locations = (enc.location ?? []).map((l, i) => ({ ...l, i })).filter((l) => l.status !== 'planned' && l.status !== 'reserved');
  const wardAt = (l: (typeof locations)[number]) => vwId(l.location, 'Location', WARD_ID_SYSTEM, `Encounter.location[${l.i}].location`);

  if (enc.status === 'finished') {
    const last = locations.at(-1);
    if (!last) return problem('required', 'Encounter.location', 'name the ward the patient leaves: location Location/<wardId>');
    const wardId = wardAt(last);
    if (isProblem(wardId)) return wardId;
    if (!enc.period?.end) return problem('required', 'Encounter.period.end', 'required: when the patient was discharged');
    const outcome = codeOf(
      enc.hospitalization?.dischargeDisposition ? [{ concept: enc.hospitalization.dischargeDisposition, path: 'Encounter.hospitalization.dischargeDisposition' }] : [],
      'Encounter.hospitalization.dischargeDisposition',
      [
        { system: DISCHARGE_OUTCOME_SYSTEM, codes: same(DischargeOutcome.options) },
        { system: DISCHARGE_DISPOSITION_SYSTEM, codes: BASE_DISCHARGE_DISPOSITION },
      ],
      'discharge outcome',
    );
    if (isProblem(outcome)) return outcome;
    Object.assign(fields, { wardId: `Encounter.location[${last.i}].location`, at: 'Encounter.period.end', outcome: 'Encounter.hospitalization.dischargeDisposition' });
    return { ok: true, request: { kind: 'discharge', eventId: eventIdFor(key, 'discharge', []), patientId, wardId, outcome, at: enc.period.end }, fields };
  }
  if (enc.status !== 'in-progress') {
    return problem('not-supported', 'Encounter.status', `vw takes in-progress (an admission or a transfer) and finished (a discharge), not ${enc.status}`);
  }

  const active = locations.filter((l) => l.status === 'active');
  if (active.length > 1) return problem('invariant', `Encounter.location[${active[1]!.i}].status`, 'more than one active location: a patient is on one virtual ward at a time');
  const current = active[0] ?? (locations.length === 1 && locations[0]!.status === undefined ? locations[0] : undefined);
  if (!current) return problem('required', 'Encounter.location', 'name the ward the patient is on: a location with status active, Location/<wardId>');
  const wardId = wardAt(current);
  if (isProblem(wardId)) return wardId;
  fields.wardId = `Encounter.location[${current.i}].location`;
  const pathway = enc.serviceType
    ? codeOf([{ concept: enc.serviceType, path: 'Encounter.serviceType' }], 'Encounter.serviceType', [{ system: PATHWAY_SYSTEM, codes: same(Pathway.options) }], 'pathway')
    : undefined;
  if (isProblem(pathway)) return pathway;
  if (pathway) fields.pathway = 'Encounter.serviceType';

  // A completed location on another ward before the current one: the patient moved here from there.
  const previous = locations.filter((l) => l.status === 'completed' && l.i < current.i).at(-1);
  const fromWardId = previous ? wardAt(previous) : undefined;
  if (isProblem(fromWardId)) return fromWardId;
  if (previous && fromWardId && fromWardId !== wardId) {
    const at = current.period?.start ?? previous.period?.end;
    if (!at) return problem('required', `Encounter.location[${current.i}].period.start`, 'required: when the patient moved to this ward');
    Object.assign(fields, { fromWardId: `Encounter.location[${previous.i}].location`, at: current.period?.start ? `Encounter.location[${current.i}].period.start` : `Encounter.location[${previous.i}].period.end` });
    const eventId = eventIdFor(key, 'transfer', [fromWardId, wardId, at]);
    return { ok: true, request: { kind: 'transfer', eventId, patientId, fromWardId, wardId, at, ...(pathway ? { pathway } : {}) }, fields };
  }

  if (!enc.period?.start) return problem('required', 'Encounter.period.start', 'required: when the patient was admitted');
  if (!pathway) return problem('required', 'Encounter.serviceType', `required: the pathway, a coding of ${PATHWAY_SYSTEM}`);
  const admission = codeOf(
    (enc.type ?? []).map((concept, i) => ({ concept, path: `Encounter.type[${i}]` })),
    'Encounter.type',
    [{ system: ADMISSION_KIND_SYSTEM, codes: same(AdmissionKind.options) }],
    'admission (step-up or step-down)',
  );
  if (isProblem(admission)) return admission;
  const source = codeOf(
    enc.hospitalization?.admitSource ? [{ concept: enc.hospitalization.admitSource, path: 'Encounter.hospitalization.admitSource' }] : [],
    'Encounter.hospitalization.admitSource',
    [
      { system: ADMISSION_SOURCE_SYSTEM, codes: same(AdmissionSource.options) },
      { system: ADMIT_SOURCE_SYSTEM, codes: BASE_ADMIT_SOURCE },
    ],
    'admission source',
  );
  if (isProblem(source)) return source;
  Object.assign(fields, { at: 'Encounter.period.start', admission: 'Encounter.type', source: 'Encounter.hospitalization.admitSource' });

  let imdDecile: number | undefined;
  const deviceIds: string[] = [];
  for (const [k, ext] of (enc.extension ?? []).entries()) {
    const path = `Encounter.extension[${k}]`;
    if (ext.url === IMD_DECILE_EXTENSION) {
      if (imdDecile !== undefined) return problem('invariant', path, 'the IMD decile is given twice');
      if (ext.valueInteger === undefined || !Number.isInteger(ext.valueInteger) || ext.valueInteger < 1 || ext.valueInteger > 10) return problem('value', `${path}.valueInteger`, 'the IMD decile is a valueInteger 1 (most deprived) to 10');
      imdDecile = ext.valueInteger;
      fields.imdDecile = `${path}.valueInteger`;
    } else if (ext.url === DEVICE_LENT_EXTENSION) {
      if (!ext.valueReference) return problem('required', `${path}.valueReference`, 'the device lent: valueReference Device/<deviceId>');
      const deviceId = vwId(ext.valueReference, 'Device', DEVICE_ID_SYSTEM, `${path}.valueReference`);
      if (isProblem(deviceId)) return deviceId;
      if (deviceIds.includes(deviceId)) return problem('invariant', `${path}.valueReference`, `device ${deviceId} is named twice`);
      fields[`deviceIds.${deviceIds.length}`] = `${path}.valueReference`;
      deviceIds.push(deviceId);
    }
  }
  if (deviceIds.length) fields.deviceIds = 'Encounter.extension';
  return {
    ok: true,
    request: { kind: 'admit', eventId: eventIdFor(key, 'admit', [wardId]), patientId, wardId, pathway, admission, source, at: enc.period.start, ...(imdDecile !== undefined ? { imdDecile } : {}), ...(deviceIds.length ? { deviceIds } : {}) },
    fields,
  };
}

const ISSUE_FOR: Record<number, IssueType> = { 400: 'invalid', 401: 'login', 403: 'forbidden', 409: 'conflict', 413: 'too-long', 415: 'not-supported', 503: 'transient' };

/** An OperationOutcome of one error. */
export function errorOutcome(code: IssueType, diagnostics: string, expression?: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics, ...(expression ? { expression: [expression] } : {}) }] };
}

/**
 * The flow intake's answer as an OperationOutcome: information (and a warning past the ward's beds) on
 * 202, with the JSON API's answer in the flow-outcome extension; an error otherwise, naming the Encounter
 * element the intake's field came from.
 */
export function flowOutcomeResource(outcome: FlowOutcome, request: FlowRequest, fields: Record<string, string>): OperationOutcome {
  const body = outcome.body;
  if (outcome.status !== 202) {
    // A conflict with who is on which ward names no field: it is about the ward the patient leaves, or, on admission, the patient.
    const field = body.field ?? (outcome.status === 409 ? { admit: 'patientId', discharge: 'wardId', transfer: 'fromWardId' }[request.kind] : undefined);
    const expression = field ? (fields[field] ?? fields[field.split('.')[0]!]) : undefined;
    const message = body.message ?? body.error ?? 'refused';
    const diagnostics = body.field && message.startsWith(`${body.field}: `) ? message.slice(body.field.length + 2) : message;
    const code: IssueType = body.error === 'unknown_reference' ? 'not-found' : (ISSUE_FOR[outcome.status] ?? 'processing');
    return errorOutcome(code, diagnostics, expression);
  }
  const sub: Extension[] = [
    { url: 'eventId', valueString: body.eventId! },
    ...(body.duplicate ? [{ url: 'duplicate', valueBoolean: true }] : []),
    ...(body.occupied !== undefined ? [{ url: 'occupied', valueUnsignedInt: body.occupied }] : []),
    ...(body.capacity !== undefined ? [{ url: 'capacity', valueUnsignedInt: body.capacity }] : []),
    ...(body.overCapacity !== undefined ? [{ url: 'overCapacity', valueBoolean: body.overCapacity }] : []),
  ];
  const issue: OperationOutcomeIssue[] = [
    {
      severity: 'information',
      code: 'informational',
      diagnostics: body.duplicate
        ? `already recorded as ${body.eventId}: counted once`
        : `${request.kind} recorded as ${body.eventId}; ${request.wardId}: ${body.occupied} of ${body.capacity} beds occupied`,
    },
  ];
  if (body.overCapacity) issue.push({ severity: 'warning', code: 'informational', diagnostics: `${request.wardId} is beyond its ${body.capacity} commissioned beds (${body.occupied} occupied)` });
  return { resourceType: 'OperationOutcome', extension: [{ url: FLOW_OUTCOME_EXTENSION, extension: sub }], issue };
}

/** The JSON API's answer back out of a 202 OperationOutcome (for clients and tests). */
export function flowOutcomeOf(resource: OperationOutcome): FlowOutcome['body'] | undefined {
  const ext = resource.extension?.find((e) => e.url === FLOW_OUTCOME_EXTENSION);
  if (!ext) return undefined;
  const body: Record<string, unknown> = {};
  for (const e of ext.extension ?? []) body[e.url] = e.valueString ?? e.valueBoolean ?? e.valueUnsignedInt;
  return body as FlowOutcome['body'];
}
