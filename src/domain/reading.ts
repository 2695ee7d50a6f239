import { z } from 'zod';

/**
 * The canonical reading: one observation of one vital sign, in UCUM units, at the device's event time.
 * Every payload shape a device may send is turned into these before anything else sees it.
 */
export const NUMERIC_READING_TYPES = [
  'respiratory_rate',
  'spo2',
  'heart_rate',
  'systolic_bp',
  'diastolic_bp',
  'temperature',
  'weight',
] as const;

export const READING_TYPES = [
  ...NUMERIC_READING_TYPES,
  'consciousness',
  'supplemental_oxygen',
  'irregular_rhythm',
] as const;

export const ReadingType = z.enum(READING_TYPES);
export type ReadingType = z.infer<typeof ReadingType>;
export type NumericReadingType = (typeof NUMERIC_READING_TYPES)[number];

/** The UCUM unit each type is normalised to. */
export const CANONICAL_UNIT = {
  respiratory_rate: '/min',
  spo2: '%',
  heart_rate: '/min',
  systolic_bp: 'mm[Hg]',
  diastolic_bp: 'mm[Hg]',
  temperature: 'Cel',
  weight: 'kg',
  consciousness: '{ACVPU}',
  supplemental_oxygen: '{boolean}',
  irregular_rhythm: '{boolean}',
} as const satisfies Record<ReadingType, string>;

export const Acvpu = z.enum(['A', 'C', 'V', 'P', 'U']);
export type Acvpu = z.infer<typeof Acvpu>;

export const IsoTimestamp = z.iso.datetime({ offset: true });

const base = {
  /** Stable identity of the observation, so redelivered copies can be recognised and absorbed. */
  readingId: z.string().min(1),
  patientId: z.string().min(1),
  deviceId: z.string().min(1),
  wardId: z.string().min(1),
  /** Event time, as measured by the device. */
  ts: IsoTimestamp,
  /** When the edge received it: the start of the pipeline latency measurement. */
  receivedAt: IsoTimestamp,
  /** Set by a BP cuff when it detected an irregular pulse: the value may be unreliable. */
  flags: z.array(z.enum(['irregular_pulse_during_measurement'])).optional(),
  /** Body position during the measurement, when the device or patient says (postural BP needs it). */
  position: z.enum(['sitting', 'standing', 'lying']).optional(),
};

export const Reading = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.enum(NUMERIC_READING_TYPES), value: z.number().finite(), unit: z.string() }),
  z.object({ ...base, type: z.literal('consciousness'), value: Acvpu, unit: z.literal('{ACVPU}') }),
  z.object({
    ...base,
    type: z.enum(['supplemental_oxygen', 'irregular_rhythm']),
    value: z.boolean(),
    unit: z.literal('{boolean}'),
  }),
]);
export type Reading = z.infer<typeof Reading>;
export type ReadingValue = Reading['value'];
