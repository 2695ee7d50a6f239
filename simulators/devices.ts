import type { DeviceKind } from '../src/domain/index.ts';
import type { Vitals } from './personas.ts';
import { noise } from './rng.ts';

/**
 * Each device family's own payload shape (docs/payloads.md). A device reports what it measures, in
 * the format its kind of device really sends; when it reports is its habit (simulators/habits.ts).
 */
export interface DeviceOptions {
  /** Thermometers, scales and cuffs can be set to Fahrenheit, pounds or kPa, as some patients' devices are. */
  unit?: 'C' | 'F' | 'kg' | 'lb' | 'kPa';
  /** Pulse oximeters: worn and reporting every second, or used for spot checks at observation times. */
  mode?: 'spot' | 'continuous';
}

/** What one report carries beyond the vitals, decided by the device's habit. */
export interface ReportDetail {
  /** Smartwatch: heart-rate samples in the batch, evenly over the interval (default 3). */
  samples?: number;
  /** Smartwatch: an SpO2 spot check taken at the report time. */
  spo2SpotCheck?: boolean;
  /** Smartwatch: an irregular-rhythm notification at the report time. */
  irregularRhythmNotification?: boolean;
  /** Smartwatch: battery level to report. */
  batteryPercent?: number;
  /** BP cuff: the patient's position (seated pairs in the NICE home protocol). */
  position?: 'sitting' | 'standing' | 'lying';
}

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
  detail: ReportDetail = {},
): object | undefined {
  const v = vitalsAt(atMs);
  switch (kind) {
    case 'smartwatch': {
      // Heart rate sampled over the interval and sent together, each sample with its own time.
      const samples = Math.max(1, detail.samples ?? 3);
      const heartRate = Array.from({ length: samples }, (_, i) => {
        const t = atMs - intervalMs + ((i + 1) * intervalMs) / samples;
        return { time: iso(t), bpm: Math.round(vitalsAt(t).heart_rate + noise(rng, 1)) };
      });
      return {
        deviceId,
        sentAt: iso(atMs),
        batteryPercent: detail.batteryPercent ?? Math.max(5, Math.round(90 - rng() * 3)),
        heartRate,
        ...(detail.spo2SpotCheck ? { spo2: [{ time: iso(atMs), percent: v.spo2 }] } : {}),
        ...(detail.irregularRhythmNotification ? { irregularRhythm: { time: iso(atMs), detected: true } } : {}),
      };
    }
    case 'pulse_oximeter':
      return { deviceId, measurement: 'pulse_oximetry', time: iso(atMs), spo2: v.spo2, pulseRate: v.heart_rate };
    case 'ecg_patch':
      return { deviceId, measurement: 'ecg_summary', time: iso(atMs), heartRate: v.heart_rate, respiratoryRate: v.respiratory_rate, irregularRhythm: v.irregular_rhythm ?? false };
    case 'bp_cuff': {
      // Some cuffs report kPa (to one decimal, as they display it); ingest converts back to mmHg.
      const kPa = options.unit === 'kPa';
      const pressure = (mmHg: number) => (kPa ? Math.round((mmHg / 7.50062) * 10) / 10 : mmHg);
      return {
        deviceId,
        measurement: 'blood_pressure',
        time: iso(atMs),
        systolic: pressure(v.systolic_bp),
        diastolic: pressure(v.diastolic_bp),
        unit: kPa ? 'kPa' : 'mmHg',
        pulse: v.heart_rate,
        // A cuff notices an irregular pulse while it measures; the reading is kept, flagged.
        irregularHeartbeat: v.irregular_rhythm ?? false,
        ...(detail.position ? { position: detail.position } : {}),
      };
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
