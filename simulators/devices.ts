import type { DeviceKind } from '../src/domain/index.ts';
import type { Vitals } from './personas.ts';
import { noise } from './rng.ts';

/**
 * Each device family's own payload shape and habits (docs/payloads.md). A device reports what it
 * measures, at its own cadence, in the format its kind of device really sends.
 */
export interface DeviceOptions {
  /** Thermometers and scales can be set to Fahrenheit or pounds, as some patients' devices are. */
  unit?: 'C' | 'F' | 'kg' | 'lb' | 'kPa';
}

/** How many simulator intervals pass between a device's reports. */
export const CADENCE: Record<DeviceKind, number> = {
  smartwatch: 1,
  pulse_oximeter: 1,
  ecg_patch: 1,
  bp_cuff: 2,
  thermometer: 2,
  companion_app: 3,
  scale: 12,
};

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The payload a device sends at event time `atMs`, covering the interval since its last report.
 * `vitalsAt` gives the patient's vitals at any moment of that interval.
 */
export function encodeDevicePayload(
  kind: DeviceKind,
  deviceId: string,
  atMs: number,
  intervalMs: number,
  vitalsAt: (ms: number) => Vitals,
  rng: () => number,
  options: DeviceOptions = {},
): object | undefined {
  const v = vitalsAt(atMs);
  switch (kind) {
    case 'smartwatch': {
      // Heart rate sampled a few times over the interval and sent together, each with its own time.
      const samples = 3;
      const heartRate = Array.from({ length: samples }, (_, i) => {
        const t = atMs - intervalMs + ((i + 1) * intervalMs) / samples;
        return { time: iso(t), bpm: Math.round(vitalsAt(t).heart_rate + noise(rng, 1)) };
      });
      return { deviceId, sentAt: iso(atMs), batteryPercent: Math.max(5, Math.round(90 - rng() * 3)), heartRate };
    }
    case 'pulse_oximeter':
      return { deviceId, measurement: 'pulse_oximetry', time: iso(atMs), spo2: v.spo2, pulseRate: v.heart_rate };
    case 'ecg_patch':
      return { deviceId, measurement: 'ecg_summary', time: iso(atMs), heartRate: v.heart_rate, respiratoryRate: v.respiratory_rate, irregularRhythm: false };
    case 'bp_cuff': {
      // Some cuffs report kPa (to one decimal, as they display it); ingest converts back to mmHg.
      const kPa = options.unit === 'kPa';
      const pressure = (mmHg: number) => (kPa ? Math.round((mmHg / 7.50062) * 10) / 10 : mmHg);
      return { deviceId, measurement: 'blood_pressure', time: iso(atMs), systolic: pressure(v.systolic_bp), diastolic: pressure(v.diastolic_bp), unit: kPa ? 'kPa' : 'mmHg', pulse: v.heart_rate, irregularHeartbeat: false };
    }
    case 'thermometer':
      return options.unit === 'F'
        ? { deviceId, measurement: 'body_temperature', time: iso(atMs), temperature: Math.round((v.temperature * 9) / 5 * 10 + 320) / 10, unit: 'F' }
        : { deviceId, measurement: 'body_temperature', time: iso(atMs), temperature: v.temperature, unit: 'C' };
    case 'scale':
      return options.unit === 'lb'
        ? { deviceId, measurement: 'body_weight', time: iso(atMs), weight: Math.round((v.weight / 0.45359237) * 10) / 10, unit: 'lb' }
        : { deviceId, measurement: 'body_weight', time: iso(atMs), weight: v.weight, unit: 'kg' };
    case 'companion_app':
      // The patient (or carer) answers in the virtual-ward app: breaths counted, how they feel, oxygen.
      return [
        { deviceId, type: 'respiratory_rate', value: v.respiratory_rate, unit: '/min', ts: iso(atMs) },
        { deviceId, type: 'consciousness', value: v.consciousness, unit: '{ACVPU}', ts: iso(atMs) },
        { deviceId, type: 'supplemental_oxygen', value: v.supplemental_oxygen, unit: '{boolean}', ts: iso(atMs) },
      ];
  }
}
