// @ts-check
// Every word table of the console in one place. The NEWS2 labels and severity ranks are vw's own
// (src/domain/labels.ts, generated into ./generated/labels.js); the rest are the console's words for
// states of records whose values the generated frame types list.

export { BAND_LABEL, PARAM_LABEL, SEVERITY_RANK } from './generated/labels.js';
import { PARAM_LABEL } from './generated/labels.js';

/** A reading type's short label: NEWS2's abbreviation where it has one, else the type itself. */
export function paramLabel(/** @type {string} */ type) {
  return /** @type {Record<string, string | undefined>} */ (PARAM_LABEL)[type] || type;
}

/** @type {Record<import('./generated/frames').AlertState, string>} */
export const ALERT_STATE_WORDS = {
  open: 'waiting for acknowledgement',
  escalated: 'escalated, waiting for acknowledgement',
  acknowledged: 'acknowledged',
  resolved: 'resolved',
};

/** @type {Record<import('./generated/frames').ReferralState, string>} */
export const REFERRAL_STATE_LABEL = {
  requested: 'Requested',
  sent: 'Sent, awaiting answer',
  accepted: 'Accepted',
  rejected: 'Rejected',
  completed: 'Completed',
  cancelled: 'Cancelled',
};
