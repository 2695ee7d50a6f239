import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/config/package-root.ts';
import type { TimeSeriesStore } from '../src/store/store.ts';
import { londonDate, londonDay } from '../src/time/calendar.ts';
import { generateIcsFlow, loadIcsFlowScenario } from './ics-flow.ts';

const DAY = 86_400_000;

/**
 * Writes four weeks of simulated history of the demo's wards (scenarios/demo-history.yaml) into the
 * store, up to `now`: admissions, discharges, transfers, capacity snapshots and readings of fictional
 * patients who are not in the registry, so no console lists them; only reports count them. The demo
 * alone does this: a deployment's history is its own.
 */
export async function writeDemoHistory(store: TimeSeriesStore, now = new Date()): Promise<{ admissions: number; days: number; kept: boolean }> {
  const scenario = await loadIcsFlowScenario(join(PACKAGE_ROOT, 'simulators', 'scenarios', 'demo-history.yaml'));
  const today = londonDay(now.getTime());
  const start = londonDate((today - scenario.days) * DAY + 12 * 3_600_000);
  const history = generateIcsFlow({ ...scenario, start });
  const before = <T>(items: readonly T[], at: (item: T) => string) => items.filter((item) => Date.parse(at(item)) < now.getTime());
  // History ends now: spells still open stay open, their discharges are the future's.
  const events = before(history.events, (e) => e.at);
  // The embedded store outlives a restart: history an earlier run wrote is kept, not written over
  // with a second, shifted copy that reports would count twice.
  const fictional = new Set(history.events.map((e) => e.patientId));
  const held = (await store.flowEvents([...new Set(history.events.map((e) => e.wardId))], { since: new Date(Date.parse(`${start}T00:00:00Z`) - scenario.days * DAY) })).filter((e) => fictional.has(e.patientId));
  if (held.length) return { admissions: held.filter((e) => e.kind === 'admit' && Date.parse(e.at) >= Date.parse(`${start}T00:00:00Z`)).length, days: scenario.days, kept: true };
  await store.writeFlowEvents(events);
  await store.writeCapacity(before(history.capacity, (s) => s.ts));
  const readings = before(history.readings, (r) => r.ts);
  for (let i = 0; i < readings.length; i += 5000) await store.writeReadings(readings.slice(i, i + 5000));
  const admissions = events.filter((e) => e.kind === 'admit' && Date.parse(e.at) >= Date.parse(`${start}T00:00:00Z`)).length;
  return { admissions, days: scenario.days, kept: false };
}
