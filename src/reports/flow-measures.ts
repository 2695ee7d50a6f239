import type { Alert, AdmissionKind, AdmissionSource, DischargeOutcome, FlowEvent, IntegratedCareSystem, Pathway, Referral, Ward } from '../domain/index.ts';
import { londonDate, londonDay, londonOffset } from '../time/calendar.ts';
import type { ReadingHour } from '../store/store.ts';

/**
 * The measures of virtual-ward capacity and flow an ICS planner reads (docs/reports.md), computed from
 * flow events, alerts and referrals for a period. Pure: the same inputs give the same report, whichever
 * store they came from.
 */
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** One patient's time on one ward: a spell is split into stays by transfers. */
export interface Stay {
  spellId: string;
  patientId: string;
  wardId: string;
  pathway: Pathway;
  from: number;
  until?: number;
}

/** One admission to a virtual ward, to discharge, across any transfers. */
export interface Spell {
  spellId: string;
  patientId: string;
  admittedAt: number;
  admittedTo: string;
  pathway: Pathway;
  admission: AdmissionKind;
  source: AdmissionSource;
  imdDecile?: number;
  dischargedAt?: number;
  dischargedFrom?: string;
  outcome?: DischargeOutcome;
}

/**
 * Spells and stays from flow events in time order. Events that make no sense in order (a discharge of
 * a patient not on a ward, a second admission while on one) are left out and reported.
 */
export function spellsFromEvents(events: readonly FlowEvent[]): { spells: Spell[]; stays: Stay[]; problems: string[] } {
  const sorted = [...events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.eventId.localeCompare(b.eventId));
  const spells: Spell[] = [];
  const stays: Stay[] = [];
  const problems: string[] = [];
  const open = new Map<string, { spell: Spell; stay: Stay }>();
  const seen = new Set<string>();
  for (const e of sorted) {
    if (seen.has(e.eventId)) continue;
    seen.add(e.eventId);
    const at = Date.parse(e.at);
    const current = open.get(e.patientId);
    if (e.kind === 'admit') {
      if (current) {
        problems.push(`${e.eventId}: admission while already on ${current.stay.wardId}`);
        continue;
      }
      const spell: Spell = { spellId: e.eventId, patientId: e.patientId, admittedAt: at, admittedTo: e.wardId, pathway: e.pathway, admission: e.admission, source: e.source, ...(e.imdDecile ? { imdDecile: e.imdDecile } : {}) };
      const stay: Stay = { spellId: e.eventId, patientId: e.patientId, wardId: e.wardId, pathway: e.pathway, from: at };
      spells.push(spell);
      stays.push(stay);
      open.set(e.patientId, { spell, stay });
      continue;
    }
    const fromWard = e.kind === 'transfer' ? e.fromWardId : e.wardId;
    if (!current || current.stay.wardId !== fromWard) {
      problems.push(`${e.eventId}: ${e.kind} from ${fromWard}, where the patient is not`);
      continue;
    }
    current.stay.until = at;
    if (e.kind === 'transfer') {
      const stay: Stay = { spellId: current.spell.spellId, patientId: e.patientId, wardId: e.wardId, pathway: e.pathway ?? current.stay.pathway, from: at };
      stays.push(stay);
      open.set(e.patientId, { spell: current.spell, stay });
    } else {
      current.spell.dischargedAt = at;
      current.spell.dischargedFrom = e.wardId;
      current.spell.outcome = e.outcome;
      open.delete(e.patientId);
    }
  }
  return { spells, stays, problems };
}

/** The instant a UK wall-clock hour falls on a UK calendar day (days since 1970-01-01). */
export function londonInstant(day: number, hour: number): number {
  const t = day * DAY_MS + hour * HOUR_MS;
  // Clocks change at 01:00 UTC, so the offset an hour before the local time is the one in force then.
  return t - londonOffset(t - HOUR_MS);
}

/** Nearest-rank percentile (the value at or below which `p` of them lie); median as the middle or mean of two middles. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}
export function median(sorted: readonly number[]): number | null {
  if (!sorted.length) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
const round = (v: number | null, dp: number) => (v === null ? null : Math.round(v * 10 ** dp) / 10 ** dp);

export type GroupLevel = 'ics' | 'provider' | 'ward' | 'pathway';

export interface GroupReport {
  level: GroupLevel;
  id: string;
  name: string;
  /** Commissioned beds (null for a pathway: beds belong to wards). */
  capacity: number | null;
  capacityPer100kAdults: number | null;
  occupancy: {
    /** Patients on the ward at the census time of each UK day. */
    daily: Array<{ date: string; occupied: number; percent: number | null }>;
    monthly: Array<{ month: string; meanOccupied: number; meanPercent: number | null }>;
    meanOccupied: number;
    meanPercent: number | null;
  };
  patientDays: number;
  admissions: { total: number; stepUp: number; stepDown: number; bySource: Partial<Record<AdmissionSource, number>> };
  transfers: { in: number; out: number };
  discharges: { total: number; byOutcome: Partial<Record<DischargeOutcome, number>> };
  /** Acute hospital admissions of virtual-ward patients: discharges to an acute bed. */
  acuteAdmissions: number;
  lengthOfStayDays: { spells: number; median: number | null; p90: number | null };
  referrals: { total: number; per100PatientDays: number | null; byRoute: Record<string, { count: number; per100PatientDays: number | null; byOutcome: Record<string, number> }> };
  alerts: {
    total: number;
    perPatientDay: number | null;
    byRule: Record<string, { count: number; perPatientDay: number | null }>;
    minutesToAcknowledge: Record<string, { acknowledged: number; notAcknowledged: number; median: number | null; p90: number | null }>;
  };
  /**
   * Whether patients sent readings as expected, from the hours in which readings arrived; null when the
   * report was made without readings.
   */
  monitoring: Monitoring | null;
  equity: { admissionsByImdDecile: Record<string, number>; adherenceByImdDecile: Record<string, Adherence> | null };
}

/** Device adherence: of the patient-days on the ward (counted as occupancy is), those with a reading. */
export interface Adherence {
  expectedDays: number;
  daysWithReadings: number;
  percent: number | null;
}

export interface Monitoring extends Adherence {
  /** The longest a patient may go without a reading before the time counts as missing. */
  expectedEveryHours: number;
  /** Hours on the ward during which the patient's last reading (or admission) was longer ago than that. */
  hoursMissing: number;
  hoursMissingPerPatientDay: number | null;
}

export type { ReadingHour };

export interface FlowReport {
  from: string;
  to: string;
  censusHour: number;
  groups: GroupReport[];
  problems: string[];
}

export interface FlowInput {
  events: readonly FlowEvent[];
  wards: readonly Ward[];
  systems: readonly IntegratedCareSystem[];
  /** Newest revision of each alert. */
  alerts?: readonly Alert[];
  /** Newest revision of each referral. */
  referrals?: readonly Referral[];
  /** The hours in which each patient sent readings; without them monitoring is not measured. */
  readingHours?: readonly ReadingHour[];
  /** The longest a patient may go without a reading before the time counts as missing (default 24). */
  expectedEveryHours?: number;
}

/**
 * Every measure for every group (the ICS, each provider, ward and pathway) over [from, to): UK calendar
 * days from `from`'s to the one before `to`'s, occupancy counted at `censusHour` UK time each day.
 */
export function flowReport(input: FlowInput, options: { from: Date; to: Date; censusHour?: number; levels?: GroupLevel[] }): FlowReport {
  const censusHour = options.censusHour ?? 8;
  const expectedEveryMs = (input.expectedEveryHours ?? DEFAULT_EXPECTED_EVERY_HOURS) * HOUR_MS;
  const hoursOf = input.readingHours ? readingHoursByPatient(input.readingHours) : undefined;
  const from = options.from.getTime();
  const to = options.to.getTime();
  const { spells, stays, problems } = spellsFromEvents(input.events);
  const wardById = new Map(input.wards.map((w) => [w.wardId, w]));
  const days: number[] = [];
  for (let d = londonDay(from); d <= londonDay(to - 1); d++) days.push(d);

  const groupsOf = (wardId: string, pathway: Pathway | undefined): Array<[GroupLevel, string]> => {
    const ward = wardById.get(wardId);
    return [
      ...(ward?.ics ? [['ics', ward.ics] as [GroupLevel, string]] : []),
      ...(ward ? [['provider', ward.organisation] as [GroupLevel, string]] : []),
      ['ward', wardId],
      // Only the report's wards count towards a pathway: a patient's stay elsewhere is another ICS's.
      ...(pathway && ward ? [['pathway', pathway] as [GroupLevel, string]] : []),
    ];
  };
  const levels = new Set(options.levels ?? ['ics', 'provider', 'ward', 'pathway']);
  const keys = new Map<string, { level: GroupLevel; id: string }>();
  const keyOf = (level: GroupLevel, id: string) => {
    const key = `${level}:${id}`;
    if (levels.has(level) && !keys.has(key)) keys.set(key, { level, id });
    return key;
  };
  // Every ward, ICS and provider is reported, even with nothing happening on it.
  for (const w of input.wards) for (const [level, id] of groupsOf(w.wardId, undefined)) keyOf(level, id);
  for (const s of stays) if (wardById.has(s.wardId)) keyOf('pathway', s.pathway);

  // Stays begun or ended by a transfer: every stay of a spell but its first began with one, and every
  // stay but its last ended with one.
  const transferredIn = new Set<Stay>();
  const transferredOut = new Set<Stay>();
  const lastStayOf = new Map<string, Stay>();
  for (const s of stays) {
    const previous = lastStayOf.get(s.spellId);
    if (previous) {
      transferredIn.add(s);
      transferredOut.add(previous);
    }
    lastStayOf.set(s.spellId, s);
  }
  const inGroup = (key: string, wardId: string, pathway: Pathway | undefined) => groupsOf(wardId, pathway).some(([l, id]) => `${l}:${id}` === key);

  const groups: GroupReport[] = [];
  for (const [key, { level, id }] of keys) {
    const wards = input.wards.filter((w) => (level === 'ward' ? w.wardId === id : level === 'provider' ? w.organisation === id : level === 'ics' ? w.ics === id : false));
    const capacity = level === 'pathway' ? null : wards.reduce((n, w) => n + w.capacity, 0);
    const system = level === 'ics' ? input.systems.find((s) => s.icsId === id) : undefined;
    const myStays = stays.filter((s) => inGroup(key, s.wardId, s.pathway));
    const percent = (n: number) => (capacity ? round((n / capacity) * 100, 1) : null);

    const daily = days.map((day) => {
      const t = londonInstant(day, censusHour);
      const occupied = new Set(myStays.filter((s) => s.from <= t && (s.until === undefined || s.until > t)).map((s) => s.patientId)).size;
      return { date: londonDate(day * DAY_MS + 12 * HOUR_MS), occupied, percent: percent(occupied) };
    });
    const months = new Map<string, number[]>();
    for (const d of daily) months.set(d.date.slice(0, 7), [...(months.get(d.date.slice(0, 7)) ?? []), d.occupied]);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
    const meanOccupied = mean(daily.map((d) => d.occupied));

    const patientDays = myStays.reduce((sum, s) => sum + Math.max(0, Math.min(s.until ?? to, to) - Math.max(s.from, from)), 0) / DAY_MS;
    const per = (n: number, scale: number) => (patientDays > 0 ? round((n / patientDays) * scale, 2) : null);

    const admitted = spells.filter((s) => s.admittedAt >= from && s.admittedAt < to && inGroup(key, s.admittedTo, s.pathway));
    const bySource: Partial<Record<AdmissionSource, number>> = {};
    for (const s of admitted) bySource[s.source] = (bySource[s.source] ?? 0) + 1;
    const transfersIn = level === 'pathway' ? 0 : myStays.filter((s) => s.from >= from && s.from < to && transferredIn.has(s)).length;
    const transfersOut = level === 'pathway' ? 0 : myStays.filter((s) => s.until !== undefined && s.until >= from && s.until < to && transferredOut.has(s)).length;

    const discharged = spells.filter((s) => s.dischargedAt !== undefined && s.dischargedAt >= from && s.dischargedAt < to && inGroup(key, s.dischargedFrom!, s.pathway));
    const byOutcome: Partial<Record<DischargeOutcome, number>> = {};
    for (const s of discharged) byOutcome[s.outcome!] = (byOutcome[s.outcome!] ?? 0) + 1;
    const los = discharged.map((s) => (s.dischargedAt! - s.admittedAt) / DAY_MS).sort((a, b) => a - b);

    const referrals = (input.referrals ?? []).filter((r) => Date.parse(r.requestedAt) >= from && Date.parse(r.requestedAt) < to && inGroup(key, r.wardId, pathwayAt(stays, r.patientId, Date.parse(r.requestedAt))));
    const byRoute: GroupReport['referrals']['byRoute'] = {};
    for (const r of referrals) {
      const entry = (byRoute[r.route] ??= { count: 0, per100PatientDays: null, byOutcome: {} });
      entry.count++;
      entry.byOutcome[r.state] = (entry.byOutcome[r.state] ?? 0) + 1;
    }
    for (const entry of Object.values(byRoute)) entry.per100PatientDays = per(entry.count, 100);

    const alerts = (input.alerts ?? []).filter((a) => Date.parse(a.raisedAt) >= from && Date.parse(a.raisedAt) < to && inGroup(key, a.wardId, pathwayAt(stays, a.patientId, Date.parse(a.raisedAt))));
    const byRule: GroupReport['alerts']['byRule'] = {};
    for (const a of alerts) (byRule[a.ruleId] ??= { count: 0, perPatientDay: null }).count++;
    for (const entry of Object.values(byRule)) entry.perPatientDay = per(entry.count, 1);
    const ackTimes = new Map<string, { times: number[]; missing: number }>();
    for (const a of alerts) {
      const entry = ackTimes.get(a.severity) ?? { times: [], missing: 0 };
      const ack = a.history.find((h) => h.state === 'acknowledged');
      if (ack) entry.times.push((Date.parse(ack.at) - Date.parse(a.raisedAt)) / 60_000);
      else entry.missing++;
      ackTimes.set(a.severity, entry);
    }
    const minutesToAcknowledge: GroupReport['alerts']['minutesToAcknowledge'] = {};
    for (const [severity, { times, missing }] of ackTimes) {
      const sorted = times.sort((a, b) => a - b);
      minutesToAcknowledge[severity] = { acknowledged: sorted.length, notAcknowledged: missing, median: round(median(sorted), 1), p90: round(percentile(sorted, 0.9), 1) };
    }

    let monitoring: Monitoring | null = null;
    let adherenceByImdDecile: Record<string, Adherence> | null = null;
    if (hoursOf) {
      const spellOf = new Map(spells.map((sp) => [sp.spellId, sp]));
      const total = { expectedDays: 0, daysWithReadings: 0, percent: null as number | null };
      const byDecile: Record<string, Adherence> = {};
      let missingMs = 0;
      for (const stay of myStays) {
        const hours = hoursOf.get(stay.patientId) ?? [];
        const spell = spellOf.get(stay.spellId)!;
        const decile = (byDecile[spell.imdDecile ? String(spell.imdDecile) : 'unknown'] ??= { expectedDays: 0, daysWithReadings: 0, percent: null });
        for (const day of days) {
          const t = londonInstant(day, censusHour);
          if (stay.from > t || (stay.until !== undefined && stay.until <= t)) continue;
          const sent = anyIn(hours, londonInstant(day, 0), londonInstant(day + 1, 0));
          total.expectedDays++;
          decile.expectedDays++;
          if (sent) {
            total.daysWithReadings++;
            decile.daysWithReadings++;
          }
        }
        missingMs += overdueMs(hours, spell.admittedAt, Math.max(stay.from, from), Math.min(stay.until ?? to, to), expectedEveryMs);
      }
      const share = (a: Adherence) => ({ ...a, percent: a.expectedDays ? round((a.daysWithReadings / a.expectedDays) * 100, 1) : null });
      const hoursMissing = round(missingMs / HOUR_MS, 1)!;
      monitoring = { ...share(total), expectedEveryHours: expectedEveryMs / HOUR_MS, hoursMissing, hoursMissingPerPatientDay: per(hoursMissing, 1) };
      adherenceByImdDecile = Object.fromEntries(Object.entries(byDecile).map(([k, a]) => [k, share(a)]));
    }

    const admissionsByImdDecile: Record<string, number> = {};
    for (const s of admitted) {
      const k = s.imdDecile ? String(s.imdDecile) : 'unknown';
      admissionsByImdDecile[k] = (admissionsByImdDecile[k] ?? 0) + 1;
    }

    groups.push({
      level,
      id,
      name: level === 'ward' ? (wardById.get(id)?.name ?? id) : level === 'ics' ? (system?.name ?? id) : id,
      capacity,
      capacityPer100kAdults: system?.adultPopulation && capacity !== null ? round((capacity / system.adultPopulation) * 100_000, 1) : null,
      occupancy: {
        daily,
        monthly: [...months].map(([month, xs]) => ({ month, meanOccupied: round(mean(xs), 2)!, meanPercent: percent(mean(xs)) })),
        meanOccupied: round(meanOccupied, 2)!,
        meanPercent: percent(meanOccupied),
      },
      patientDays: round(patientDays, 2)!,
      admissions: { total: admitted.length, stepUp: admitted.filter((s) => s.admission === 'step-up').length, stepDown: admitted.filter((s) => s.admission === 'step-down').length, bySource },
      transfers: { in: transfersIn, out: transfersOut },
      discharges: { total: discharged.length, byOutcome },
      acuteAdmissions: byOutcome['admitted-acute'] ?? 0,
      lengthOfStayDays: { spells: los.length, median: round(median(los), 1), p90: round(percentile(los, 0.9), 1) },
      referrals: { total: referrals.length, per100PatientDays: per(referrals.length, 100), byRoute },
      alerts: { total: alerts.length, perPatientDay: per(alerts.length, 1), byRule, minutesToAcknowledge },
      monitoring,
      equity: { admissionsByImdDecile, adherenceByImdDecile },
    });
  }
  const order: Record<GroupLevel, number> = { ics: 0, provider: 1, ward: 2, pathway: 3 };
  groups.sort((a, b) => order[a.level] - order[b.level] || a.id.localeCompare(b.id));
  return { from: options.from.toISOString(), to: options.to.toISOString(), censusHour, groups, problems };
}

/**
 * A virtual-ward patient is expected to send at least one reading a day: the least any pathway's
 * missing-data rule asks for lies between 14 h (SpO2 after an acute illness) and 36 h (weight, BP).
 */
export const DEFAULT_EXPECTED_EVERY_HOURS = 24;

function readingHoursByPatient(hours: readonly ReadingHour[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const { patientId, hour } of hours) {
    const list = out.get(patientId);
    if (list) list.push(hour);
    else out.set(patientId, [hour]);
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}

/** The first index of `sorted` at or after `t`. */
function lowerBound(sorted: readonly number[], t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const anyIn = (sorted: readonly number[], from: number, until: number) => {
  const i = lowerBound(sorted, from);
  return i < sorted.length && sorted[i]! < until;
};

/**
 * Of [from, until), the time during which the last reading before it (or the admission, which
 * starts the clock) was more than `expectedMs` ago: what the missing-data rules would call overdue.
 */
export function overdueMs(sortedHours: readonly number[], admittedAt: number, from: number, until: number, expectedMs: number): number {
  if (until <= from) return 0;
  let missing = 0;
  // Readings are known to the hour: one in the hour of admission counts as sent after it.
  let i = lowerBound(sortedHours, Math.floor(admittedAt / HOUR_MS) * HOUR_MS);
  let last = admittedAt;
  // Readings before `from` only move the clock on.
  while (i < sortedHours.length && sortedHours[i]! <= from) last = Math.max(last, sortedHours[i++]!);
  let t = from;
  const gapUntil = (next: number) => {
    const overdueFrom = Math.max(t, last + expectedMs);
    if (next > overdueFrom) missing += next - overdueFrom;
  };
  for (; i < sortedHours.length && sortedHours[i]! < until; i++) {
    gapUntil(sortedHours[i]!);
    last = Math.max(last, sortedHours[i]!);
    t = Math.max(t, sortedHours[i]!);
  }
  gapUntil(until);
  return missing;
}

/** The pathway of the patient's stay at `t`, if they were on a ward then. */
function pathwayAt(stays: readonly Stay[], patientId: string, t: number): Pathway | undefined {
  return stays.find((s) => s.patientId === patientId && s.from <= t && (s.until === undefined || s.until > t))?.pathway;
}
