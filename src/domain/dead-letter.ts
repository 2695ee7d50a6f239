import { z } from 'zod';
import { IsoTimestamp } from './reading.ts';

/** Machine-readable reasons an input was refused. Each is counted in vw_readings_rejected_total. */
export const RejectionReason = z.enum([
  'payload_too_large',
  'malformed_json',
  'unknown_payload_shape',
  'schema_violation',
  'unknown_topic',
  'unknown_device',
  'device_not_enrolled',
  'device_mismatch',
  'patient_mismatch',
  'unsupported_unit',
  'implausible_value',
  'timestamp_in_future',
  'timestamp_too_old',
  // Capacity snapshots (src/capacity): a source may speak only for its own service and provider.
  'source_mismatch',
  // Ingest failed on this one message (a bug, not the device's fault): refused alone, never its batch.
  'internal_error',
]);
export type RejectionReason = z.infer<typeof RejectionReason>;

export const DeadLetter = z.object({
  reason: RejectionReason,
  /** Human detail naming the field at fault; never carries the values themselves. */
  detail: z.string(),
  /** Where it came in: an MQTT topic, or an HTTP method and path. */
  source: z.object({ kind: z.enum(['mqtt', 'http']), topic: z.string() }),
  deviceId: z.string().optional(),
  /** The capacity source that sent it, for capacity snapshots. */
  sourceId: z.string().optional(),
  receivedAt: IsoTimestamp,
  /** Index in a batch payload, when one item of several was refused. */
  item: z.number().int().nonnegative().optional(),
  /** The start of the original bytes (ingest keeps 512), base64: for diagnosis by people allowed to see patient data. */
  payloadBase64: z.string(),
  payloadTruncated: z.boolean(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;
