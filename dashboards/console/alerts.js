// @ts-check
// The alerts column: one card per patient at its highest severity, with the patient's other open
// alerts folded under it and their referrals; then the alerts resolved in the last 24 hours. Each alert
// says what happened in words, what to do and on what evidence, and offers acknowledge or resolve, and
// the referral routes it offers.

import { send } from './connection.js';
import { $, el, ago, clockTime, localDateTime, localised, plain } from './dom.js';
import { focusLater } from './focus.js';
import { ALERT_STATE_WORDS as STATE_WORDS, BAND_LABEL, REFERRAL_STATE_LABEL as STATE_LABEL, SEVERITY_RANK, paramLabel } from './labels.js';
import { NOTIFICATION_TEXT, notificationsOf } from './notices.js';
import { openReferral, referralSection } from './referral-actions.js';
import { render } from './render.js';
import { state } from './state.js';

/** @typedef {import('./generated/frames').Alert} Alert */

/** An alert's referrals, oldest first. */
function referralsOf(/** @type {string} */ alertId) {
  return [...state.referrals.values()].filter((r) => r.alertIds.includes(alertId)).sort((a, b) => Date.parse(a.requestedAt) - Date.parse(b.requestedAt));
}

/** Unresolved first, then those waiting for someone, then by severity, then the latest change first. */
function alertOrder(/** @type {Alert} */ a, /** @type {Alert} */ b) {
  const unresolved = (/** @type {Alert} */ x) => (x.state === 'resolved' ? 0 : 1);
  const waiting = (/** @type {Alert} */ x) => (x.state === 'open' || x.state === 'escalated' ? 1 : 0);
  return unresolved(b) - unresolved(a) || waiting(b) - waiting(a) || SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || Date.parse(b.updatedAt) - Date.parse(a.updatedAt);
}

/** A rule's explanation reads "Title: what crossed which threshold": the title is the headline. */
function headline(/** @type {Alert} */ a) {
  const text = plain(localised(a.explanation));
  const at = text.indexOf(': ');
  return at > 0 && at < 60 ? { title: text.slice(0, at), detail: text.slice(at + 2) } : { title: text, detail: '' };
}

/**
 * One alert: what happened in words, what to do, the evidence, and its actions.
 * @param {Alert} a
 * @param {{ primary: boolean }} options
 */
function alertBlock(a, { primary }) {
  const words = headline(a);
  const last = a.history[a.history.length - 1];
  const ack = [...a.history].reverse().find((h) => h.state === 'acknowledged');
  const escalated = a.history.filter((h) => h.state === 'escalated');
  const pending = state.pendingAck.has(a.alertId);
  const note = el('input', { type: 'text', maxlength: 500, placeholder: 'Note (optional)', 'aria-label': 'Note for this action', 'data-focus-key': `note:${a.alertId}` });
  const routes = state.alertRoutes.get(a.alertId) || [];
  const referringHere = state.referring && state.referring.key === `alert:${a.alertId}` ? state.referring : null;
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
      el('ul', {}, a.evidence.map((e) => el('li', {}, `${paramLabel(e.type)} ${String(e.value)} at ${clockTime(e.ts)}: ${e.threshold}`)))),
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
    referringHere ? referringHere.node : null,
  );
}

/**
 * Alerts grouped per patient: one card per patient at its highest severity, the patient's other open
 * alerts folded under it, then the patient's referrals. Patients whose alerts wait for someone come first.
 */
export function renderAlerts() {
  const unresolved = [...state.alerts.values()].filter((a) => a.state !== 'resolved');
  const resolved = [...state.alerts.values()].filter((a) => a.state === 'resolved').sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt));
  /** @type {Map<string, Alert[]>} */
  const byPatient = new Map();
  for (const a of unresolved) byPatient.set(a.patientId, [...(byPatient.get(a.patientId) || []), a]);
  // Patients with open referrals but no open alert still get a card, so a referral is never out of sight.
  for (const r of state.referrals.values()) {
    if (!['rejected', 'completed', 'cancelled'].includes(r.state) && !byPatient.has(r.patientId)) byPatient.set(r.patientId, []);
  }
  const groups = [...byPatient].map(([patientId, alerts]) => ({ patientId, alerts: alerts.sort(alertOrder) }));
  /** @typedef {{ patientId: string, alerts: Alert[] }} Group */
  const rank = (/** @type {Group} */ g) => Math.max(0, ...g.alerts.map((a) => SEVERITY_RANK[a.severity]));
  const waiting = (/** @type {Group} */ g) => (g.alerts.some((a) => a.state === 'open' || a.state === 'escalated') ? 1 : 0);
  groups.sort((x, y) => waiting(y) - waiting(x) || rank(y) - rank(x) || Date.parse(String(y.alerts[0]?.updatedAt || 0)) - Date.parse(String(x.alerts[0]?.updatedAt || 0)));
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
          /** @type {HTMLElement} */ (block.querySelector('.alert-title')).textContent = `${patient ? patient.displayName : a.patientId}: ${headline(a).title}`;
          return block;
        })))
    : null;
  // Keep a half-typed note or reason, or a route being chosen: skip re-rendering while someone is in a form here.
  const active = /** @type {HTMLInputElement | null} */ (document.activeElement);
  if (state.referring && state.referring.node.contains(active) && $('alert-list').contains(active)) return;
  if (active && $('alert-list').contains(active) && (active.tagName === 'INPUT' || active.tagName === 'TEXTAREA') && active.type !== 'radio') return;
  $('alert-list').replaceChildren(...cards, ...(resolvedList ? [resolvedList] : []));
}

/** Acknowledges or resolves an alert, with the note typed beside it if any. */
function act(/** @type {'acknowledge' | 'resolve'} */ type, /** @type {string} */ alertId, /** @type {string} */ note) {
  state.pendingAck.add(alertId);
  send({ type, alertId, ...(note && note.trim() ? { note: note.trim() } : {}) });
  // The alert's next action button (Resolve after Acknowledge) takes the focus once it is drawn.
  focusLater(`act:${alertId}`);
  render();
}

