import { Reading, type NumericReadingType, type Reading as ReadingT, type RejectionReason } from '../domain/index.ts';
import type { Registry } from '../registry/registry.ts';
import { decodeCanonical, looksCanonical } from './payloads/canonical.ts';
import { decodeFhir, looksLikeFhir } from './payloads/fhir.ts';
import { decodeMedicalDevice, looksLikeMedicalDevice } from './payloads/medical-device.ts';
import type { Observation, ShapeResult } from './payloads/observation.ts';
import { decodeSmartwatch, looksLikeSmartwatch } from './payloads/smartwatch.ts';
import { implausibility } from './plausibility.ts';
import { readingIdOf } from './reading-id.ts';
import { acceptedUnits, toCanonicalUnit } from './units.ts';

export type PayloadShape = 'canonical' | 'smartwatch_batch' | 'medical_device' | 'fhir_observation';

export interface DecodeLimits {
  maxPayloadBytes: number;
  maxFutureSkewMs: number;
  maxAgeMs: number;
  /**
   * Items (canonical array entries, watch samples, Bundle entries) one payload may offer; a payload
   * with more is refused whole. Each item is validated, so this bounds the work one message can cost.
   */
  maxItemsPerPayload?: number;
}

export const DEFAULT_MAX_ITEMS_PER_PAYLOAD = 2_000;

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxPayloadBytes: 256 * 1024,
  maxFutureSkewMs: 5 * 60_000,
  maxAgeMs: 7 * 24 * 3600_000,
  maxItemsPerPayload: DEFAULT_MAX_ITEMS_PER_PAYLOAD,
};

export interface Rejection {
  reason: RejectionReason;
  detail: string;
  item?: number;
}

export interface DecodeResult {
  shape?: PayloadShape;
  readings: ReadingT[];
  rejections: Rejection[];
}

const SHAPES: Array<{ shape: PayloadShape; looks: (json: unknown) => boolean; decode: (json: unknown) => ShapeResult }> = [
  { shape: 'fhir_observation', looks: looksLikeFhir, decode: decodeFhir },
  { shape: 'medical_device', looks: looksLikeMedicalDevice, decode: decodeMedicalDevice },
  { shape: 'smartwatch_batch', looks: looksLikeSmartwatch, decode: decodeSmartwatch },
  { shape: 'canonical', looks: looksCanonical, decode: decodeCanonical },
];

/** Input quoted in a refusal's detail is cut short: a detail names what is wrong, it does not carry the payload. */
const MAX_QUOTE = 32;
const quote = (text: string) => (text.length > MAX_QUOTE ? `${text.slice(0, MAX_QUOTE)}…` : text);
export const MAX_DETAIL_CHARS = 300;

const NUMERIC = new Set<string>(['respiratory_rate', 'spo2', 'heart_rate', 'systolic_bp', 'diastolic_bp', 'temperature', 'weight']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns one device message into canonical readings and refusals. Never throws: every way a payload
 * can be wrong is a refusal with a machine-readable reason, and a failure of the decoder itself is
 * `internal_error` for this message alone. The topic's device is the sender; the enrolment covering
 * each item's event time says whose reading it is.
 *
 * Accounting: every reading the payload offers ends as exactly one reading or one rejection, and a
 * payload (or batch item) refused whole is one rejection, so readings + rejections is what it offered.
 */
export function decodeDevicePayload(
  input: { topicDeviceId: string; payload: Uint8Array; receivedAt: Date },
  ctx: { registry: Registry; limits?: DecodeLimits },
): DecodeResult {
  try {
    const result = decodeUnguarded(input, ctx);
    for (const r of result.rejections) if (r.detail.length > MAX_DETAIL_CHARS) r.detail = `${r.detail.slice(0, MAX_DETAIL_CHARS)}…`;
    return result;
  } catch (error) {
    // A bug must not take ingest, or the other messages of a batch, down. The name only: a message may quote input.
    const name = error instanceof Error ? error.name : typeof error;
    return { readings: [], rejections: [{ reason: 'internal_error', detail: `ingest failed on this message (${name})` }] };
  }
}

/** Items a payload offers, counted without validating them: array lengths of the shapes that batch. */
function itemsOffered(json: unknown): number {
  if (Array.isArray(json)) return json.length;
  if (typeof json !== 'object' || json === null) return 1;
  let items = 0;
  for (const key of ['heartRate', 'spo2', 'entry']) {
    const value: unknown = Object.hasOwn(json, key) ? (json as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(value)) items += value.length;
  }
  return Math.max(items, 1);
}

function decodeUnguarded(
  input: { topicDeviceId: string; payload: Uint8Array; receivedAt: Date },
  ctx: { registry: Registry; limits?: DecodeLimits },
): DecodeResult {
  const limits = ctx.limits ?? DEFAULT_DECODE_LIMITS;
  const maxItems = limits.maxItemsPerPayload ?? DEFAULT_MAX_ITEMS_PER_PAYLOAD;
  const refuse = (reason: RejectionReason, detail: string, shape?: PayloadShape): DecodeResult => ({
    ...(shape ? { shape } : {}),
    readings: [],
    rejections: [{ reason, detail }],
  });
  if (input.payload.byteLength > limits.maxPayloadBytes) {
    return refuse('payload_too_large', `${input.payload.byteLength} bytes exceeds ${limits.maxPayloadBytes}`);
  }
  let text: string;
  try {
    text = utf8.decode(input.payload);
  } catch {
    return refuse('malformed_json', 'not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // A RangeError would be nesting too deep for the parser: still not JSON vw can take.
    return refuse('malformed_json', error instanceof SyntaxError ? 'not valid JSON' : 'JSON nested too deeply');
  }
  const match = SHAPES.find((s) => s.looks(json));
  if (!match) return refuse('unknown_payload_shape', 'not a canonical reading, watch batch, medical-device measurement or FHIR Observation');

  const device = ctx.registry.device(input.topicDeviceId);
  if (!device) return refuse('unknown_device', `device ${input.topicDeviceId} is not registered`, match.shape);

  const items = itemsOffered(json);
  if (items > maxItems) return refuse('payload_too_large', `${items} items exceeds ${maxItems} per payload`, match.shape);

  let decoded: ShapeResult;
  try {
    decoded = match.decode(json);
  } catch {
    // A decoder bug must not take ingest down; the payload's start is kept in the dead letter for diagnosis.
    return refuse('schema_violation', 'payload could not be decoded', match.shape);
  }
  const result: DecodeResult = { shape: match.shape, readings: [], rejections: decoded.refusals.map((r) => ({ ...r })) };
  for (const observation of decoded.observations) {
    const outcome = toReading(observation, input, ctx.registry, limits);
    if ('reason' in outcome) result.rejections.push(outcome);
    else result.readings.push(outcome);
  }
  return result;
}

function toReading(
  o: Observation,
  input: { topicDeviceId: string; receivedAt: Date },
  registry: Registry,
  limits: DecodeLimits,
): ReadingT | Rejection {
  const at = (reason: RejectionReason, detail: string): Rejection => ({ reason, detail, ...(o.item !== undefined ? { item: o.item } : {}) });
  if (o.deviceId !== undefined && o.deviceId !== input.topicDeviceId) {
    return at('device_mismatch', 'deviceId: differs from the device in the topic');
  }
  const t = Date.parse(o.time);
  // The schemas accept only ISO 8601 with an offset; a time Date cannot represent is refused, never a NaN id or ts.
  if (!Number.isFinite(t)) return at('schema_violation', `${o.field}: event time is not a representable date`);
  const received = input.receivedAt.getTime();
  if (t > received + limits.maxFutureSkewMs) {
    return at('timestamp_in_future', `${o.field}: event time ${Math.round((t - received) / 1000)} s after receipt (allowed ${limits.maxFutureSkewMs / 1000} s)`);
  }
  if (t < received - limits.maxAgeMs) {
    return at('timestamp_too_old', `${o.field}: event time older than ${Math.round(limits.maxAgeMs / 3_600_000)} h`);
  }
  const enrolment = registry.enrolmentAt(input.topicDeviceId, new Date(t));
  if (!enrolment) return at('device_not_enrolled', `device ${input.topicDeviceId} is not enrolled at the event time`);
  if (o.patientId !== undefined && o.patientId !== enrolment.patientId) {
    return at('patient_mismatch', 'patientId: not the patient this device is enrolled to');
  }

  let value = o.value;
  let unit: string;
  if (NUMERIC.has(o.type)) {
    const type = o.type as NumericReadingType;
    if (typeof value !== 'number') return at('schema_violation', `${o.field}: expected a number`);
    const converted = toCanonicalUnit(type, value, o.unit ?? '');
    if (!converted) return at('unsupported_unit', `${o.field}: unit '${quote(o.unit ?? '')}' for ${type}; accepted: ${acceptedUnits(type).join(', ')}`);
    const problem = implausibility(type, converted.value);
    if (problem) return at('implausible_value', `${o.field}: ${problem}`);
    value = converted.value;
    unit = converted.unit;
  } else {
    unit = o.type === 'consciousness' ? '{ACVPU}' : '{boolean}';
  }
  const candidate = {
    readingId: readingIdOf(input.topicDeviceId, o.type, t),
    patientId: enrolment.patientId,
    wardId: enrolment.wardId,
    deviceId: input.topicDeviceId,
    type: o.type,
    value,
    unit,
    ts: new Date(t).toISOString(),
    receivedAt: input.receivedAt.toISOString(),
    ...(o.flags?.length ? { flags: o.flags } : {}),
    ...(o.position ? { position: o.position } : {}),
  };
  // The last gate: whatever a decoder produced must be a valid canonical reading.
  const checked = Reading.safeParse(candidate);
  return checked.success ? checked.data : at('schema_violation', `${o.field}: ${checked.error.issues[0]?.message ?? 'invalid'}`);
}
