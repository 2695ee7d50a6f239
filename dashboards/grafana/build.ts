/**
 * Writes dashboards/grafana/virtual-ward-capacity.json, the Grafana dashboard over vw's InfluxDB for
 * ICS planners (docs/reports.md, "Grafana"). Its queries are kept here as Flux, where a test runs
 * each of them against a real InfluxDB; run `npx tsx dashboards/grafana/build.ts` after changing one.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BUCKET = 'vitals';

/** Each panel: its title, what it shows in words, and its Flux (Grafana's v.timeRange* variables). */
export const PANELS = [
  {
    title: 'Patients on each virtual ward',
    description: 'Occupancy per ward: a running sum of admissions and transfers in (+1) and discharges and transfers out (-1), taken at the end of each day.',
    unit: 'short',
    flux: `from(bucket: "${BUCKET}")
  |> range(start: 0, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "flow" and r._field == "delta")
  |> group(columns: ["ward_id"])
  |> sort(columns: ["_time"])
  |> cumulativeSum()
  |> aggregateWindow(every: 1d, fn: last, createEmpty: false)
  |> filter(fn: (r) => r._time >= v.timeRangeStart)`,
  },
  {
    title: 'Admissions and discharges a day',
    description: 'Flow events a day across the wards, by kind (admit, discharge, transfer).',
    unit: 'short',
    flux: `from(bucket: "${BUCKET}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "flow" and r._field == "delta")
  |> group(columns: ["kind"])
  |> aggregateWindow(every: 1d, fn: count, createEmpty: true)`,
  },
  {
    title: 'Patients sending readings, a day',
    description: 'Patients on each ward who sent at least one reading that day (UTC days): beside the occupancy above, how many are being monitored. The reports give device adherence exactly: patient-days at census with a reading.',
    unit: 'short',
    flux: `from(bucket: "${BUCKET}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "vital" and r._field == "reading_id")
  |> group(columns: ["ward_id", "patient_id"])
  |> aggregateWindow(every: 1d, fn: count, createEmpty: false)
  |> group(columns: ["ward_id", "_time"])
  |> count()
  |> group(columns: ["ward_id"])
  |> sort(columns: ["_time"])`,
  },
  {
    title: 'Referrals a day by route',
    description: 'Referrals requested a day (their first revision), by route: 999, 111, urgent community response, GP, home visit, SDEC/ED.',
    unit: 'short',
    flux: `from(bucket: "${BUCKET}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "referral" and r._field == "revision" and r._value == 0)
  |> group(columns: ["route"])
  |> aggregateWindow(every: 1d, fn: count, createEmpty: true)`,
  },
  {
    title: 'Alerts raised a day by rule',
    description: 'Alerts raised a day on the wards, by the rule that raised them.',
    unit: 'short',
    flux: `from(bucket: "${BUCKET}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "alert" and r._field == "revision")
  |> group(columns: ["rule"])
  |> aggregateWindow(every: 1d, fn: count, createEmpty: true)`,
  },
  {
    title: 'Ambulance C2 mean response (minutes)',
    description: 'Category 2 mean response time reported by the ambulance service, hourly mean; the national standard is 18 minutes.',
    unit: 'm',
    flux: `from(bucket: "${BUCKET}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "capacity" and r._field == "c2_mean_minutes")
  |> group(columns: ["provider_id"])
  |> aggregateWindow(every: 1h, fn: mean, createEmpty: false)`,
  },
  {
    title: 'NHS 111 calls answered within 60 seconds (%)',
    description: 'Share of 111 calls answered within 60 seconds, hourly mean; the standard is 95%.',
    unit: 'percent',
    flux: `from(bucket: "${BUCKET}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "capacity" and r._field == "answered_60s_percent")
  |> group(columns: ["provider_id"])
  |> aggregateWindow(every: 1h, fn: mean, createEmpty: false)`,
  },
  {
    title: 'System pressure (OPEL) and ambulance REAP',
    description: 'OPEL reported by the ICS and REAP by the ambulance service: 1 normal to 4 extreme pressure; highest in each hour.',
    unit: 'short',
    flux: `from(bucket: "${BUCKET}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "capacity" and (r._field == "opel_level" or r._field == "reap_level"))
  |> group(columns: ["_field", "provider_id"])
  |> aggregateWindow(every: 1h, fn: max, createEmpty: false)`,
  },
] as const;

export function dashboard(): unknown {
  return {
    uid: 'vw-virtual-ward-capacity',
    title: 'Virtual-ward capacity and flow',
    description: 'vw: occupancy, admissions, discharges, referrals and alerts on the virtual wards, beside ambulance, NHS 111 and OPEL pressure.',
    tags: ['vw', 'virtual wards'],
    timezone: 'Europe/London',
    schemaVersion: 39,
    time: { from: 'now-90d', to: 'now' },
    refresh: '5m',
    panels: PANELS.map((p, i) => ({
      id: i + 1,
      type: 'timeseries',
      title: p.title,
      description: p.description,
      datasource: { type: 'influxdb', uid: 'vw-influxdb' },
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: [{ refId: 'A', datasource: { type: 'influxdb', uid: 'vw-influxdb' }, query: p.flux }],
    })),
  };
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const out = join(import.meta.dirname, 'virtual-ward-capacity.json');
  writeFileSync(out, `${JSON.stringify(dashboard(), null, 2)}\n`);
  process.stdout.write(`wrote ${out}\n`);
}
