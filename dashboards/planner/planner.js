// The planner view: the capacity report of an ICS (GET /api/v1/reports/capacity, format json) as
// headline figures, charts and tables. Aggregates only, after the report's own disclosure control: a
// withheld figure arrives as null with its path in the group's `suppressed` list and is shown as
// "withheld". Every piece of data goes into the page as text (textContent), never as HTML. The token
// travels in the Authorization header only, never in a URL.

const TOKEN_KEY = 'vw.planner.token';
const WITHHELD = 'withheld';
const AMBITION = [40, 50];
const TARGET_PERCENT = 80;
const MAX_DAYS = 400;

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const state = { token: null, systems: [], report: null, query: null, plots: [] };

// ---- sign-in ----

function readToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromUrl = fragment.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    // Keep the token out of the address bar (and so out of screenshots, history and shared links).
    fragment.delete('token');
    const rest = fragment.toString();
    history.replaceState(null, '', location.pathname + (rest ? `#${rest}` : ''));
  }
  return fromUrl || sessionStorage.getItem(TOKEN_KEY);
}

function showSignIn(message) {
  state.token = null;
  state.report = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $('planner').hidden = true;
  $('signin').hidden = false;
  $('sign-out').hidden = true;
  $('user').textContent = '';
  const error = $('auth-error');
  error.hidden = !message;
  error.textContent = message || '';
  $('token-input').value = '';
  if (message) $('token-input').focus();
}

/** The user named by the token, for the header (the token is verified by the server, not here). */
function tokenUser(token) {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return typeof payload.sub === 'string' ? payload.sub : '';
  } catch {
    return '';
  }
}

async function api(path) {
  return fetch(path, { headers: { authorization: `Bearer ${state.token}` }, cache: 'no-store' });
}

/** Sign-in answers the reports API gives, in words; undefined when the answer is not about the token. */
function authProblem(status) {
  if (status === 401) return 'That token is not valid, or has expired. Sign in with a current planner’s token.';
  if (status === 403) return 'That token is not a planner’s: the capacity planner needs a token naming the role “planner” and granting every ward of the integrated care system. Sign in with a planner’s token.';
  return undefined;
}

async function signIn() {
  setStatus('Checking your token…');
  let res;
  try {
    res = await api('/api/v1/reports/systems');
  } catch {
    showSignIn('vw could not be reached. Check your connection and sign in again.');
    setStatus('');
    return;
  }
  const problem = authProblem(res.status);
  if (problem || !res.ok) {
    setStatus('');
    showSignIn(problem || `vw answered ${res.status}. Try signing in again.`);
    return;
  }
  const { systems } = await res.json();
  if (!systems.length) {
    setStatus('');
    showSignIn('That token does not grant every ward of any integrated care system, so there is no report it can show. Ask for a planner’s token for your ICS.');
    return;
  }
  state.systems = systems;
  $('signin').hidden = true;
  $('planner').hidden = false;
  $('sign-out').hidden = false;
  $('user').textContent = tokenUser(state.token);
  const select = $('ics');
  select.replaceChildren(...systems.map((s) => el('option', { value: s.icsId }, `${s.name} (${s.icsId})`)));
  const { from, to } = defaultPeriod();
  $('from').value = from;
  $('to').value = to;
  await showReport();
}

// ---- dates (UK calendar days) ----

const ukToday = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
const addDays = (date, n) => new Date(Date.parse(`${date}T12:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const daysBetween = (a, b) => Math.round((Date.parse(`${b}T12:00:00Z`) - Date.parse(`${a}T12:00:00Z`)) / 86_400_000);
const longDate = (date) => new Date(`${date}T12:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const dayDate = (date) => new Date(`${date}T12:00:00Z`).toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' });
const shortDate = (date) => new Date(`${date}T12:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });

/** The last 28 days to yesterday. */
function defaultPeriod() {
  const to = addDays(ukToday(), -1);
  return { from: addDays(to, -27), to };
}

// ---- figures ----

const withheld = (item, path) => Boolean(item && item.suppressed && item.suppressed.includes(path));
const number = (v) => (typeof v === 'number' ? v.toLocaleString('en-GB', { maximumFractionDigits: 2 }) : '–');
/** A figure as text: "withheld", "–" where it cannot be worked out, or the number. */
const fig = (item, path, value) => (withheld(item, path) ? WITHHELD : number(value));
/** A figure in a span that is styled (and explained) when withheld. */
function figSpan(item, path, value, attrs = {}) {
  const text = fig(item, path, value);
  return el('span', { ...attrs, class: [attrs.class, text === WITHHELD ? 'withheld' : ''].filter(Boolean).join(' ') || undefined }, text);
}

/** A percentage: "withheld", "–", or the number and %. */
function pctSpan(item, path, value) {
  const text = fig(item, path, value);
  return el('span', { class: text === WITHHELD ? 'withheld' : undefined }, text === WITHHELD || text === '–' ? text : `${text}%`);
}
/** Said wherever device adherence would be when the report was made without readings: not measured is not 0%. */
const NOT_MEASURED = 'Device adherence not measured: the report was made without readings.';
/** A group's device adherence, or "not measured". */
const adherenceSpan = (g) => (g.monitoring ? pctSpan(g, 'monitoring.percent', g.monitoring.percent) : 'not measured');
/** A group's hours of expected data missing per patient-day, or "not measured". */
const missingSpan = (g) => (g.monitoring ? figSpan(g, 'monitoring.hoursMissingPerPatientDay', g.monitoring.hoursMissingPerPatientDay) : 'not measured');
const DECILES = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', 'unknown'];
const decileText = (d) => (d === 'unknown' ? 'Not known' : d === '1' ? '1 (most deprived)' : d === '10' ? '10 (least deprived)' : d);
const OUTCOMES = [['care-completed', 'Care completed'], ['admitted-acute', 'Admitted to acute'], ['ed', 'Sent to ED'], ['died', 'Died'], ['self-discharged', 'Self-discharged']];
const monthText = (month) => new Date(`${month}-15T12:00:00Z`).toLocaleDateString('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });

function setStatus(text) {
  $('status').textContent = text;
}

function showError(text) {
  const error = $('error');
  error.hidden = !text;
  error.textContent = text || '';
}

// ---- the report ----

function readQuery() {
  const ics = $('ics').value;
  const from = $('from').value;
  const to = $('to').value;
  if (!from || !to) return { problem: 'Choose the first and last day of the period.' };
  if (from > to) return { problem: 'The first day must be on or before the last.' };
  if (daysBetween(from, to) >= MAX_DAYS) return { problem: `Choose at most ${MAX_DAYS} days.` };
  return { ics, from, to };
}

async function showReport() {
  const query = readQuery();
  if (query.problem) {
    showError(query.problem);
    return;
  }
  showError('');
  setStatus('Loading the report…');
  $('show').disabled = true;
  try {
    const res = await api(`/api/v1/reports/capacity?${new URLSearchParams({ ics: query.ics, from: query.from, to: query.to, format: 'json' })}`);
    const problem = authProblem(res.status);
    if (problem) {
      setStatus('');
      showSignIn(problem);
      return;
    }
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      setStatus('');
      showError(body.message ? `The report could not be made: ${body.message}.` : `The report could not be made (vw answered ${res.status}).`);
      return;
    }
    state.report = await res.json();
    state.query = query;
    render(state.report, query);
    setStatus('Report loaded.');
  } catch {
    setStatus('');
    showError('vw could not be reached. Check your connection and try again.');
  } finally {
    $('show').disabled = false;
  }
}

function render(json, query) {
  const groups = json.report.groups;
  const ics = groups.find((g) => g.level === 'ics' && g.id === query.ics) || groups.find((g) => g.level === 'ics');
  $('report').hidden = false;
  $('title').textContent = `Virtual ward capacity and flow: ${ics ? ics.name : query.ics}`;
  const problems = json.report.problems.length;
  $('period').textContent =
    `${longDate(query.from)} to ${longDate(query.to)}, UK calendar days, both included. Patients counted on the wards at ${String(json.report.censusHour).padStart(2, '0')}:00 UK time each day.` +
    (problems ? ` ${problems} flow event${problems === 1 ? ' was' : 's were'} left out as out of order (for example a discharge of a patient not on the ward).` : '');
  const census = `${String(json.report.censusHour).padStart(2, '0')}:00`;
  renderHeadline(ics, json.plan, census);
  renderCharts(ics, json.pressure, census);
  renderWeekly(ics, json.weekly || []);
  renderDaily(ics, json.pressure, census);
  renderPlan(json.plan, groups);
  const monitoring = (groups.find((g) => g.monitoring) || {}).monitoring || null;
  renderWards(groups, monitoring);
  renderPathways(groups, monitoring);
  renderMonths(json.monthly || [], ics, monitoring);
  renderEquity(ics, monitoring);
}

function tile(title, testid, item, path, value, unit, detail) {
  return el('div', { class: 'tile' },
    el('dt', {}, title),
    el('dd', {},
      el('span', { class: 'big' }, figSpan(item, path, value, { 'data-testid': testid }), unit && fig(item, path, value) !== WITHHELD && typeof value === 'number' ? el('span', { class: 'unit' }, unit) : null),
      detail ? el('span', { class: 'detail' }, ...detail) : null));
}

function ambitionText(per100k) {
  if (typeof per100k !== 'number') return 'national ambition 40–50 (no adult population in the registry)';
  const [low, high] = AMBITION;
  return `national ambition ${low}–${high}: ${per100k < low ? 'below it' : per100k > high ? 'above it' : 'within it'}`;
}

function renderHeadline(ics, plan, census) {
  const list = $('headline');
  if (!ics) {
    list.replaceChildren(el('p', {}, 'No ward of this integrated care system is in the registry.'));
    return;
  }
  const a = ics.admissions;
  const los = ics.lengthOfStayDays;
  list.replaceChildren(
    tile('Commissioned beds', 'headline-capacity', ics, 'capacity', ics.capacity, '', ['virtual-ward beds across the ICS’s wards']),
    tile('Mean occupancy', 'headline-occupancy', ics, 'occupancy.meanPercent', ics.occupancy.meanPercent, '%', [
      figSpan(ics, 'occupancy.meanOccupied', ics.occupancy.meanOccupied, { 'data-testid': 'headline-mean-occupied' }), ` patients at the ${census} census on average; national target ${TARGET_PERCENT}%`,
    ]),
    tile('Beds per 100,000 adults', 'headline-per100k', ics, 'capacityPer100kAdults', ics.capacityPer100kAdults, '', [ambitionText(ics.capacityPer100kAdults)]),
    tile('Admissions', 'headline-admissions', ics, 'admissions.total', a.total, '', [
      'step-up ', figSpan(ics, 'admissions.stepUp', a.stepUp, { 'data-testid': 'headline-step-up' }), ', step-down ', figSpan(ics, 'admissions.stepDown', a.stepDown, { 'data-testid': 'headline-step-down' }),
    ]),
    tile('Length of stay, median', 'headline-los-median', ics, 'lengthOfStayDays.median', los.median, ' days', [
      '90th centile ', figSpan(ics, 'lengthOfStayDays.p90', los.p90, { 'data-testid': 'headline-los-p90' }), typeof los.p90 === 'number' ? ' days' : '', '; of ', figSpan(ics, 'lengthOfStayDays.spells', los.spells, { 'data-testid': 'headline-discharges' }), ' discharges',
    ]),
    ...adherenceTiles(ics),
    plan
      ? tile('Beds needed now', 'headline-beds-now', plan.total, 'bedsNeeded', plan.total.bedsNeeded, '', [
          'with a ', `${plan.surgeFactor}×`, ' surge in step-up admissions from ambulance and NHS 111: ', el('span', { 'data-testid': 'headline-beds-surge' }, number(plan.total.surgeBedsNeeded)),
        ])
      : null,
  );
}

/** Device adherence and hours of expected data missing, or one tile saying they were not measured. */
function adherenceTiles(ics) {
  const m = ics.monitoring;
  if (!m) {
    return [el('div', { class: 'tile' },
      el('dt', {}, 'Device adherence'),
      el('dd', {}, el('span', { class: 'big not-measured', 'data-testid': 'headline-adherence' }, 'not measured'), el('span', { class: 'detail', 'data-testid': 'headline-not-measured' }, NOT_MEASURED)))];
  }
  return [
    tile('Device adherence', 'headline-adherence', ics, 'monitoring.percent', m.percent, '%', [
      figSpan(ics, 'monitoring.daysWithReadings', m.daysWithReadings, { 'data-testid': 'headline-days-with-readings' }), ` of ${number(m.expectedDays)} patient-days had a reading (at least one reading every ${m.expectedEveryHours} hours expected)`,
    ]),
    tile('Data missing, hours per patient-day', 'headline-missing', ics, 'monitoring.hoursMissingPerPatientDay', m.hoursMissingPerPatientDay, '', [
      `time a patient’s last reading was over ${m.expectedEveryHours} hours old: `, figSpan(ics, 'monitoring.hoursMissing', m.hoursMissing, { 'data-testid': 'headline-hours-missing' }), ' hours in all',
    ]),
  ];
}

// ---- charts (uPlot) ----

const COLOURS = { occupied: '#005eb8', beds: '#212b32', target: '#d5281b', c2: '#005eb8', opel: '#7c2855', reap: '#ed8b00', nhs111: '#007f3b', stepUp: '#005eb8', stepDown: '#c25e00' };
const seconds = (date) => Date.parse(`${date}T12:00:00Z`) / 1000;
/** Axis widths, the same in every chart so that their days line up. */
const LEFT = 58;
const RIGHT = 48;

/** Items [label, colour, style]: a line, dashed with `true`, or a block of colour with 'bar'. */
function legend(id, items) {
  $(id).replaceChildren(...items.map(([label, colour, style]) => {
    const swatch = el('span', { class: `swatch${style === 'bar' ? ' fill' : style ? ' dashed' : ''}`, 'aria-hidden': 'true' });
    swatch.style.borderColor = colour;
    if (style === 'bar') swatch.style.background = colour;
    return el('li', {}, swatch, label);
  }));
}

function plot(box, options, data) {
  if (!window.uPlot) return;
  const width = Math.max(260, box.clientWidth || 600);
  const u = new window.uPlot({ width, legend: { show: false }, cursor: { drag: { x: false, y: false } }, select: { show: false }, ...options }, data, box);
  state.plots.push({ u, box });
  box.dataset.drawn = 'true';
}

function dayAxis() {
  const fmt = (s) => shortDate(new Date(s * 1000).toISOString().slice(0, 10));
  return { stroke: '#4c6272', grid: { stroke: '#e8edee' }, font: '12px system-ui', values: (u, splits) => splits.map(fmt), space: 60, incrs: [86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400] };
}

function renderCharts(ics, pressure, census) {
  for (const { u } of state.plots) u.destroy();
  state.plots = [];
  for (const id of ['chart-occupancy', 'chart-pressure', 'chart-111']) {
    $(id).replaceChildren();
    delete $(id).dataset.drawn;
  }
  if (!ics) return;
  const daily = ics.occupancy.daily;
  const x = daily.map((d) => seconds(d.date));
  const occupied = daily.map((d) => d.occupied);
  const beds = daily.map(() => ics.capacity);
  const target = daily.map(() => (ics.capacity ? Math.round(ics.capacity * TARGET_PERCENT) / 100 : null));
  const peak = occupied.length ? Math.max(...occupied) : 0;
  const at = daily.length ? daily[occupied.indexOf(peak)].date : null;
  $('chart-occupancy').setAttribute('aria-label', daily.length
    ? `Line chart of the patients on the wards at the daily census, ${longDate(daily[0].date)} to ${longDate(daily[daily.length - 1].date)}, against ${ics.capacity} commissioned beds: mean ${number(ics.occupancy.meanOccupied)} (${number(ics.occupancy.meanPercent)}%), highest ${peak} on ${longDate(at)}, on ${daily.filter((d) => d.percent !== null && d.percent >= TARGET_PERCENT).length} of ${daily.length} days at or above ${TARGET_PERCENT}%. The figures are in the table of each day below.`
    : 'No days in the period.');
  const top = Math.max(ics.capacity || 0, peak, 1);
  const half = 43200;
  plot($('chart-occupancy'), {
    height: 260,
    scales: { x: { time: true, range: () => [x[0] - half, x[x.length - 1] + half] }, y: { range: () => [0, Math.ceil(top * 1.1)] } },
    axes: [dayAxis(), { label: 'Patients', size: LEFT, stroke: '#4c6272', grid: { stroke: '#e8edee' }, font: '12px system-ui', labelFont: '12px system-ui' }],
    series: [
      {},
      { label: `Patients on the wards (${census})`, stroke: COLOURS.occupied, width: 2, fill: 'rgba(0,94,184,0.08)', points: { show: daily.length <= 31, size: 5 } },
      { label: 'Commissioned beds', stroke: COLOURS.beds, width: 1.5, points: { show: false } },
      { label: `${TARGET_PERCENT}% of beds`, stroke: COLOURS.target, width: 1.5, dash: [6, 4], points: { show: false } },
    ],
  }, [x, occupied, beds, target]);
  legend('legend-occupancy', [[`Patients on the wards at ${census}`, COLOURS.occupied], ['Commissioned beds', COLOURS.beds], [`${TARGET_PERCENT}% of beds (target)`, COLOURS.target, true]]);

  const days = pressure ? pressure.daily : [];
  const any = days.some((d) => d.c2MeanMinutes !== null || d.opelMax !== null || d.reapMax !== null || d.nhs111AnsweredWithin60sPct !== null);
  $('pressure-none').hidden = any;
  for (const id of ['chart-pressure', 'legend-pressure', 'chart-111', 'legend-111']) $(id).hidden = !any;
  if (!any) return;
  const px = days.map((d) => seconds(d.date));
  const c2 = days.map((d) => d.c2MeanMinutes);
  const opel = days.map((d) => d.opelMax);
  const reap = days.map((d) => d.reapMax);
  const answered = days.map((d) => d.nhs111AnsweredWithin60sPct);
  const known = (xs) => xs.filter((v) => v !== null);
  const c2s = known(c2);
  const answers = known(answered);
  const levels = (xs, name) => (known(xs).length ? `${name} highest ${Math.max(...known(xs))}` : `no ${name} figures`);
  $('chart-pressure').setAttribute('aria-label',
    `Line chart of the ambulance service’s Category 2 mean response each day` + (c2s.length ? `: lowest ${Math.min(...c2s)} minutes, highest ${Math.max(...c2s)} minutes` : ': no figures') +
    `; with the day’s highest OPEL and REAP levels: ${levels(opel, 'OPEL')}, ${levels(reap, 'REAP')}.`);
  $('chart-111').setAttribute('aria-label', answers.length
    ? `Line chart of the share of NHS 111 calls answered within 60 seconds each day: lowest ${Math.min(...answers)}%, highest ${Math.max(...answers)}%.`
    : 'No NHS 111 figures in the period.');
  const prange = () => [px[0] - half, px[px.length - 1] + half];
  plot($('chart-pressure'), {
    height: 220,
    scales: { x: { time: true, range: prange }, y: { range: () => [0, Math.max(20, Math.ceil(Math.max(0, ...c2s) * 1.15))] }, level: { range: () => [0, 4.5] } },
    axes: [
      dayAxis(),
      { label: 'C2 mean (minutes)', size: LEFT, stroke: '#4c6272', grid: { stroke: '#e8edee' }, font: '12px system-ui', labelFont: '12px system-ui' },
      { scale: 'level', side: 1, size: RIGHT, label: 'Level (1–4)', stroke: '#4c6272', grid: { show: false }, font: '12px system-ui', labelFont: '12px system-ui', incrs: [1], values: (u, splits) => splits.map((s) => (s >= 1 && s <= 4 ? String(s) : '')) },
    ],
    series: [
      {},
      { label: 'Ambulance C2 mean (minutes)', stroke: COLOURS.c2, width: 2, spanGaps: false, points: { show: days.length <= 31, size: 5 } },
      { label: 'OPEL (highest)', stroke: COLOURS.opel, width: 2, scale: 'level', paths: window.uPlot.paths.stepped({ align: 1 }), points: { show: false } },
      { label: 'REAP (highest)', stroke: COLOURS.reap, width: 1.5, dash: [5, 3], scale: 'level', paths: window.uPlot.paths.stepped({ align: 1 }), points: { show: false } },
    ],
  }, [px, c2, opel, reap]);
  legend('legend-pressure', [['Ambulance Category 2 mean response (minutes)', COLOURS.c2], ['OPEL level, highest of the day', COLOURS.opel], ['REAP level, highest of the day', COLOURS.reap, true]]);
  plot($('chart-111'), {
    height: 150,
    scales: { x: { time: true, range: prange }, y: { range: () => [0, 100] } },
    axes: [
      dayAxis(),
      { label: '% in 60 s', size: LEFT, stroke: '#4c6272', grid: { stroke: '#e8edee' }, font: '12px system-ui', labelFont: '12px system-ui', incrs: [25, 50] },
      // An empty right axis as wide as the chart above's, so the days line up.
      { side: 1, size: RIGHT, stroke: 'transparent', grid: { show: false }, ticks: { show: false }, values: (u, splits) => splits.map(() => '') },
    ],
    series: [{}, { label: 'NHS 111 answered within 60 seconds (%)', stroke: COLOURS.nhs111, width: 2, spanGaps: false, points: { show: days.length <= 31, size: 5 } }],
  }, [px, answered]);
  legend('legend-111', [['NHS 111 calls answered within 60 seconds (%)', COLOURS.nhs111]]);
}

/**
 * The ICS's admissions each week (the JSON's `weekly`, weeks from Monday, the first and last cut to
 * the period), step-up and step-down side by side, as in the HTML report. A withheld figure (null) is
 * not drawn, and said so beside the chart and in its text summary. Weeks are evenly spaced categories,
 * so that a first week of a day or two does not make every bar thin.
 */
function renderWeekly(ics, weekly) {
  const box = $('chart-admissions');
  box.replaceChildren();
  delete box.dataset.drawn;
  const note = $('admissions-withheld');
  note.hidden = true;
  note.textContent = '';
  if (!ics) {
    box.setAttribute('aria-label', 'No ward of this integrated care system is in the registry.');
    return;
  }
  const weeks = weekly.map((w) => ({ period: w.period, g: w.groups.find((g) => g.level === 'ics' && g.id === ics.id) }));
  const up = weeks.map((w) => (w.g ? w.g.admissions.stepUp : 0));
  const down = weeks.map((w) => (w.g ? w.g.admissions.stepDown : 0));
  const figure = (v) => (v === null ? WITHHELD : number(v));
  const withheldWeeks = weeks
    .map((w, i) => [w.period, [up[i] === null ? 'step-up' : null, down[i] === null ? 'step-down' : null].filter(Boolean)])
    .filter(([, which]) => which.length);
  box.setAttribute('aria-label', weeks.length
    ? `Bar chart of admissions per week (weeks from Monday, the first and last clipped to the period) to ${ics.name}, step-up and step-down: ` +
      weeks.map((w, i) => `week from ${longDate(w.period)} step-up ${figure(up[i])}, step-down ${figure(down[i])}`).join('; ') +
      (withheldWeeks.length ? '. Withheld weeks are not drawn.' : '.')
    : 'No weeks in the period.');
  if (withheldWeeks.length) {
    note.hidden = false;
    note.textContent = `Withheld, so not drawn: ${withheldWeeks.map(([period, which]) => `the week from ${shortDate(period)} ${which.join(' and ')}`).join('; ')}.`;
  }
  legend('legend-admissions', [['Step-up', COLOURS.stepUp, 'bar'], ['Step-down', COLOURS.stepDown, 'bar']]);
  if (!weeks.length) return;
  const x = weeks.map((w, i) => i);
  const top = Math.max(0, ...[...up, ...down].filter((v) => v !== null));
  const bars = (align) => window.uPlot.paths.bars({ size: [0.35, 48], align });
  plot(box, {
    height: 240,
    scales: { x: { time: false, range: () => [-0.5, weeks.length - 0.5] }, y: { range: () => [0, Math.max(5, Math.ceil(top * 1.15))] } },
    axes: [
      { label: 'Week beginning', stroke: '#4c6272', grid: { show: false }, font: '12px system-ui', labelFont: '12px system-ui', space: 56, incrs: [1, 2, 3, 4, 6, 8, 13, 26, 52],
        values: (u, splits) => splits.map((s) => (Number.isInteger(s) && weeks[s] ? shortDate(weeks[s].period) : '')) },
      { label: 'Admissions', size: LEFT, stroke: '#4c6272', grid: { stroke: '#e8edee' }, font: '12px system-ui', labelFont: '12px system-ui', incrs: [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000] },
    ],
    series: [
      {},
      { label: 'Step-up', stroke: COLOURS.stepUp, fill: COLOURS.stepUp, width: 1, paths: bars(-1), points: { show: false } },
      { label: 'Step-down', stroke: COLOURS.stepDown, fill: COLOURS.stepDown, width: 1, paths: bars(1), points: { show: false } },
    ],
  }, [x, up, down]);
}

function resize() {
  for (const { u, box } of state.plots) if (box.clientWidth && Math.abs(box.clientWidth - u.width) > 4) u.setSize({ width: Math.max(260, box.clientWidth), height: u.height });
}

// ---- tables ----

function fillTable(id, head, rows) {
  const table = $(id);
  table.tHead.replaceChildren(el('tr', {}, head.map((h) => el('th', { scope: 'col' }, h))));
  table.tBodies[0].replaceChildren(...rows.map(([first, ...rest]) => el('tr', {}, el('th', { scope: 'row' }, first), rest.map((cell) => el('td', {}, cell)))));
}

function renderDaily(ics, pressure, census) {
  if (!ics) return;
  const byDate = new Map((pressure ? pressure.daily : []).map((d) => [d.date, d]));
  const blank = (v, unit = '') => (v === null || v === undefined ? '' : `${number(v)}${unit}`);
  fillTable('daily-table', ['Date', `Patients at ${census}`, 'Occupancy', 'C2 mean (minutes)', 'REAP, highest', '111 answered in 60 s', 'OPEL, highest'],
    ics.occupancy.daily.map((d) => {
      const p = byDate.get(d.date) || {};
      return [dayDate(d.date), String(d.occupied), blank(d.percent, '%'), blank(p.c2MeanMinutes), blank(p.reapMax), blank(p.nhs111AnsweredWithin60sPct, '%'), blank(p.opelMax)];
    }));
}

function renderPlan(plan, groups) {
  if (!plan) {
    $('plan-summary').textContent = 'No plan: nothing to plan from in this period.';
    return;
  }
  const target = `${Math.round(plan.targetOccupancy * 100)}%`;
  const probability = `${Math.round(plan.probability * 1000) / 10}%`;
  const commissioned = new Map((plan.commissionedBeds || []).map((c) => [c.pathway, c]));
  const wardNames = new Map(groups.filter((g) => g.level === 'ward').map((g) => [g.id, g.name]));
  const capacity = groups.find((g) => g.level === 'ics')?.capacity;
  $('plan-summary').textContent =
    `At this period’s admissions and lengths of stay, the pathways need ${plan.total.bedsNeeded} beds between them to stay at or under ${target} full on ${probability} of days` +
    (typeof capacity === 'number' ? ` (the ICS has ${capacity} commissioned)` : '') +
    `; if step-up admissions from the ambulance service and NHS 111 rose ${plan.surgeFactor}-fold, as in a winter surge, ${plan.total.surgeBedsNeeded}.`;
  const bedsText = (pathway) => {
    const c = commissioned.get(pathway);
    if (!c) return 'not known';
    if (c.beds !== null) return String(c.beds);
    return `shared: ${c.sharedWards.map((w) => wardNames.get(w) || w).join(', ')} also take${c.sharedWards.length === 1 ? 's' : ''} other pathways`;
  };
  $('plan-caption').textContent = `Beds needed by pathway to stay at or under ${target} occupancy on ${probability} of days, now and with a ${plan.surgeFactor}× surge`;
  fillTable('plan-table', ['Pathway', 'Arrivals a day', 'Mean stay (days)', 'Patients on average (offered load)', 'Beds needed now', `Arrivals a day with the surge`, 'Beds needed with the surge', 'Commissioned beds'], [
    ...plan.pathways.map((p) => [
      p.pathway,
      figSpan(p, 'arrivalsPerDay', p.arrivalsPerDay),
      figSpan(p, 'meanStayDays', p.meanStayDays),
      figSpan(p, 'offeredLoad', p.meanStayDays === null && !withheld(p, 'meanStayDays') ? null : p.offeredLoad),
      number(p.bedsNeeded),
      figSpan(p, 'surge.arrivalsPerDay', p.surge.arrivalsPerDay),
      number(p.surge.bedsNeeded),
      bedsText(p.pathway),
    ]),
    [el('strong', {}, 'All pathways (planned separately)'), '', '', figSpan(plan.total, 'offeredLoad', plan.total.offeredLoad), el('strong', { 'data-testid': 'plan-beds-now' }, number(plan.total.bedsNeeded)), '', el('strong', { 'data-testid': 'plan-beds-surge' }, number(plan.total.surgeBedsNeeded)), ''],
  ]);
  $('plan-notes').textContent =
    'Each pathway is planned as a queue that turns nobody away: patients arrive at random at the period’s rate and stay for the period’s mean stay, so the number on the wards follows a Poisson distribution around arrivals × mean stay. ' +
    'Assumed: arrivals independent of one another and of how full the wards are; this period’s rates hold; no weekly or seasonal pattern; each pathway commissioned on its own (pooling them needs fewer beds).';
}

/** The wards, then the providers, then the ICS, each with a maker of its row header (a node goes in one table only). */
function byWard(groups) {
  return [
    ...groups.filter((g) => g.level === 'ward').map((g) => [g, () => g.name]),
    ...groups.filter((g) => g.level === 'provider').map((g) => [g, () => `${g.name} (provider, all its wards)`]),
    ...groups.filter((g) => g.level === 'ics').map((g) => [g, () => el('strong', {}, `${g.name} (ICS, all wards)`)]),
  ];
}

function renderWards(groups, monitoring) {
  const rows = byWard(groups);
  const measured = (cells) => (monitoring ? cells : []);
  $('wards-caption').textContent = monitoring ? 'Capacity, occupancy and device adherence by ward, provider and ICS' : 'Capacity and occupancy by ward, provider and ICS';
  fillTable('wards-table', ['Ward', 'Beds', 'Patients on average', 'Mean occupancy', 'Patient-days', ...measured(['Device adherence', 'Hours missing per patient-day'])],
    rows.map(([g, label]) => [
      label(),
      number(g.capacity),
      number(g.occupancy.meanOccupied),
      g.occupancy.meanPercent === null ? '–' : `${number(g.occupancy.meanPercent)}%`,
      number(g.patientDays),
      ...measured([adherenceSpan(g), missingSpan(g)]),
    ]));
  $('monitoring-note').textContent = monitoring
    ? `Device adherence: of the days a patient was on the ward at the census, the share on which at least one reading arrived (at least one every ${monitoring.expectedEveryHours} hours is expected); “–” where no patient was on the ward at a census. ` +
      `Hours missing: the hours patients went more than ${monitoring.expectedEveryHours} hours without a reading, per day a patient spent on the ward.`
    : NOT_MEASURED;

  fillTable('flow-table', ['Ward', 'Admissions', 'Step-up', 'Step-down', 'Moved in', 'Moved out', 'Discharges', ...OUTCOMES.map(([, label]) => label)],
    rows.map(([g, label]) => [
      label(),
      figSpan(g, 'admissions.total', g.admissions.total),
      figSpan(g, 'admissions.stepUp', g.admissions.stepUp),
      figSpan(g, 'admissions.stepDown', g.admissions.stepDown),
      figSpan(g, 'transfers.in', g.transfers.in),
      figSpan(g, 'transfers.out', g.transfers.out),
      figSpan(g, 'discharges.total', g.discharges.total),
      // A breakdown leaves out an outcome no one had: 0.
      ...OUTCOMES.map(([k]) => figSpan(g, `discharges.byOutcome.${k}`, g.discharges.byOutcome[k] === undefined ? 0 : g.discharges.byOutcome[k])),
    ]));

  fillTable('care-table', ['Ward', 'Length of stay, median (days)', 'Length of stay, 90th centile (days)', 'Referrals', 'Referrals per 100 patient-days', 'Alerts', 'Alerts per patient-day'],
    rows.map(([g, label]) => [
      label(),
      figSpan(g, 'lengthOfStayDays.median', g.lengthOfStayDays.median),
      figSpan(g, 'lengthOfStayDays.p90', g.lengthOfStayDays.p90),
      figSpan(g, 'referrals.total', g.referrals.total),
      figSpan(g, 'referrals.per100PatientDays', g.referrals.per100PatientDays),
      figSpan(g, 'alerts.total', g.alerts.total),
      figSpan(g, 'alerts.perPatientDay', g.alerts.perPatientDay),
    ]));

  const systems = groups.filter((g) => g.level === 'ics');
  const ack = systems.flatMap((g) => Object.entries(g.alerts.minutesToAcknowledge).sort(([a], [b]) => a.localeCompare(b)).map(([severity, m]) => {
    const at = `alerts.minutesToAcknowledge.${severity}`;
    return [`${g.name}: ${severity}`, figSpan(g, `${at}.acknowledged`, m.acknowledged), figSpan(g, `${at}.notAcknowledged`, m.notAcknowledged), figSpan(g, `${at}.median`, m.median), figSpan(g, `${at}.p90`, m.p90)];
  }));
  $('ack-wrap').hidden = !ack.length;
  fillTable('ack-table', ['ICS and severity', 'Acknowledged', 'Not acknowledged', 'Median (minutes)', '90th centile (minutes)'], ack);
}

function renderPathways(groups, monitoring) {
  const measured = (cells) => (monitoring ? cells : []);
  fillTable('pathways-table', ['Pathway', 'Patients on average', 'Patient-days', 'Admissions', 'Step-up', 'Step-down', 'Discharges', 'Discharged to an acute bed', 'Length of stay, median (days)', 'Length of stay, 90th centile (days)', ...measured(['Device adherence', 'Hours missing per patient-day'])],
    groups.filter((g) => g.level === 'pathway').map((g) => [
      g.name,
      number(g.occupancy.meanOccupied),
      number(g.patientDays),
      figSpan(g, 'admissions.total', g.admissions.total),
      figSpan(g, 'admissions.stepUp', g.admissions.stepUp),
      figSpan(g, 'admissions.stepDown', g.admissions.stepDown),
      figSpan(g, 'discharges.total', g.discharges.total),
      figSpan(g, 'acuteAdmissions', g.acuteAdmissions),
      figSpan(g, 'lengthOfStayDays.median', g.lengthOfStayDays.median),
      figSpan(g, 'lengthOfStayDays.p90', g.lengthOfStayDays.p90),
      ...measured([adherenceSpan(g), missingSpan(g)]),
    ]));
}

function renderMonths(months, ics, monitoring) {
  const measured = (cells) => (monitoring ? cells : []);
  $('months-caption').textContent = `Each month’s figures: the national virtual ward publication’s, with flow, length of stay${monitoring ? ' and device adherence' : ''}`;
  fillTable('months-table', ['Month', 'Beds', 'Occupancy', 'Beds per 100,000 adults', 'Admissions', 'Discharges', 'Admitted to acute', 'Length of stay, median (days)', 'Length of stay, 90th centile (days)', ...measured(['Device adherence'])],
    months.flatMap((m) => m.groups.filter((g) => g.level === 'ics' && (!ics || g.id === ics.id)).map((g) => [
      monthText(m.period),
      number(g.capacity),
      g.occupancy.meanPercent === null ? '–' : `${number(g.occupancy.meanPercent)}%`,
      number(g.capacityPer100kAdults),
      figSpan(g, 'admissions.total', g.admissions.total),
      figSpan(g, 'discharges.total', g.discharges.total),
      figSpan(g, 'acuteAdmissions', g.acuteAdmissions),
      figSpan(g, 'lengthOfStayDays.median', g.lengthOfStayDays.median),
      figSpan(g, 'lengthOfStayDays.p90', g.lengthOfStayDays.p90),
      ...measured([adherenceSpan(g)]),
    ])));
}

function renderEquity(ics, monitoring) {
  if (!ics) return;
  const measured = (cells) => (monitoring ? cells : []);
  $('equity-caption').textContent = monitoring
    ? 'Admissions and device adherence by deprivation of the patient’s home (Index of Multiple Deprivation decile)'
    : 'Admissions by deprivation of the patient’s home (Index of Multiple Deprivation decile)';
  $('equity-note').textContent =
    'Decile: the tenth of English neighbourhoods, ranked by the Index of Multiple Deprivation, the patient lives in (1 the most deprived, 10 the least); about a tenth of admissions in each would match the population. ' +
    (monitoring
      ? 'Patient-days at census: the days patients from that decile were on the wards at the census, when a reading was expected of them; device adherence: the share of those days with at least one reading. A lower share in the more deprived deciles may point to devices, connectivity or support to look at.'
      : NOT_MEASURED);
  const adherence = ics.equity.adherenceByImdDecile || {};
  fillTable('equity-table', ['Decile', 'Admissions', ...measured(['Patient-days at census', 'Device adherence'])],
    DECILES.map((d) => {
      const a = adherence[d];
      const at = `equity.adherenceByImdDecile.${d}`;
      const admitted = ics.equity.admissionsByImdDecile[d];
      return [
        decileText(d),
        figSpan(ics, `equity.admissionsByImdDecile.${d}`, admitted === undefined ? 0 : admitted),
        ...measured([figSpan(ics, `${at}.expectedDays`, a ? a.expectedDays : 0), pctSpan(ics, `${at}.percent`, a ? a.percent : null)]),
      ];
    }));
}

// ---- downloads: fetched with the token in a header, saved as a file ----

async function download(format) {
  const query = state.query;
  if (!query) return;
  setStatus(`Preparing the ${format === 'csv' ? 'CSV' : 'HTML report'}…`);
  try {
    const res = await api(`/api/v1/reports/capacity?${new URLSearchParams({ ics: query.ics, from: query.from, to: query.to, format })}`);
    const problem = authProblem(res.status);
    if (problem) {
      setStatus('');
      showSignIn(problem);
      return;
    }
    if (!res.ok) {
      setStatus('');
      showError(`The ${format.toUpperCase()} could not be made (vw answered ${res.status}).`);
      return;
    }
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const name = `vw-capacity-${query.ics}-${query.from}-${query.to}.${format}`;
    const link = el('a', { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setStatus(`Downloaded ${name}.`);
  } catch {
    setStatus('');
    showError('vw could not be reached. Check your connection and try again.');
  }
}

// ---- start ----

function start() {
  $('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token-input').value.trim();
    if (!token) return;
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('auth-error').hidden = true;
    signIn();
  });
  $('sign-out').addEventListener('click', () => showSignIn());
  $('query').addEventListener('submit', (event) => {
    event.preventDefault();
    showReport();
  });
  $('download-csv').addEventListener('click', () => download('csv'));
  $('download-html').addEventListener('click', () => download('html'));
  let pending;
  window.addEventListener('resize', () => {
    clearTimeout(pending);
    pending = setTimeout(resize, 150);
  });
  state.token = readToken();
  if (state.token) signIn();
  else showSignIn();
}

// uPlot loads with `defer`, this module after it: both before DOMContentLoaded.
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
