// @ts-check
// Referring a patient from an alert or from the patient's panel, and cancelling a referral: the form
// of ./referrals.js wired to the feed. One referral form is open at a time, kept across renders.

import { send } from './connection.js';
import { el } from './dom.js';
import { focusLater } from './focus.js';
import { referralForm, referralItem } from './referrals.js';
import { render } from './render.js';
import { state } from './state.js';

/**
 * @typedef {import('./generated/frames').Alert} Alert
 * @typedef {import('./generated/frames').Referral} Referral
 */

/** A patient's referrals, each with its state, delivery and history, and a way to cancel it. */
export function referralSection(/** @type {string} */ patientId, /** @type {Referral[]} */ referrals) {
  return el('section', { class: 'referrals', 'aria-label': 'Referrals', tabindex: '-1', 'data-focus-key': `referrals:${patientId}` },
    el('h4', {}, 'Referrals'),
    el('ol', { class: 'referral-list' }, referrals.map((r) => referralItem(r, { canCancel: state.connected, onCancel: cancelReferral }))));
}

/**
 * Opens (or, asked again, closes) the referral form for an alert's routes, or for the routes offered
 * from a patient when `alert` is null.
 * @param {string} patientId
 * @param {Alert | null} alert
 */
export function openReferral(patientId, alert) {
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
  /** @type {import('./state.js').Referring} */
  const referring = {
    key,
    patientId,
    alertId: alert ? alert.alertId : null,
    pending: false,
    node: referralForm({
      patientName: patient ? patient.displayName : patientId,
      alert,
      routes,
      capacity: state.capacity,
      onSend: (/** @type {string} */ route, /** @type {string} */ note) => {
        referring.pending = true;
        send({ type: 'refer', patientId, route, ...(alert ? { alertId: alert.alertId } : {}), ...(note ? { note } : {}) });
      },
      onClose: () => openReferral(patientId, alert),
    }),
  };
  state.referring = referring;
  render();
  /** @type {HTMLInputElement | null} */ (referring.node.querySelector('input[type="radio"]'))?.focus();
}

function cancelReferral(/** @type {string} */ referralId, /** @type {string} */ note) {
  send({ type: 'cancelReferral', referralId, note });
}
