import { z } from 'zod';
import type { DeviceKind } from '../../src/domain/index.ts';
import { encodeDevicePayload } from '../devices.ts';
import { vitalsAt, type PersonaTiming } from '../personas.ts';
import { rngFor } from '../rng.ts';

/**
 * What a load-fleet device sends. `canonical`: one canonical reading per payload, cycling through the
 * NEWS2 parameters (the cheapest payload ingest accepts, one reading each). `families`: the device's
 * own family shape (simulators/devices.ts), so ingest exercises every decoder.
 */
export const LoadMode = z.enum(['canonical', 'families']);
export type LoadMode = z.infer<typeof LoadMode>;

export interface LoadPayload {
  body: string;
  /** How many readings ingest will make of the body (readingsIn). */
  readings: number;
}

/** The NEWS2 parameters in the order canonical mode cycles through them, with their units. */
export const NEWS2_CYCLE = [
  ['respiratory_rate', '/min'],
  ['spo2', '%'],
  ['supplemental_oxygen', '{boolean}'],
  ['systolic_bp', 'mm[Hg]'],
  ['heart_rate', '/min'],
  ['consciousness', '{ACVPU}'],
  ['temperature', 'Cel'],
] as const;

/** A stable patient's value of the parameter, varying a little from one round of the cycle to the next. */
function stableValue(type: (typeof NEWS2_CYCLE)[number][0], round: number): number | string | boolean {
  switch (type) {
    case 'respiratory_rate':
      return 14 + (round % 5); // 14-18 /min
    case 'spo2':
      return 96 + (round % 4); // 96-99 %
    case 'supplemental_oxygen':
      return false;
    case 'systolic_bp':
      return 118 + (round % 15); // 118-132 mmHg
    case 'heart_rate':
      return 62 + (round % 25); // 62-86 /min
    case 'consciousness':
      return 'A';
    case 'temperature':
      return Math.round((36.5 + (round % 8) / 10) * 10) / 10; // 36.5-37.2 °C
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const STABLE_TIMING: PersonaTiming = { onsetSeconds: 0, rampSeconds: 1 };
/** The interval a family payload covers when the caller does not say (a device's first report). */
export const DEFAULT_INTERVAL_MS = 60_000;

/**
 * The payload device `deviceId` (of `kind`) sends at event time `nowMs`; `seq` is the device's own
 * payload count. In families mode the payload covers `intervalMs` before `nowMs` (a smartwatch spreads
 * its samples over it): pass the time since the device's last report so no two payloads of a device
 * share an event time (see createEventClock).
 */
export function loadPayload(mode: LoadMode, kind: DeviceKind, deviceId: string, nowMs: number, seq: number, intervalMs = DEFAULT_INTERVAL_MS): LoadPayload {
  if (mode === 'canonical') {
    const [type, unit] = NEWS2_CYCLE[seq % NEWS2_CYCLE.length]!;
    const value = stableValue(type, Math.floor(seq / NEWS2_CYCLE.length));
    return { body: JSON.stringify({ type, value, unit, ts: iso(nowMs) }), readings: 1 };
  }
  // Vitals drawn per device and second, so every sample of one moment agrees, as in the ward simulator.
  const vitals = (ms: number) => vitalsAt('stable', ms / 1000, rngFor(1, `${deviceId}:vitals`, Math.floor(ms / 1000)), STABLE_TIMING);
  const payload = encodeDevicePayload(kind, deviceId, nowMs, intervalMs, vitals, rngFor(1, deviceId, seq));
  if (payload === undefined) return { body: '', readings: 0 };
  return { body: JSON.stringify(payload), readings: readingsIn(payload) };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** FHIR: a blood-pressure panel gives a reading per component with a value; any other Observation one. */
function fhirReadings(resource: unknown): number {
  if (!isObject(resource) || resource.resourceType !== 'Observation') return 0;
  const codes = isObject(resource.code) && Array.isArray(resource.code.coding) ? resource.code.coding : [];
  const panel = codes.some((c) => isObject(c) && c.code === '85354-9');
  if (!panel) return 1;
  return (Array.isArray(resource.component) ? resource.component : []).filter((c) => isObject(c) && c.valueQuantity !== undefined).length;
}

/**
 * How many readings ingest makes of a well-formed payload, mirroring the shapes of
 * src/ingest/payloads (checked in the same order as decode.ts), without validating anything: a cheap
 * count for the load generator's hot path. test/unit/simulators/load-payload.test.ts holds it to the
 * real decoder for every device family.
 */
export function readingsIn(payload: unknown): number {
  if (isObject(payload) && (payload.resourceType === 'Observation' || payload.resourceType === 'Bundle')) {
    if (payload.resourceType === 'Observation') return fhirReadings(payload);
    return (Array.isArray(payload.entry) ? payload.entry : []).reduce<number>((n, e) => n + (isObject(e) ? fhirReadings(e.resource) : 0), 0);
  }
  if (isObject(payload) && 'measurement' in payload) {
    const has = (field: string) => payload[field] !== undefined;
    switch (payload.measurement) {
      case 'blood_pressure':
        return 2 + (has('pulse') ? 1 : 0) + (payload.irregularHeartbeat === true ? 1 : 0);
      case 'pulse_oximetry':
        return 1 + (has('pulseRate') ? 1 : 0);
      case 'body_temperature':
      case 'body_weight':
        return 1;
      case 'ecg_summary':
        return ['heartRate', 'respiratoryRate', 'irregularRhythm'].filter(has).length;
      default:
        return 0;
    }
  }
  if (isObject(payload) && !('type' in payload)) {
    const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);
    return count(payload.heartRate) + count(payload.spo2) + (payload.irregularRhythm !== undefined ? 1 : 0);
  }
  if (Array.isArray(payload)) return payload.length;
  return isObject(payload) && 'value' in payload ? 1 : 0;
}

/**
 * The least time between two payloads of one device. A reading's identity is (device, type, event
 * time) and ingest absorbs duplicates, so a device must never reuse an event time. One millisecond
 * suffices for a canonical reading; a family payload may carry several samples spread over the interval
 * since the device's last report (a watch sends 3 heart-rate samples), so its interval must leave each
 * sample a millisecond of its own.
 */
export const MIN_GAP_MS: Record<LoadMode, number> = { canonical: 1, families: 50 };

/**
 * Per-device event times that never repeat: each payload's time is now, or the device's last time plus
 * the minimum gap if now would not be later. The interval is the time since the device's last payload,
 * so the samples of consecutive payloads never overlap. `leadMs` says how far a device has run ahead
 * of the clock (only when it publishes faster than once per gap).
 */
export function createEventClock(devices: number, minGapMs: number, firstIntervalMs = DEFAULT_INTERVAL_MS) {
  const last = new Float64Array(devices).fill(Number.NaN);
  let maxLeadMs = 0;
  return {
    next(device: number, nowMs: number): { atMs: number; intervalMs: number } {
      const previous = last[device]!;
      const atMs = Number.isNaN(previous) ? nowMs : Math.max(nowMs, previous + minGapMs);
      last[device] = atMs;
      if (atMs - nowMs > maxLeadMs) maxLeadMs = atMs - nowMs;
      return { atMs, intervalMs: Number.isNaN(previous) ? firstIntervalMs : atMs - previous };
    },
    maxLeadMs: () => maxLeadMs,
  };
}
