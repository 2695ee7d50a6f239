import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { londonDate } from '../rules/engine/calendar.ts';
import type { FlowReport, GroupReport } from './flow-measures.ts';
import type { PeriodReports } from './monthly.ts';

/**
 * The capacity report as one HTML file a planner opens offline: uPlot and its CSS inlined, the chart
 * data embedded as JSON, every table readable without the charts.
 *
 * Disclosure control: counts below SMALL_COUNT are shown as "<5", and a rate, length of stay or time
 * to acknowledge worked out from fewer than SMALL_COUNT events is not shown either (it would give the
 * count, or one patient's stay, back). The embedded chart data is suppressed the same way, so the page
 * source holds nothing the tables do not. No patient id, name or NHS number is ever written.
 */
export const SMALL_COUNT = 5;
const SUPPRESSED = '<5';
const NOT_SHOWN = 'not shown (<5)';

const require = createRequire(import.meta.url);
let uplotAssets: { js: string; css: string } | undefined;
function uplot(): { js: string; css: string } {
  uplotAssets ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return uplotAssets;
}

export interface HtmlOptions {
  title: string;
  generatedAt: Date;
  /** weeklyReports over the same period, for admissions per week; without it that chart is left out. */
  weekly?: PeriodReports;
}

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside a <script> element: `</` as `<\/` and every other `<` as `\u003c`, so nothing can end or change it. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/<\//g, '<\\/').replace(/<(?!\\\/)/g, '\\u003c');
}

const count = (n: number) => (n < SMALL_COUNT ? SUPPRESSED : String(n));
/** A figure worked out from `basis` events: shown only if there are enough of them. */
const from = (basis: number, value: number | null, unit = '') => (value === null ? '–' : basis < SMALL_COUNT ? NOT_SHOWN : `${value}${unit}`);
const pct = (v: number | null) => (v === null ? '–' : `${v}%`);
const num = (v: number | null) => (v === null ? '–' : String(v));
const suppressed = (n: number) => (n < SMALL_COUNT ? null : n);

const longDate = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const dayText = (date: string) => longDate.format(new Date(`${date}T12:00:00Z`));
const monthText = (month: string) => new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${month}-15T12:00:00Z`));
const seconds = (date: string) => Date.parse(`${date}T12:00:00Z`) / 1000;

const OUTCOMES = [
  ['care-completed', 'Care completed', 'Discharged with virtual-ward care complete.'],
  ['admitted-acute', 'Admitted to acute', 'Discharged to an acute hospital bed.'],
  ['ed', 'Sent to ED', 'Discharged to an emergency department.'],
  ['died', 'Died', 'Died on the virtual ward.'],
  ['self-discharged', 'Self-discharged', 'Left the virtual ward against advice.'],
] as const;

const LEVEL_WORDS: Record<GroupReport['level'], string> = { ics: 'ICS', provider: 'Provider', ward: 'Ward', pathway: 'Pathway' };

function table(caption: string, head: string[], rows: string[][], definitions: Array<[string, string]>): string {
  return [
    '<div class="table-wrap">',
    `<table><caption>${escapeHtml(caption)}</caption>`,
    `<thead><tr>${head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
    `<tbody>${rows.map(([first, ...rest]) => `<tr><th scope="row">${first}</th>${rest.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}</tbody>`,
    '</table></div>',
    `<dl class="definitions">${definitions.map(([t, d]) => `<dt>${escapeHtml(t)}</dt><dd>${escapeHtml(d)}</dd>`).join('')}</dl>`,
  ].join('\n');
}

/** The row header of a group: its name and, unless a ward, what it is. */
function rowName(g: GroupReport): string {
  const name = escapeHtml(g.name);
  return g.level === 'ward' ? name : `${name} <span class="level">(${LEVEL_WORDS[g.level]}${g.level === 'ics' ? ', all wards' : ''})</span>`;
}

interface ChartData {
  id: string;
  kind: 'occupancy' | 'admissions' | 'los';
  title: string;
  yLabel: string;
  x: number[];
  xLabels: string[];
  series: Array<{ label: string; values: Array<number | null>; style: 'line' | 'target' | 'bars-left' | 'bars-right' | 'points' }>;
  summary: string;
}

function charts(ics: GroupReport, index: number, report: FlowReport, monthly: PeriodReports, weekly: PeriodReports | undefined): ChartData[] {
  const out: ChartData[] = [];
  const daily = ics.occupancy.daily;
  const percents = daily.map((d) => d.percent).filter((p): p is number => p !== null);
  out.push({
    id: `chart-occupancy-${index}`,
    kind: 'occupancy',
    title: `Daily occupancy of ${ics.name}`,
    yLabel: 'Occupied (% of beds)',
    x: daily.map((d) => seconds(d.date)),
    xLabels: daily.map((d) => d.date),
    series: [
      { label: 'Occupancy %', values: daily.map((d) => d.percent), style: 'line' },
      { label: 'Target 80%', values: daily.map(() => 80), style: 'target' },
    ],
    summary: percents.length
      ? `Line chart of the daily occupancy of ${ics.name}'s ${ics.capacity} beds at ${report.censusHour}:00, ${dayText(daily[0]!.date)} to ${dayText(daily.at(-1)!.date)}: mean ${pct(ics.occupancy.meanPercent)}, lowest ${Math.min(...percents)}%, highest ${Math.max(...percents)}%, on ${percents.filter((p) => p >= 80).length} of ${percents.length} days at or above the 80% target.`
      : `Line chart of the daily occupancy of ${ics.name}: no beds or no days in the period.`,
  });
  if (weekly) {
    const weeks = weekly.periods.map((w) => ({ period: w.period, g: w.report.groups.find((x) => x.level === 'ics' && x.id === ics.id) }));
    const up = weeks.map((w) => suppressed(w.g?.admissions.stepUp ?? 0));
    const down = weeks.map((w) => suppressed(w.g?.admissions.stepDown ?? 0));
    const shown = [...up, ...down].filter((v) => v !== null).length;
    out.push({
      id: `chart-admissions-${index}`,
      kind: 'admissions',
      title: `Admissions per week to ${ics.name}, step-up and step-down`,
      yLabel: 'Admissions',
      x: weeks.map((w) => seconds(w.period)),
      xLabels: weeks.map((w) => `w/c ${w.period}`),
      series: [
        { label: 'Step-up', values: up, style: 'bars-left' },
        { label: 'Step-down', values: down, style: 'bars-right' },
      ],
      summary:
        `Bar chart of admissions per week (weeks from Monday, the first and last clipped to the period) to ${ics.name}, step-up and step-down: ` +
        weeks.map((w, i) => `week from ${dayText(w.period)} step-up ${up[i] ?? SUPPRESSED}, step-down ${down[i] ?? SUPPRESSED}`).join('; ') +
        (shown < up.length * 2 ? '. Weeks with fewer than 5 are not drawn.' : '.'),
    });
  }
  const months = monthly.periods.map((m) => ({ period: m.period, g: m.report.groups.find((x) => x.level === 'ics' && x.id === ics.id) }));
  const enough = (g: GroupReport | undefined) => (g?.lengthOfStayDays.spells ?? 0) >= SMALL_COUNT;
  const medians = months.map((m) => (enough(m.g) ? m.g!.lengthOfStayDays.median : null));
  const p90s = months.map((m) => (enough(m.g) ? m.g!.lengthOfStayDays.p90 : null));
  out.push({
    id: `chart-los-${index}`,
    kind: 'los',
    title: `Length of stay on ${ics.name}'s wards by month`,
    yLabel: 'Length of stay (days)',
    x: months.map((m) => seconds(`${m.period}-15`)),
    xLabels: months.map((m) => m.period),
    series: [
      { label: 'Median', values: medians, style: 'points' },
      { label: '90th centile', values: p90s, style: 'points' },
    ],
    summary:
      `Chart of the median and 90th centile length of stay, in days, of spells discharged each month from ${ics.name}: ` +
      months.map((m, i) => `${monthText(m.period)} ${medians[i] === null ? 'not shown, fewer than 5 discharges' : `median ${medians[i]}, 90th centile ${p90s[i]}`}`).join('; ') +
      '.',
  });
  return out;
}

const CSS = `
body{font-family:Arial,Helvetica,sans-serif;color:#212b32;margin:0;background:#f0f4f5;line-height:1.4}
main{max-width:1200px;margin:0 auto;padding:16px 24px 48px;background:#fff}
h1{font-size:1.8rem;margin:.5rem 0}h2{font-size:1.4rem;margin-top:2rem;border-bottom:2px solid #005eb8;padding-bottom:.2rem}h3{font-size:1.1rem}
.meta{color:#4c6272}.table-wrap{overflow-x:auto}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}caption{text-align:left;font-weight:bold;padding:.3rem 0}
th,td{border:1px solid #d8dde0;padding:.3rem .5rem;text-align:right;vertical-align:top}th[scope=row]{text-align:left}thead th{background:#e8edee;text-align:center}
.level{color:#4c6272;font-weight:normal}
dl.definitions{font-size:.85rem;color:#4c6272;display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.3rem 0 1rem}
dl.definitions dt{font-weight:bold}dl.definitions dd{margin:0}
figure{margin:1rem 0}figcaption{font-size:.9rem;color:#4c6272}.chart{width:100%;min-height:260px}
`;

/** Drawn in the browser from #report-data with the inlined uPlot; each chart marks itself data-drawn. */
const CLIENT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var tz = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), 'Europe/London'); };
  var COLOURS = ['#005eb8', '#ed8b00', '#4c6272'];
  data.charts.forEach(function (c) {
    var box = document.getElementById(c.id);
    if (!box || typeof uPlot === 'undefined') return;
    var bars = uPlot.paths && uPlot.paths.bars;
    var series = [{ label: 'Date', value: function (u, v, s, i) { return i == null ? '' : c.xLabels[i]; } }];
    c.series.forEach(function (s, i) {
      var opts = { label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: false };
      if (s.style === 'target') { opts.stroke = '#d5281b'; opts.dash = [6, 4]; opts.width = 1.5; opts.points = { show: false }; }
      if (s.style === 'points') { opts.points = { show: true, size: 8 }; }
      if ((s.style === 'bars-left' || s.style === 'bars-right') && bars) {
        opts.fill = COLOURS[i % COLOURS.length];
        opts.paths = bars({ size: [0.35, 60], align: s.style === 'bars-left' ? -1 : 1 });
        opts.points = { show: false };
      }
      series.push(opts);
    });
    var values = [c.x].concat(c.series.map(function (s) { return s.values; }));
    var top = 1;
    c.series.forEach(function (s) { s.values.forEach(function (v) { if (v != null && v > top) top = v; }); });
    var yRange = c.kind === 'occupancy' ? [0, Math.max(100, Math.ceil(top / 10) * 10)] : [0, Math.ceil(top * 1.15)];
    var half = c.kind === 'admissions' ? 3.5 * 86400 : c.kind === 'los' ? 15 * 86400 : 43200;
    var xRange = c.x.length ? [c.x[0] - half, c.x[c.x.length - 1] + half] : [0, 1];
    // UK dates on whole days, weeks or months, not US dates at midnight and noon.
    var DAY = 86400;
    var incrs = c.kind === 'admissions' ? [7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY] : c.kind === 'los' ? [28 * DAY, 91 * DAY, 182 * DAY, 365 * DAY] : [DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY];
    var fmt = uPlot.fmtDate(c.kind === 'los' ? '{MMM} {YYYY}' : '{D} {MMM}');
    var ticks = function (u, axisIdx, min, max) { return c.x.filter(function (x) { return x >= min && x <= max; }); };
    new uPlot({
      width: Math.max(320, box.clientWidth || 640),
      height: 260,
      tzDate: tz,
      scales: { x: { time: true, range: function () { return xRange; } }, y: { range: function () { return yRange; } } },
      axes: [
        { label: c.kind === 'admissions' ? 'Week beginning' : c.kind === 'los' ? 'Month of discharge' : 'Date (census each day)', incrs: incrs,
          splits: c.x.length <= 16 ? ticks : undefined, values: function (u, splits) { return splits.map(function (s) { return fmt(tz(s)); }); } },
        { label: c.yLabel },
      ],
      series: series,
    }, values, box);
    box.setAttribute('data-drawn', 'true');
  });
})();
`;

/**
 * The report for `report`'s period: charts per ICS (daily occupancy against the 80% target, weekly
 * admissions, length of stay by month) and tables per ward, provider, pathway, month and IMD decile.
 */
export function reportHtml(report: FlowReport, monthly: PeriodReports, options: HtmlOptions): string {
  const { js, css } = uplot();
  const systems = report.groups.filter((g) => g.level === 'ics');
  const providers = report.groups.filter((g) => g.level === 'provider');
  const wards = report.groups.filter((g) => g.level === 'ward');
  const pathways = report.groups.filter((g) => g.level === 'pathway');
  const byWard = [...wards, ...providers, ...systems];
  const first = report.groups[0]?.occupancy.daily[0]?.date ?? londonDate(Date.parse(report.from));
  const last = londonDate(Date.parse(report.to) - 1);
  const chartData = systems.flatMap((ics, i) => charts(ics, i, report, monthly, options.weekly));

  const body: string[] = [];
  body.push(`<h1>${escapeHtml(options.title)}</h1>`);
  body.push(
    `<p class="meta">Period: ${escapeHtml(dayText(first))} to ${escapeHtml(dayText(last))} inclusive (UK dates). Occupancy counted at ${report.censusHour}:00 UK time each day. ` +
      `Generated ${escapeHtml(options.generatedAt.toISOString().replace('T', ' ').slice(0, 16))} UTC. Counts below 5 are shown as “&lt;5”, and figures worked out from fewer than 5 events are not shown, so that no patient can be recognised.</p>`,
  );
  if (report.problems.length) body.push(`<p class="meta">${report.problems.length} flow event${report.problems.length === 1 ? ' was' : 's were'} left out as out of order (for example a discharge of a patient not on the ward); the figures do not include ${report.problems.length === 1 ? 'it' : 'them'}.</p>`);

  body.push('<h2>Summary</h2>');
  body.push(
    table(
      'Capacity and use of each integrated care system (ICS)',
      ['ICS', 'Beds', 'Beds per 100,000 adults', 'Mean occupancy', 'Admissions', 'Discharges', 'Admitted to acute', 'Patient-days'],
      systems.map((g) => [rowName(g), num(g.capacity), num(g.capacityPer100kAdults), pct(g.occupancy.meanPercent), count(g.admissions.total), count(g.discharges.total), count(g.acuteAdmissions), String(g.patientDays)]),
      [
        ['Beds', 'Commissioned virtual-ward beds (the most patients the wards are funded to care for at once).'],
        ['Beds per 100,000 adults', 'Beds for every 100,000 GP-registered adults (16 and over) of the ICS.'],
        ['Mean occupancy', 'The mean, over the days of the period, of the patients on the wards at the daily census time as a percentage of beds.'],
        ['Admissions', 'Patients admitted to a virtual ward in the period (a move between wards is not an admission).'],
        ['Discharges', 'Patients discharged from a virtual ward in the period, whatever the outcome.'],
        ['Admitted to acute', 'Patients discharged to an acute hospital bed: the admissions the wards did not avoid.'],
        ['Patient-days', 'The days patients spent on the wards within the period, added up.'],
      ],
    ),
  );

  body.push('<h2>Charts</h2>');
  for (const c of chartData) {
    body.push(
      `<figure><h3>${escapeHtml(c.title)}</h3><div class="chart" id="${c.id}" data-kind="${c.kind}" role="img" aria-label="${escapeHtml(c.summary)}"></div>` +
        `<figcaption>${escapeHtml(
          c.kind === 'occupancy'
            ? 'Patients on the wards at the census time each day as a percentage of beds; the dashed red line is the national 80% occupancy target.'
            : c.kind === 'admissions'
              ? 'Admissions each week: step-up (admitted instead of going into hospital) and step-down (leaving hospital early to the ward); weeks with fewer than 5 are not drawn.'
              : 'The median and 90th centile of the days from admission to discharge (across moves between wards) of the spells ending each month; months with fewer than 5 discharges are not drawn.',
        )}</figcaption></figure>`,
    );
  }

  body.push('<h2>Wards</h2>');
  body.push(
    table(
      'Capacity and occupancy by ward, provider and ICS',
      ['Ward', 'Provider', 'Beds', 'Mean occupied', 'Mean occupancy', 'Patient-days'],
      byWard.map((g) => [rowName(g), g.level === 'ward' ? (monthly.wardProviders[g.id] ?? '') : '', num(g.capacity), String(g.occupancy.meanOccupied), pct(g.occupancy.meanPercent), String(g.patientDays)]),
      [
        ['Provider', 'The organisation running the ward.'],
        ['Beds', 'Commissioned virtual-ward beds.'],
        ['Mean occupied', 'The mean number of patients on the ward at the daily census time.'],
        ['Mean occupancy', 'Mean occupied as a percentage of beds (the national target is 80%).'],
        ['Patient-days', 'The days patients spent on the ward within the period, added up.'],
      ],
    ),
  );
  body.push(
    table(
      'Admissions and discharges by ward, provider and ICS',
      ['Ward', 'Admissions', 'Step-up', 'Step-down', 'Moved in', 'Moved out', 'Discharges', ...OUTCOMES.map(([, label]) => label)],
      byWard.map((g) => [rowName(g), count(g.admissions.total), count(g.admissions.stepUp), count(g.admissions.stepDown), count(g.transfers.in), count(g.transfers.out), count(g.discharges.total), ...OUTCOMES.map(([k]) => count(g.discharges.byOutcome[k] ?? 0))]),
      [
        ['Admissions', 'Patients admitted to the ward in the period.'],
        ['Step-up', 'Admissions instead of going into hospital (from a GP, NHS 111, an ambulance or an emergency department).'],
        ['Step-down', 'Admissions to leave an acute hospital early.'],
        ['Moved in / moved out', 'Patients moved from or to another virtual ward, without a discharge.'],
        ['Discharges', 'Patients discharged from the ward in the period, whatever the outcome.'],
        ...OUTCOMES.map(([, label, definition]) => [label, definition] as [string, string]),
      ],
    ),
  );
  body.push(
    table(
      'Length of stay, referrals and alerts by ward, provider and ICS',
      ['Ward', 'Length of stay, median (days)', 'Length of stay, 90th centile (days)', 'Referrals', 'Referrals per 100 patient-days', 'Alerts', 'Alerts per patient-day'],
      byWard.map((g) => [
        rowName(g),
        from(g.lengthOfStayDays.spells, g.lengthOfStayDays.median),
        from(g.lengthOfStayDays.spells, g.lengthOfStayDays.p90),
        count(g.referrals.total),
        from(g.referrals.total, g.referrals.per100PatientDays),
        count(g.alerts.total),
        from(g.alerts.total, g.alerts.perPatientDay),
      ]),
      [
        ['Length of stay, median', 'The middle of the days from admission to discharge, across moves between wards, of the patients discharged from the ward in the period.'],
        ['Length of stay, 90th centile', 'The length of stay nine in ten of those patients were discharged within.'],
        ['Referrals', 'Referrals made from the ward (to 999, NHS 111, community teams and other services) in the period.'],
        ['Referrals per 100 patient-days', 'Referrals for every 100 days patients spent on the ward.'],
        ['Alerts', 'Alerts raised by the monitoring rules for the ward’s patients in the period.'],
        ['Alerts per patient-day', 'Alerts for every day a patient spent on the ward: the workload monitoring brings.'],
      ],
    ),
  );
  const severities = [...new Set(systems.flatMap((g) => Object.keys(g.alerts.minutesToAcknowledge)))].sort();
  if (severities.length) {
    body.push(
      table(
        'Minutes from an alert to its acknowledgement, by severity',
        ['ICS and severity', 'Acknowledged', 'Not acknowledged', 'Median (minutes)', '90th centile (minutes)'],
        systems.flatMap((g) =>
          Object.entries(g.alerts.minutesToAcknowledge)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([severity, m]) => [`${escapeHtml(g.name)}: ${escapeHtml(severity)}`, count(m.acknowledged), count(m.notAcknowledged), from(m.acknowledged, m.median), from(m.acknowledged, m.p90)]),
        ),
        [
          ['Acknowledged', 'Alerts raised in the period that a clinician acknowledged.'],
          ['Not acknowledged', 'Alerts raised in the period never acknowledged (closed without, or still open).'],
          ['Median', 'The middle of the minutes from an alert being raised to its acknowledgement.'],
          ['90th centile', 'The minutes nine in ten acknowledged alerts were acknowledged within.'],
        ],
      ),
    );
  }

  if (pathways.length) {
    body.push('<h2>Pathways</h2>');
    body.push(
      table(
        'Use of each clinical pathway, across the wards',
        ['Pathway', 'Mean occupied', 'Patient-days', 'Admissions', 'Discharges', 'Admitted to acute', 'Length of stay, median (days)'],
        pathways.map((g) => [escapeHtml(g.name), String(g.occupancy.meanOccupied), String(g.patientDays), count(g.admissions.total), count(g.discharges.total), count(g.acuteAdmissions), from(g.lengthOfStayDays.spells, g.lengthOfStayDays.median)]),
        [
          ['Pathway', 'The condition the patient is monitored for (for example acute respiratory infection, heart failure).'],
          ['Mean occupied', 'The mean number of the pathway’s patients on the wards at the daily census time.'],
          ['Length of stay, median', 'The middle of the days from admission to discharge of the pathway’s patients discharged in the period.'],
        ],
      ),
    );
  }

  body.push('<h2>By month</h2>');
  body.push(
    table(
      'Monthly figures as in the national virtual ward publication',
      ['Month and ICS', 'Beds', 'Occupancy', 'Beds per 100,000 adults', 'Admissions', 'Discharges', 'Admitted to acute'],
      monthly.periods.flatMap((m) =>
        m.report.groups
          .filter((g) => g.level === 'ics')
          .map((g) => [`${escapeHtml(monthText(m.period))}: ${escapeHtml(g.name)}`, num(g.capacity), pct(g.occupancy.meanPercent), num(g.capacityPer100kAdults), count(g.admissions.total), count(g.discharges.total), count(g.acuteAdmissions)]),
      ),
      [
        ['Month', 'A calendar month, the first and last cut to the report’s period.'],
        ['Occupancy', 'The mean, over the month’s days, of the patients on the wards at the census time as a percentage of beds.'],
      ],
    ),
  );

  body.push('<h2>Equity</h2>');
  const deciles = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', 'unknown'];
  body.push(
    table(
      'Admissions by deprivation of the patient’s home (Index of Multiple Deprivation decile)',
      ['Decile', ...systems.map((g) => g.name)],
      deciles.map((d) => [d === 'unknown' ? 'Not known' : d === '1' ? '1 (most deprived)' : d === '10' ? '10 (least deprived)' : d, ...systems.map((g) => count(g.equity.admissionsByImdDecile[d] ?? 0))]),
      [
        ['Decile', 'The tenth of English neighbourhoods, ranked by the Index of Multiple Deprivation, the patient lives in: 1 is the most deprived tenth, 10 the least.'],
        ['Admissions', 'Patients admitted in the period from homes in that decile; about a tenth in each would match the population.'],
      ],
    ),
  );

  const data = { title: options.title, from: report.from, to: report.to, censusHour: report.censusHour, charts: chartData.map(({ summary: _summary, ...c }) => c) };
  return [
    '<!doctype html>',
    '<html lang="en-GB">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(options.title)}</title>`,
    `<style>${css}</style>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    ...body,
    '</main>',
    `<script type="application/json" id="report-data">${scriptJson(data)}</script>`,
    `<script>${js}</script>`,
    `<script>${CLIENT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
