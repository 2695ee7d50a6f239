import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateIcsFlow, parseIcsFlowScenario, type IcsFlow } from '../../simulators/ics-flow.ts';
import { capacityReport, REPORT_FORMATS } from '../../src/reports/capacity-report.ts';
import { londonInstant } from '../../src/reports/flow-measures.ts';
import { reportDataFromStore } from '../../src/reports/store-data.ts';
import { createInfluxStore } from '../../src/store/influx-store.ts';
import { createMemoryStore } from '../../src/store/memory-store.ts';
import type { TimeSeriesStore } from '../../src/store/store.ts';

/**
 * The capacity report of the 90-day ICS (simulators/scenarios/ics-90-days.yaml) from each store, as the
 * reports API makes it: every query to the store, then the measures and the rendering, per format.
 * InfluxDB is measured when the services run (`npm run services up`), in a database of its own.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const SCENARIO = 'simulators/scenarios/ics-90-days.yaml';
const DAY = 86_400_000;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export async function benchReports(services: Record<string, string> | undefined, log: (line: string) => void): Promise<{ rows: string[]; figures: Record<string, number> }> {
  const scenario = parseIcsFlowScenario(SCENARIO, readFileSync(join(ROOT, SCENARIO), 'utf8'));
  const flow = generateIcsFlow(scenario);
  const day0 = Date.parse(`${scenario.start}T00:00:00Z`) / DAY;
  const from = new Date(londonInstant(day0, 0));
  const to = new Date(londonInstant(day0 + scenario.days, 0));
  const lastDate = new Date((day0 + scenario.days - 1) * DAY).toISOString().slice(0, 10);
  const admissions = flow.events.filter((e) => e.kind === 'admit' && Date.parse(e.at) >= from.getTime()).length;
  const what = `${scenario.days} days, ${flow.registry.wards.length} wards, ${admissions.toLocaleString('en-GB')} admissions, ${flow.readings.length.toLocaleString('en-GB')} readings`;
  const rows: string[] = [];
  const figures: Record<string, number> = {};

  const measure = async (storeName: string, store: TimeSeriesStore) => {
    const load = performance.now();
    await writeAll(store, flow);
    const loaded = performance.now() - load;
    rows.push(`| capacity report: load the ICS into ${storeName} (${what}) | ${seconds(loaded)} |`);
    for (const format of REPORT_FORMATS) {
      const t0 = performance.now();
      const data = await reportDataFromStore(store, { wards: flow.registry.wards, system: flow.registry.systems![0]!, icsId: scenario.ics.icsId }, from, to);
      const queried = performance.now();
      const { output } = capacityReport(data, { ics: scenario.ics.icsId, from, to, fromDate: scenario.start, toDate: lastDate, format, censusHour: 8, targetOccupancy: 0.85, probability: 0.95, surgeFactor: 1.6 });
      const done = performance.now();
      figures[`${storeName}:${format}`] = done - t0;
      rows.push(`| capacity report, ${format}, ${storeName} (target < 10 s) | ${seconds(done - t0)} (store ${seconds(queried - t0)}, measures and rendering ${seconds(done - queried)}; ${(output.length / 1024).toFixed(0)} KiB) |`);
      log(`  ${storeName} ${format}: ${seconds(done - t0)}`);
    }
  };

  log(`capacity report: ${what}`);
  await measure('memory store', createMemoryStore({ retentionHours: 1, maxPointsPerSeries: 100 }));
  if (!services?.INFLUX_URL) {
    rows.push('| capacity report, InfluxDB | not run: start the services (npm run services up) |');
    return { rows, figures };
  }
  const db = `vw_bench_reports_${Date.now()}`;
  const influxQl = async (q: string) => {
    const response = await fetch(`${services.INFLUX_URL}/query`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(services.INFLUX_TOKEN ?? '').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ q }),
    });
    if (!response.ok) throw new Error(`InfluxDB ${q}: ${response.status} ${await response.text()}`);
  };
  await influxQl(`CREATE DATABASE "${db}"`);
  const store = createInfluxStore({ url: services.INFLUX_URL, token: services.INFLUX_TOKEN ?? '', org: services.INFLUX_ORG ?? '-', bucket: `${db}/autogen`, maxBufferPoints: 50_000, retry: { attempts: 3, initialMs: 200, maxMs: 2000 }, timeoutMs: 60_000 });
  try {
    await measure('InfluxDB', store);
  } finally {
    await store.close();
    await influxQl(`DROP DATABASE "${db}"`);
  }
  return { rows, figures };
}

/** As the sink writes: in batches. */
async function writeAll(store: TimeSeriesStore, flow: IcsFlow): Promise<void> {
  const BATCH = 5000;
  for (let i = 0; i < flow.events.length; i += BATCH) await store.writeFlowEvents(flow.events.slice(i, i + BATCH));
  for (let i = 0; i < flow.capacity.length; i += BATCH) await store.writeCapacity(flow.capacity.slice(i, i + BATCH));
  for (let i = 0; i < flow.readings.length; i += BATCH) await store.writeReadings(flow.readings.slice(i, i + BATCH));
}
