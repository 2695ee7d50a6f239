import type { IntegratedCareSystem, Ward } from '../domain/index.ts';
import type { TimeSeriesStore } from '../store/store.ts';
import type { CapacityReportData } from './capacity-report.ts';

/**
 * What the capacity report of an ICS's wards over [from, to) needs, asked of a store (in memory or
 * InfluxDB) all at once: the records `vw report capacity` otherwise reads from files.
 */
export async function reportDataFromStore(store: TimeSeriesStore, ics: { wards: readonly Ward[]; system?: IntegratedCareSystem; icsId: string }, from: Date, to: Date): Promise<CapacityReportData> {
  const wardIds = ics.wards.map((w) => w.wardId);
  const range = { since: from, until: new Date(to.getTime() - 1) };
  const providers = [...new Set(ics.wards.flatMap((w) => [w.ambulanceService, w.nhs111Provider].filter((p): p is string => Boolean(p))).concat(ics.icsId))];
  // Spells open at the start began before it: flow is read from the beginning. Readings from a day
  // before the start tell how long a patient on the ward at the start had gone without one.
  const [events, alerts, referrals, snapshots, readingHours] = await Promise.all([
    store.flowEvents(wardIds, { since: new Date(0), until: range.until }),
    store.alerts(wardIds, range),
    Promise.all(wardIds.map((w) => store.referrals(w, range))).then((lists) => lists.flat()),
    store.capacity(providers, range),
    store.readingHours(wardIds, { since: new Date(from.getTime() - READINGS_BEFORE_MS), until: range.until }),
  ]);
  return { wards: ics.wards, systems: ics.system ? [ics.system] : [], events, alerts, referrals, snapshots, readingHours };
}

/** Longer than any expected interval between readings a report is asked for (`--expected-every-hours`). */
const READINGS_BEFORE_MS = 14 * 86_400_000;
