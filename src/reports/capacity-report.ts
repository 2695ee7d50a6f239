import type { Alert, CapacitySnapshot, FlowEvent, IntegratedCareSystem, Referral, Ward } from '../domain/index.ts';
import { flowReport, type FlowInput, type FlowReport, type ReadingHour } from './flow-measures.ts';
import { monthlyReports, weeklyReports } from './monthly.ts';
import { commissionedBeds, planBeds } from './planning.ts';
import { dailyPressure, periodPressure, type PressureProviders } from './pressure.ts';
import { reportCsv } from './render-csv.ts';
import { reportHtml } from './render-html.ts';
import { DISCLOSURE_CONTROL, suppressReports } from './suppress.ts';

export const REPORT_FORMATS = ['html', 'csv', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Keeps the newest revision of each record (files and topics hold every revision). */
export function newest<T extends { revision: number }>(items: readonly T[], id: (t: T) => string): T[] {
  const held = new Map<string, T>();
  for (const item of items) {
    const h = held.get(id(item));
    if (!h || item.revision >= h.revision) held.set(id(item), item);
  }
  return [...held.values()];
}

/**
 * The provider the most of the wards' beds escalate to (usually every ward names the same one); a
 * note on stderr when they name more than one.
 */
function providerOf(wards: readonly Ward[], key: 'ambulanceService' | 'nhs111Provider'): string | undefined {
  const beds = new Map<string, number>();
  for (const w of wards) if (w[key]) beds.set(w[key], (beds.get(w[key]) ?? 0) + w.capacity);
  const ranked = [...beds].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (ranked.length > 1) process.stderr.write(`vw report: the ICS's wards name ${ranked.length} providers as ${key}; pressure is of ${ranked[0]![0]}, which most beds escalate to\n`);
  return ranked[0]?.[0];
}

/**
 * The capacity report of one ICS for a period, in one format, from whatever holds the records (files
 * for `vw report capacity`, the store for the reports API): the one place both assemble it.
 */
export interface CapacityReportData {
  wards: readonly Ward[];
  systems: readonly IntegratedCareSystem[];
  events: readonly FlowEvent[];
  alerts: readonly Alert[];
  referrals: readonly Referral[];
  snapshots?: readonly CapacitySnapshot[];
  /** Without them, device adherence and missing data are not measured. */
  readingHours?: readonly ReadingHour[];
  expectedEveryHours?: number;
}

export function capacityReport(
  data: CapacityReportData,
  options: { ics: string; from: Date; to: Date; fromDate: string; toDate: string; format: ReportFormat; censusHour: number; targetOccupancy: number; probability: number; surgeFactor: number; title?: string },
): { output: string; report: FlowReport } {
  const { ics, from, to, censusHour } = options;
  const wards = data.wards.filter((w) => w.ics === ics);
  const wardIds = new Set(wards.map((w) => w.wardId));
  // The events of every patient who was ever on the ICS's wards, whole: a spell that moved between
  // ICSs keeps its admission and discharge, so its length of stay and transfers stay right.
  const touches = (e: FlowEvent) => wardIds.has(e.wardId) || (e.kind === 'transfer' && wardIds.has(e.fromWardId));
  const patients = new Set(data.events.filter(touches).map((e) => e.patientId));
  const input: FlowInput = {
    events: data.events.filter((e) => patients.has(e.patientId)),
    wards,
    systems: data.systems.filter((s) => s.icsId === ics),
    alerts: newest(data.alerts, (a) => a.alertId).filter((a) => wardIds.has(a.wardId)),
    referrals: newest(data.referrals, (r) => r.referralId).filter((r) => wardIds.has(r.wardId)),
    ...(data.readingHours ? { readingHours: data.readingHours } : {}),
    ...(data.expectedEveryHours ? { expectedEveryHours: data.expectedEveryHours } : {}),
  };
  const report = flowReport(input, { from, to, censusHour });
  const monthly = monthlyReports(input, from, to, { censusHour, levels: ['ics', 'provider', 'ward'] });
  // Planning from the events on the ICS's own wards: a stay elsewhere is another ICS's to plan for.
  const wardEvents = input.events.filter((e) => wardIds.has(e.wardId));
  const plan = { ...planBeds(wardEvents, { from, to, targetOccupancy: options.targetOccupancy, probability: options.probability, surgeFactor: options.surgeFactor }), commissionedBeds: commissionedBeds(wardEvents, wards, { from, to }) };
  const providers: PressureProviders = { ambulance: providerOf(wards, 'ambulanceService'), nhs111: providerOf(wards, 'nhs111Provider'), ics };
  const snapshots = data.snapshots;
  const pressure = snapshots
    ? { providers, daily: dailyPressure(snapshots, providers, from, to), monthly: periodPressure(snapshots, providers, monthly.periods) }
    : undefined;

  // One disclosure control over everything any format publishes, so each figure is withheld alike in all.
  const weekly = weeklyReports(input, from, to, { censusHour, levels: ['ics'] });
  const shown = suppressReports({ report, monthly, weekly, plan: { plan, events: wardEvents }, wards });

  let output: string;
  if (options.format === 'json') {
    output = `${JSON.stringify({ ics, disclosureControl: DISCLOSURE_CONTROL, report: shown.report, monthly: shown.monthly!.periods.map(({ period, from: f, to: t, report: r }) => ({ period, from: f, to: t, groups: r.groups })), weekly: shown.weekly!.periods.map(({ period, from: f, to: t, report: r }) => ({ period, from: f, to: t, groups: r.groups })), plan: shown.plan, pressure: pressure ?? null }, null, 2)}\n`;
  } else if (options.format === 'csv') output = reportCsv(shown.monthly!, pressure ? { pressure: pressure.monthly } : {});
  else {
    const name = input.systems[0]?.name ?? ics;
    output = reportHtml(shown.report, shown.monthly!, {
      title: options.title ?? `Virtual ward capacity and flow: ${name}, ${options.fromDate} to ${options.toDate}`,
      generatedAt: new Date(),
      weekly: shown.weekly!,
      plan: shown.plan!,
      ...(pressure ? { pressure: { providers, daily: pressure.daily } } : {}),
    });
  }
  return { output, report };
}
