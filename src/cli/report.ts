import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config.ts';
import { parseJsonl } from './jsonl.ts';
import { Alert, CapacitySnapshot, FlowEvent, Reading, Referral, RegistryData, type Ward } from '../domain/index.ts';
import { loadYamlAs } from '../config/yaml-file.ts';
import { londonInstant, type ReadingHour } from '../reports/flow-measures.ts';
import { capacityReport, REPORT_FORMATS as FORMATS } from '../reports/capacity-report.ts';
import { londonDay } from '../time/calendar.ts';

/**
 * `vw report capacity`: the virtual-ward capacity and flow report of one ICS for a period (docs/reports.md),
 * from flow events (and optionally alerts and referrals) in JSONL files, as HTML, CSV or JSON.
 */
const DAY_MS = 86_400_000;

const refusal = { command: 'vw report', consequence: 'no report written' };

async function readText(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`vw report: cannot read ${flag} ${path} (${(error as Error).message})`);
  }
}

/** A UK calendar date as days since 1970-01-01, refusing anything but a real YYYY-MM-DD. */
function ukDay(text: string | undefined, flag: string): number {
  if (!text || !/^\d{4}-\d{2}-\d{2}$/.test(text)) throw new ConfigError(`vw report: ${flag} must be a date as YYYY-MM-DD, not '${text ?? ''}'`);
  const t = Date.parse(`${text}T00:00:00Z`);
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== text) throw new ConfigError(`vw report: ${flag} ${text} is not a calendar date`);
  return t / DAY_MS;
}

/** A number from a flag, within (low, high] (or [low, high] with `lowIncluded`), or the default. */
function fraction(text: string | undefined, flag: string, fallback: number, low: number, high: number, words: string): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(v > low && v <= high)) throw new ConfigError(`vw report: ${flag} must be ${words}, not '${text}'`);
  return v;
}

export const REPORT_USAGE =
  'usage: vw report capacity --ics ID --from YYYY-MM-DD --to YYYY-MM-DD --format html|csv|json --seeds registry.yaml --flow flow.jsonl [--alerts alerts.jsonl] [--referrals referrals.jsonl] [--capacity capacity.jsonl] [--readings readings.jsonl] [--expected-every-hours 24] [--census-hour 8] [--target-occupancy 0.85] [--probability 0.95] [--surge-factor 1.6] [--out FILE]';

export async function reportCommand(args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ics: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        format: { type: 'string' },
        seeds: { type: 'string' },
        flow: { type: 'string' },
        alerts: { type: 'string' },
        readings: { type: 'string' },
        'expected-every-hours': { type: 'string' },
        referrals: { type: 'string' },
        capacity: { type: 'string' },
        'census-hour': { type: 'string' },
        'target-occupancy': { type: 'string' },
        probability: { type: 'string' },
        'surge-factor': { type: 'string' },
        out: { type: 'string' },
        title: { type: 'string' },
      },
    });
  } catch (error) {
    throw new ConfigError(`vw report: ${(error as Error).message}\n${REPORT_USAGE}`);
  }
  const { values, positionals } = parsed;
  if (positionals[0] !== 'capacity' || positionals.length > 1) throw new ConfigError(REPORT_USAGE);
  for (const flag of ['ics', 'from', 'to', 'format', 'seeds', 'flow'] as const) {
    if (!values[flag]) throw new ConfigError(`vw report capacity needs --${flag}\n${REPORT_USAGE}`);
  }
  const format = values.format as (typeof FORMATS)[number];
  if (!FORMATS.includes(format)) throw new ConfigError(`vw report: --format must be html, csv or json, not '${values.format}'`);
  const firstDay = ukDay(values.from, '--from');
  const lastDay = ukDay(values.to, '--to');
  if (lastDay < firstDay) throw new ConfigError(`vw report: --to ${values.to} is before --from ${values.from}`);
  const censusHour = values['census-hour'] === undefined ? 8 : Number(values['census-hour']);
  if (!/^\d{1,2}$/.test(values['census-hour'] ?? '8') || censusHour > 23) throw new ConfigError(`vw report: --census-hour must be a whole hour 0–23, not '${values['census-hour']}'`);
  const targetOccupancy = fraction(values['target-occupancy'], '--target-occupancy', 0.85, 0, 1, 'a share of beds above 0 and at most 1, e.g. 0.85');
  const probability = fraction(values.probability, '--probability', 0.95, 0, 0.9999, 'a probability above 0 and below 1, e.g. 0.95');
  const expectedEveryHours = fraction(values['expected-every-hours'], '--expected-every-hours', 24, 0, 24 * 14, 'hours a patient may go without a reading before the time counts as missing, e.g. 24');
  const surgeFactor = fraction(values['surge-factor'], '--surge-factor', 1.6, 0, 100, 'a factor above 0 by which step-up referrals from ambulance and 111 rise, e.g. 1.6');

  // UK calendar days, --to inclusive: from 00:00 UK on the first day to 00:00 UK on the day after the last.
  const from = new Date(londonInstant(firstDay, 0));
  const to = new Date(londonInstant(lastDay + 1, 0));
  if (londonDay(from.getTime()) !== firstDay || londonDay(to.getTime() - 1) !== lastDay) throw new Error('UK day arithmetic is inconsistent');

  let registry: RegistryData;
  try {
    registry = await loadYamlAs(RegistryData, values.seeds!);
  } catch (error) {
    throw new ConfigError(`vw report: --seeds ${(error as Error).message}`);
  }
  const ics = values.ics!;
  const wards = registry.wards.filter((w) => w.ics === ics);
  if (!wards.length) {
    const known = [...new Set(registry.wards.flatMap((w) => (w.ics ? [w.ics] : [])))].sort();
    throw new ConfigError(`vw report: no ward of ICS ${ics} in ${values.seeds}${known.length ? ` (its wards belong to ${known.join(', ')})` : ' (no ward names an ics)'}`);
  }
  const events = parseJsonl(FlowEvent, 'a flow event', values.flow!, await readText(values.flow!, '--flow'), refusal);
  const alerts = values.alerts ? parseJsonl(Alert, 'an alert', values.alerts, await readText(values.alerts, '--alerts'), refusal) : [];
  const referrals = values.referrals ? parseJsonl(Referral, 'a referral', values.referrals, await readText(values.referrals, '--referrals'), refusal) : [];
  const snapshots = values.capacity ? parseJsonl(CapacitySnapshot, 'a capacity snapshot', values.capacity, await readText(values.capacity, '--capacity'), refusal) : undefined;
  const readingHours = values.readings ? readingHoursOf(parseJsonl(Reading, 'a reading', values.readings, await readText(values.readings, '--readings'), refusal), wards) : undefined;
  const { output, report } = capacityReport(
    { wards, systems: registry.systems ?? [], events, alerts, referrals, ...(snapshots ? { snapshots } : {}), ...(readingHours ? { readingHours, expectedEveryHours } : {}) },
    { ics, from, to, fromDate: values.from!, toDate: values.to!, format, censusHour, targetOccupancy, probability, surgeFactor, ...(values.title ? { title: values.title } : {}) },
  );
  if (report.problems.length) process.stderr.write(`vw report: left out ${report.problems.length} flow events that make no sense in order (see "problems" in --format json)\n`);
  if (values.out && values.out !== '-') {
    await writeFile(values.out, output);
    process.stderr.write(`vw report: wrote ${values.out}\n`);
  } else process.stdout.write(output);
}

/** The hours each patient sent readings in on the ICS's wards, as the stores answer them. */
function readingHoursOf(readings: readonly Reading[], wards: readonly Ward[]): ReadingHour[] {
  const wardIds = new Set(wards.map((w) => w.wardId));
  const seen = new Set<string>();
  const out: ReadingHour[] = [];
  for (const r of readings) {
    if (!wardIds.has(r.wardId)) continue;
    const t = Date.parse(r.ts);
    const hour = t - (t % 3_600_000);
    const key = `${r.patientId}\u0000${hour}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ patientId: r.patientId, hour });
  }
  return out;
}
