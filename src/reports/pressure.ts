import type { CapacitySnapshot } from '../domain/index.ts';
import { londonDay } from '../time/calendar.ts';

/**
 * How the ambulance service, NHS 111 and the whole system stood on each UK day of a report's period
 * (docs/reports.md, "Ambulance and 111 pressure"), from their capacity snapshots, to read beside the
 * virtual wards' occupancy. Pure: the same snapshots give the same figures.
 *
 * A day's figures come from the snapshots timestamped within it (UK calendar day, so 23 or 25 hours on
 * the days the clocks change); a measure with no snapshot carrying it that day is null, never 0.
 * Means are of the snapshots (each an hour's figures, as the feeds send them), to one decimal place.
 */
const DAY_MS = 86_400_000;

export interface PressureProviders {
  /** The ambulance trust's providerId (the wards' `ambulanceService`). */
  ambulance?: string | undefined;
  /** The NHS 111 provider's providerId (the wards' `nhs111Provider`). */
  nhs111?: string | undefined;
  /** The ICS, whose `system` snapshots give its OPEL level. */
  ics?: string | undefined;
}

export interface PressureSummary {
  /** Snapshots of each service that fell in the day (or period). */
  snapshots: { ambulance: number; nhs111: number; system: number };
  /** Highest REAP level (1 normal … 4 extreme pressure). */
  reapMax: number | null;
  /** Mean of the snapshots' Category 2 mean response times, in minutes. */
  c2MeanMinutes: number | null;
  /** Mean of the snapshots' Category 2 90th centile response times, in minutes. */
  c2P90MeanMinutes: number | null;
  /** Mean of the snapshots' mean hospital handover times, in minutes. */
  handoverMeanMinutes: number | null;
  /** Mean of the snapshots' share of 111 calls answered within 60 seconds, in %. */
  nhs111AnsweredWithin60sPct: number | null;
  /** Most 111 calls waiting in any snapshot. */
  nhs111CallsWaitingMax: number | null;
  /** Highest OPEL level (1 steady … 4 extreme pressure). */
  opelMax: number | null;
}

export interface DayPressure extends PressureSummary {
  /** The UK calendar date, YYYY-MM-DD. */
  date: string;
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const mean = (xs: readonly number[]) => (xs.length ? round1(xs.reduce((a, b) => a + b, 0) / xs.length) : null);
const max = (xs: readonly number[]) => (xs.length ? Math.max(...xs) : null);

/** The figures of the snapshots given (already those of one day or period) for the providers. */
export function summarisePressure(snapshots: readonly CapacitySnapshot[], providers: PressureProviders): PressureSummary {
  const ambulance: Array<Extract<CapacitySnapshot, { service: 'ambulance' }>> = [];
  const nhs111: Array<Extract<CapacitySnapshot, { service: 'nhs111' }>> = [];
  const system: Array<Extract<CapacitySnapshot, { service: 'system' }>> = [];
  for (const s of snapshots) {
    if (s.service === 'ambulance' && providers.ambulance !== undefined && s.providerId === providers.ambulance) ambulance.push(s);
    else if (s.service === 'nhs111' && providers.nhs111 !== undefined && s.providerId === providers.nhs111) nhs111.push(s);
    else if (s.service === 'system' && providers.ics !== undefined && s.providerId === providers.ics) system.push(s);
  }
  return {
    snapshots: { ambulance: ambulance.length, nhs111: nhs111.length, system: system.length },
    reapMax: max(ambulance.map((s) => s.reapLevel)),
    c2MeanMinutes: mean(ambulance.flatMap((s) => (s.responses ? [s.responses.c2.meanMinutes] : []))),
    c2P90MeanMinutes: mean(ambulance.flatMap((s) => (s.responses ? [s.responses.c2.p90Minutes] : []))),
    handoverMeanMinutes: mean(ambulance.flatMap((s) => (s.handover ? [s.handover.meanMinutes] : []))),
    nhs111AnsweredWithin60sPct: mean(nhs111.flatMap((s) => (s.answeredWithin60sPct !== undefined ? [s.answeredWithin60sPct] : []))),
    nhs111CallsWaitingMax: max(nhs111.map((s) => s.callsWaiting)),
    opelMax: max(system.map((s) => s.opelLevel)),
  };
}

/** The snapshots of each UK calendar day in [from, to), by days since 1970-01-01. */
function byDay(snapshots: readonly CapacitySnapshot[], from: number, to: number): Map<number, CapacitySnapshot[]> {
  const days = new Map<number, CapacitySnapshot[]>();
  for (const s of snapshots) {
    const t = Date.parse(s.ts);
    if (!(t >= from && t < to)) continue;
    const day = londonDay(t);
    const list = days.get(day);
    if (list) list.push(s);
    else days.set(day, [s]);
  }
  return days;
}

/**
 * One entry per UK calendar day from `from`'s to the one before `to`'s (as the report's daily
 * occupancy), with the pressure of the ambulance service, 111 provider and ICS named in `providers`.
 * Snapshots of other providers, and outside [from, to), are ignored.
 */
export function dailyPressure(snapshots: readonly CapacitySnapshot[], providers: PressureProviders, from: Date, to: Date): DayPressure[] {
  const start = from.getTime();
  const end = to.getTime();
  const days = byDay(snapshots, start, end);
  const out: DayPressure[] = [];
  for (let d = londonDay(start); d <= londonDay(end - 1); d++) {
    out.push({ date: new Date(d * DAY_MS).toISOString().slice(0, 10), ...summarisePressure(days.get(d) ?? [], providers) });
  }
  return out;
}

/** The pressure over each of `periods` (e.g. a report's months), keyed by the period's name. */
export function periodPressure(snapshots: readonly CapacitySnapshot[], providers: PressureProviders, periods: ReadonlyArray<{ period: string; from: string; to: string }>): Record<string, PressureSummary> {
  const out: Record<string, PressureSummary> = {};
  for (const p of periods) {
    const from = Date.parse(p.from);
    const to = Date.parse(p.to);
    out[p.period] = summarisePressure(
      snapshots.filter((s) => {
        const t = Date.parse(s.ts);
        return t >= from && t < to;
      }),
      providers,
    );
  }
  return out;
}
