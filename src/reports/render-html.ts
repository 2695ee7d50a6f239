import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { londonDate } from '../time/calendar.ts';
import type { DayPressure, PressureProviders } from './pressure.ts';
import { isWithheld, type SuppressedFlowReport, type SuppressedGroupReport, type SuppressedPeriodReports, type SuppressedPlan } from './suppress.ts';

/**
 * The capacity report as one HTML file a planner opens offline: uPlot and its CSS inlined, the chart
 * data embedded as JSON, every table readable without the charts.
 *
 * Disclosure control is the report's own (suppress.ts): it is given figures already withheld, shows
 * each withheld one as "withheld" and one that cannot be computed as "–". The embedded chart data is
 * made from the same figures, so the page source holds nothing the tables do not. No patient id, name
 * or NHS number is ever written.
 */
export const WITHHELD_TEXT = 'withheld';

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
  weekly?: SuppressedPeriodReports;
  /** planBeds over the period, with the commissioned beds of each pathway where they can be told apart; without it the Planning section is left out. */
  plan?: SuppressedPlan;
  /** dailyPressure over the period; without it the pressure section is left out. */
  pressure?: { providers: PressureProviders; daily: readonly DayPressure[] };
}

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside a <script> element: `</` as `<\/` and every other `<` as `\u003c`, so nothing can end or change it. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/<\//g, '<\\/').replace(/<(?!\\\/)/g, '\\u003c');
}

/** The figure at `path` of `item`: "withheld", "–" where it cannot be computed, or the value. */
const fig = (item: { suppressed: readonly string[] }, path: string, value: number | null | undefined, unit = '') =>
  isWithheld(item, path) ? WITHHELD_TEXT : value === null || value === undefined ? '–' : `${value}${unit}`;
/** A count of a breakdown, where a key left out is 0. */
const part = (item: { suppressed: readonly string[] }, path: string, value: number | null | undefined) => (isWithheld(item, path) ? WITHHELD_TEXT : String(value ?? 0));
const pct = (v: number | null) => (v === null ? '–' : `${v}%`);

/** Said wherever device adherence would be, when the report was made without readings: not measured is not 0%. */
export const NOT_MEASURED_TEXT = 'Device adherence not measured: the report was made without readings';
/** A group's device adherence: "withheld", "–" where no reading was expected (no patient at a census), or the percentage. */
const adherence = (g: SuppressedGroupReport) => (g.monitoring ? fig(g, 'monitoring.percent', g.monitoring.percent, '%') : 'not measured');
/** A group's hours of expected data missing per patient-day. */
const missingPerDay = (g: SuppressedGroupReport) => (g.monitoring ? fig(g, 'monitoring.hoursMissingPerPatientDay', g.monitoring.hoursMissingPerPatientDay) : 'not measured');
const DECILES = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', 'unknown'];
const decileText = (d: string) => (d === 'unknown' ? 'Not known' : d === '1' ? '1 (most deprived)' : d === '10' ? '10 (least deprived)' : d);
const num = (v: number | null) => (v === null ? '–' : String(v));

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

const LEVEL_WORDS: Record<SuppressedGroupReport['level'], string> = { ics: 'ICS', provider: 'Provider', ward: 'Ward', pathway: 'Pathway' };

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
function rowName(g: SuppressedGroupReport): string {
  const name = escapeHtml(g.name);
  return g.level === 'ward' ? name : `${name} <span class="level">(${LEVEL_WORDS[g.level]}${g.level === 'ics' ? ', all wards' : ''})</span>`;
}

interface ChartData {
  id: string;
  kind: 'occupancy' | 'admissions' | 'los' | 'planning' | 'pressure';
  title: string;
  yLabel: string;
  /** A second y axis, on the right, for the series with `scale: 'right'`. */
  y2?: { label: string; range: [number, number] };
  /** Times in seconds, or (planning) 0, 1, 2 … for categories named by xLabels. */
  x: number[];
  xLabels: string[];
  series: Array<{ label: string; values: Array<number | null>; style: 'line' | 'target' | 'bars-left' | 'bars-right' | 'points' | 'steps'; scale?: 'right' }>;
  summary: string;
}

function charts(ics: SuppressedGroupReport, index: number, report: SuppressedFlowReport, monthly: SuppressedPeriodReports, weekly: SuppressedPeriodReports | undefined): ChartData[] {
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
    const up = weeks.map((w) => (w.g ? w.g.admissions.stepUp : 0));
    const down = weeks.map((w) => (w.g ? w.g.admissions.stepDown : 0));
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
        weeks.map((w, i) => `week from ${dayText(w.period)} step-up ${up[i] ?? WITHHELD_TEXT}, step-down ${down[i] ?? WITHHELD_TEXT}`).join('; ') +
        (shown < up.length * 2 ? '. Withheld weeks are not drawn.' : '.'),
    });
  }
  const months = monthly.periods.map((m) => ({ period: m.period, g: m.report.groups.find((x) => x.level === 'ics' && x.id === ics.id) }));
  const medians = months.map((m) => m.g?.lengthOfStayDays.median ?? null);
  const p90s = months.map((m) => m.g?.lengthOfStayDays.p90 ?? null);
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
      months.map((m, i) => `${monthText(m.period)} ${medians[i] !== null ? `median ${medians[i]}, 90th centile ${p90s[i]}` : m.g && isWithheld(m.g, 'lengthOfStayDays.median') ? 'withheld, fewer than 5 discharges' : 'no discharges'}`).join('; ') +
      '.',
  });
  return out;
}

function figure(c: ChartData, caption: string): string {
  return (
    `<figure><h3>${escapeHtml(c.title)}</h3><div class="chart" id="${c.id}" data-kind="${c.kind}" role="img" aria-label="${escapeHtml(c.summary)}"></div>` +
    `<figcaption>${escapeHtml(caption)}</figcaption></figure>`
  );
}

const PLAN_ASSUMPTIONS = [
  'Each pathway is treated as an M/G/∞ queue: patients arrive at random, independently of one another, at the rate of admissions a day seen in the period, and each stays for a time drawn from the stays seen (their mean, from the spells completed in the period), whatever their spread.',
  'A virtual ward takes everyone it has a bed for, so the number on a pathway at a random moment follows a Poisson distribution whose mean is arrivals a day × mean stay: the offered load, the patients on the pathway on average.',
  'Beds needed are the fewest beds for which, with the stated probability, the number on the pathway is at or under the target share of beds: the Poisson quantile of the offered load at that probability, divided by the target occupancy and rounded up.',
  'The surge what-if multiplies the step-up admissions that came from the ambulance service and NHS 111 by the surge factor, leaves every other admission as it was, and works out the beds again.',
  'Assumed: arrivals independent of one another and of how full the wards are; the period’s mean arrival rate and mean stay hold over the planning horizon; no day-of-week or seasonal pattern within it; each pathway planned on its own, so their beds add up (what commissioning them separately costs; pooling them needs fewer).',
];

function planningChart(plan: SuppressedPlan, commissioned: NonNullable<SuppressedPlan['commissionedBeds']>): ChartData {
  const beds = new Map(commissioned.map((c) => [c.pathway, c.beds]));
  const now = plan.pathways.map((p) => p.bedsNeeded);
  const surge = plan.pathways.map((p) => p.surge.bedsNeeded);
  const have = plan.pathways.map((p) => beds.get(p.pathway) ?? null);
  return {
    id: 'chart-planning',
    kind: 'planning',
    title: 'Beds needed by pathway, now and with the surge, against commissioned beds',
    yLabel: 'Beds',
    x: plan.pathways.map((_, i) => i),
    xLabels: plan.pathways.map((p) => p.pathway),
    series: [
      { label: 'Beds needed now', values: now, style: 'bars-left' },
      { label: `Beds needed with the surge (×${plan.surgeFactor})`, values: surge, style: 'bars-right' },
      { label: 'Commissioned beds', values: have, style: 'points' },
    ],
    summary:
      `Bar chart of the beds each pathway needs to stay at or under ${Math.round(plan.targetOccupancy * 100)}% occupancy on ${Math.round(plan.probability * 1000) / 10}% of days, now and if step-up admissions from the ambulance service and NHS 111 rose ${plan.surgeFactor}-fold, with the pathway's commissioned beds as points: ` +
      plan.pathways.map((p, i) => `${p.pathway} now ${now[i]}, with the surge ${surge[i]}, commissioned ${have[i] ?? 'not known (its wards also take other pathways)'}`).join('; ') +
      '.',
  };
}

function pressureCharts(ics: SuppressedGroupReport, pressure: NonNullable<HtmlOptions['pressure']>): ChartData[] {
  const occupancy = new Map(ics.occupancy.daily.map((d) => [d.date, d.percent]));
  const days = pressure.daily;
  const x = days.map((d) => seconds(d.date));
  const xLabels = days.map((d) => d.date);
  const percents = days.map((d) => occupancy.get(d.date) ?? null);
  const shown = percents.filter((p): p is number => p !== null);
  const c2 = days.map((d) => d.c2MeanMinutes);
  const c2s = c2.filter((v): v is number => v !== null);
  const opel = days.map((d) => d.opelMax);
  const atLevel = [1, 2, 3, 4].map((l) => opel.filter((o) => o === l).length);
  const span = days.length ? `${dayText(days[0]!.date)} to ${dayText(days.at(-1)!.date)}` : 'no days';
  const highest = (values: Array<number | null>) => {
    let best = -1;
    values.forEach((v, i) => {
      if (v !== null && (best < 0 || v > values[best]!)) best = i;
    });
    return best < 0 ? null : { value: values[best]!, date: days[best]!.date };
  };
  const c2Top = highest(c2);
  const occTop = highest(percents);
  const noData = days.filter((d) => d.c2MeanMinutes === null && d.opelMax === null).length;
  return [
    {
      id: 'chart-pressure-occupancy',
      kind: 'occupancy',
      title: `Daily occupancy of ${ics.name}, on the same days as the ambulance and system pressure below`,
      yLabel: 'Occupied (% of beds)',
      x,
      xLabels,
      series: [
        { label: 'Occupancy %', values: percents, style: 'line' },
        { label: 'Target 80%', values: days.map(() => 80), style: 'target' },
      ],
      summary: shown.length
        ? `Line chart of the daily occupancy of ${ics.name}, ${span}: mean ${Math.round((shown.reduce((a, b) => a + b, 0) / shown.length) * 10) / 10}%, highest ${occTop!.value}% on ${dayText(occTop!.date)}, on ${shown.filter((p) => p >= 80).length} of ${shown.length} days at or above the 80% target.`
        : `Line chart of the daily occupancy of ${ics.name}: no beds or no days in the period.`,
    },
    {
      id: 'chart-pressure',
      kind: 'pressure',
      title: `Ambulance Category 2 response and system OPEL level, each day`,
      yLabel: 'C2 response (minutes)',
      y2: { label: 'OPEL level (1–4)', range: [0, 4.5] },
      x,
      xLabels,
      series: [
        { label: 'C2 mean (minutes)', values: c2, style: 'line' },
        { label: 'C2 90th centile, mean (minutes)', values: days.map((d) => d.c2P90MeanMinutes), style: 'line' },
        { label: 'OPEL (highest of the day)', values: opel, style: 'steps', scale: 'right' },
      ],
      summary:
        `Line chart, ${span}, of the mean Category 2 response time of ${pressure.providers.ambulance ?? 'the ambulance service'} each day` +
        (c2s.length ? `: mean of the days ${Math.round((c2s.reduce((a, b) => a + b, 0) / c2s.length) * 10) / 10} minutes, lowest ${Math.min(...c2s)}, highest ${c2Top!.value} on ${dayText(c2Top!.date)}` : ': no ambulance data') +
        `; and the highest OPEL level of ${pressure.providers.ics ?? 'the ICS'} each day: ` +
        (atLevel.some((n) => n > 0) ? atLevel.map((n, i) => `level ${i + 1} on ${n} day${n === 1 ? '' : 's'}`).join(', ') : 'no OPEL data') +
        (noData ? `. No data on ${noData} of ${days.length} days.` : '.'),
    },
  ];
}

function monitoringDefinitions(every: number): Array<[string, string]> {
  return [
    ['Patient-days at census', 'The days on which a patient was on the wards at the census time: the days a reading was expected.'],
    ['Days with a reading', 'Of those, the days on which at least one reading from any of the patient’s devices arrived (00:00 to 24:00 UK time).'],
    ['Device adherence', 'Days with a reading as a percentage of patient-days at census.'],
    ['Hours of expected data missing', `The hours on the wards during which a patient’s last reading (or admission) was more than ${every} hours ago: the time the missing-data rules would call overdue.`],
    ['Hours missing per patient-day', 'Hours of expected data missing for every day a patient spent on the wards.'],
  ];
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
details{margin:.5rem 0 1rem}summary{cursor:pointer;color:#005eb8}ul.assumptions{font-size:.9rem}
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
    var categorical = c.kind === 'planning';
    var series = [{ label: categorical ? 'Pathway' : 'Date', value: function (u, v, s, i) { return i == null ? '' : c.xLabels[i]; } }];
    c.series.forEach(function (s, i) {
      var opts = { label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: false };
      if (s.style === 'target') { opts.stroke = '#d5281b'; opts.dash = [6, 4]; opts.width = 1.5; opts.points = { show: false }; }
      if (s.style === 'points') { opts.points = { show: true, size: 8 }; }
      if (s.style === 'points' && categorical) { opts.paths = function () { return null; }; opts.points = { show: true, size: 12, width: 3, fill: '#fff' }; }
      if (s.style === 'steps' && uPlot.paths && uPlot.paths.stepped) { opts.paths = uPlot.paths.stepped({ align: 1 }); }
      if (s.scale === 'right') { opts.scale = 'y2'; }
      if ((s.style === 'bars-left' || s.style === 'bars-right') && bars) {
        opts.fill = COLOURS[i % COLOURS.length];
        opts.paths = bars({ size: [0.35, 60], align: s.style === 'bars-left' ? -1 : 1 });
        opts.points = { show: false };
      }
      series.push(opts);
    });
    var values = [c.x].concat(c.series.map(function (s) { return s.values; }));
    var top = 1;
    c.series.forEach(function (s) { if (s.scale !== 'right') s.values.forEach(function (v) { if (v != null && v > top) top = v; }); });
    var yRange = c.kind === 'occupancy' ? [0, Math.max(100, Math.ceil(top / 10) * 10)] : [0, Math.ceil(top * 1.15)];
    var half = categorical ? 0.5 : c.kind === 'admissions' ? 3.5 * 86400 : c.kind === 'los' ? 15 * 86400 : 43200;
    var xRange = c.x.length ? [c.x[0] - half, c.x[c.x.length - 1] + half] : [0, 1];
    // UK dates on whole days, weeks or months, not US dates at midnight and noon.
    var DAY = 86400;
    var incrs = c.kind === 'admissions' ? [7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY] : c.kind === 'los' ? [28 * DAY, 91 * DAY, 182 * DAY, 365 * DAY] : [DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY];
    var fmt = uPlot.fmtDate(c.kind === 'los' ? '{MMM} {YYYY}' : '{D} {MMM}');
    var ticks = function (u, axisIdx, min, max) { return c.x.filter(function (x) { return x >= min && x <= max; }); };
    var scales = { x: { time: !categorical, range: function () { return xRange; } }, y: { range: function () { return yRange; } } };
    var axes = [
      categorical
        ? { label: 'Pathway', splits: ticks, values: function (u, splits) { return splits.map(function (s) { return c.xLabels[s] == null ? '' : c.xLabels[s]; }); } }
        : { label: c.kind === 'admissions' ? 'Week beginning' : c.kind === 'los' ? 'Month of discharge' : c.kind === 'pressure' ? 'Date' : 'Date (census each day)', incrs: incrs,
            splits: c.x.length <= 16 ? ticks : undefined, values: function (u, splits) { return splits.map(function (s) { return fmt(tz(s)); }); } },
      { label: c.yLabel },
    ];
    if (c.y2) {
      scales.y2 = { range: function () { return c.y2.range; } };
      axes.push({ scale: 'y2', side: 1, label: c.y2.label, grid: { show: false }, incrs: [1], values: function (u, splits) { return splits.map(function (s) { return String(s); }); } });
    }
    new uPlot({
      width: Math.max(320, box.clientWidth || 640),
      height: 260,
      tzDate: tz,
      scales: scales,
      axes: axes,
      series: series,
    }, values, box);
    box.setAttribute('data-drawn', 'true');
  });
})();
`;

/**
 * The report for `report`'s period: charts per ICS (daily occupancy against the 80% target, weekly
 * admissions, length of stay by month) and tables per ward, provider, pathway, month and IMD decile,
 * with device adherence and hours of expected data missing beside them (or, when the report was made
 * without readings, a plain statement that they were not measured: never 0%).
 */
export function reportHtml(report: SuppressedFlowReport, monthly: SuppressedPeriodReports, options: HtmlOptions): string {
  const { js, css } = uplot();
  const systems = report.groups.filter((g) => g.level === 'ics');
  const providers = report.groups.filter((g) => g.level === 'provider');
  const wards = report.groups.filter((g) => g.level === 'ward');
  const pathways = report.groups.filter((g) => g.level === 'pathway');
  const byWard = [...wards, ...providers, ...systems];
  const first = report.groups[0]?.occupancy.daily[0]?.date ?? londonDate(Date.parse(report.from));
  const last = londonDate(Date.parse(report.to) - 1);
  const chartData = systems.flatMap((ics, i) => charts(ics, i, report, monthly, options.weekly));
  const planChart = options.plan && options.plan.pathways.length ? planningChart(options.plan, options.plan.commissionedBeds ?? []) : undefined;
  const pressureIcs = options.pressure ? (systems.find((g) => g.id === options.pressure!.providers.ics) ?? systems[0]) : undefined;
  const pressureData = options.pressure && pressureIcs ? pressureCharts(pressureIcs, options.pressure) : [];
  const wardName = new Map(wards.map((g) => [g.id, g.name]));
  // Null throughout when the report was made without readings: then adherence is said to be not measured, never 0%.
  const monitoring = report.groups.find((g) => g.monitoring)?.monitoring ?? null;
  const withMonitoring = <T>(cells: T[]): T[] => (monitoring ? cells : []);

  const body: string[] = [];
  body.push(`<h1>${escapeHtml(options.title)}</h1>`);
  body.push(
    `<p class="meta">Period: ${escapeHtml(dayText(first))} to ${escapeHtml(dayText(last))} inclusive (UK dates). Occupancy counted at ${report.censusHour}:00 UK time each day. ` +
      `Generated ${escapeHtml(options.generatedAt.toISOString().replace('T', ' ').slice(0, 16))} UTC. So that no patient can be recognised, a figure shown as “${WITHHELD_TEXT}” is a count of 1 to 4 people or events, a rate, median or mean worked out from fewer than 5, or a figure from which one of those could be worked out by subtraction.</p>`,
  );
  if (report.problems.length) body.push(`<p class="meta">${report.problems.length} flow event${report.problems.length === 1 ? ' was' : 's were'} left out as out of order (for example a discharge of a patient not on the ward); the figures do not include ${report.problems.length === 1 ? 'it' : 'them'}.</p>`);

  body.push('<h2>Summary</h2>');
  body.push(
    table(
      'Capacity and use of each integrated care system (ICS)',
      ['ICS', 'Beds', 'Beds per 100,000 adults', 'Mean occupancy', 'Admissions', 'Discharges', 'Admitted to acute', 'Patient-days'],
      systems.map((g) => [rowName(g), num(g.capacity), num(g.capacityPer100kAdults), pct(g.occupancy.meanPercent), fig(g, 'admissions.total', g.admissions.total), fig(g, 'discharges.total', g.discharges.total), fig(g, 'acuteAdmissions', g.acuteAdmissions), String(g.patientDays)]),
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
  if (monitoring) {
    const every = monitoring.expectedEveryHours;
    body.push(
      `<p>Device adherence: patients on a virtual ward are expected to send at least one reading every ${escapeHtml(every)} hours. ` +
        'Adherence is the share of the days a patient was on the wards at the census time on which at least one reading arrived; hours of expected data missing are the hours a patient went without one for longer than that.</p>',
    );
    body.push(
      table(
        `Device adherence and hours of expected data missing of each ICS (at least one reading every ${every} hours expected)`,
        ['ICS', 'Patient-days at census', 'Days with a reading', 'Device adherence', 'Hours of expected data missing', 'Hours missing per patient-day'],
        systems.map((g) => [
          rowName(g),
          num(g.monitoring?.expectedDays ?? null),
          fig(g, 'monitoring.daysWithReadings', g.monitoring?.daysWithReadings),
          adherence(g),
          fig(g, 'monitoring.hoursMissing', g.monitoring?.hoursMissing),
          missingPerDay(g),
        ]),
        monitoringDefinitions(every),
      ),
    );
  } else body.push(`<p class="not-measured">${escapeHtml(NOT_MEASURED_TEXT)}, so neither the share of patient-days with a reading nor the hours of expected data missing can be given.</p>`);

  body.push('<h2>Charts</h2>');
  for (const c of chartData) {
    body.push(
      figure(
        c,
          c.kind === 'occupancy'
            ? 'Patients on the wards at the census time each day as a percentage of beds; the dashed red line is the national 80% occupancy target.'
            : c.kind === 'admissions'
              ? 'Admissions each week: step-up (admitted instead of going into hospital) and step-down (leaving hospital early to the ward); withheld weeks are not drawn.'
              : 'The median and 90th centile of the days from admission to discharge (across moves between wards) of the spells ending each month; months with fewer than 5 discharges are not drawn.',
      ),
    );
  }

  body.push('<h2>Wards</h2>');
  body.push(
    table(
      monitoring ? 'Capacity, occupancy and device adherence by ward, provider and ICS' : 'Capacity and occupancy by ward, provider and ICS',
      ['Ward', 'Provider', 'Beds', 'Mean occupied', 'Mean occupancy', 'Patient-days', ...withMonitoring(['Device adherence', 'Hours missing per patient-day'])],
      byWard.map((g) => [rowName(g), g.level === 'ward' ? (monthly.wardProviders[g.id] ?? '') : '', num(g.capacity), String(g.occupancy.meanOccupied), pct(g.occupancy.meanPercent), String(g.patientDays), ...withMonitoring([adherence(g), missingPerDay(g)])]),
      [
        ['Provider', 'The organisation running the ward.'],
        ['Beds', 'Commissioned virtual-ward beds.'],
        ['Mean occupied', 'The mean number of patients on the ward at the daily census time.'],
        ['Mean occupancy', 'Mean occupied as a percentage of beds (the national target is 80%).'],
        ['Patient-days', 'The days patients spent on the ward within the period, added up.'],
        ...withMonitoring<[string, string]>([
          ['Device adherence', `Of the days a patient was on the ward at the census time, the share on which at least one reading arrived (at least one every ${monitoring?.expectedEveryHours} hours is expected); “–” where no patient was on the ward at a census.`],
          ['Hours missing per patient-day', `The hours patients on the ward went more than ${monitoring?.expectedEveryHours} hours without a reading, for every day a patient spent on the ward.`],
        ]),
      ],
    ),
  );
  body.push(
    table(
      'Admissions and discharges by ward, provider and ICS',
      ['Ward', 'Admissions', 'Step-up', 'Step-down', 'Moved in', 'Moved out', 'Discharges', ...OUTCOMES.map(([, label]) => label)],
      byWard.map((g) => [
        rowName(g),
        fig(g, 'admissions.total', g.admissions.total),
        fig(g, 'admissions.stepUp', g.admissions.stepUp),
        fig(g, 'admissions.stepDown', g.admissions.stepDown),
        fig(g, 'transfers.in', g.transfers.in),
        fig(g, 'transfers.out', g.transfers.out),
        fig(g, 'discharges.total', g.discharges.total),
        ...OUTCOMES.map(([k]) => part(g, `discharges.byOutcome.${k}`, g.discharges.byOutcome[k])),
      ]),
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
        fig(g, 'lengthOfStayDays.median', g.lengthOfStayDays.median),
        fig(g, 'lengthOfStayDays.p90', g.lengthOfStayDays.p90),
        fig(g, 'referrals.total', g.referrals.total),
        fig(g, 'referrals.per100PatientDays', g.referrals.per100PatientDays),
        fig(g, 'alerts.total', g.alerts.total),
        fig(g, 'alerts.perPatientDay', g.alerts.perPatientDay),
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
            .map(([severity, m]) => {
              const at = `alerts.minutesToAcknowledge.${severity}`;
              return [`${escapeHtml(g.name)}: ${escapeHtml(severity)}`, fig(g, `${at}.acknowledged`, m.acknowledged), fig(g, `${at}.notAcknowledged`, m.notAcknowledged), fig(g, `${at}.median`, m.median), fig(g, `${at}.p90`, m.p90)];
            }),
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
        ['Pathway', 'Mean occupied', 'Patient-days', 'Admissions', 'Discharges', 'Admitted to acute', 'Length of stay, median (days)', ...withMonitoring(['Device adherence', 'Hours missing per patient-day'])],
        pathways.map((g) => [escapeHtml(g.name), String(g.occupancy.meanOccupied), String(g.patientDays), fig(g, 'admissions.total', g.admissions.total), fig(g, 'discharges.total', g.discharges.total), fig(g, 'acuteAdmissions', g.acuteAdmissions), fig(g, 'lengthOfStayDays.median', g.lengthOfStayDays.median), ...withMonitoring([adherence(g), missingPerDay(g)])]),
        [
          ['Pathway', 'The condition the patient is monitored for (for example acute respiratory infection, heart failure).'],
          ['Mean occupied', 'The mean number of the pathway’s patients on the wards at the daily census time.'],
          ['Length of stay, median', 'The middle of the days from admission to discharge of the pathway’s patients discharged in the period.'],
          ...withMonitoring<[string, string]>([
            ['Device adherence', 'Of the days the pathway’s patients were on the wards at the census time, the share on which at least one reading arrived.'],
            ['Hours missing per patient-day', `The hours the pathway’s patients went more than ${monitoring?.expectedEveryHours} hours without a reading, for every day they spent on the wards.`],
          ]),
        ],
      ),
    );
  }

  if (options.plan) {
    const plan = options.plan;
    const commissioned = new Map((plan.commissionedBeds ?? []).map((c) => [c.pathway, c]));
    const bedsText = (pathway: string) => {
      const c = commissioned.get(pathway);
      if (!c) return 'not known';
      if (c.beds !== null) return String(c.beds);
      return `not the pathway’s own: ${c.sharedWards.map((w) => wardName.get(w) ?? w).join(', ')} also take${c.sharedWards.length === 1 ? 's' : ''} other pathways`;
    };
    const target = `${Math.round(plan.targetOccupancy * 1000) / 10}%`;
    const probability = `${Math.round(plan.probability * 1000) / 10}%`;
    body.push('<h2>Planning</h2>');
    body.push(
      `<p>How many beds each pathway needs for the number of its patients on the wards to stay at or under ${target} of its beds on ${probability} of days, at the admissions and lengths of stay of this period; ` +
        `and the same if step-up admissions from the ambulance service and NHS 111 rose ${escapeHtml(plan.surgeFactor)}-fold, as in a winter surge. Commissioned beds are shown where the pathway’s wards take no other pathway.</p>`,
    );
    body.push(
      table(
        `Beds needed by pathway at ${target} target occupancy with ${probability} probability, and with a ${plan.surgeFactor}× surge`,
        ['Pathway', 'Arrivals a day', 'Of which step-up from ambulance and 111, a day', 'Mean stay (days)', 'Offered load (patients)', 'Beds needed now', `Arrivals a day with the surge`, 'Beds needed with the surge', 'Commissioned beds'],
        [
          ...plan.pathways.map((p) => [
            escapeHtml(p.pathway),
            fig(p, 'arrivalsPerDay', p.arrivalsPerDay),
            fig(p, 'stepUpFromAmbulanceAnd111PerDay', p.stepUpFromAmbulanceAnd111PerDay),
            fig(p, 'meanStayDays', p.meanStayDays),
            // No completed stay, no mean stay: the load cannot be worked out.
            fig(p, 'offeredLoad', p.meanStayDays === null && !isWithheld(p, 'meanStayDays') ? null : p.offeredLoad),
            String(p.bedsNeeded),
            fig(p, 'surge.arrivalsPerDay', p.surge.arrivalsPerDay),
            String(p.surge.bedsNeeded),
            bedsText(p.pathway),
          ]),
          ['All pathways <span class="level">(planned separately)</span>', '', '', '', fig(plan.total, 'offeredLoad', plan.total.offeredLoad), String(plan.total.bedsNeeded), '', String(plan.total.surgeBedsNeeded), ''],
        ],
        [
          ['Arrivals a day', 'Admissions of the pathway’s patients to the ICS’s wards in the period, divided by its days.'],
          ['Of which step-up from ambulance and 111', 'Admissions instead of going into hospital that came from the ambulance service or NHS 111, a day: the ones the surge multiplies.'],
          ['Mean stay', 'The mean days from admission to discharge of the pathway’s spells completed in the period (withheld when fewer than 5).'],
          ['Offered load', 'Arrivals a day × mean stay: the patients on the pathway on average.'],
          ['Beds needed now', `The fewest beds that keep the pathway at or under ${target} occupancy on ${probability} of days at this period’s arrivals and stays.`],
          ['Beds needed with the surge', `The same with step-up admissions from the ambulance service and NHS 111 multiplied by ${plan.surgeFactor}.`],
          ['Commissioned beds', 'The beds of the wards the pathway’s patients were on, when those wards took no other pathway in the period; a ward shared between pathways has no beds that are one pathway’s own.'],
        ],
      ),
    );
    if (planChart) body.push(figure(planChart, 'Beds needed now (left bar) and with the surge (right bar) for each pathway; the circle is the pathway’s commissioned beds, left out where its wards also take other pathways.'));
    body.push(`<h3>The model and its assumptions</h3><ul class="assumptions">${PLAN_ASSUMPTIONS.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ul>`);
  }

  if (options.pressure && pressureData.length) {
    const { providers, daily } = options.pressure;
    body.push('<h2>Ambulance and NHS 111 pressure</h2>');
    body.push(
      `<p>How the ICS’s ambulance service (${escapeHtml(providers.ambulance ?? 'none named by its wards')}), NHS 111 provider (${escapeHtml(providers.nhs111 ?? 'none named by its wards')}) and whole system (OPEL level of ${escapeHtml(providers.ics ?? 'the ICS')}) stood on each day, beside the wards’ occupancy on the same days. ` +
        'A day’s figures are from the capacity snapshots sent during it (UK time); a day without any is left blank.</p>',
    );
    body.push(figure(pressureData[0]!, 'Patients on the wards at the census time each day as a percentage of beds; the dashed red line is the 80% target. Same days as the chart below.'));
    body.push(figure(pressureData[1]!, 'The mean over the day’s snapshots of the ambulance service’s Category 2 (emergency) mean and 90th centile response times, left axis; and the highest OPEL level the ICS reported that day (1 steady to 4 extreme pressure), right axis.'));
    const occ = new Map((pressureIcs?.occupancy.daily ?? []).map((d) => [d.date, d.percent]));
    const blank = (v: number | null, unit = '') => (v === null ? '' : `${v}${unit}`);
    body.push('<details><summary>The figures of each day, as a table</summary>');
    body.push(
      table(
        'Occupancy and ambulance, NHS 111 and system pressure each day',
        ['Date', 'Occupancy', 'C2 mean (minutes)', 'C2 90th centile, mean (minutes)', 'Handover mean (minutes)', 'REAP, highest', '111 answered within 60 s', '111 calls waiting, most', 'OPEL, highest'],
        daily.map((d) => [escapeHtml(d.date), pct(occ.get(d.date) ?? null), blank(d.c2MeanMinutes), blank(d.c2P90MeanMinutes), blank(d.handoverMeanMinutes), blank(d.reapMax), blank(d.nhs111AnsweredWithin60sPct, '%'), blank(d.nhs111CallsWaitingMax), blank(d.opelMax)]),
        [
          ['C2', 'Ambulance Response Programme Category 2 (emergency, e.g. stroke, chest pain): the mean over the day’s snapshots of each hour’s mean and 90th centile response times. The national standard is a mean of 18 minutes.'],
          ['Handover', 'The mean over the day’s snapshots of the mean time to hand patients over at hospital.'],
          ['REAP', 'The ambulance service’s Resource Escalation Action Plan level, 1 normal to 4 extreme pressure: the highest of the day.'],
          ['111 answered within 60 s', 'The mean over the day’s snapshots of the share of NHS 111 calls answered within 60 seconds (standard 95%).'],
          ['111 calls waiting', 'The most NHS 111 calls waiting in any snapshot of the day.'],
          ['OPEL', 'The ICS’s Operational Pressures Escalation Level, 1 steady to 4 extreme pressure: the highest of the day.'],
        ],
      ),
    );
    body.push('</details>');
  }

  body.push('<h2>By month</h2>');
  body.push(
    table(
      monitoring ? 'Each month’s figures: the national virtual ward publication’s, with flow, length of stay and device adherence' : 'Each month’s figures: the national virtual ward publication’s, with flow and length of stay',
      ['Month and ICS', 'Beds', 'Occupancy', 'Beds per 100,000 adults', 'Admissions', 'Discharges', 'Admitted to acute', 'Length of stay, median (days)', 'Length of stay, 90th centile (days)', ...withMonitoring(['Device adherence'])],
      monthly.periods.flatMap((m) =>
        m.report.groups
          .filter((g) => g.level === 'ics')
          .map((g) => [`${escapeHtml(monthText(m.period))}: ${escapeHtml(g.name)}`, num(g.capacity), pct(g.occupancy.meanPercent), num(g.capacityPer100kAdults), fig(g, 'admissions.total', g.admissions.total), fig(g, 'discharges.total', g.discharges.total), fig(g, 'acuteAdmissions', g.acuteAdmissions), fig(g, 'lengthOfStayDays.median', g.lengthOfStayDays.median), fig(g, 'lengthOfStayDays.p90', g.lengthOfStayDays.p90), ...withMonitoring([adherence(g)])]),
      ),
      [
        ['Month', 'A calendar month, the first and last cut to the report’s period.'],
        ['Occupancy', 'The mean, over the month’s days, of the patients on the wards at the census time as a percentage of beds.'],
        ['Length of stay', 'The median and 90th centile of the days from admission to discharge of the spells ending in the month (as charted above).'],
        ...withMonitoring<[string, string]>([['Device adherence', 'Of the month’s days patients were on the wards at the census time, the share on which at least one reading arrived.']]),
      ],
    ),
  );

  body.push('<h2>Equity</h2>');
  // One ICS (as vw report capacity makes): plain column names; several: each named.
  const named = (g: SuppressedGroupReport, what: string) => (systems.length > 1 ? `${g.name}: ${what.toLowerCase()}` : what);
  const decileAdherence = (g: SuppressedGroupReport, d: string) => {
    const a = g.equity.adherenceByImdDecile?.[d];
    const at = `equity.adherenceByImdDecile.${d}`;
    return [part(g, `${at}.expectedDays`, a?.expectedDays), fig(g, `${at}.percent`, a ? a.percent : null, '%')];
  };
  if (!monitoring) body.push(`<p class="not-measured">${escapeHtml(NOT_MEASURED_TEXT)}, so it is not given by decile.</p>`);
  body.push(
    table(
      monitoring ? 'Admissions and device adherence by deprivation of the patient’s home (Index of Multiple Deprivation decile)' : 'Admissions by deprivation of the patient’s home (Index of Multiple Deprivation decile)',
      ['Decile', ...systems.flatMap((g) => [named(g, 'Admissions'), ...withMonitoring([named(g, 'Patient-days at census'), named(g, 'Device adherence')])])],
      DECILES.map((d) => [decileText(d), ...systems.flatMap((g) => [part(g, `equity.admissionsByImdDecile.${d}`, g.equity.admissionsByImdDecile[d]), ...withMonitoring(decileAdherence(g, d))])]),
      [
        ['Decile', 'The tenth of English neighbourhoods, ranked by the Index of Multiple Deprivation, the patient lives in: 1 is the most deprived tenth, 10 the least.'],
        ['Admissions', 'Patients admitted in the period from homes in that decile; about a tenth in each would match the population.'],
        ...withMonitoring<[string, string]>([
          ['Patient-days at census', 'The days on which patients from homes in that decile were on the wards at the census time: the days a reading was expected of them.'],
          ['Device adherence', 'Of those days, the share on which at least one reading arrived; “–” where none was expected. A lower share in the more deprived deciles may point to devices, connectivity or support to look at.'],
        ]),
      ],
    ),
  );

  const allCharts = [...chartData, ...(options.plan && planChart ? [planChart] : []), ...pressureData];
  const data = { title: options.title, from: report.from, to: report.to, censusHour: report.censusHour, charts: allCharts.map(({ summary: _summary, ...c }) => c) };
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
