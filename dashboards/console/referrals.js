// Referral and escalation from the console: the routes an alert (or a patient) offers, each beside
// the live capacity that bears on it, and each referral's lifecycle as the receiving service answers.
// The choice stays the clinician's; vw records it and sends it (docs/referrals.md).

import { el, ago, clockTime, localDateTime, readable } from './dom.js';
import { figureNode, routeFigures } from './capacity.js';
import { REFERRAL_STATE_LABEL as STATE_LABEL } from './labels.js';

export function deliveryText(r) {
  const d = r.delivery;
  switch (d.status) {
    case 'pending':
      return r.state === 'cancelled' ? 'Telling the receiver of the cancellation…' : 'Sending…';
    case 'retrying':
      return `Not delivered yet: ${d.lastError || 'no answer'}. Attempt ${d.attempts}; next try ${d.nextAttemptAt ? clockTime(d.nextAttemptAt) : 'soon'}. Kept and retried until delivered.`;
    case 'delivered':
      return d.lastError ? d.lastError : `Delivered ${d.lastAttemptAt ? `at ${clockTime(d.lastAttemptAt)}` : ''}${d.receiverReference ? ` · their reference ${d.receiverReference}` : ''}`;
    case 'failed':
      return `NOT SENT: ${d.lastError}. Refer by phone and record it here.`;
    case 'no_endpoint':
      return `NOT SENT: ${d.lastError || 'no receiver is configured for this route'}. Refer by phone, following the escalation plan.`;
    default:
      return d.status;
  }
}

/** One referral: route, state, who asked when and why, how delivery is going, and its history. */
export function referralItem(r, { canCancel, onCancel }) {
  const lastAnswer = [...r.history].reverse().find((h) => h.state === 'accepted' || h.state === 'rejected' || h.state === 'completed');
  const problem = r.delivery.status === 'failed' || r.delivery.status === 'no_endpoint' || r.delivery.status === 'retrying';
  const cancelNote = el('input', { type: 'text', maxlength: 1000, 'aria-label': 'Reason for cancelling', placeholder: 'Why cancel (required)' });
  return el('li', { class: `referral state-${r.state} ${problem ? 'delivery-problem' : ''}`, 'data-testid': 'referral-item', 'data-referral-id': r.referralId, 'data-state': r.state, 'data-delivery': r.delivery.status },
    el('div', { class: 'referral-head' },
      el('strong', {}, r.routeTitle),
      el('span', { class: `ref-state ref-${r.state}`, 'data-testid': 'referral-state' }, STATE_LABEL[r.state] || r.state)),
    el('div', { class: 'small' }, `${r.urgency} · requested by ${r.requestedBy} at ${localDateTime(r.requestedAt)} (${ago(r.requestedAt)})`),
    el('div', { class: 'small' }, `Reason: ${readable(r.reason)}`),
    lastAnswer ? el('div', { class: 'small' }, `${STATE_LABEL[lastAnswer.state]} by ${lastAnswer.by} at ${clockTime(lastAnswer.at)}${lastAnswer.note ? `: “${lastAnswer.note}”` : ''}`) : null,
    el('div', { class: `small delivery ${problem ? 'error' : ''}`, 'data-testid': 'referral-delivery', role: problem ? 'status' : null }, deliveryText(r)),
    el('details', { class: 'small' },
      el('summary', {}, `History (${r.history.length})`),
      el('ol', {}, r.history.map((h) => el('li', {}, `${localDateTime(h.at)} · ${STATE_LABEL[h.state] || h.state} · ${h.by}${h.note ? ` · ${h.note}` : ''}`)))),
    canCancel && !['rejected', 'completed', 'cancelled'].includes(r.state)
      ? el('form', { class: 'referral-cancel', onsubmit: (event) => {
          event.preventDefault();
          if (cancelNote.value.trim().length < 3) {
            cancelNote.setAttribute('aria-invalid', 'true');
            cancelNote.focus();
            return;
          }
          onCancel(r.referralId, cancelNote.value.trim());
        } }, cancelNote, el('button', { type: 'submit', class: 'secondary', 'data-testid': 'referral-cancel' }, 'Cancel referral'))
      : null,
  );
}

/**
 * The form to refer a patient: one radio per offered route, with its urgency, wording and live
 * capacity; a reason; send. Built once per opening and kept across renders so nothing typed is lost.
 */
export function referralForm({ patientName, alert, routes, capacity, onSend, onClose }) {
  const name = `route-${Math.random().toString(36).slice(2)}`;
  const reason = el('textarea', { rows: 2, maxlength: 1000, 'data-testid': 'referral-reason', 'aria-label': 'Clinical reason for the referral', placeholder: alert ? `Reason (default: ${readable(alert.explanation)})` : 'Reason for the referral' });
  const message = el('p', { class: 'error small', role: 'alert', hidden: true });
  const send = el('button', { type: 'submit', 'data-testid': 'referral-send' }, 'Send referral');
  const options = routes.map((route, i) =>
    el('li', { class: 'route-option' },
      el('label', { class: 'route-label' },
        el('input', { type: 'radio', name, value: route.id, 'data-testid': 'route-option', 'data-route': route.id, required: i === 0 }),
        el('span', { class: 'route-text' },
          el('strong', {}, route.title),
          el('span', { class: 'route-urgency' }, ` · ${route.urgency}`),
          el('span', { class: 'route-wording' }, route.wording))),
      el('div', { class: 'route-capacity', 'data-testid': 'route-capacity' },
        capacity && route.capacity.length
          ? routeFigures(capacity, route.capacity).map(figureNode)
          : el('span', { class: 'muted' }, 'No live capacity feed for this service'))));
  const form = el('form', { class: 'referral-form', 'data-testid': 'referral-form' },
    el('fieldset', {},
      el('legend', {}, `Refer ${patientName}: choose a service`),
      el('ul', { class: 'route-options' }, options)),
    el('label', { class: 'small referral-reason' }, 'Reason', reason),
    message,
    el('div', { class: 'form-buttons' }, send, el('button', { type: 'button', class: 'secondary', onclick: onClose }, 'Close')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = /** @type {HTMLInputElement | null} */ (form.querySelector(`input[name="${name}"]:checked`));
    if (!chosen) {
      message.hidden = false;
      message.textContent = 'Choose a service first.';
      return;
    }
    send.disabled = true;
    send.textContent = 'Sending…';
    onSend(chosen.value, reason.value.trim());
  });
  return form;
}
