// @ts-check
// Admitting, discharging and transferring patients, offered to ward leads (docs/feed.md): the forms
// of ./flow-forms.js opened from the ward's header and the patient's panel, and what vw recorded
// shown under the ward's name.

import { $, el } from './dom.js';
import { focusLater } from './focus.js';
import { createAdmitDialog, dischargeForm, transferForm } from './flow-forms.js';
import { render } from './render.js';
import { state } from './state.js';

/** @typedef {import('./generated/frames').PatientView} PatientView */

const wardNames = () => Object.fromEntries(state.wards.map((w) => [w.wardId, w.name]));
const flowContext = () => ({ token: state.token, wardNames: wardNames(), ward: { wardId: state.wardId, name: state.wardName || state.wardId } });

export const admitDialog = createAdmitDialog({ context: flowContext, onDone: showFlowResult });

/**
 * What vw recorded, under the ward's name: the focus goes there, so the next step starts from it.
 * @param {{ text: string, warning?: string | null }} result
 */
function showFlowResult(result) {
  const box = $('flow-result');
  box.classList.toggle('warn', Boolean(result.warning));
  box.replaceChildren(...[
    el('span', { 'data-testid': 'flow-result-text' }, result.text),
    result.warning ? el('strong', { class: 'flow-warning', 'data-testid': 'flow-warning' }, result.warning) : null,
    el('button', { type: 'button', class: 'secondary', onclick: () => { box.hidden = true; } }, 'Dismiss'),
  ].filter((node) => node !== null));
  box.hidden = false;
  box.focus();
}

/** The ward lead's actions on the open patient: discharge, and transfer when there is another ward. */
export function flowButtons(/** @type {PatientView} */ patient) {
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
function openFlowForm(/** @type {'discharge' | 'transfer'} */ kind, /** @type {PatientView} */ patient) {
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
