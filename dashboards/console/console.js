// The ward console: a live view of one virtual ward, fed by vw's /feed WebSocket (docs/feed.md).
// Plain browser JavaScript with no build step, so the page works offline and is easy to audit.

const SEVERITY_RANK = { 'low-medium': 1, medium: 2, high: 3 };
const BAND_LABEL = { low: 'Low', 'low-medium': 'Low–medium', medium: 'Medium', high: 'High' };
const PARAM_LABEL = {
  respiratory_rate: 'RR', spo2: 'SpO₂', supplemental_oxygen: 'O₂', systolic_bp: 'SBP',
  heart_rate: 'HR', consciousness: 'ACVPU', temperature: 'Temp',
};
const TRENDS = [
  ['heart_rate', 'Heart rate', '/min'],
  ['respiratory_rate', 'Respiratory rate', '/min'],
  ['spo2', 'SpO₂', '%'],
  ['temperature', 'Temperature', '°C'],
];
const SETTING_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const STALE_AMBER_MS = 15 * 60_000;
const STALE_RED_MS = 60 * 60_000;

const state = {
  token: null,
  socket: null,
  user: null,
  wards: [],
  wardId: null,
  wardName: '',
  patients: new Map(),
  alerts: new Map(),
  pendingAck: new Set(),
  fresh: new Set(),
  selected: null,
  series: new Map(),
  // Settings versions per patient, newest first, once asked for; and the open change form, if any.
  settingsHistory: new Map(),
  editor: null,
  connected: false,
  retryMs: 1000,
  muted: true,
  authFailed: false,
};

const $ = (id) => document.getElementById(id);

// ---- small DOM helpers: every piece of data goes in through textContent, never as HTML ----

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function ago(iso, now = Date.now()) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function clockTime(iso) {
  return new Date(iso).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
}

// ---- token and connection ----

function readToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromUrl = fragment.get('token');
  if (fromUrl) {
    sessionStorage.setItem('vw.token', fromUrl);
    // Keep the token out of the address bar (and so out of screenshots and shared links).
    fragment.delete('token');
    const rest = fragment.toString();
    history.replaceState(null, '', location.pathname + (rest ? `#${rest}` : ''));
  }
  return fromUrl || sessionStorage.getItem('vw.token');
}

function wantedWard() {
  return new URLSearchParams(location.hash.slice(1)).get('ward') || sessionStorage.getItem('vw.ward');
}

function showSignIn(message) {
  $('signin').hidden = false;
  $('ward').hidden = true;
  const error = $('auth-error');
  error.hidden = !message;
  error.textContent = message || '';
}

function setConnection(connected, text) {
  state.connected = connected;
  const pill = $('connection');
  pill.textContent = text;
  pill.className = `pill ${connected ? 'pill-on' : 'pill-off'}`;
}

function showBanner(text) {
  const banner = $('banner');
  banner.hidden = !text;
  banner.textContent = text || '';
}

function send(frame) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(frame));
}

function connect() {
  if (!state.token) return showSignIn();
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/feed`;
  const socket = new WebSocket(url);
  state.socket = socket;
  setConnection(false, 'Connecting…');
  socket.addEventListener('open', () => send({ type: 'hello', token: state.token }));
  socket.addEventListener('message', (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    onFrame(frame);
  });
  socket.addEventListener('close', () => {
    if (state.socket !== socket) return;
    state.socket = null;
    if (state.authFailed) return setConnection(false, 'Signed out');
    setConnection(false, 'Offline');
    showBanner(`Connection lost — reconnecting. What you see may be out of date (since ${new Date().toLocaleTimeString('en-GB')}).`);
    setTimeout(connect, state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 30_000);
  });
}

// ---- frames from vw ----

function onFrame(frame) {
  switch (frame.type) {
    case 'welcome': {
      state.user = frame.user;
      state.wards = frame.wards;
      state.retryMs = 1000;
      $('user').textContent = frame.user;
      $('signin').hidden = true;
      fillWardPicker();
      if (!frame.wards.length) return showSignIn('Your token grants no ward.');
      const wanted = state.wardId || wantedWard();
      subscribe(frame.wards.some((w) => w.wardId === wanted) ? wanted : frame.wards[0].wardId);
      return;
    }
    case 'snapshot':
      if (frame.wardId !== state.wardId) return;
      state.wardName = frame.wardName;
      state.patients = new Map(frame.patients.map((p) => [p.patientId, p]));
      state.alerts = new Map(frame.alerts.map((a) => [a.alertId, a]));
      state.pendingAck.clear();
      setConnection(true, 'Live');
      showBanner('');
      $('ward').hidden = false;
      render();
      return;
    case 'reading':
      if (frame.wardId === state.wardId) applyReading(frame.reading);
      return;
    case 'score':
      if (frame.wardId === state.wardId) applyScore(frame.score);
      return;
    case 'alert':
      if (frame.wardId === state.wardId) applyAlert(frame.alert);
      return;
    case 'series':
      state.series.set(`${frame.patientId}:${frame.readingType}`, frame.points);
      renderDetail();
      return;
    case 'accepted':
      return;
    case 'settings':
      if (frame.wardId === state.wardId) applySettings(frame.settings);
      return;
    case 'settingsAccepted':
      if (state.editor && state.editor.pending && state.editor.patientId === frame.patientId) {
        state.editor = null;
        $('announcer').textContent = `Settings saved as version ${frame.version}.`;
      }
      renderDetail();
      return;
    case 'settingsHistory':
      state.settingsHistory.set(frame.patientId, frame.versions);
      renderDetail();
      return;
    case 'error':
      if (frame.code === 'unauthorized') {
        state.authFailed = true;
        sessionStorage.removeItem('vw.token');
        state.token = null;
        setConnection(false, 'Signed out');
        showSignIn(`Sign-in refused: ${frame.message}.`);
      } else if (state.editor && state.editor.pending) {
        // Frames are answered in order and the form waits for its answer: this error is the form's.
        state.editor.pending = false;
        state.editor.error = frame.code === 'conflict' ? `Not saved: ${frame.message}. Your edits are kept; check the current version above.` : `Not saved: ${frame.message}.`;
        renderDetail();
      } else if (frame.code === 'forbidden') {
        showBanner(`That ward is not in your token: ${frame.message}.`);
      } else {
        showBanner(`vw: ${frame.message}`);
        for (const id of state.pendingAck) state.pendingAck.delete(id);
        render();
      }
      return;
  }
}

function subscribe(wardId) {
  if (state.wardId && state.wardId !== wardId) send({ type: 'unsubscribe', wardId: state.wardId });
  state.wardId = wardId;
  state.selected = null;
  state.editor = null;
  sessionStorage.setItem('vw.ward', wardId);
  $('ward-select').value = wardId;
  send({ type: 'subscribe', wardId });
}

function applyReading(reading) {
  const patient = state.patients.get(reading.patientId);
  if (!patient) return;
  const held = patient.latest[reading.type];
  if (!held || Date.parse(held.ts) <= Date.parse(reading.ts)) {
    patient.latest[reading.type] = { value: reading.value, unit: reading.unit, ts: reading.ts, deviceId: reading.deviceId, flags: reading.flags };
  }
  if (!patient.lastSeen || Date.parse(reading.ts) > Date.parse(patient.lastSeen)) patient.lastSeen = reading.ts;
  const points = state.series.get(`${reading.patientId}:${reading.type}`);
  if (points) points.push({ ts: reading.ts, value: reading.value });
  scheduleRender();
}

function applyScore(score) {
  const patient = state.patients.get(score.patientId);
  if (!patient) return;
  if (!patient.score || Date.parse(patient.score.ts) <= Date.parse(score.ts)) patient.score = score;
  scheduleRender();
}

function applyAlert(alert) {
  const held = state.alerts.get(alert.alertId);
  // Keep the highest revision: duplicates and late copies change nothing.
  if (held && held.revision >= alert.revision) return;
  state.alerts.set(alert.alertId, alert);
  state.pendingAck.delete(alert.alertId);
  const rose = !held || SEVERITY_RANK[alert.severity] > SEVERITY_RANK[held.severity];
  if (rose && (alert.state === 'open' || alert.state === 'escalated')) {
    state.fresh.add(alert.alertId);
    setTimeout(() => state.fresh.delete(alert.alertId), 3000);
    const name = state.patients.get(alert.patientId)?.displayName || 'a patient';
    $('announcer').textContent = `New ${alert.severity} alert for ${name}: ${alert.explanation}`;
    if (alert.severity === 'high') beep();
  }
  scheduleRender();
}

function applySettings(settings) {
  const patient = state.patients.get(settings.patientId);
  if (!patient) return;
  // Versions only go up: a late copy of an older one changes nothing.
  if (patient.settings && patient.settings.version >= settings.version) return;
  patient.settings = settings;
  patient.spo2Scale = settings.spo2Scale;
  const history = state.settingsHistory.get(settings.patientId);
  if (history && !history.some((v) => v.version === settings.version)) history.unshift(settings);
  const editor = state.editor;
  if (editor && editor.patientId === settings.patientId && settings.version > (editor.overVersion ?? editor.baseVersion)) {
    // Saving now would overwrite a change this clinician has not seen: say so, and make saving over it explicit.
    // (A console's own save also arrives here just before settingsAccepted closes the form.)
    editor.overVersion = settings.version;
    editor.notice = `${settings.setBy} saved version ${settings.version} while you were editing: check it above before saving yours over it.`;
  }
  scheduleRender();
}

function pathwaysOf(patient) {
  return (patient.settings && patient.settings.pathways) || patient.pathways;
}

// ---- acuity ----

function openAlerts(patientId) {
  return [...state.alerts.values()].filter((a) => a.patientId === patientId && a.state !== 'resolved');
}

function acuity(patient) {
  const alertRank = Math.max(0, ...openAlerts(patient.patientId).map((a) => SEVERITY_RANK[a.severity]));
  return [alertRank, patient.score ? patient.score.total : -1];
}

function byAcuity(a, b) {
  const [ar, as] = acuity(a);
  const [br, bs] = acuity(b);
  return br - ar || bs - as || a.displayName.localeCompare(b.displayName);
}

// ---- rendering ----

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  $('ward-name').textContent = state.wardName ? `· ${state.wardName}` : '';
  renderPatients();
  renderAlerts();
  renderDetail();
}

function fillWardPicker() {
  const select = $('ward-select');
  select.replaceChildren(...state.wards.map((w) => el('option', { value: w.wardId }, w.name)));
  select.disabled = state.wards.length < 2;
}

function value(patient, type, digits) {
  const v = patient.latest[type];
  if (!v) return null;
  return typeof v.value === 'number' && digits !== undefined ? v.value.toFixed(digits) : String(v.value);
}

function vitalCell(patient, type, { digits, extra } = {}) {
  const text = value(patient, type, digits);
  const reading = patient.latest[type];
  const unreliable = reading?.flags?.includes('irregular_pulse_during_measurement');
  return el(
    'td',
    { title: reading ? `${reading.deviceId}, ${clockTime(reading.ts)}` : 'no reading' },
    text ?? '–',
    extra,
    unreliable ? el('span', { class: 'badge badge-warn', title: 'Irregular pulse during measurement: may be unreliable' }, '⚠ irregular pulse') : null,
  );
}

function scoreCell(patient) {
  const score = patient.score;
  if (!score) return el('td', {}, el('span', { class: 'score band-none', 'data-testid': 'news2-total' }, '–'));
  const missing = score.partial ? score.missing.map((m) => PARAM_LABEL[m] || m).join(', ') : '';
  return el(
    'td',
    { title: `${BAND_LABEL[score.band]} · ${score.ruleId} ${score.ruleVersion}` },
    el('span', { class: `score band-${score.band}`, 'data-testid': 'news2-total' }, String(score.total)),
    score.partial ? el('span', { class: 'partial' }, `partial (missing: ${missing})`) : null,
  );
}

function lastDataCell(patient) {
  const age = patient.lastSeen ? Date.now() - Date.parse(patient.lastSeen) : Infinity;
  const cls = age > STALE_RED_MS ? 'stale-red' : age > STALE_AMBER_MS ? 'stale-amber' : '';
  return el('td', { class: cls, 'data-last-seen': patient.lastSeen || '' }, ago(patient.lastSeen));
}

function renderPatients() {
  const patients = [...state.patients.values()].sort(byAcuity);
  $('no-patients').hidden = patients.length > 0;
  const rows = patients.map((p) => {
    const topAlert = openAlerts(p.patientId).sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity])[0];
    const irregular = p.latest.irregular_rhythm?.value === true;
    const onOxygen = p.latest.supplemental_oxygen?.value === true;
    const sys = value(p, 'systolic_bp', 0);
    const dia = value(p, 'diastolic_bp', 0);
    return el(
      'tr',
      {
        'data-testid': 'patient-row',
        'data-patient-id': p.patientId,
        class: [topAlert ? `row-${topAlert.severity}` : '', state.selected === p.patientId ? 'selected' : ''].join(' '),
        onclick: () => select(p.patientId),
      },
      el('td', {}, el('span', { class: 'name' }, p.displayName), irregular ? el('span', { class: 'badge badge-warn', title: 'Irregular-rhythm notification: obtain an ECG' }, 'Irregular rhythm') : null, el('span', { class: 'sub' }, pathwaysOf(p).join(', '))),
      scoreCell(p),
      vitalCell(p, 'respiratory_rate', { digits: 0 }),
      vitalCell(p, 'spo2', {
        digits: 0,
        extra: [p.spo2Scale === 2 ? el('span', { class: 'badge', title: 'NEWS2 SpO2 Scale 2' }, 'Scale 2') : null, onOxygen ? el('span', { class: 'badge badge-o2' }, 'O₂') : null],
      }),
      el('td', { title: 'Systolic / diastolic, mmHg' }, sys ? `${sys}/${dia ?? '–'}` : '–',
        p.latest.systolic_bp?.flags?.includes('irregular_pulse_during_measurement') ? el('span', { class: 'badge badge-warn', title: 'Irregular pulse during measurement: may be unreliable' }, '⚠ irregular pulse') : null),
      vitalCell(p, 'heart_rate', { digits: 0 }),
      vitalCell(p, 'temperature', { digits: 1 }),
      vitalCell(p, 'consciousness'),
      lastDataCell(p),
    );
  });
  $('patient-rows').replaceChildren(...rows);
}

function alertOrder(a, b) {
  const unresolved = (x) => (x.state === 'resolved' ? 0 : 1);
  const waiting = (x) => (x.state === 'open' || x.state === 'escalated' ? 1 : 0);
  return unresolved(b) - unresolved(a) || waiting(b) - waiting(a) || SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || Date.parse(b.updatedAt) - Date.parse(a.updatedAt);
}

function renderAlerts() {
  const alerts = [...state.alerts.values()].sort(alertOrder);
  const open = alerts.filter((a) => a.state === 'open' || a.state === 'escalated').length;
  $('alert-count').textContent = alerts.length ? `${open} open of ${alerts.length}` : '';
  $('no-alerts').hidden = alerts.length > 0;
  const items = alerts.map((a) => {
    const patient = state.patients.get(a.patientId);
    const last = a.history[a.history.length - 1];
    const ack = [...a.history].reverse().find((h) => h.state === 'acknowledged');
    const pending = state.pendingAck.has(a.alertId);
    const note = el('input', { type: 'text', maxlength: 500, placeholder: 'Note (optional)', 'aria-label': 'Acknowledgement note' });
    return el(
      'li',
      {
        class: `alert sev-${a.severity} state-${a.state} ${state.fresh.has(a.alertId) ? 'fresh' : ''}`,
        'data-testid': 'alert-item',
        'data-alert-id': a.alertId,
        'data-state': a.state,
        'data-severity': a.severity,
      },
      el('div', { class: 'alert-head' },
        el('span', { class: 'alert-title' }, patient ? patient.displayName : a.patientId),
        el('span', { class: `sev band-${a.severity}` }, BAND_LABEL[a.severity])),
      el('div', { class: 'alert-meta' }, `${a.ruleId} ${a.ruleVersion} · raised ${clockTime(a.raisedAt)} (${ago(a.raisedAt)}) · ${a.state}`),
      el('p', {}, a.explanation),
      el('p', { class: 'response' }, el('strong', {}, 'Response: '), a.response),
      el('details', {},
        el('summary', {}, `Evidence (${a.evidence.length} readings)`),
        el('ul', {}, a.evidence.map((e) => el('li', {}, `${PARAM_LABEL[e.type] || e.type} ${String(e.value)} at ${clockTime(e.ts)}: ${e.threshold}`)))),
      ack ? el('p', { class: 'small' }, `Acknowledged by ${ack.by} at ${clockTime(ack.at)}${ack.note ? ` — “${ack.note}”` : ''}`) : null,
      a.state === 'resolved' && last ? el('p', { class: 'small' }, `Resolved by ${last.by} at ${clockTime(last.at)}${last.note ? ` — “${last.note}”` : ''}`) : null,
      last && last.state === 'open' && last.note ? el('p', { class: 'small' }, `Reopened: ${last.note}`) : null,
      a.state !== 'resolved'
        ? el('div', { class: 'alert-actions' }, note,
            a.state === 'open' || a.state === 'escalated'
              ? el('button', {
                  type: 'button',
                  'data-testid': 'ack-button',
                  disabled: pending || !state.connected,
                  onclick: () => act('acknowledge', a.alertId, note.value),
                }, pending ? 'Sending…' : 'Acknowledge')
              : el('button', {
                  type: 'button',
                  class: 'secondary',
                  'data-testid': 'resolve-button',
                  disabled: pending || !state.connected,
                  title: 'The patient has been reviewed: close this alert. A new deterioration opens a new one.',
                  onclick: () => act('resolve', a.alertId, note.value),
                }, pending ? 'Sending…' : 'Resolve'))
        : null,
    );
  });
  // Keep a half-typed note: skip re-rendering while someone is typing in this list.
  if (document.activeElement && $('alert-list').contains(document.activeElement) && document.activeElement.tagName === 'INPUT') return;
  $('alert-list').replaceChildren(...items);
}

function act(type, alertId, note) {
  state.pendingAck.add(alertId);
  send({ type, alertId, ...(note && note.trim() ? { note: note.trim() } : {}) });
  renderAlerts();
}

// ---- trends for the selected patient ----

function select(patientId) {
  state.selected = state.selected === patientId ? null : patientId;
  if (state.editor && state.editor.patientId !== state.selected) state.editor = null;
  if (state.selected) {
    for (const [type] of TRENDS) send({ type: 'series', patientId, readingType: type });
  }
  render();
}

function sparkline(points) {
  const svgNs = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', '0 0 300 60');
  svg.setAttribute('preserveAspectRatio', 'none');
  const numeric = points.filter((p) => typeof p.value === 'number');
  if (numeric.length < 2) return svg;
  const xs = numeric.map((p) => Date.parse(p.ts));
  const ys = numeric.map((p) => p.value);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const line = document.createElementNS(svgNs, 'polyline');
  line.setAttribute('points', numeric.map((p, i) => `${((xs[i] - x0) / (x1 - x0 || 1)) * 300},${58 - ((ys[i] - y0) / (y1 - y0 || 1)) * 56}`).join(' '));
  svg.append(line);
  return svg;
}

function renderDetail() {
  const detail = $('detail');
  const patient = state.selected && state.patients.get(state.selected);
  if (!patient) {
    detail.hidden = true;
    return;
  }
  // Moving the form would take the focus from whoever is typing in it: update it in place instead.
  if (state.editor && state.editor.node.contains(document.activeElement) && detail.contains(state.editor.node)) {
    editorNode();
    return;
  }
  detail.hidden = false;
  detail.replaceChildren(
    el('h3', {}, `${patient.displayName}: last 6 hours`),
    ...TRENDS.map(([type, label, unit]) => {
      const points = state.series.get(`${patient.patientId}:${type}`) || [];
      const nums = points.filter((p) => typeof p.value === 'number').map((p) => p.value);
      const range = nums.length ? `${Math.min(...nums)}–${Math.max(...nums)} ${unit}` : 'no data';
      return el('div', { class: 'trend' }, el('div', { class: 'trend-title' }, el('span', {}, label), el('span', {}, range)), sparkline(points));
    }),
    settingsPanel(patient),
  );
}

// ---- per-patient settings: who set what, when and why (docs/settings.md) ----

function formatValue(v) {
  return typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v);
}

function valuesList(values) {
  const entries = Object.entries(values);
  if (!entries.length) return el('p', { class: 'muted small' }, 'No values set: rules use their defaults.');
  return el('dl', { class: 'settings-values' }, entries.flatMap(([name, v]) => [el('dt', {}, name), el('dd', { 'data-setting': name }, formatValue(v))]));
}

function setterLine(s) {
  const when = s.version === 0 ? 'as registered' : `${new Date(s.effectiveFrom).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' })} (${ago(s.effectiveFrom)})`;
  return `Version ${s.version} · ${s.setBy} · ${when}`;
}

function settingsPanel(patient) {
  const current = patient.settings;
  const history = state.settingsHistory.get(patient.patientId);
  const editing = state.editor && state.editor.patientId === patient.patientId;
  return el('section', { class: 'settings', 'data-testid': 'settings-panel', 'aria-label': 'Patient settings' },
    el('div', { class: 'settings-head' },
      el('h4', {}, 'Settings'),
      current ? el('span', { class: 'muted small', 'data-testid': 'settings-version', 'data-version': current.version }, setterLine(current)) : null,
      el('span', { class: 'settings-buttons' },
        current && !editing ? el('button', { type: 'button', class: 'secondary', 'data-testid': 'settings-edit', disabled: !state.connected, onclick: () => openEditor(patient) }, 'Change') : null,
        el('button', { type: 'button', class: 'secondary', 'data-testid': 'settings-history-button', disabled: !state.connected, onclick: () => send({ type: 'settingsHistory', patientId: patient.patientId }) }, history ? 'Refresh history' : 'History'))),
    current
      ? el('div', { class: 'settings-current' },
          el('p', { class: 'small reason' }, el('strong', {}, 'Why: '), current.reason),
          el('p', { class: 'small' }, `NEWS2 SpO₂ Scale ${current.spo2Scale}`, current.pathways ? ` · pathways set to ${current.pathways.join(', ')}` : ''),
          valuesList(current.values))
      : el('p', { class: 'muted small' }, 'No settings: the patient is not on a ward now.'),
    editing ? editorNode() : null,
    history ? el('h5', { class: 'settings-history-title' }, 'History, newest first') : null,
    history
      ? el('ol', { class: 'settings-history', 'data-testid': 'settings-history' }, history.map((v) =>
          el('li', { 'data-testid': 'settings-history-item', 'data-version': v.version },
            el('div', { class: 'small' }, el('strong', {}, setterLine(v))),
            el('div', { class: 'small' }, `Why: ${v.reason}`),
            el('div', { class: 'small muted' }, `Scale ${v.spo2Scale}${v.pathways ? ` · pathways ${v.pathways.join(', ')}` : ''} · ${Object.entries(v.values).map(([k, x]) => `${k} ${formatValue(x)}`).join(', ') || 'no values'}`))))
      : null,
  );
}

/** A typed value as the clinician meant it: numbers and yes/no become numbers and booleans. */
function parseValue(text) {
  const t = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (/^(true|yes)$/i.test(t)) return true;
  if (/^(false|no)$/i.test(t)) return false;
  return t;
}

function openEditor(patient) {
  const current = patient.settings;
  // The form is built once and kept across renders, so live readings never wipe what is being typed.
  const rows = el('div', { class: 'settings-rows' });
  const addRow = (name = '', v = '') => {
    const row = el('div', { class: 'settings-row', 'data-testid': 'setting-row' },
      el('input', { type: 'text', class: 'setting-name', 'data-testid': 'setting-name', placeholder: 'name, e.g. baselineWeight', 'aria-label': 'Setting name', value: name, maxlength: 64 }),
      el('input', { type: 'text', class: 'setting-value', 'data-testid': 'setting-value', placeholder: 'value', 'aria-label': 'Setting value', value: v === '' ? '' : String(v), maxlength: 200 }),
      el('button', { type: 'button', class: 'secondary', title: 'Remove this setting', onclick: () => row.remove() }, 'Remove'));
    rows.append(row);
  };
  for (const [name, v] of Object.entries(current.values)) addRow(name, v);
  const scale = el('select', { 'data-testid': 'settings-scale', 'aria-label': 'NEWS2 SpO2 scale' },
    el('option', { value: '1' }, 'Scale 1'), el('option', { value: '2' }, 'Scale 2 (confirmed hypercapnic respiratory failure)'));
  scale.value = String(current.spo2Scale);
  const reason = el('textarea', { rows: 2, maxlength: 500, 'aria-required': 'true', 'data-testid': 'settings-reason', 'aria-label': 'Reason for the change', placeholder: 'Why (required): e.g. dry weight revised after diuresis' });
  const editor = { patientId: patient.patientId, baseVersion: current.version, overVersion: null, pending: false, error: '', notice: '', node: null, message: null, save: null };
  const message = el('p', { class: 'error small', role: 'alert', 'data-testid': 'settings-error' });
  const save = el('button', { type: 'submit', 'data-testid': 'settings-save' }, 'Save');
  const form = el('form', { class: 'settings-form', 'data-testid': 'settings-form' },
    el('p', { class: 'small muted' }, `Editing version ${current.version}: saving records version ${current.version + 1} under your name.`),
    rows,
    el('button', { type: 'button', class: 'secondary', onclick: () => addRow() }, 'Add a setting'),
    el('label', { class: 'small' }, 'NEWS2 SpO₂ ', scale),
    el('label', { class: 'small settings-reason' }, 'Reason', reason),
    message,
    el('div', { class: 'settings-buttons' }, save, el('button', { type: 'button', class: 'secondary', onclick: () => { state.editor = null; renderDetail(); } }, 'Cancel')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = {};
    for (const row of rows.querySelectorAll('.settings-row')) {
      const name = row.querySelector('.setting-name').value.trim();
      const text = row.querySelector('.setting-value').value;
      if (!name && !text.trim()) continue;
      if (!SETTING_NAME.test(name)) return showEditorError(`“${name}” is not a setting name: a letter, then letters, digits or _.`);
      if (!text.trim()) return showEditorError(`${name} has no value.`);
      if (name in values) return showEditorError(`${name} is listed twice.`);
      values[name] = parseValue(text);
    }
    if (reason.value.trim().length < 3) return showEditorError('Say why you are changing these settings.');
    editor.pending = true;
    editor.error = '';
    send({ type: 'settings', patientId: editor.patientId, baseVersion: editor.overVersion ?? editor.baseVersion, spo2Scale: Number(scale.value), values, reason: reason.value.trim() });
    renderDetail();
  });
  editor.node = form;
  editor.message = message;
  editor.save = save;
  state.editor = editor;
  renderDetail();
}

function showEditorError(text) {
  if (!state.editor) return;
  state.editor.error = text;
  renderDetail();
}

function editorNode() {
  const editor = state.editor;
  editor.message.textContent = editor.error || editor.notice;
  editor.message.hidden = !(editor.error || editor.notice);
  editor.save.disabled = editor.pending || !state.connected;
  editor.save.textContent = editor.pending ? 'Saving…' : editor.overVersion !== null ? `Save over version ${editor.overVersion}` : 'Save';
  return editor.node;
}

// ---- sound, clock, start ----

let audio;
function beep() {
  if (state.muted) return;
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.6);
  } catch {
    // No audio device: the visual alert and the live region still announce it.
  }
}

function tick() {
  $('clock').textContent = new Date().toLocaleTimeString('en-GB');
  for (const cell of document.querySelectorAll('[data-last-seen]')) {
    const seen = cell.getAttribute('data-last-seen');
    const age = seen ? Date.now() - Date.parse(seen) : Infinity;
    cell.textContent = ago(seen || null);
    cell.className = age > STALE_RED_MS ? 'stale-red' : age > STALE_AMBER_MS ? 'stale-amber' : '';
  }
}

function start() {
  $('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token-input').value.trim();
    if (!token) return;
    sessionStorage.setItem('vw.token', token);
    state.token = token;
    state.authFailed = false;
    $('signin').hidden = true;
    connect();
  });
  $('ward-select').addEventListener('change', (event) => subscribe(event.target.value));
  $('mute').addEventListener('click', () => {
    state.muted = !state.muted;
    $('mute').setAttribute('aria-pressed', String(state.muted));
    $('mute').textContent = state.muted ? 'Sound off' : 'Sound on';
  });
  setInterval(tick, 1000);
  tick();
  state.token = readToken();
  if (state.token) connect();
  else {
    setConnection(false, 'Signed out');
    showSignIn();
  }
}

start();
