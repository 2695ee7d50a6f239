import { londonDay } from '../time/calendar.ts';
import { flowReport, londonInstant, type FlowInput, type FlowReport, type GroupLevel } from './flow-measures.ts';

/**
 * The flow report of each calendar month (or week) in a period, clipped to the period: what the
 * national monthly publication needs, since admissions, discharges, length of stay and rates belong
 * to the month they happen in, not only the occupancy census. Months and weeks are UK calendar ones
 * (a month starts at 00:00 UK time on its 1st; a week on Monday).
 */
const DAY_MS = 86_400_000;

export interface PeriodReport {
  /** YYYY-MM for a month; the YYYY-MM-DD of its first day in the period for a week. */
  period: string;
  from: string;
  to: string;
  report: FlowReport;
}

export interface PeriodReports {
  from: string;
  to: string;
  unit: 'month' | 'week';
  periods: PeriodReport[];
  /** The ICSs each provider runs wards in (usually one), for the provider rows of the publication. */
  providers: Record<string, string[]>;
  /** The provider of each ward. */
  wardProviders: Record<string, string>;
}

export interface PeriodOptions {
  censusHour?: number;
  levels?: GroupLevel[];
}

const dateOf = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** The UK day (days since 1970-01-01) the next month, or week, after `day` starts on. */
function nextStart(day: number, unit: 'month' | 'week'): number {
  const d = new Date(day * DAY_MS);
  if (unit === 'month') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / DAY_MS;
  // getUTCDay: 0 Sunday … 6 Saturday; the next Monday is 1–7 days on.
  return day + (((8 - d.getUTCDay()) % 7) || 7);
}

function periodReports(input: FlowInput, from: Date, to: Date, unit: 'month' | 'week', options: PeriodOptions): PeriodReports {
  const end = to.getTime();
  const periods: PeriodReport[] = [];
  let start = from.getTime();
  while (start < end) {
    const day = londonDay(start);
    const next = Math.min(londonInstant(nextStart(day, unit), 0), end);
    const report = flowReport(input, { from: new Date(start), to: new Date(next), ...(options.censusHour !== undefined ? { censusHour: options.censusHour } : {}), ...(options.levels ? { levels: options.levels } : {}) });
    periods.push({ period: unit === 'month' ? dateOf(day).slice(0, 7) : dateOf(day), from: report.from, to: report.to, report });
    start = next;
  }
  const providers: Record<string, string[]> = {};
  for (const w of input.wards) {
    const list = (providers[w.organisation] ??= []);
    if (w.ics && !list.includes(w.ics)) list.push(w.ics);
  }
  for (const list of Object.values(providers)) list.sort();
  const wardProviders = Object.fromEntries(input.wards.map((w) => [w.wardId, w.organisation]));
  return { from: from.toISOString(), to: to.toISOString(), unit, periods, providers, wardProviders };
}

/** One flow report per UK calendar month in [from, to), the first and last clipped to the period. */
export function monthlyReports(input: FlowInput, from: Date, to: Date, options: PeriodOptions = {}): PeriodReports {
  return periodReports(input, from, to, 'month', options);
}

/** One flow report per UK calendar week (Monday to Sunday) in [from, to), clipped to the period. */
export function weeklyReports(input: FlowInput, from: Date, to: Date, options: PeriodOptions = {}): PeriodReports {
  return periodReports(input, from, to, 'week', options);
}
