import type { PressureSummary } from './pressure.ts';
import { isWithheld, type SuppressedGroupReport, type SuppressedPeriodReports } from './suppress.ts';

/**
 * The capacity report as CSV (RFC 4180: comma-separated, CRLF line ends, a header row, fields with a
 * comma, quote or line break in double quotes with quotes doubled). One row per month per ICS, then one
 * per month per provider of that ICS. A value that cannot be computed (no beds, no patient-days, no
 * discharges) is an empty field, never 0. Aggregates only: no patient appears in it, and a figure
 * withheld by disclosure control (suppress.ts: a count of 1 to 4, what is worked out from one, or what
 * would give one away) is `*`.
 *
 * The first seven columns are those of NHS England's monthly virtual ward capacity and occupancy
 * publication; the rest are vw's own: bed use, flow, length of stay, referrals and alerts, then device
 * adherence and hours of expected data missing per patient-day (empty when the report was made without
 * readings: not measured, not 0), and last four the pressure on the ICS's ambulance service, NHS 111
 * and system in the month (ICS rows only; empty without capacity snapshots).
 */
const COLUMNS: ReadonlyArray<readonly [name: string, value: (row: Row) => string | number | null]> = [
  // The calendar month, YYYY-MM (UK time); the first and last months are clipped to the report's period.
  ['period', (r) => r.period],
  // The ICS (integrated care board) id, as in the registry's systems.
  ['icb', (r) => r.icb],
  // The ICS's name.
  ['icb_name', (r) => r.icbName],
  // The provider (the organisation running the wards, e.g. a trust's ODS code); empty on the ICS's own row.
  ['provider', (r) => r.provider],
  // Commissioned virtual-ward beds.
  ['capacity', (r) => r.group.capacity],
  // Mean, over the month's days, of the patients on the wards at the daily census time, as a percentage of capacity.
  ['occupancy_percent', (r) => r.group.occupancy.meanPercent],
  // Capacity per 100,000 GP-registered adults of the ICS (ICS rows only).
  ['capacity_per_100k_adults', (r) => r.group.capacityPer100kAdults],
  // Mean number of patients on the wards at the daily census time.
  ['mean_occupied', (r) => r.group.occupancy.meanOccupied],
  // Admissions in the month (a transfer between wards is not one).
  ['admissions', (r) => shown(r, 'admissions.total', r.group.admissions.total)],
  // Admissions instead of going into hospital.
  ['step_up', (r) => shown(r, 'admissions.stepUp', r.group.admissions.stepUp)],
  // Admissions to leave hospital early.
  ['step_down', (r) => shown(r, 'admissions.stepDown', r.group.admissions.stepDown)],
  // Discharges in the month, whatever the outcome.
  ['discharges', (r) => shown(r, 'discharges.total', r.group.discharges.total)],
  // Discharges to an acute hospital bed.
  ['acute_admissions', (r) => shown(r, 'acuteAdmissions', r.group.acuteAdmissions)],
  // Median length of stay, in days from admission to discharge across transfers, of spells discharged in the month.
  ['los_median_days', (r) => shown(r, 'lengthOfStayDays.median', r.group.lengthOfStayDays.median)],
  // 90th centile (nearest rank) of the same lengths of stay.
  ['los_p90_days', (r) => shown(r, 'lengthOfStayDays.p90', r.group.lengthOfStayDays.p90)],
  // Days patients spent on the wards within the month, to two decimal places.
  ['patient_days', (r) => r.group.patientDays],
  // Referrals made (to 999, 111, community teams and other routes) per 100 patient-days.
  ['referrals_per_100_patient_days', (r) => shown(r, 'referrals.per100PatientDays', r.group.referrals.per100PatientDays)],
  // Alerts raised by the monitoring rules per patient-day.
  ['alerts_per_patient_day', (r) => shown(r, 'alerts.perPatientDay', r.group.alerts.perPatientDay)],
  // Device adherence: of the patient-days at census, the % with at least one reading (empty without readings).
  ['device_adherence_percent', (r) => (r.group.monitoring ? shown(r, 'monitoring.percent', r.group.monitoring.percent) : null)],
  // Hours patients went longer than the expected interval (24 h by default) without a reading, per patient-day (empty without readings).
  ['hours_missing_per_patient_day', (r) => (r.group.monitoring ? shown(r, 'monitoring.hoursMissingPerPatientDay', r.group.monitoring.hoursMissingPerPatientDay) : null)],
  // Mean of the month's ambulance snapshots' Category 2 mean response times, in minutes (ICS rows only).
  ['c2_mean_minutes', (r) => r.pressure?.c2MeanMinutes ?? null],
  // Highest ambulance REAP level (1–4) in the month (ICS rows only).
  ['reap_max', (r) => r.pressure?.reapMax ?? null],
  // Mean of the month's NHS 111 snapshots' share of calls answered within 60 seconds, in % (ICS rows only).
  ['nhs111_answered_60s_percent', (r) => r.pressure?.nhs111AnsweredWithin60sPct ?? null],
  // Highest OPEL level (1–4) the ICS reported in the month (ICS rows only).
  ['opel_max', (r) => r.pressure?.opelMax ?? null],
];

/** A withheld figure: distinct from an empty field, which is one that cannot be computed. */
export const WITHHELD = '*';
/** A figure of the group, or `*` where withheld. */
function shown(r: Row, path: string, value: number | null): string | number | null {
  return isWithheld(r.group, path) ? WITHHELD : value;
}

interface Row {
  period: string;
  icb: string;
  icbName: string;
  provider: string;
  group: SuppressedGroupReport;
  pressure?: PressureSummary | undefined;
}

export interface CsvOptions {
  /** The pressure of each month (periodPressure over the months), by period. */
  pressure?: Record<string, PressureSummary>;
}

/** One RFC 4180 field. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The monthly rows of `monthly` (monthlyReports, after suppressReports). A provider running wards in several ICSs has its
 * one row under each of them in `icb`, joined by ';', and named by none.
 */
export function reportCsv(monthly: SuppressedPeriodReports, options: CsvOptions = {}): string {
  const rows: Row[] = [];
  for (const { period, report } of monthly.periods) {
    const systems = report.groups.filter((g) => g.level === 'ics');
    const providers = report.groups.filter((g) => g.level === 'provider');
    const nameOf = new Map(systems.map((g) => [g.id, g.name]));
    for (const ics of systems) {
      rows.push({ period, icb: ics.id, icbName: ics.name, provider: '', group: ics, pressure: options.pressure?.[period] });
      for (const p of providers) {
        const of = monthly.providers[p.id] ?? [];
        if (of.length === 1 && of[0] === ics.id) rows.push({ period, icb: ics.id, icbName: ics.name, provider: p.id, group: p });
      }
    }
    // Providers under no one ICS: wards without an ICS, or in several.
    for (const p of providers) {
      const of = monthly.providers[p.id] ?? [];
      if (of.length !== 1 || !nameOf.has(of[0]!)) rows.push({ period, icb: of.join(';'), icbName: '', provider: p.id, group: p });
    }
  }
  const lines = [COLUMNS.map(([name]) => name).join(','), ...rows.map((r) => COLUMNS.map(([, value]) => csvField(value(r))).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

export const CSV_COLUMNS = COLUMNS.map(([name]) => name);
