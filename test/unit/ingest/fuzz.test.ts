import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CANONICAL_UNIT, READING_TYPES, Reading, RejectionReason, type Reading as ReadingT } from '../../../src/domain/index.ts';
import { decodeDevicePayload, DEFAULT_DECODE_LIMITS, MAX_DETAIL_CHARS, type DecodeResult } from '../../../src/ingest/decode.ts';
import { NOW, registry } from './fixtures.ts';

/**
 * Property-based fuzzing of the decoder: 100,000 generated payloads (seeded, so a failure reproduces)
 * across every shape it accepts, valid and mutated, and raw bytes. For every one of them:
 *
 * - decoding never fails inside (no `internal_error`: the decoder's own guard is never needed);
 * - the counts add up: every reading the payload offers is exactly one reading or one rejection, and
 *   a payload refused whole is one rejection (an independent count of the generated model where it
 *   is known, at least one outcome always);
 * - every reading is canonical: a known type, a finite value, the type's canonical unit, the topic's
 *   device and the enrolled patient; every rejection has a known reason and a bounded detail.
 *
 * Run counts are tuned so the file takes a few seconds on two cores. `FUZZ_SEED=n` explores another seed.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const DEVICE = 'app-1';
const PATIENT = 'p1';
const TOTAL = { valid: 4 * 5_000, mutated: 4 * 12_500, bytes: 20_000, hostile: 10_000 };
const REASONS = new Set<string>(RejectionReason.options);
const TYPES = new Set<string>(READING_TYPES);

// ---------------------------------------------------------------- checking one message

let checked = 0;
function check(payload: Uint8Array, expected?: number): DecodeResult {
  const result = decodeDevicePayload({ topicDeviceId: DEVICE, payload, receivedAt: NOW }, { registry, limits: DEFAULT_DECODE_LIMITS });
  checked++;
  const outcomes = result.readings.length + result.rejections.length;
  // Only a watch batch with empty sample arrays offers nothing (a watch with nothing to report), and it gets no outcome.
  if (outcomes < 1 && !(result.shape === 'smartwatch_batch' && offersNoSamples(payload))) throw new Error('a payload with no outcome');
  if (expected !== undefined && outcomes !== expected && !refusedWhole(result)) {
    throw new Error(`counts do not add up: ${result.readings.length} readings + ${result.rejections.length} rejections for ${expected} offered`);
  }
  for (const r of result.rejections) {
    if (r.reason === 'internal_error') throw new Error(`the decoder failed inside: ${r.detail}`);
    if (!REASONS.has(r.reason)) throw new Error(`unknown reason ${r.reason}`);
    if (typeof r.detail !== 'string' || r.detail.length > MAX_DETAIL_CHARS + 1) throw new Error('detail missing or unbounded');
    if (r.item !== undefined && !(Number.isSafeInteger(r.item) && r.item >= 0)) throw new Error(`bad item index ${r.item}`);
  }
  for (const r of result.readings) assertCanonical(r);
  return result;
}

/** A payload refused as a whole (not JSON, no shape, too large, an unreadable envelope): one rejection, no item. */
function refusedWhole(result: DecodeResult): boolean {
  return result.readings.length === 0 && result.rejections.length === 1 && result.rejections[0]!.item === undefined;
}

function offersNoSamples(payload: Uint8Array): boolean {
  const json = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
  const none = (key: string) => !Object.hasOwn(json, key) || (Array.isArray(json[key]) && (json[key] as unknown[]).length === 0);
  return none('heartRate') && none('spo2') && !Object.hasOwn(json, 'irregularRhythm');
}

function assertCanonical(r: ReadingT): void {
  if (!Reading.safeParse(r).success) throw new Error('a reading that is not canonical');
  if (!TYPES.has(r.type) || !Object.hasOwn(CANONICAL_UNIT, r.type)) throw new Error(`unknown type ${String(r.type)}`);
  if (r.unit !== CANONICAL_UNIT[r.type]) throw new Error(`unit ${r.unit} is not ${r.type}'s canonical unit`);
  if (typeof r.value === 'number' && !Number.isFinite(r.value)) throw new Error('a non-finite value');
  if (r.deviceId !== DEVICE || r.patientId !== PATIENT) throw new Error('a reading for the wrong device or patient');
}

// ---------------------------------------------------------------- generators of valid payloads

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'valueOf', 'toString', 'hasOwnProperty', 'isPrototypeOf', 'toLocaleString', '__lookupGetter__'];
const recent = fc.integer({ min: 0, max: 3_600 }).map((s) => new Date(NOW.getTime() - s * 1000).toISOString());
const num = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
const maybe = <T,>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** A generated payload and how many readings it offers (its independent count). */
interface Model {
  json: unknown;
  offered: number;
}

const NUMERIC_UNITS: Record<string, Array<[string, number, number]>> = {
  heart_rate: [['/min', 30, 200], ['{beats}/min', 30, 200]],
  respiratory_rate: [['/min', 5, 60], ['{breaths}/min', 5, 60]],
  spo2: [['%', 70, 100]],
  systolic_bp: [['mm[Hg]', 80, 250], ['kPa', 11, 33]],
  diastolic_bp: [['mm[Hg]', 40, 150], ['mmHg', 40, 150]],
  temperature: [['Cel', 30, 43], ['[degF]', 90, 108]],
  weight: [['kg', 5, 300], ['g', 5_000, 300_000], ['[lb_av]', 11, 660]],
};

const canonicalItem: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc
    .constantFrom(...Object.entries(NUMERIC_UNITS).flatMap(([type, units]) => units.map((u) => [type, ...u] as const)))
    .chain(([type, unit, min, max]) => fc.record({ type: fc.constant(type), value: num(min, max), unit: fc.constant(unit), ts: recent })),
  fc.record({ type: fc.constant('consciousness'), value: fc.constantFrom('A', 'C', 'V', 'P', 'U'), ts: recent }, { requiredKeys: ['type', 'value', 'ts'] }),
  fc.record({ type: fc.constantFrom('supplemental_oxygen', 'irregular_rhythm'), value: fc.boolean(), unit: fc.constant('{boolean}'), ts: recent }, { requiredKeys: ['type', 'value', 'ts'] }),
).chain((item) =>
  fc.record({ deviceId: maybe(fc.constant(DEVICE)), patientId: maybe(fc.constant(PATIENT)), position: maybe(fc.constantFrom('sitting', 'standing', 'lying')) }).map((extra) => ({
    ...item,
    ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
  })),
);

const canonical: fc.Arbitrary<Model> = fc.oneof(
  canonicalItem.map((json) => ({ json, offered: 1 })),
  fc.array(canonicalItem, { minLength: 1, maxLength: 12 }).map((json) => ({ json, offered: json.length })),
);

const smartwatch: fc.Arbitrary<Model> = fc
  .record(
    {
      deviceId: fc.constant(DEVICE),
      sentAt: recent,
      batteryPercent: fc.integer({ min: 0, max: 100 }),
      heartRate: fc.array(fc.record({ time: recent, bpm: num(30, 200) }), { maxLength: 20 }),
      spo2: fc.array(fc.record({ time: recent, percent: num(70, 100) }), { maxLength: 5 }),
      irregularRhythm: fc.record({ time: recent, detected: fc.boolean() }),
    },
    { requiredKeys: [] },
  )
  .filter((w) => w.heartRate !== undefined || w.spo2 !== undefined || w.irregularRhythm !== undefined)
  .map((json) => ({ json, offered: (json.heartRate?.length ?? 0) + (json.spo2?.length ?? 0) + (json.irregularRhythm ? 1 : 0) }))
  // A watch batch with empty arrays and no notification offers nothing: the decoder has nothing to say of it.
  .filter((m) => m.offered > 0);

const device = maybe(fc.constant(DEVICE));
const strip = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const medicalDevice: fc.Arbitrary<Model> = fc.oneof(
  fc
    .record({ deviceId: device, time: recent, kpa: fc.boolean(), systolic: num(100, 180), diastolic: num(50, 95), pulse: maybe(num(40, 150)), irregularHeartbeat: maybe(fc.boolean()), position: maybe(fc.constantFrom('sitting', 'standing', 'lying')) })
    .map(({ kpa, systolic, diastolic, ...rest }) => ({
      json: strip({ ...rest, measurement: 'blood_pressure', systolic: kpa ? systolic / 7.5 : systolic, diastolic: kpa ? diastolic / 7.5 : diastolic, ...(kpa ? { unit: 'kPa' } : {}) }),
      offered: 2 + (rest.pulse !== undefined ? 1 : 0) + (rest.irregularHeartbeat ? 1 : 0),
    })),
  fc.record({ deviceId: device, time: recent, spo2: num(70, 100), pulseRate: maybe(num(40, 150)) }).map((r) => ({ json: strip({ ...r, measurement: 'pulse_oximetry' }), offered: r.pulseRate !== undefined ? 2 : 1 })),
  fc.oneof(fc.record({ unit: fc.constant('C'), temperature: num(35, 40) }), fc.record({ unit: fc.constant('F'), temperature: num(95, 104) })).chain((t) =>
    fc.record({ deviceId: device, time: recent }).map((r) => ({ json: strip({ ...r, ...t, measurement: 'body_temperature' }), offered: 1 })),
  ),
  fc.oneof(fc.record({ unit: fc.constant('kg'), weight: num(30, 200) }), fc.record({ unit: fc.constant('lb'), weight: num(66, 440) })).chain((w) =>
    fc.record({ deviceId: device, time: recent }).map((r) => ({ json: strip({ ...r, ...w, measurement: 'body_weight' }), offered: 1 })),
  ),
  fc
    .record({ deviceId: device, time: recent, heartRate: maybe(num(40, 150)), respiratoryRate: maybe(num(8, 30)), irregularRhythm: maybe(fc.boolean()) })
    .filter((r) => r.heartRate !== undefined || r.respiratoryRate !== undefined || r.irregularRhythm !== undefined)
    .map((r) => ({ json: strip({ ...r, measurement: 'ecg_summary' }), offered: [r.heartRate, r.respiratoryRate, r.irregularRhythm].filter((v) => v !== undefined).length })),
);

const LOINC: Array<[string, string, number, number]> = [
  ['9279-1', '/min', 5, 60],
  ['8867-4', '/min', 30, 200],
  ['2708-6', '%', 70, 100],
  ['59408-5', '%', 70, 100],
  ['8310-5', 'Cel', 30, 43],
  ['8310-5', '[degF]', 90, 108],
  ['29463-7', 'kg', 5, 300],
];
const fhirDevice = fc.oneof(fc.constant(undefined), fc.constant({ reference: `Device/${DEVICE}` }), fc.constant({ identifier: { value: DEVICE } }));
const quantity = (unit: string, min: number, max: number) => fc.record({ value: num(min, max), useCode: fc.boolean() }).map(({ value, useCode }) => (useCode ? { value, code: unit, system: 'http://unitsofmeasure.org' } : { value, unit }));
const fhirSingle = fc.constantFrom(...LOINC).chain(([code, unit, min, max]) =>
  fc.record({ effective: recent, instant: fc.boolean(), status: fc.constantFrom('final', 'amended', 'corrected', 'preliminary'), q: quantity(unit, min, max), device: fhirDevice }).map(
    ({ effective, instant, status, q, device: d }) =>
      ({
        json: strip({ resourceType: 'Observation', status, code: { coding: [{ system: 'http://loinc.org', code }] }, valueQuantity: q, [instant ? 'effectiveInstant' : 'effectiveDateTime']: effective, device: d }),
        offered: 1,
      }) as Model,
  ),
);
const fhirBp = fc
  .record({ effective: recent, sys: fc.option(num(100, 180), { nil: undefined }), dia: fc.option(num(50, 95), { nil: undefined }), device: fhirDevice })
  .filter((r) => r.sys !== undefined || r.dia !== undefined)
  .map(({ effective, sys, dia, device: d }) => ({
    json: strip({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
      component: [
        ...(sys !== undefined ? [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: sys, code: 'mm[Hg]' } }] : []),
        ...(dia !== undefined ? [{ code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: dia, code: 'mm[Hg]' } }] : []),
      ],
      effectiveDateTime: effective,
      device: d,
    }),
    offered: (sys !== undefined ? 1 : 0) + (dia !== undefined ? 1 : 0),
  }));
const fhirObservation = fc.oneof(fhirSingle, fhirBp);
const fhir: fc.Arbitrary<Model> = fc.oneof(
  fhirObservation,
  fc.array(fhirObservation, { minLength: 1, maxLength: 6 }).map((entries) => ({
    json: { resourceType: 'Bundle', type: 'collection', entry: entries.map((e) => ({ resource: e.json })) },
    offered: entries.reduce((n, e) => n + e.offered, 0),
  })),
);

const SHAPES = { canonical, smartwatch_batch: smartwatch, medical_device: medicalDevice, fhir_observation: fhir } as const;

// ---------------------------------------------------------------- mutations

/** A raw JSON token spliced into the text in place of its placeholder string: numbers JSON.stringify cannot write. */
const raw = (token: string) => `\u0000RAW:${token}\u0000`;
const RAW_TOKENS = ['1e400', '-1e400', '1E+999', '-0', '0.000000000000000000000000000001', '123456789012345678901234567890', '9007199254740993', '1e-400'];

/** Deep nesting: as values (up to 400 deep, so the test's own copies stay within the stack) and as raw text, up to 20,000 deep. */
const deepText = fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom(['[', ']'], ['{"a":', '}'])).map(([depth, [open, close]]) => raw(`${open!.repeat(depth)}1${close!.repeat(depth)}`));
const deep = fc.integer({ min: 1, max: 400 }).chain((depth) =>
  fc.constantFrom('array', 'object').map((kind) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { a: v };
    // Reported by its description: fast-check would overflow the stack printing it.
    Object.defineProperty(v as object, fc.toStringMethod, { value: () => `<${kind} nested ${depth} deep>` });
    return v;
  }),
);
/** Arrays up to and past the per-payload item limit (2,000): the long ones are rare, as each costs milliseconds. */
const longLength = fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 0, max: 60 }) }, { weight: 1, arbitrary: fc.constantFrom(1_999, 2_000, 2_001, 5_000) });
const longArray = fc.tuple(longLength, fc.constantFrom<unknown>(1, { type: 'valueOf' }, { time: 'x', bpm: 1 }, null, 'constructor')).map(([n, item]) => Array.from({ length: n }, () => item));
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  { weight: 3, arbitrary: fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '', ' ', '97', 'true', 'null', '2026-13-45T99:99:99Z', '2026-11-22T09:59:00', '+275760-09-13T00:00:00.000Z') },
  { weight: 3, arbitrary: fc.constantFrom(...RAW_TOKENS).map(raw) },
  { weight: 3, arbitrary: fc.oneof(fc.double(), fc.integer(), fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53, -(2 ** 53), 0, -1)) },
  { weight: 2, arbitrary: fc.constantFrom(null, true, false, [], {}) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.oneof(deep, deepText) },
  { weight: 1, arbitrary: longArray },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

type Op = { kind: 'set'; value: unknown } | { kind: 'delete' } | { kind: 'addKey'; key: string; value: unknown } | { kind: 'wrap' };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: hostileValue.map((value) => ({ kind: 'set' as const, value })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'delete' as const }) },
  { weight: 2, arbitrary: fc.record({ key: fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS, 'type', 'unit', 'measurement', 'deviceId', 'resourceType', 'heartRate', 'entry'), fc.string({ maxLength: 8 })), value: hostileValue }).map((r) => ({ kind: 'addKey' as const, ...r })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'wrap' as const }) },
);

/** Every container in a JSON value, with the key of each of its entries: where a mutation may land. */
function slots(json: unknown): Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> {
  const out: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach((x, i) => (out.push({ parent: v, key: i }), walk(x)));
    else if (typeof v === 'object' && v !== null) for (const k of Object.keys(v)) out.push({ parent: v as Record<string, unknown>, key: k }), walk((v as Record<string, unknown>)[k]);
  };
  walk(json);
  return out;
}

/** Applies mutations to a deep copy; an own `__proto__` key is defined, not set, so it stays a key. */
function mutate(json: unknown, ops: Array<{ at: number; op: Op }>): unknown {
  let root = structuredClone(json);
  for (let { at, op } of ops) {
    const all = slots(root);
    if (op.kind === 'wrap' || all.length === 0) {
      root = op.kind === 'set' ? structuredClone(op.value) : [root];
      continue;
    }
    // Generated values may be shared between runs (constants): a copy goes in, so no run changes another's.
    op = 'value' in op ? { ...op, value: structuredClone(op.value) } : op;
    const { parent, key } = all[at % all.length]!;
    const target = parent as Record<string | number, unknown>;
    if (op.kind === 'set') Object.defineProperty(target, key, { value: op.value, enumerable: true, writable: true, configurable: true });
    else if (op.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete target[key];
    } else {
      const inner = target[key];
      const host = typeof inner === 'object' && inner !== null && !Array.isArray(inner) ? (inner as Record<string, unknown>) : (parent as Record<string, unknown>);
      if (!Array.isArray(host)) Object.defineProperty(host, op.key, { value: op.value, enumerable: true, writable: true, configurable: true });
    }
  }
  return root;
}

const encode = (json: unknown): Uint8Array =>
  Buffer.from(JSON.stringify(json).replace(/"\\u0000RAW:((?:[^"\\]|\\")*)\\u0000"/g, (_, token: string) => token.replaceAll('\\"', '"')));

/** Byte-level damage to an encoded payload: truncation, invalid UTF-8, stray bytes, a BOM. */
const byteDamage = fc.oneof(
  fc.constant((b: Uint8Array) => b),
  fc.nat().map((n) => (b: Uint8Array) => b.subarray(0, b.length ? n % b.length : 0)),
  fc.tuple(fc.nat(), fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x00])).map(
    ([n, bad]) => (b: Uint8Array) => {
      const at = b.length ? n % b.length : 0;
      return Buffer.concat([b.subarray(0, at), Buffer.from(bad), b.subarray(at)]);
    },
  ),
  fc.constant((b: Uint8Array) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b])),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([n, byte]) => (b: Uint8Array) => {
    const copy = Buffer.from(b);
    if (copy.length) copy[n % copy.length] = byte;
    return copy;
  }),
);

// ---------------------------------------------------------------- the properties

const params = (numRuns: number) => ({ seed: SEED, numRuns, endOnFailure: true });

describe('fuzzing the decoder (seeded)', { timeout: 30_000 }, () => {
  it.each(Object.keys(SHAPES) as Array<keyof typeof SHAPES>)('valid %s payloads: all accepted, one reading per offered', (shape) => {
    fc.assert(
      fc.property(SHAPES[shape], (model) => {
        const result = check(encode(model.json), model.offered);
        if (result.shape !== shape) throw new Error(`recognised as ${result.shape}`);
        if (result.rejections.length) throw new Error(`refused: ${JSON.stringify(result.rejections[0])}`);
      }),
      params(TOTAL.valid / 4),
    );
  });

  it.each(Object.keys(SHAPES) as Array<keyof typeof SHAPES>)('mutated %s payloads: never an internal failure, counts add up, readings canonical', (shape) => {
    fc.assert(
      fc.property(SHAPES[shape], fc.array(fc.record({ at: fc.nat(), op }), { minLength: 1, maxLength: 3 }), fc.boolean(), (model, ops, itemOnly) => {
        // Mutating only inside one item of a canonical array leaves the count known: one outcome per item.
        if (itemOnly && shape === 'canonical' && Array.isArray(model.json)) {
          const items = model.json.map((item, i) => (i === ops[0]!.at % model.offered ? mutate(item, ops) : item));
          check(encode(items), model.offered);
          return;
        }
        check(encode(mutate(model.json, ops)));
      }),
      params(TOTAL.mutated / 4),
    );
  });

  it('raw bytes and damaged encodings: never an internal failure', () => {
    const anyShape = fc.oneof(...Object.values(SHAPES));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 256 }), anyShape.chain((m) => byteDamage.map((damage) => damage(encode(m.json))))), (bytes) => void check(bytes)),
      params(TOTAL.bytes),
    );
  });

  it('hostile payloads: prototype keys as units, types, codes and keys; long arrays; huge strings; empty', () => {
    const protoKey = fc.constantFrom(...PROTOTYPE_KEYS);
    const hostile = fc.oneof(
      { weight: 6, arbitrary: fc.record({ type: fc.constantFrom('heart_rate', 'spo2', 'weight', 'temperature'), value: fc.constant(70), unit: protoKey, ts: recent }) },
      { weight: 6, arbitrary: fc.record({ type: protoKey, value: fc.constant(70), unit: protoKey, ts: recent }) },
      { weight: 6, arbitrary: fc.record({ measurement: protoKey, time: recent, systolic: fc.constant(120), diastolic: fc.constant(80), unit: protoKey }) },
      { weight: 6, arbitrary: fc.record({ measurement: fc.constantFrom('blood_pressure', 'body_temperature', 'body_weight'), time: recent, systolic: fc.constant(120), diastolic: fc.constant(80), temperature: fc.constant(37), weight: fc.constant(80), unit: protoKey }) },
      { weight: 6, arbitrary: fc.record({ resourceType: fc.constant('Observation'), status: fc.constant('final'), code: protoKey.map((code) => ({ coding: [{ code }] })), valueQuantity: protoKey.map((code) => ({ value: 70, code })), effectiveDateTime: recent }) },
      { weight: 6, arbitrary: fc.record({ resourceType: fc.constant('Observation'), status: fc.constant('final'), code: fc.constant({ coding: [{ code: '8867-4' }] }), valueQuantity: protoKey.map((unit) => ({ value: 70, unit })), effectiveDateTime: recent }) },
      { weight: 6, arbitrary: fc.tuple(protoKey, hostileValue).map(([key, value]) => Object.defineProperty({ type: 'spo2', value: 97, unit: '%', ts: NOW.toISOString() }, key, { value, enumerable: true })) },
      { weight: 1, arbitrary: longLength.map((n) => Array.from({ length: n }, () => ({ type: 'valueOf', value: 1, unit: 'valueOf', ts: 'x' }))) },
      { weight: 1, arbitrary: longLength.map((n) => ({ heartRate: Array.from({ length: n }, () => ({ time: 'x', bpm: 'valueOf' })) })) },
      { weight: 6, arbitrary: fc.constantFrom('', '""', '[]', '{}', 'null', '0', '[[]]', '{"__proto__":null}', '{"constructor":{"prototype":{}}}', '{"heartRate":[]}') },
      { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 250_000 }).map((n) => `"${'a'.repeat(n)}"`) },
      { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 250_000 }).map((n) => ({ type: 'heart_rate', value: 70, unit: 'u'.repeat(n), ts: NOW.toISOString() })) },
    );
    fc.assert(fc.property(hostile, (json) => void check(typeof json === 'string' ? Buffer.from(json) : encode(json))), params(TOTAL.hostile));
  });

  it(`checked ${Object.values(TOTAL).reduce((a, b) => a + b)} payloads in all`, () => {
    expect(checked).toBe(Object.values(TOTAL).reduce((a, b) => a + b));
  });
});
