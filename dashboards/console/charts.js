// @ts-check
// The open patient's charts, drawn with uPlot (loaded by the page as window.uPlot): each vital over
// up to the last 24 hours (weight 7 days), with the NEWS2 rule's bands shaded behind it (the
// snapshot's chartBands) and reference lines such as the patient's dry weight.

import { send } from './connection.js';
import { el, clockTime } from './dom.js';
import { state } from './state.js';

/**
 * @typedef {import('./generated/frames').PatientView} PatientView
 * @typedef {import('./generated/frames').ReadingType} ReadingType
 * @typedef {import('./generated/frames').ChartBand} ChartBand
 * @typedef {{ ts: string, value: number }} Point
 * @typedef {{ value: number, label: string }} Line
 * @typedef {{ id: string, label: string, unit: string, series: Array<ReadingType | 'news2'>, bands: (p: PatientView) => string | null, spanMs: number }} Chart
 */

/**
 * The charts of the selected patient: which series each draws, over how long, and which rule bands
 * are shaded behind it (chartBands from the server; SpO₂ by the patient's scale).
 */
const DAY_MS = 24 * 3600_000;
/** @type {Chart[]} */
export const CHARTS = [
  { id: 'news2', label: 'NEWS2', unit: 'total', series: ['news2'], bands: () => 'news2', spanMs: DAY_MS },
  { id: 'respiratory_rate', label: 'Respiratory rate', unit: '/min', series: ['respiratory_rate'], bands: () => 'respiratory_rate', spanMs: DAY_MS },
  // Scale 2 scores 93% and over differently on air and on oxygen: the bands follow the latest O₂ reading.
  { id: 'spo2', label: 'SpO₂', unit: '%', series: ['spo2'], bands: (p) => (p.spo2Scale === 2 ? (p.latest.supplemental_oxygen?.value === true ? 'spo2_scale_2' : 'spo2_scale_2_air') : 'spo2_scale_1'), spanMs: DAY_MS },
  { id: 'heart_rate', label: 'Heart rate', unit: '/min', series: ['heart_rate'], bands: () => 'heart_rate', spanMs: DAY_MS },
  { id: 'bp', label: 'Blood pressure (systolic, diastolic)', unit: 'mmHg', series: ['systolic_bp', 'diastolic_bp'], bands: () => 'systolic_bp', spanMs: DAY_MS },
  { id: 'temperature', label: 'Temperature', unit: '°C', series: ['temperature'], bands: () => 'temperature', spanMs: DAY_MS },
  { id: 'weight', label: 'Weight', unit: 'kg', series: ['weight'], bands: () => null, spanMs: 7 * DAY_MS },
];
const BAND_FILL = ['rgba(0, 127, 59, 0.10)', 'rgba(255, 184, 28, 0.22)', 'rgba(237, 139, 0, 0.24)', 'rgba(213, 40, 27, 0.20)'];
const SERIES_STROKE = ['#005eb8', '#7c2855'];

/** Asks vw for every series the patient's charts draw; the answers fill `state.series`. */
export function requestSeries(/** @type {string} */ patientId) {
  for (const chart of CHARTS) for (const type of chart.series) send({ type: 'series', patientId, readingType: type, since: new Date(Date.now() - chart.spanMs).toISOString() });
}

/** One chart with its title, latest value and legend. */
export function chartCard(/** @type {PatientView} */ patient, /** @type {Chart} */ chart) {
  const data = chart.series.map((type) => /** @type {Point[]} */ ((state.series.get(`${patient.patientId}:${type}`) || []).filter((p) => typeof p.value === 'number')));
  const bandKey = chart.bands(patient);
  const bands = (bandKey && state.chartBands.bands[bandKey]) || [];
  /** @type {Line[]} */
  const lines = [];
  if (chart.id === 'weight') {
    const dry = patient.settings && patient.settings.values.baselineWeight;
    if (typeof dry === 'number') lines.push({ value: dry, label: `dry weight ${dry} kg` }, { value: dry + 2, label: `dry weight + 2 kg` });
  }
  if (chart.id === 'bp') lines.push({ value: 180, label: 'severe hypertension 180' });
  const latest = data[0][data[0].length - 1];
  return el('figure', { class: 'trend', 'data-testid': `chart-${chart.id}` },
    el('figcaption', { class: 'trend-title' },
      el('span', {}, `${chart.label} (${chart.unit})`),
      el('span', {}, latest ? `latest ${latest.value}${chart.series.length > 1 && data[1].length ? `/${data[1][data[1].length - 1].value}` : ''} at ${clockTime(latest.ts)}` : 'no data')),
    vitalChart(data, { label: `${chart.label}, ${chart.unit}`, bands, lines, spanMs: chart.spanMs }),
    bands.length ? el('p', { class: 'chart-legend' }, `Shaded: ${bands.filter((b) => b.score > 0).map((b) => b.label).join('; ')}`) : null,
    lines.length ? el('p', { class: 'chart-legend' }, `Lines: ${lines.map((l) => l.label).join('; ')}`) : null);
}

/**
 * One chart drawn with uPlot: time along the bottom, values up the side, rule bands shaded behind.
 * @param {Point[][]} data
 * @param {{ label: string, bands: ChartBand[], lines: Line[], spanMs: number }} options
 */
function vitalChart(data, { label, bands, lines, spanMs }) {
  const count = data.reduce((n, d) => n + d.length, 0);
  const box = el('div', { class: 'vital-chart', role: 'img', 'aria-label': count ? `${label}: ${count} readings` : `${label}: no readings in this period` });
  const Plot = /** @type {Window & { uPlot?: any }} */ (window).uPlot;
  if (!Plot || !count) return box;
  // One time axis for all series: the union of their times, each series null where it has no point.
  const times = [...new Set(data.flatMap((d) => d.map((p) => Date.parse(p.ts) / 1000)))].sort((a, b) => a - b);
  const columns = data.map((d) => {
    const at = new Map(d.map((p) => [Date.parse(p.ts) / 1000, p.value]));
    return times.map((t) => (at.has(t) ? at.get(t) : null));
  });
  const values = data.flatMap((d) => d.map((p) => p.value)).concat(lines.map((l) => l.value));
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = Math.max(1, (hi - lo) * 0.15);
  const now = Date.now() / 1000;
  // Up to the chart's span, but no wider than the data needs (at least an hour), so a short history is legible.
  const start = Math.max(now - spanMs / 1000, Math.min(times[0] - 300, now - 3600));
  const series = [{}, ...columns.map((_, i) => ({ stroke: SERIES_STROKE[i % SERIES_STROKE.length], width: 1.5, spanGaps: true, points: { show: times.length < 60, size: 4 } }))];
  requestAnimationFrame(() => {
    if (!box.isConnected) return;
    new Plot({
      width: Math.max(220, box.clientWidth),
      height: 150,
      legend: { show: false },
      cursor: { show: false },
      select: { show: false },
      scales: { x: { time: true, range: () => [start, now] }, y: { range: () => [Math.floor(lo - pad), Math.ceil(hi + pad)] } },
      axes: [{ stroke: '#4c6272', size: 28, font: '11px system-ui', grid: { stroke: '#e8edee' } }, { stroke: '#4c6272', size: 40, font: '11px system-ui', grid: { stroke: '#e8edee' } }],
      series,
      hooks: {
        drawClear: [(u) => {
          const { ctx, bbox } = u;
          const [ymin, ymax] = [u.scales.y.min, u.scales.y.max];
          for (const band of bands) {
            // Ranges are closed on whole numbers (or tenths): shade to the half-way point between them.
            const from = Math.max(ymin, band.min === undefined ? ymin : band.min - 0.5);
            const to = Math.min(ymax, band.max === undefined ? ymax : band.max + 0.5);
            if (to <= from) continue;
            const top = u.valToPos(to, 'y', true);
            const bottom = u.valToPos(from, 'y', true);
            ctx.fillStyle = BAND_FILL[band.score];
            ctx.fillRect(bbox.left, top, bbox.width, bottom - top);
          }
          ctx.strokeStyle = '#7c2855';
          ctx.setLineDash([5, 4]);
          for (const line of lines) {
            const y = u.valToPos(line.value, 'y', true);
            ctx.beginPath();
            ctx.moveTo(bbox.left, y);
            ctx.lineTo(bbox.left + bbox.width, y);
            ctx.stroke();
          }
          ctx.setLineDash([]);
        }],
      },
    }, [times, ...columns], box);
  });
  return box;
}
