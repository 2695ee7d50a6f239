// @ts-check
// Escalation notifications (docs/notifications.md#on-the-consoles): banners for an escalation to a
// role this user holds while its alert waits, and for any that could not be delivered, so someone
// phones instead; and each notification's delivery in words under its alert.

import { $, el, clockTime } from './dom.js';
import { state } from './state.js';

/** @typedef {import('./generated/frames').Notification} Notification */

/** @type {Record<import('./generated/frames').NotificationStatus, (n: Notification) => string>} */
export const NOTIFICATION_TEXT = {
  pending: () => 'sending…',
  retrying: (n) => `not delivered yet (attempt ${n.attempts}: ${n.lastError}); retrying`,
  delivered: (n) => `delivered at ${clockTime(n.lastAttemptAt || n.updatedAt)}`,
  failed: (n) => `NOT DELIVERED: ${n.lastError}${n.escalatedTo ? '; escalated' : ''}`,
  console_only: () => 'shown on ward consoles (no webhook set up for this role)',
  withdrawn: () => 'not sent: the alert was taken in hand first',
};

/** An alert's notifications, oldest first. */
export function notificationsOf(/** @type {string} */ alertId) {
  return [...state.notifications.values()].filter((n) => n.alertId === alertId).sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
}

/**
 * Banners: an escalation addressed to a role this user holds, while the alert waits; and any
 * notification that could not be delivered, so someone phones instead.
 */
export function renderNotices() {
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

/** Opens the alert's card and puts the focus on its action (or on the alert itself). */
function goToAlert(/** @type {string} */ alertId) {
  const target = /** @type {HTMLElement | null} */ (document.querySelector(`[data-focus-key="act:${CSS.escape(alertId)}"]`) || document.querySelector(`[data-alert-id="${CSS.escape(alertId)}"]`));
  const details = target && target.closest('details');
  if (details) details.open = true;
  if (target) {
    target.scrollIntoView({ block: 'center' });
    target.focus();
  }
}
