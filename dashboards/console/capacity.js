// Live capacity of the services a ward escalates to: the strip above the ward, and the figures shown
// beside each referral route. Every figure says how old it is; past the server's stale limit it is
// marked stale and never shown as now. Standards come from the server (src/capacity/standards.ts).

import { el, ago, clockTime } from './dom.js';

/** How to read each measure from a snapshot. */
export const MEASURES = {
  'c1.mean': { service: 'ambulance', get: (s) => s.responses?.c1.meanMinutes },
  'c1.p90': { service: 'ambulance', get: (s) => s.responses?.c1.p90Minutes },
  'c2.mean': { service: 'ambulance', get: (s) => s.responses?.c2.meanMinutes },
  'c2.p90': { service: 'ambulance', get: (s) => s.responses?.c2.p90Minutes },
  'handover.mean': { service: 'ambulance', get: (s) => s.handover?.meanMinutes },
  'nhs111.answered60': { service: 'nhs111', get: (s) => s.answeredWithin60sPct },
  'nhs111.abandoned': { service: 'nhs111', get: (s) => s.abandonedPct },
  'nhs111.callback20': { service: 'nhs111', get: (s) => s.callBackWithin20MinPct },
};

const LEVEL_WORDS = { 1: 'steady', 2: 'moderate pressure', 3: 'severe pressure', 4: 'extreme pressure' };
const REAP_WORDS = { 1: 'normal', 2: 'moderate pressure', 3: 'severe pressure', 4: 'extreme pressure' };
const STATUS_WORDS = { ok: 'meets standard', amber: 'misses standard', red: 'far from standard', none: 'no standard', stale: 'stale' };
const STATUS_RANK = { none: 0, ok: 1, amber: 2, red: 3 };

function standardOf(capacity, measure) {
  return capacity.standards.find((s) => s.measure === measure);
}

/** ok / amber / red for a value against its standard. */
export function statusOf(standard, value) {
  if (!standard || typeof value !== 'number') return 'none';
  if (standard.kind === 'max') return value <= standard.standard ? 'ok' : value <= standard.red ? 'amber' : 'red';
  return value >= standard.standard ? 'ok' : value >= standard.red ? 'amber' : 'red';
}

function levelStatus(level) {
  return level >= 4 ? 'red' : level === 3 ? 'amber' : 'ok';
}
const LEVEL_STATUS_WORDS = { ok: 'normal running', amber: 'under severe pressure', red: 'extreme pressure', none: 'no report' };

/** One line for a folded strip: the figures that matter most, with a stale mark. */
export function capacitySummary(capacity) {
  if (!capacity) return '';
  const parts = [];
  const mark = (s) => (isStale(capacity, s.ts) ? ' (stale)' : '');
  const sys = capacity.system && capacity.system.latest;
  if (sys) parts.push(`OPEL ${sys.opelLevel}${mark(sys)}`);
  const amb = capacity.ambulance && capacity.ambulance.latest;
  if (amb) parts.push(`REAP ${amb.reapLevel}${amb.responses ? `, C2 ${fmt(amb.responses.c2.meanMinutes, 'min')}` : ''}${mark(amb)}`);
  const n111 = capacity.nhs111 && capacity.nhs111.latest;
  if (n111) parts.push(`111 ${n111.callsWaiting} waiting${typeof n111.answeredWithin60sPct === 'number' ? `, ${fmt(n111.answeredWithin60sPct, '%')} in 60 s` : ''}${mark(n111)}`);
  return parts.join(' · ') || 'no capacity reports yet';
}

/**
 * The server's time now, from the `at` of the capacity view and the moment it arrived: ages and stale
 * marks do not depend on this device's clock being right.
 */
export function serverNow(capacity) {
  return capacity && capacity.receivedAt !== undefined ? Date.parse(capacity.at) + (Date.now() - capacity.receivedAt) : Date.now();
}

export function isStale(capacity, ts, now = serverNow(capacity)) {
  return !ts || now - Date.parse(ts) > capacity.staleAfterSeconds * 1000;
}

function service(capacity, name) {
  return capacity && capacity[name];
}

function worst(...statuses) {
  return statuses.reduce((a, b) => (STATUS_RANK[b] > STATUS_RANK[a] ? b : a), 'none');
}

function fmt(value, unit) {
  if (typeof value !== 'number') return '–';
  const v = Number.isInteger(value) ? String(value) : value.toFixed(unit === '%' ? 1 : 0);
  return unit === '%' ? `${v}%` : `${v} ${unit}`;
}

/** One measure of a route's capacity, as text with its status and age: shown beside a referral route. */
export function routeFigures(capacity, measures) {
  const out = [];
  for (const measure of measures) {
    const def = MEASURES[measure];
    const view = def && service(capacity, def.service);
    const standard = standardOf(capacity, measure);
    if (!def || !standard) continue;
    const latest = view && view.latest;
    const value = latest ? def.get(latest) : undefined;
    const stale = isStale(capacity, latest && latest.ts);
    out.push({
      measure,
      label: standard.label,
      text: latest ? fmt(value, standard.unit) : 'no data',
      status: !latest ? 'none' : stale ? 'stale' : statusOf(standard, value),
      standardText: `standard ${standard.kind === 'max' ? '≤' : '≥'} ${fmt(standard.standard, standard.unit)}`,
      ts: latest ? latest.ts : null,
      now: serverNow(capacity),
    });
  }
  return out;
}

export function figureNode(f) {
  return el('span', { class: `figure status-${f.status}`, 'data-measure': f.measure, 'data-status': f.status },
    el('span', { class: 'figure-label' }, `${f.label} `),
    el('strong', {}, f.text),
    el('span', { class: 'figure-note' }, f.status === 'stale' ? ` stale, as of ${clockTime(f.ts)}` : f.ts ? ` (${STATUS_WORDS[f.status]}, ${ago(f.ts, f.now)})` : ''));
}

// ---- the strip ----

/** Tiles of the strip: what each shows, from which service, and its trend line. */
function tiles(capacity) {
  const amb = service(capacity, 'ambulance');
  const n111 = service(capacity, 'nhs111');
  const sys = service(capacity, 'system');
  const list = [];
  if (sys) {
    const s = sys.latest;
    list.push({ id: 'opel', group: capacity.ics ? capacity.ics.name : 'System', title: 'System pressure (OPEL)', latest: s,
      value: s ? `OPEL ${s.opelLevel}` : 'no data', detail: s ? LEVEL_WORDS[s.opelLevel] : 'no report yet', status: s ? levelStatus(s.opelLevel) : 'none', words: LEVEL_STATUS_WORDS,
      trend: sys.trend.map((x) => [x.ts, x.opelLevel]), line: null, standardText: 'OPEL 1 steady … 4 extreme' });
  }
  if (amb) {
    const s = amb.latest;
    const group = `Ambulance ${amb.providerId}`;
    list.push({ id: 'reap', group, title: 'REAP level', latest: s, value: s ? `REAP ${s.reapLevel}` : 'no data', detail: s ? REAP_WORDS[s.reapLevel] : 'no report yet',
      status: s ? levelStatus(s.reapLevel) : 'none', words: LEVEL_STATUS_WORDS, trend: amb.trend.map((x) => [x.ts, x.reapLevel]), line: null, standardText: 'REAP 1 normal … 4 extreme' });
    for (const cat of ['c1', 'c2']) {
      const mean = standardOf(capacity, `${cat}.mean`);
      const p90 = standardOf(capacity, `${cat}.p90`);
      const r = s && s.responses && s.responses[cat];
      list.push({ id: cat, group, title: `${cat.toUpperCase()} response`, latest: r ? s : null,
        value: r ? `${fmt(r.meanMinutes, 'min')} mean` : 'no data', detail: r ? `90th centile ${fmt(r.p90Minutes, 'min')}` : '',
        status: r ? worst(statusOf(mean, r.meanMinutes), statusOf(p90, r.p90Minutes)) : 'none',
        trend: amb.trend.filter((x) => x.responses).map((x) => [x.ts, x.responses[cat].meanMinutes]), line: mean ? mean.standard : null,
        standardText: `standard ${fmt(mean.standard, 'min')} mean, ${fmt(p90.standard, 'min')} 90th` });
    }
    const h = s && s.handover;
    const hs = standardOf(capacity, 'handover.mean');
    list.push({ id: 'handover', group, title: 'Hospital handover', latest: h ? s : null, value: h ? `${fmt(h.meanMinutes, 'min')} mean` : 'no data',
      detail: h ? `${h.over60} of ${h.handovers} over 60 min` : '', status: h ? statusOf(hs, h.meanMinutes) : 'none',
      trend: amb.trend.filter((x) => x.handover).map((x) => [x.ts, x.handover.meanMinutes]), line: hs.standard, standardText: `standard ${fmt(hs.standard, 'min')}` });
  }
  if (n111) {
    const s = n111.latest;
    const group = `NHS 111 ${n111.providerId}`;
    const a = standardOf(capacity, 'nhs111.answered60');
    const c = standardOf(capacity, 'nhs111.callback20');
    list.push({ id: '111-waiting', group, title: 'Calls waiting', latest: s, value: s ? String(s.callsWaiting) : 'no data',
      detail: s && typeof s.abandonedPct === 'number' ? `${fmt(s.abandonedPct, '%')} abandoned` : '', status: s && typeof s.abandonedPct === 'number' ? statusOf(standardOf(capacity, 'nhs111.abandoned'), s.abandonedPct) : 'none',
      trend: n111.trend.map((x) => [x.ts, x.callsWaiting]), line: null, standardText: 'abandoned standard under 5%' });
    list.push({ id: '111-answered', group, title: 'Answered within 60 s', latest: s && typeof s.answeredWithin60sPct === 'number' ? s : null,
      value: s ? fmt(s.answeredWithin60sPct, '%') : 'no data', detail: '', status: s ? statusOf(a, s.answeredWithin60sPct) : 'none',
      trend: n111.trend.filter((x) => typeof x.answeredWithin60sPct === 'number').map((x) => [x.ts, x.answeredWithin60sPct]), line: a.standard, standardText: `standard ${fmt(a.standard, '%')}` });
    list.push({ id: '111-callback', group, title: 'Call-back within 20 min', latest: s && typeof s.callBackWithin20MinPct === 'number' ? s : null,
      value: s ? fmt(s.callBackWithin20MinPct, '%') : 'no data', detail: '', status: s ? statusOf(c, s.callBackWithin20MinPct) : 'none',
      trend: n111.trend.filter((x) => typeof x.callBackWithin20MinPct === 'number').map((x) => [x.ts, x.callBackWithin20MinPct]), line: c.standard, standardText: `target ${fmt(c.standard, '%')}` });
  }
  return list;
}

/** A small 24-hour trend drawn with uPlot, with the standard as a dashed line. */
function trendChart(tile) {
  const box = el('div', { class: 'tile-chart', role: 'img', 'aria-label': trendLabel(tile) });
  const Plot = /** @type {Window & { uPlot?: any }} */ (window).uPlot;
  if (!Plot || tile.trend.length < 2) return box;
  const xs = tile.trend.map(([ts]) => Date.parse(ts) / 1000);
  const ys = tile.trend.map(([, v]) => v);
  /** @type {object[]} */
  const series = [{}, { stroke: '#005eb8', width: 1.5, points: { show: false } }];
  const data = [xs, ys];
  if (tile.line !== null) {
    series.push({ stroke: '#4c6272', width: 1, dash: [4, 3], points: { show: false } });
    data.push(xs.map(() => tile.line));
  }
  // Drawn once the box is in the document, at the width it has there.
  requestAnimationFrame(() => {
    if (!box.isConnected) return;
    new Plot({ width: Math.max(120, box.clientWidth), height: 44, legend: { show: false }, cursor: { show: false }, select: { show: false },
      scales: { x: { time: true } }, axes: [{ show: false }, { show: false }], series }, data, box);
  });
  return box;
}

function trendLabel(tile) {
  if (tile.trend.length < 2) return `${tile.title}: not enough data for a 24-hour trend yet`;
  const values = tile.trend.map(([, v]) => v);
  return `${tile.title}, last 24 hours: from ${values[0]} to ${values[values.length - 1]}, lowest ${Math.min(...values)}, highest ${Math.max(...values)}`;
}

export function renderCapacityStrip(container, capacity) {
  if (!capacity) {
    container.replaceChildren();
    return;
  }
  const list = tiles(capacity);
  const groups = new Map();
  for (const t of list) groups.set(t.group, [...(groups.get(t.group) || []), t]);
  container.replaceChildren(
    ...[...groups].map(([group, items]) =>
      el('section', { class: 'capacity-group', 'aria-label': group },
        el('h2', { class: 'capacity-group-title' }, group),
        el('ul', { class: 'tiles' }, items.map((t) =>
          el('li', { class: 'tile', 'data-testid': `capacity-${t.id}`, 'data-ts': t.latest ? t.latest.ts : '', 'data-status': t.status, 'data-words': t.words ? JSON.stringify(t.words) : null },
            el('div', { class: 'tile-title' }, t.title),
            el('div', { class: 'tile-value' }, t.value),
            el('div', { class: 'tile-detail' }, t.detail),
            el('div', { class: 'tile-status' }),
            el('div', { class: 'tile-standard' }, t.standardText),
            trendChart(t),
          ))))),
  );
  updateCapacityAges(container, capacity);
}

/** Ages and stale marks, refreshed every tick without redrawing the charts. */
export function updateCapacityAges(container, capacity) {
  if (!capacity) return;
  for (const tile of container.querySelectorAll('.tile')) {
    const ts = tile.getAttribute('data-ts');
    const stale = ts ? isStale(capacity, ts) : false;
    const status = tile.getAttribute('data-status');
    const words = tile.dataset.words ? JSON.parse(tile.dataset.words) : STATUS_WORDS;
    tile.dataset.stale = String(stale);
    tile.className = `tile status-${stale ? 'stale' : status}`;
    tile.querySelector('.tile-status').textContent = !ts
      ? 'no report received'
      : stale
        ? `STALE: last report ${ago(ts, serverNow(capacity))} (at ${clockTime(ts)}); do not rely on it`
        : `${words[status]} · updated ${ago(ts, serverNow(capacity))}`;
  }
}
