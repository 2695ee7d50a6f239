// The ward console: a live view of one virtual ward, fed by vw's /feed WebSocket (docs/feed.md).
// Plain browser JavaScript with no build step, so the page works offline and is easy to audit.

import { $, el, ago, clockTime, localDateTime, localised, plain } from './dom.js';
import { capacitySummary, renderCapacityStrip, updateCapacityAges } from './capacity.js';
import { referralForm, referralItem, STATE_LABEL } from './referrals.js';
import { applyRoster, applyRosterRecords } from './flow-model.js';
import { createAdmitDialog, dischargeForm, transferForm } from './flow-forms.js';

const SEVERITY_RANK = { 'low-medium': 1, medium: 2, high: 3 };
const BAND_LABEL = { low: 'Low', 'low-medium': 'Low–medium', medium: 'Medium', high: 'High' };
const PARAM_LABEL = {
  respiratory_rate: 'RR', spo2: 'SpO₂', supplemental_oxygen: 'O₂', systolic_bp: 'SBP',
  heart_rate: 'HR', consciousness: 'ACVPU', temperature: 'Temp',
};
/**
 * The charts of the selected patient: which series each draws, over how long, and which rule bands
 * are shaded behind it (chartBands from the server; SpO₂ by the patient's scale).
 */
const DAY_MS = 24 * 3600_000;
const CHARTS = [
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
const SETTING_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const STALE_AMBER_MS = 15 * 60_000;
const STALE_RED_MS = 60 * 60_000;
// vw closes the socket with this code when the token expires (docs/feed.md#token-expiry-and-refresh).
const CLOSE_TOKEN_EXPIRED = 4001;
const EXPIRED_MESSAGE = 'Your sign-in has expired: sign in again.';
// How long before the token expires the console renews it (through the deployment's hook) or warns.
const EXPIRY_WARNING_MS = 2 * 60_000;
// How long a notice such as "updates were missed" stays in the banner.
const NOTICE_MS = 20_000;

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
  // Sound for new high alerts is on, and plays once the user has interacted with the page (browsers
  // allow audio only then); the button turns it off.
  muted: false,
  interacted: false,
  authFailed: false,
  capacity: null,
  referrals: new Map(),
  routes: { version: '', routes: [], patientRoutes: [] },
  alertRoutes: new Map(),
  // The open referral form, if any: { key, patientId, alertId, node }.
  referring: null,
  roles: [],
  notifications: new Map(),
  chartBands: { ruleVersion: '', bands: {} },
  // Handover notes per patient, newest first; and the note form of the open patient, kept across renders.
  notes: new Map(),
  noteForm: null,
  // The token names the role "ward lead" (from the welcome): admit, discharge and transfer are offered.
  wardLead: false,
  // The open discharge or transfer form of the selected patient: { kind, patientId, node, focus }.
  flowForm: null,
  // When the token expires (from the welcome, or the last refresh), and the timer that warns before.
  expiresAt: null,
  expiryTimer: null,
  // The warning shown while the token is about to expire, kept in the banner until it is renewed.
  expiryWarning: '',
};

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

/** A passing notice in the banner: cleared after a while unless something else has replaced it. */
function showNotice(text) {
  showBanner(text);
  setTimeout(() => {
    if ($('banner').textContent === text) showBanner('');
  }, NOTICE_MS);
}

// ---- token expiry and renewal ----

/**
 * Before the token expires the console renews it: through `window.vwRefreshToken`, if the deployment
 * provides one (an async function resolving to a fresh token for the same user, e.g. from its SSO), or
 * else by warning the user and offering the sign-in form while the ward stays on screen. The new token
 * goes to vw in a `refresh` frame; the session goes on without a reload.
 */
function scheduleExpiry(expiresAt) {
  clearTimeout(state.expiryTimer);
  state.expiryTimer = null;
  state.expiryWarning = '';
  state.expiresAt = expiresAt ? Date.parse(expiresAt) : null;
  if (!state.expiresAt) return;
  const due = state.expiresAt - EXPIRY_WARNING_MS - Date.now();
  state.expiryTimer = setTimeout(renewSignIn, Math.max(0, Math.min(due, 2 ** 31 - 1)));
}

async function renewSignIn() {
  if (typeof window.vwRefreshToken === 'function') {
    try {
      const token = await window.vwRefreshToken();
      if (typeof token === 'string' && token) return sendRefresh(token);
    } catch {
      // Falls back to asking the user.
    }
  }
  const at = new Date(state.expiresAt).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
  state.expiryWarning = `Your sign-in expires at ${at}: sign in again below to stay connected.`;
  showBanner(state.expiryWarning);
  $('signin').hidden = false;
  const error = $('auth-error');
  error.hidden = false;
  error.textContent = `Your sign-in expires at ${at}. Paste a new access token to stay signed in.`;
}

function sendRefresh(token) {
  state.token = token;
  sessionStorage.setItem('vw.token', token);
  send({ type: 'refresh', token });
}

/** The token expired: vw has closed the session. The ward is hidden and the sign-in form shown. */
function signInExpired() {
  state.authFailed = true;
  clearTimeout(state.expiryTimer);
  sessionStorage.removeItem('vw.token');
  state.token = null;
  state.expiryWarning = '';
  setConnection(false, 'Signed out');
  showBanner('');
  showSignIn(EXPIRED_MESSAGE);
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
  socket.addEventListener('close', (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    if (event.code === CLOSE_TOKEN_EXPIRED) return signInExpired();
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
      state.roles = frame.roles || [];
      state.wardLead = frame.wardLead === true;
      state.wards = frame.wards;
      $('admit-open').hidden = !state.wardLead;
      if (!state.wardLead) {
        admitDialog.close();
        state.flowForm = null;
      }
      state.retryMs = 1000;
      $('user').textContent = frame.user;
      $('signin').hidden = true;
      scheduleExpiry(frame.expiresAt);
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
      state.capacity = { ...frame.capacity, receivedAt: Date.now() };
      state.referrals = new Map(frame.referrals.map((r) => [r.referralId, r]));
      state.routes = frame.routes;
      state.alertRoutes = new Map(Object.entries(frame.alertRoutes));
      state.notifications = new Map(frame.notifications.map((n) => [n.notificationId, n]));
      state.chartBands = frame.chartBands;
      state.notes = new Map();
      for (const note of frame.handoverNotes) state.notes.set(note.patientId, [...(state.notes.get(note.patientId) || []), note]);
      state.referring = null;
      // The open patient stays open if still on the ward; otherwise its panel and forms close.
      if (state.selected && !state.patients.has(state.selected)) forgetSelection();
      renderCapacity();
      setConnection(true, 'Live');
      // Sent unasked when vw dropped updates before it could read them: this picture replaces the partial one.
      if (frame.missedUpdates) showNotice(`Some updates were missed while vw was very busy: the ward was reloaded at ${new Date().toLocaleTimeString('en-GB')}.`);
      else showBanner(state.expiryWarning);
      $('ward').hidden = false;
      render();
      return;
    case 'refreshed': {
      // The session goes on with the new token: its wards (a subscription it no longer grants has ended) and expiry.
      state.roles = frame.roles || [];
      state.wardLead = frame.wardLead === true;
      state.wards = frame.wards;
      $('admit-open').hidden = !state.wardLead;
      $('signin').hidden = true;
      $('auth-error').hidden = true;
      showBanner('');
      scheduleExpiry(frame.expiresAt);
      fillWardPicker();
      $('announcer').textContent = 'Sign-in renewed.';
      if (!frame.wards.length) return showSignIn('Your token grants no ward.');
      if (!frame.wards.some((w) => w.wardId === state.wardId)) {
        state.wardId = null;
        subscribe(frame.wards[0].wardId);
      } else $('ward-select').value = state.wardId;
      return;
    }
    case 'roster':
      if (frame.wardId === state.wardId) applyRosterFrame(frame);
      return;
    case 'reading':
      if (frame.wardId === state.wardId) applyReading(frame.reading);
      return;
    case 'score':
      if (frame.wardId === state.wardId) applyScore(frame.score);
      return;
    case 'alert':
      if (frame.wardId !== state.wardId) return;
      state.alertRoutes.set(frame.alert.alertId, frame.routes || []);
      applyAlert(frame.alert);
      return;
    case 'capacity':
      if (frame.wardId !== state.wardId) return;
      state.capacity = { ...frame.capacity, receivedAt: Date.now() };
      renderCapacity();
      return;
    case 'referral':
      if (frame.wardId === state.wardId) applyReferral(frame.referral);
      return;
    case 'handoverNote': {
      if (frame.wardId !== state.wardId) return;
      const list = state.notes.get(frame.note.patientId) || [];
      if (!list.some((n) => n.noteId === frame.note.noteId)) state.notes.set(frame.note.patientId, [frame.note, ...list]);
      scheduleRender();
      return;
    }
    case 'handoverNoteAccepted':
      if (state.noteForm && state.noteForm.patientId === frame.patientId) {
        state.noteForm.text.value = '';
        state.noteForm.button.disabled = false;
        state.noteForm.button.textContent = 'Add note';
        $('announcer').textContent = 'Handover note saved.';
      }
      return;
    case 'notification': {
      if (frame.wardId !== state.wardId) return;
      const n = frame.notification;
      const held = state.notifications.get(n.notificationId);
      if (held && held.revision >= n.revision) return;
      state.notifications.set(n.notificationId, n);
      if (!held && state.roles.includes(n.target)) {
        $('announcer').textContent = `Escalated to you as ${n.target}: ${n.message}`;
        beep();
      }
      scheduleRender();
      return;
    }
    case 'referralAccepted':
      if (state.referring && state.referring.pending) {
        state.referring = null;
        $('announcer').textContent = 'Referral requested: its progress is shown with the patient.';
        focusLater(`referrals:${frame.patientId}`);
      }
      scheduleRender();
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
      if (frame.code === 'unauthorized' && frame.message === 'token expired') {
        signInExpired();
      } else if (frame.code === 'unauthorized') {
        state.authFailed = true;
        clearTimeout(state.expiryTimer);
        sessionStorage.removeItem('vw.token');
        state.token = null;
        setConnection(false, 'Signed out');
        showSignIn(`Sign-in refused: ${frame.message}.`);
      } else if (state.referring && state.referring.pending) {
        state.referring.pending = false;
        const message = state.referring.node.querySelector('[role="alert"]');
        message.hidden = false;
        message.textContent = `Not sent: ${frame.message}.`;
        const button = state.referring.node.querySelector('[data-testid="referral-send"]');
        button.disabled = false;
        button.textContent = 'Send referral';
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
  state.flowForm = null;
  sessionStorage.setItem('vw.ward', wardId);
  $('ward-select').value = wardId;
  send({ type: 'subscribe', wardId });
}

/**
 * Someone admitted, transferred or discharged a patient: the roster says who is on the ward now.
 * Patients join or leave the list. A patient's alerts, referrals, notifications and notes follow them:
 * those of a patient transferred away leave with them, and those of a patient transferred in arrive
 * with them. Everything else on the console stays as it is.
 */
function applyRosterFrame(frame) {
  const { joined, left, missing } = applyRoster(state.patients, frame);
  const { dropped, arrived } = applyRosterRecords(state, frame);
  for (const alertId of dropped) {
    state.pendingAck.delete(alertId);
    state.fresh.delete(alertId);
  }
  const movedAway = new Set(frame.transferredOut || []);
  if (state.referring && movedAway.has(state.referring.patientId)) state.referring = null;
  const notesOf = new Map();
  for (const note of frame.handoverNotes) notesOf.set(note.patientId, [...(notesOf.get(note.patientId) || []), note]);
  for (const [patientId, notes] of notesOf) {
    const held = state.notes.get(patientId) || [];
    const merged = [...held, ...notes.filter((n) => !held.some((h) => h.noteId === n.noteId))];
    state.notes.set(patientId, merged.sort((a, b) => Date.parse(b.at) - Date.parse(a.at)));
  }
  for (const patient of left) state.notes.delete(patient.patientId);
  if (state.selected && !state.patients.has(state.selected)) forgetSelection();
  const openArrived = (patientId) => arrived.filter((a) => a.patientId === patientId && a.state !== 'resolved').length;
  const joinedWords = (p) => {
    const open = openArrived(p.patientId);
    return `${p.displayName} joined the ward${open ? `, with ${open} unresolved alert${open === 1 ? '' : 's'}` : ''}.`;
  };
  const words = [...joined.map(joinedWords), ...left.map((p) => `${p.displayName} left the ward.`)];
  if (words.length) $('announcer').textContent = words.join(' ');
  // An id it cannot draw means the console missed something: it starts again from a snapshot.
  if (missing.length) send({ type: 'subscribe', wardId: state.wardId });
  scheduleRender();
}

/** The open patient is no longer on the ward: close the panel and the forms that were about them. */
function forgetSelection() {
  const patientId = state.selected;
  state.selected = null;
  if (state.editor && state.editor.patientId === patientId) state.editor = null;
  if (state.referring && state.referring.patientId === patientId) state.referring = null;
  if (state.noteForm && state.noteForm.patientId === patientId) state.noteForm = null;
  if (state.flowForm && state.flowForm.patientId === patientId) state.flowForm = null;
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
  const points = state.series.get(`${score.patientId}:news2`);
  if (points && !score.partial) points.push({ ts: score.ts, value: score.total });
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
    $('announcer').textContent = `New ${alert.severity} alert for ${name}: ${localised(alert.explanation)}`;
    if (alert.severity === 'high') beep();
  }
  scheduleRender();
}

function applyReferral(referral) {
  const held = state.referrals.get(referral.referralId);
  if (held && held.revision >= referral.revision) return;
  state.referrals.set(referral.referralId, referral);
  const patient = state.patients.get(referral.patientId);
  if (held && held.state !== referral.state) {
    $('announcer').textContent = `Referral of ${patient ? patient.displayName : 'a patient'} to ${referral.routeTitle}: ${referral.state}.`;
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

const NOTIFICATION_TEXT = {
  pending: () => 'sending…',
  retrying: (n) => `not delivered yet (attempt ${n.attempts}: ${n.lastError}); retrying`,
  delivered: (n) => `delivered at ${clockTime(n.lastAttemptAt || n.updatedAt)}`,
  failed: (n) => `NOT DELIVERED: ${n.lastError}${n.escalatedTo ? '; escalated' : ''}`,
  console_only: () => 'shown on ward consoles (no webhook set up for this role)',
  withdrawn: () => 'not sent: the alert was taken in hand first',
};

function referralsOf(alertId) {
  return [...state.referrals.values()].filter((r) => r.alertIds.includes(alertId)).sort((a, b) => Date.parse(a.requestedAt) - Date.parse(b.requestedAt));
}

function notificationsOf(alertId) {
  return [...state.notifications.values()].filter((n) => n.alertId === alertId).sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
}

/**
 * Banners: an escalation addressed to a role this user holds, while the alert waits; and any
 * notification that could not be delivered, so someone phones instead.
 */
function renderNotices() {
  const notices = [];
  for (const n of state.notifications.values()) {
    const alert = state.alerts.get(n.alertId);
    if (!alert || alert.state === 'resolved') continue;
    const patient = state.patients.get(n.patientId);
    const who = patient ? patient.displayName : 'a patient';
    const waiting = alert.state === 'open' || alert.state === 'escalated';
    if (waiting && state.roles.includes(n.target)) {
      notices.push(el('li', { class: 'notice notice-you', 'data-testid': 'notice', 'data-kind': 'to-you', 'data-notification-id': n.notificationId },
        el('strong', {}, `Escalated to you (${n.target}): ${who}. `), n.message, ' ',
        el('button', { type: 'button', class: 'secondary', onclick: () => goToAlert(n.alertId) }, 'Go to the alert')));
    } else if (n.status === 'failed') {
      notices.push(el('li', { class: 'notice notice-failed', 'data-testid': 'notice', 'data-kind': 'failed', 'data-notification-id': n.notificationId },
        el('strong', {}, `Could not notify ${n.target} about ${who}: `), `${n.lastError}. Phone them.`, ' ',
        el('button', { type: 'button', class: 'secondary', onclick: () => goToAlert(n.alertId) }, 'Go to the alert')));
    }
  }
  $('notices').replaceChildren(...notices);
  $('notices').hidden = notices.length === 0;
}

function goToAlert(alertId) {
  const target = document.querySelector(`[data-focus-key="act:${CSS.escape(alertId)}"]`) || document.querySelector(`[data-alert-id="${CSS.escape(alertId)}"]`);
  const details = target && target.closest('details');
  if (details) details.open = true;
  if (target) {
    target.scrollIntoView({ block: 'center' });
    target.focus();
  }
}

function render() {
  renderNotices();
  $('ward-name').textContent = state.wardName || 'Virtual ward';
  document.title = state.wardName ? `${state.wardName} · vw` : 'vw · Virtual ward console';
  renderBeds();
  const focusKey = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.focusKey : undefined;
  renderPatients();
  renderAlerts();
  renderDetail();
  // An action re-draws the lists: the focus goes back to where it was, so keyboard use carries on.
  restoreFocus(focusKey);
}

let focusWanted = null;
/** Moves the focus to an element once the next render has drawn it. */
function focusLater(key) {
  focusWanted = key;
}

function restoreFocus(previous) {
  const key = focusWanted || previous;
  if (!key) return;
  const target = document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
  // A button still disabled (its action on its way) cannot take the focus yet: the next render gives it.
  if (!target || target.disabled) return;
  if (document.activeElement !== target) target.focus();
  if (focusWanted === key) focusWanted = null;
}

function renderBeds() {
  const beds = state.capacity && state.capacity.beds;
  const node = $('beds');
  node.hidden = !beds;
  if (beds) node.textContent = `Beds: ${beds.occupied} occupied of ${beds.commissioned} commissioned (${Math.round((beds.occupied / beds.commissioned) * 100)}%)`;
}

function renderCapacity() {
  renderCapacityStrip($('capacity-strip'), state.capacity);
  $('capacity-title').textContent = state.capacity && state.capacity.ics ? `Urgent care pressure · ${state.capacity.ics.name}` : 'Urgent care pressure';
  $('capacity-summary').textContent = capacitySummary(state.capacity);
  renderBeds();
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
    { title: reading ? `${reading.deviceId}, ${clockTime(reading.ts)}` : 'no reading', 'data-label': PARAM_LABEL[type] || type },
    text ?? '–',
    extra,
    unreliable ? el('span', { class: 'badge badge-warn', title: 'Irregular pulse during measurement: may be unreliable' }, '⚠ irregular pulse') : null,
  );
}

function scoreCell(patient) {
  const score = patient.score;
  if (!score) return el('td', { 'data-label': 'NEWS2' }, el('span', { class: 'score band-none', 'data-testid': 'news2-total' }, '–'));
  const missing = score.partial ? score.missing.map((m) => PARAM_LABEL[m] || m).join(', ') : '';
  return el(
    'td',
    { title: `${BAND_LABEL[score.band]} · ${score.ruleId} ${score.ruleVersion}`, 'data-label': 'NEWS2' },
    el('span', { class: `score band-${score.band}`, 'data-testid': 'news2-total' }, String(score.total)),
    score.partial ? el('span', { class: 'partial' }, `partial (missing: ${missing})`) : null,
  );
}

function lastDataCell(patient) {
  const age = patient.lastSeen ? Date.now() - Date.parse(patient.lastSeen) : Infinity;
  const cls = age > STALE_RED_MS ? 'stale-red' : age > STALE_AMBER_MS ? 'stale-amber' : '';
  return el('td', { class: cls, 'data-last-seen': patient.lastSeen || '', 'data-label': 'Last data' }, ago(patient.lastSeen));
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
        onclick: (event) => {
          if (event.target.closest('button') === null) select(p.patientId);
        },
      },
      el('th', { scope: 'row', class: 'patient-cell' },
        el('button', { type: 'button', class: 'name linklike', 'aria-expanded': String(state.selected === p.patientId), 'aria-controls': 'detail', 'data-focus-key': `row:${p.patientId}`, 'data-testid': 'patient-open', onclick: () => select(p.patientId) }, p.displayName),
        topAlert ? el('span', { class: `badge sev-badge band-${topAlert.severity}` }, `${BAND_LABEL[topAlert.severity]} alert`) : null,
        irregular ? el('span', { class: 'badge badge-warn', title: 'Irregular-rhythm notification: obtain an ECG' }, 'Irregular rhythm') : null, el('span', { class: 'sub' }, pathwaysOf(p).join(', '))),
      scoreCell(p),
      vitalCell(p, 'respiratory_rate', { digits: 0 }),
      vitalCell(p, 'spo2', {
        digits: 0,
        extra: [p.spo2Scale === 2 ? el('span', { class: 'badge', title: 'NEWS2 SpO2 Scale 2' }, 'Scale 2') : null, onOxygen ? el('span', { class: 'badge badge-o2' }, 'O₂') : null],
      }),
      el('td', { title: 'Systolic / diastolic, mmHg', 'data-label': 'BP' }, sys ? `${sys}/${dia ?? '–'}` : '–',
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

/** A rule's explanation reads "Title: what crossed which threshold": the title is the headline. */
function headline(a) {
  const text = plain(localised(a.explanation));
  const at = text.indexOf(': ');
  return at > 0 && at < 60 ? { title: text.slice(0, at), detail: text.slice(at + 2) } : { title: text, detail: '' };
}

/** One alert: what happened in words, what to do, the evidence, and its actions. */
function alertBlock(a, { primary }) {
  const words = headline(a);
  const last = a.history[a.history.length - 1];
  const ack = [...a.history].reverse().find((h) => h.state === 'acknowledged');
  const escalated = a.history.filter((h) => h.state === 'escalated');
  const pending = state.pendingAck.has(a.alertId);
  const note = el('input', { type: 'text', maxlength: 500, placeholder: 'Note (optional)', 'aria-label': 'Note for this action', 'data-focus-key': `note:${a.alertId}` });
  const routes = state.alertRoutes.get(a.alertId) || [];
  const referringHere = state.referring && state.referring.key === `alert:${a.alertId}`;
  return el(
    'li',
    {
      class: `alert sev-${a.severity} state-${a.state} ${primary ? 'primary' : 'folded'} ${state.fresh.has(a.alertId) ? 'fresh' : ''}`,
      'data-testid': 'alert-item',
      'data-alert-id': a.alertId,
      'data-state': a.state,
      'data-severity': a.severity,
      'data-rule': a.ruleId,
    },
    el('div', { class: 'alert-head' },
      el('span', { class: 'alert-title' }, words.title),
      el('span', { class: `sev band-${a.severity}` }, BAND_LABEL[a.severity])),
    el('p', { class: 'response' }, el('strong', {}, 'Do: '), a.response),
    words.detail ? el('p', { class: 'small why' }, words.detail) : null,
    el('div', { class: 'alert-meta' }, `Raised ${localDateTime(a.raisedAt)} (${ago(a.raisedAt)}) · ${STATE_WORDS[a.state]} · rule ${a.ruleId} ${a.ruleVersion}`),
    escalated.length ? el('p', { class: 'small escalation' }, `Escalated: ${escalated.map((h) => `${clockTime(h.at)}${h.note ? ` ${h.note}` : ''}`).join('; ')}`) : null,
    referralsOf(a.alertId).length
      ? el('ul', { class: 'alert-referrals small', 'aria-label': 'Referrals for this alert' }, referralsOf(a.alertId).map((r) =>
          el('li', { 'data-testid': 'alert-referral', 'data-state': r.state }, `Referred to ${r.routeTitle} by ${r.requestedBy} at ${clockTime(r.requestedAt)}: ${STATE_LABEL[r.state] || r.state}`)))
      : null,
    notificationsOf(a.alertId).length
      ? el('ul', { class: 'notifications small', 'aria-label': 'Notifications' }, notificationsOf(a.alertId).map((n) =>
          el('li', { 'data-testid': 'notification', 'data-status': n.status, class: n.status === 'failed' ? 'error' : '' }, `Notified ${n.target}: ${NOTIFICATION_TEXT[n.status](n)}`)))
      : null,
    el('details', {},
      el('summary', {}, `Evidence (${a.evidence.length} reading${a.evidence.length === 1 ? '' : 's'})`),
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
                'data-focus-key': `act:${a.alertId}`,
                disabled: pending || !state.connected,
                onclick: () => act('acknowledge', a.alertId, note.value),
              }, pending ? 'Sending…' : 'Acknowledge')
            : el('button', {
                type: 'button',
                class: 'secondary',
                'data-testid': 'resolve-button',
                'data-focus-key': `act:${a.alertId}`,
                disabled: pending || !state.connected,
                title: 'The patient has been reviewed: close this alert. A new deterioration opens a new one.',
                onclick: () => act('resolve', a.alertId, note.value),
              }, pending ? 'Sending…' : 'Resolve'),
          routes.length
            ? el('button', {
                type: 'button',
                class: 'secondary',
                'data-testid': 'refer-button',
                'data-focus-key': `refer:${a.alertId}`,
                'aria-expanded': String(Boolean(referringHere)),
                disabled: !state.connected,
                onclick: () => openReferral(a.patientId, a),
              }, 'Refer or escalate')
            : null)
      : null,
    referringHere ? state.referring.node : null,
  );
}

const STATE_WORDS = { open: 'waiting for acknowledgement', escalated: 'escalated, waiting for acknowledgement', acknowledged: 'acknowledged', resolved: 'resolved' };

/**
 * Alerts grouped per patient: one card per patient at its highest severity, the patient's other open
 * alerts folded under it, then the patient's referrals. Patients whose alerts wait for someone come first.
 */
function renderAlerts() {
  const unresolved = [...state.alerts.values()].filter((a) => a.state !== 'resolved');
  const resolved = [...state.alerts.values()].filter((a) => a.state === 'resolved').sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt));
  const byPatient = new Map();
  for (const a of unresolved) byPatient.set(a.patientId, [...(byPatient.get(a.patientId) || []), a]);
  // Patients with open referrals but no open alert still get a card, so a referral is never out of sight.
  for (const r of state.referrals.values()) {
    if (!['rejected', 'completed', 'cancelled'].includes(r.state) && !byPatient.has(r.patientId)) byPatient.set(r.patientId, []);
  }
  const groups = [...byPatient].map(([patientId, alerts]) => ({ patientId, alerts: alerts.sort(alertOrder) }));
  const rank = (g) => Math.max(0, ...g.alerts.map((a) => SEVERITY_RANK[a.severity]));
  const waiting = (g) => (g.alerts.some((a) => a.state === 'open' || a.state === 'escalated') ? 1 : 0);
  groups.sort((x, y) => waiting(y) - waiting(x) || rank(y) - rank(x) || Date.parse(y.alerts[0]?.updatedAt || 0) - Date.parse(x.alerts[0]?.updatedAt || 0));
  const open = unresolved.filter((a) => a.state === 'open' || a.state === 'escalated').length;
  $('alert-count').textContent = unresolved.length ? `${open} waiting · ${unresolved.length} unresolved · ${groups.length} patient${groups.length === 1 ? '' : 's'}` : '';
  $('no-alerts').hidden = groups.length > 0 || resolved.length > 0;
  const cards = groups.map(({ patientId, alerts }) => {
    const patient = state.patients.get(patientId);
    const [top, ...rest] = alerts;
    const referrals = [...state.referrals.values()].filter((r) => r.patientId === patientId).sort((a, b) => Date.parse(b.requestedAt) - Date.parse(a.requestedAt));
    return el('li', { class: `patient-card ${top ? `sev-${top.severity}` : ''}`, 'data-testid': 'patient-alerts', 'data-patient-id': patientId },
      el('h3', { class: 'card-title' },
        el('span', {}, patient ? patient.displayName : patientId),
        patient && patient.score ? el('span', { class: `score band-${patient.score.band}`, title: 'NEWS2' }, `NEWS2 ${patient.score.total}`) : null),
      top ? el('ol', { class: 'alert-list' }, alertBlock(top, { primary: true })) : null,
      rest.length
        ? el('details', { class: 'folded-alerts' },
            el('summary', {}, `${rest.length} more open alert${rest.length === 1 ? '' : 's'} for ${patient ? patient.displayName : 'this patient'}`),
            el('ol', { class: 'alert-list' }, rest.map((a) => alertBlock(a, { primary: false }))))
        : null,
      referrals.length ? referralSection(patientId, referrals) : null,
    );
  });
  const resolvedList = resolved.length
    ? el('li', { class: 'resolved-group' },
        el('h3', { class: 'card-title' }, `Resolved in the last 24 hours (${resolved.length})`),
        el('ol', { class: 'alert-list' }, resolved.map((a) => {
          const patient = state.patients.get(a.patientId);
          const block = alertBlock(a, { primary: false });
          block.querySelector('.alert-title').textContent = `${patient ? patient.displayName : a.patientId}: ${headline(a).title}`;
          return block;
        })))
    : null;
  // Keep a half-typed note or reason, or a route being chosen: skip re-rendering while someone is in a form here.
  const active = document.activeElement;
  if (state.referring && state.referring.node.contains(active) && $('alert-list').contains(active)) return;
  if (active && $('alert-list').contains(active) && (active.tagName === 'INPUT' || active.tagName === 'TEXTAREA') && active.type !== 'radio') return;
  $('alert-list').replaceChildren(...cards, ...(resolvedList ? [resolvedList] : []));
}

function referralSection(patientId, referrals) {
  return el('section', { class: 'referrals', 'aria-label': 'Referrals', tabindex: '-1', 'data-focus-key': `referrals:${patientId}` },
    el('h4', {}, 'Referrals'),
    el('ol', { class: 'referral-list' }, referrals.map((r) => referralItem(r, { canCancel: state.connected, onCancel: cancelReferral }))));
}

function openReferral(patientId, alert) {
  const key = alert ? `alert:${alert.alertId}` : `patient:${patientId}`;
  if (state.referring && state.referring.key === key) {
    state.referring = null;
    focusLater(alert ? `refer:${alert.alertId}` : `patient-refer:${patientId}`);
    render();
    return;
  }
  const patient = state.patients.get(patientId);
  const ids = alert ? state.alertRoutes.get(alert.alertId) || [] : state.routes.patientRoutes;
  const routes = ids.map((id) => state.routes.routes.find((r) => r.id === id)).filter(Boolean);
  const referring = { key, patientId, alertId: alert ? alert.alertId : null, pending: false, node: null };
  referring.node = referralForm({
    patientName: patient ? patient.displayName : patientId,
    alert,
    routes,
    capacity: state.capacity,
    onSend: (route, note) => {
      referring.pending = true;
      send({ type: 'refer', patientId, route, ...(alert ? { alertId: alert.alertId } : {}), ...(note ? { note } : {}) });
    },
    onClose: () => openReferral(patientId, alert),
  });
  state.referring = referring;
  render();
  referring.node.querySelector('input[type="radio"]')?.focus();
}

function cancelReferral(referralId, note) {
  send({ type: 'cancelReferral', referralId, note });
}

function act(type, alertId, note) {
  state.pendingAck.add(alertId);
  send({ type, alertId, ...(note && note.trim() ? { note: note.trim() } : {}) });
  // The alert's next action button (Resolve after Acknowledge) takes the focus once it is drawn.
  focusLater(`act:${alertId}`);
  render();
}

// ---- admitting, discharging and transferring (ward leads; docs/feed.md) ----

const wardNames = () => Object.fromEntries(state.wards.map((w) => [w.wardId, w.name]));
const flowContext = () => ({ token: state.token, wardNames: wardNames(), ward: { wardId: state.wardId, name: state.wardName || state.wardId } });

const admitDialog = createAdmitDialog({ context: flowContext, onDone: showFlowResult });

/** What vw recorded, under the ward's name: the focus goes there, so the next step starts from it. */
function showFlowResult(result) {
  const box = $('flow-result');
  box.classList.toggle('warn', Boolean(result.warning));
  box.replaceChildren(...[
    el('span', { 'data-testid': 'flow-result-text' }, result.text),
    result.warning ? el('strong', { class: 'flow-warning', 'data-testid': 'flow-warning' }, result.warning) : null,
    el('button', { type: 'button', class: 'secondary', onclick: () => { box.hidden = true; } }, 'Dismiss'),
  ].filter(Boolean));
  box.hidden = false;
  box.focus();
}

function flowButtons(patient) {
  if (!state.wardLead) return [];
  const open = state.flowForm && state.flowForm.patientId === patient.patientId ? state.flowForm.kind : null;
  return [
    el('button', {
      type: 'button',
      class: 'secondary',
      'data-testid': 'discharge-button',
      'data-focus-key': `discharge:${patient.patientId}`,
      'aria-expanded': String(open === 'discharge'),
      onclick: () => openFlowForm('discharge', patient),
    }, 'Discharge'),
    state.wards.length > 1
      ? el('button', {
          type: 'button',
          class: 'secondary',
          'data-testid': 'transfer-button',
          'data-focus-key': `transfer:${patient.patientId}`,
          'aria-expanded': String(open === 'transfer'),
          onclick: () => openFlowForm('transfer', patient),
        }, 'Transfer to another ward')
      : null,
  ];
}

/** Opens (or, pressed again, closes) the patient's discharge or transfer form. */
function openFlowForm(kind, patient) {
  if (state.flowForm && state.flowForm.patientId === patient.patientId && state.flowForm.kind === kind) {
    state.flowForm = null;
    focusLater(`${kind}:${patient.patientId}`);
    render();
    return;
  }
  const options = {
    patient,
    ward: { wardId: state.wardId, name: state.wardName || state.wardId },
    wards: state.wards,
    context: flowContext,
    onDone: (result) => {
      state.flowForm = null;
      render();
      showFlowResult(result);
    },
    onClose: () => {
      state.flowForm = null;
      focusLater(`${kind}:${patient.patientId}`);
      render();
    },
  };
  const form = kind === 'discharge' ? dischargeForm(options) : transferForm(options);
  state.flowForm = { kind, patientId: patient.patientId, ...form };
  render();
  form.focus();
}

// ---- trends for the selected patient ----

function select(patientId) {
  state.selected = state.selected === patientId ? null : patientId;
  if (state.editor && state.editor.patientId !== state.selected) state.editor = null;
  if (state.flowForm && state.flowForm.patientId !== state.selected) state.flowForm = null;
  if (state.selected) {
    for (const chart of CHARTS) for (const type of chart.series) send({ type: 'series', patientId, readingType: type, since: new Date(Date.now() - chart.spanMs).toISOString() });
  }
  render();
}

function renderDetail() {
  const detail = $('detail');
  const patient = state.selected && state.patients.get(state.selected);
  if (!patient) {
    detail.hidden = true;
    detail.replaceChildren();
    return;
  }
  // Moving a form would take the focus from whoever is typing in it: update it in place instead.
  if (state.editor && state.editor.node.contains(document.activeElement) && detail.contains(state.editor.node)) {
    editorNode();
    return;
  }
  if (state.referring && state.referring.node.contains(document.activeElement) && detail.contains(state.referring.node)) return;
  if (state.flowForm && state.flowForm.node.contains(document.activeElement) && detail.contains(state.flowForm.node)) return;
  if (state.noteForm && state.noteForm.node.contains(document.activeElement) && detail.contains(state.noteForm.node)) {
    // Someone is writing a note: refresh only the list beside it.
    const list = detail.querySelector('[data-testid="handover-notes"]');
    if (list) list.replaceWith(notesList(patient));
    return;
  }
  detail.hidden = false;
  const referrals = [...state.referrals.values()].filter((r) => r.patientId === patient.patientId).sort((a, b) => Date.parse(b.requestedAt) - Date.parse(a.requestedAt));
  const referringHere = state.referring && state.referring.key === `patient:${patient.patientId}`;
  detail.replaceChildren(...[
    patientHeader(patient),
    el('div', { class: 'detail-actions' },
      el('button', {
        type: 'button',
        class: 'secondary',
        'data-testid': 'patient-refer-button',
        'data-focus-key': `patient-refer:${patient.patientId}`,
        'aria-expanded': String(Boolean(referringHere)),
        disabled: !state.connected || !state.routes.patientRoutes.length,
        onclick: () => openReferral(patient.patientId, null),
      }, 'Refer or escalate'),
      ...flowButtons(patient)),
    state.flowForm && state.flowForm.patientId === patient.patientId ? state.flowForm.node : null,
    referringHere ? state.referring.node : null,
    referrals.length ? referralSection(`detail-${patient.patientId}`, referrals) : null,
    notesSection(patient),
    el('h4', { class: 'trends-title' }, `Charts: up to the last 24 hours (weight 7 days); shading shows the ${state.chartBands.ruleVersion || 'NEWS2'} score bands`),
    el('div', { class: 'trends' }, CHARTS.map((chart) => chartCard(patient, chart))),
    settingsPanel(patient),
  ].filter(Boolean));
}

function notesList(patient) {
  const notes = state.notes.get(patient.patientId) || [];
  if (!notes.length) return el('p', { class: 'muted small', 'data-testid': 'handover-notes' }, 'No handover notes yet.');
  return el('ol', { class: 'notes', 'data-testid': 'handover-notes' }, notes.map((n) =>
    el('li', { 'data-testid': 'handover-note' }, el('div', { class: 'small muted' }, `${n.by} · ${localDateTime(n.at)} (${ago(n.at)})`), el('div', { class: 'note-text' }, n.text))));
}

/** Handover notes: newest first, each with who wrote it and when; a note is never edited, only added. */
function notesSection(patient) {
  if (!state.noteForm || state.noteForm.patientId !== patient.patientId) {
    const text = el('textarea', { rows: 2, maxlength: 2000, 'data-testid': 'note-text', 'aria-label': `Handover note for ${patient.displayName}`, placeholder: 'What the next shift needs to know' });
    const button = el('button', { type: 'submit', class: 'secondary', 'data-testid': 'note-add' }, 'Add note');
    const node = el('form', { class: 'note-form', onsubmit: (event) => {
      event.preventDefault();
      if (!text.value.trim()) return text.focus();
      button.disabled = true;
      button.textContent = 'Saving…';
      send({ type: 'handoverNote', patientId: patient.patientId, text: text.value.trim() });
    } }, text, button);
    state.noteForm = { patientId: patient.patientId, node, text, button };
  }
  state.noteForm.button.disabled = state.noteForm.button.disabled || !state.connected;
  return el('section', { class: 'handover', 'aria-label': 'Handover notes' }, el('h4', {}, 'Handover notes'), state.noteForm.node, notesList(patient));
}

function age(dateOfBirth) {
  if (!dateOfBirth) return null;
  const born = new Date(dateOfBirth);
  const now = new Date();
  let years = now.getFullYear() - born.getFullYear();
  if (now.getMonth() < born.getMonth() || (now.getMonth() === born.getMonth() && now.getDate() < born.getDate())) years--;
  return years;
}

/** NHS numbers are read in groups of 3, 3 and 4 digits. */
function nhsNumber(n) {
  return n ? `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}` : null;
}

function patientHeader(patient) {
  const years = age(patient.dateOfBirth);
  return el('header', { class: 'patient-header', 'data-testid': 'patient-header' },
    el('h3', {}, patient.displayName),
    el('dl', { class: 'patient-facts' },
      el('dt', {}, 'NHS number'), el('dd', { 'data-testid': 'nhs-number' }, nhsNumber(patient.nhsNumber) || 'not recorded'),
      el('dt', {}, 'Age'), el('dd', {}, years === null ? 'not recorded' : `${years} (born ${new Date(patient.dateOfBirth).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' })})`),
      el('dt', {}, 'Pathway'), el('dd', {}, pathwaysOf(patient).join(', ') || 'none'),
      el('dt', {}, 'Contacts'), el('dd', {}, patient.contacts && patient.contacts.length ? patient.contacts.map((c) => `${c.name} (${c.relationship})${c.phone ? ` ${c.phone}` : ''}`).join('; ') : 'none recorded'),
      el('dt', {}, 'Escalation plan'), el('dd', { class: 'plan' }, patient.escalationPlan || 'none recorded: agree one with the patient')));
}

function chartCard(patient, chart) {
  const data = chart.series.map((type) => (state.series.get(`${patient.patientId}:${type}`) || []).filter((p) => typeof p.value === 'number'));
  const bandKey = chart.bands(patient);
  const bands = (bandKey && state.chartBands.bands[bandKey]) || [];
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

/** One chart drawn with uPlot: time along the bottom, values up the side, rule bands shaded behind. */
function vitalChart(data, { label, bands, lines, spanMs }) {
  const count = data.reduce((n, d) => n + d.length, 0);
  const box = el('div', { class: 'vital-chart', role: 'img', 'aria-label': count ? `${label}: ${count} readings` : `${label}: no readings in this period` });
  const Plot = window.uPlot;
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
  if (state.muted || !state.interacted) return;
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
  updateCapacityAges($('capacity-strip'), state.capacity);
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
    // Signed in and connected: the new token renews this session (vw refuses one for another user).
    if (state.socket && state.socket.readyState === WebSocket.OPEN && state.user && !state.authFailed) {
      $('token-input').value = '';
      return sendRefresh(token);
    }
    sessionStorage.setItem('vw.token', token);
    state.token = token;
    state.authFailed = false;
    $('signin').hidden = true;
    connect();
  });
  $('ward-select').addEventListener('change', (event) => subscribe(event.target.value));
  $('admit-open').addEventListener('click', () => admitDialog.open());
  // Someone who moves on elsewhere keeps the focus where they put it.
  document.addEventListener('focusin', (event) => {
    if (focusWanted && event.target.dataset && event.target.dataset.focusKey !== focusWanted && event.target !== document.body) focusWanted = null;
  });
  // Browsers let a page play sound only after the user has interacted with it.
  for (const type of ['pointerdown', 'keydown']) {
    document.addEventListener(type, () => {
      state.interacted = true;
    }, { once: true, capture: true });
  }
  $('mute').addEventListener('click', () => {
    state.muted = !state.muted;
    $('mute').setAttribute('aria-pressed', String(!state.muted));
    $('mute').textContent = state.muted ? 'Sound: off' : 'Sound: on';
  });
  // On a phone the alerts come first: the capacity strip starts folded to one line.
  if (window.matchMedia('(max-width: 700px)').matches) $('capacity').open = false;
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
