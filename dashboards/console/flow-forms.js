// The ward lead's forms: admit a patient (a dialog from the ward header), and discharge or transfer
// the open patient (in the patient's panel). Each posts to /api/v1/flow with the console's token and
// shows the answer: an error beside the field it names (the focus goes there), or the result.
// The server enforces who may do this; the console only offers it to ward leads (docs/feed.md).

import { el, localised } from './dom.js';
import { ADMISSIONS, OUTCOMES, PATHWAYS, SOURCES, admitRequest, dischargeRequest, inputTime, postFlow, readAnswer, transferRequest } from './flow-model.js';

let formCount = 0;

function options(list, placeholder) {
  return [placeholder ? el('option', { value: '' }, placeholder) : null, ...list.map((o) => el('option', { value: o.value }, o.label))];
}

/**
 * A form whose fields each have a label, an optional hint and a place for an error, and a message
 * at the top for an error that names no field. `fields` are made by `field()` or `choice()`.
 * @param {{ testid: string, title: string, titleLevel?: 'h2' | 'h4', intro?: string, fields: any[], submitLabel: string, onCancel: () => void }} options
 */
function flowForm({ testid, title, titleLevel = 'h2', intro, fields, submitLabel, onCancel }) {
  const id = `flow-${++formCount}`;
  const heading = el(titleLevel, { id: `${id}-title`, class: 'flow-title' }, title);
  const general = el('p', { class: 'error small flow-general', role: 'alert', tabindex: '-1', 'data-testid': `${testid}-error`, hidden: true });
  const submit = el('button', { type: 'submit', 'data-testid': `${testid}-submit` }, submitLabel);
  const cancel = el('button', { type: 'button', class: 'secondary', 'data-testid': `${testid}-cancel`, onclick: onCancel }, 'Cancel');
  const buttons = el('div', { class: 'form-buttons' }, submit, cancel);
  const byName = new Map();
  for (const f of fields) {
    f.bind(id);
    byName.set(f.name, f);
  }
  const form = el('form', { class: 'flow-form', novalidate: true, 'aria-labelledby': heading.id, 'data-testid': testid },
    heading, intro ? el('p', { class: 'small muted' }, intro) : null, general, ...fields.map((f) => f.node), buttons);
  const api = {
    form,
    heading,
    submit,
    cancel,
    buttons,
    values() {
      return Object.fromEntries([...byName].map(([name, f]) => [name, f.value()]));
    },
    field: (name) => byName.get(name),
    clearErrors() {
      general.hidden = true;
      general.textContent = '';
      for (const f of byName.values()) f.setError(null);
    },
    /** Shows an error beside its field (and moves the focus there), or at the top of the form. */
    showError(fieldName, message) {
      api.clearErrors();
      const f = fieldName && byName.get(fieldName);
      if (f) {
        f.setError(message);
        f.focus();
        return;
      }
      general.textContent = localised(message);
      general.hidden = false;
      general.focus();
    },
    pending(on, busyLabel) {
      submit.disabled = on;
      cancel.disabled = on;
      submit.textContent = on ? busyLabel : submitLabel;
      form.setAttribute('aria-busy', String(on));
    },
  };
  return api;
}

/** A labelled input or select; `hint` says what to enter. */
function field(name, label, control, hint) {
  const error = el('p', { class: 'field-error', hidden: true, 'data-testid': `error-${name}` });
  const hintNode = hint ? el('p', { class: 'hint small' }, hint) : null;
  const labelNode = el('label', {}, label);
  const node = el('div', { class: 'field', 'data-field': name }, labelNode, hintNode, error, control);
  return {
    name,
    node,
    control,
    bind(prefix) {
      control.id = `${prefix}-${name}`;
      control.name = name;
      labelNode.htmlFor = control.id;
      if (hintNode) hintNode.id = `${control.id}-hint`;
      error.id = `${control.id}-error`;
      describe(control, hintNode, null);
    },
    value: () => control.value,
    setError(message) {
      error.textContent = message ? localised(message) : '';
      error.hidden = !message;
      if (message) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
      describe(control, hintNode, message ? error : null);
    },
    focus: () => control.focus(),
  };
}

function describe(control, hint, error) {
  const ids = [error && error.id, hint && hint.id].filter(Boolean).join(' ');
  if (ids) control.setAttribute('aria-describedby', ids);
  else control.removeAttribute('aria-describedby');
}

/** A group of radio buttons under a legend. */
function choice(name, legend, list) {
  const error = el('p', { class: 'field-error', hidden: true, 'data-testid': `error-${name}` });
  const legendNode = el('legend', {}, legend);
  const inputs = [];
  const items = list.map((o) => {
    const input = el('input', { type: 'radio', value: o.value, 'data-testid': `${name}-${o.value}` });
    inputs.push(input);
    return el('label', { class: 'choice' }, input, el('span', {}, o.label));
  });
  const node = el('fieldset', { class: 'field', 'data-field': name }, legendNode, error, ...items);
  return {
    name,
    node,
    bind(prefix) {
      error.id = `${prefix}-${name}-error`;
      for (const input of inputs) input.name = `${prefix}-${name}`;
    },
    value: () => (inputs.find((i) => i.checked) || { value: '' }).value,
    setError(message) {
      error.textContent = message || '';
      error.hidden = !message;
      for (const input of inputs) {
        if (message) {
          input.setAttribute('aria-invalid', 'true');
          input.setAttribute('aria-describedby', error.id);
        } else {
          input.removeAttribute('aria-invalid');
          input.removeAttribute('aria-describedby');
        }
      }
    },
    focus: () => (inputs.find((i) => i.checked) || inputs[0]).focus(),
  };
}

/**
 * A time box showing, to the minute, when the form opened. Left as it is, it stands for that moment
 * to the second, so events recorded a few seconds apart keep their order.
 */
function timeField(name, label, testid, hint) {
  const opened = new Date();
  const control = el('input', { type: 'datetime-local', required: true, value: inputTime(opened), 'data-testid': testid });
  const f = field(name, label, control, hint);
  f.value = () => (control.value === inputTime(opened) ? opened.toISOString() : control.value);
  return f;
}

/**
 * The admit dialog. `context()` gives the ward shown now, the token and ward names at the moment of
 * opening and sending; `onDone(result)` gets `{ text, warning }` once vw has recorded the admission.
 */
export function createAdmitDialog({ context, onDone }) {
  const dialog = el('dialog', { class: 'flow-dialog', 'data-testid': 'admit-dialog' });
  let ui = null;
  let wardId = null;

  function build() {
    const { ward } = context();
    wardId = ward.wardId;
    const patientId = el('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', maxlength: 64, required: true, 'data-testid': 'admit-patient' });
    const pathway = el('select', { required: true, 'data-testid': 'admit-pathway' }, options(PATHWAYS, 'Choose a pathway'));
    const source = el('select', { required: true, 'data-testid': 'admit-source' }, options(SOURCES, 'Choose who referred them'));
    const imd = el('input', { type: 'text', inputmode: 'numeric', autocomplete: 'off', maxlength: 2, class: 'narrow', 'data-testid': 'admit-imd' });
    const devices = el('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', 'data-testid': 'admit-devices' });
    ui = flowForm({
      testid: 'admit-form',
      title: `Admit a patient to ${ward.name}`,
      intro: 'To lend devices, the patient must already be registered in vw. Fields marked (optional) can be left blank.',
      fields: [
        field('patientId', 'Patient ID', patientId, 'As registered in vw, for example pt-0012. Not the NHS number.'),
        field('pathway', 'Pathway', pathway),
        choice('admission', 'Type of admission', ADMISSIONS),
        field('source', 'Referred by', source),
        field('deviceIds', 'Devices to lend (optional)', devices, 'Device IDs from their labels, separated by commas, for example oxi-0012, bp-0012. Readings from them show for this patient from the time of admission.'),
        field('imdDecile', 'Deprivation decile, IMD (optional)', imd, '1 is the most deprived area, 10 the least. Leave blank if not known.'),
        timeField('at', 'Admitted at', 'admit-at', 'Your local time. Change it if the admission was earlier.'),
      ],
      submitLabel: 'Admit patient',
      onCancel: () => dialog.close(),
    });
    ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void send();
    });
    dialog.setAttribute('aria-labelledby', ui.heading.id);
    dialog.replaceChildren(ui.form);
  }

  async function send() {
    const { token, wardNames } = context();
    const request = admitRequest(wardId, ui.values());
    if (request.problem) return ui.showError(request.problem.field, request.problem.message);
    ui.clearErrors();
    ui.pending(true, 'Admitting…');
    const { status, body } = await postFlow(token, request.body);
    ui.pending(false);
    const answer = readAnswer('admit', status, body, wardNames);
    if (!answer.ok) return ui.showError(answer.field, answer.message);
    dialog.close();
    const beds = answer.beds ? ` ${answer.beds.occupied} of ${answer.beds.capacity} beds now in use.` : '';
    const unlisted = answer.listed ? '' : ' The patient is not in the registry, so they are counted in the beds but not listed on this console.';
    onDone({
      text: answer.duplicate ? `Admission of ${request.body.patientId} was already recorded.` : `Admitted ${request.body.patientId} to ${wardNames[wardId] || wardId}.${beds}${unlisted}`,
      warning: answer.capacityWarning,
    });
  }

  return {
    dialog,
    /** Opens a fresh form for the ward shown now; the focus goes to its first field. */
    open() {
      if (!dialog.isConnected) document.body.append(dialog);
      build();
      dialog.showModal();
      ui.field('patientId').focus();
    },
    close: () => dialog.open && dialog.close(),
    get isOpen() {
      return dialog.open;
    },
  };
}

/**
 * The discharge form of one patient, asking for confirmation before it sends. `onDone(result)` once
 * recorded; `onClose()` when cancelled.
 */
export function dischargeForm({ patient, ward, context, onDone, onClose }) {
  const outcome = el('select', { required: true, 'data-testid': 'discharge-outcome' }, options(OUTCOMES, 'Choose how the stay ended'));
  const ui = flowForm({
    testid: 'discharge-form',
    title: `Discharge ${patient.displayName}`,
    titleLevel: 'h4',
    fields: [field('outcome', 'Outcome', outcome), timeField('at', 'Discharged at', 'discharge-at', 'Your local time.')],
    submitLabel: 'Discharge…',
    onCancel: onClose,
  });
  const question = el('p', { tabindex: '-1', class: 'confirm-question', 'data-testid': 'discharge-question' });
  const yes = el('button', { type: 'button', class: 'danger', 'data-testid': 'discharge-confirm' }, `Yes, discharge ${patient.displayName}`);
  const no = el('button', { type: 'button', class: 'secondary', 'data-testid': 'discharge-back' }, 'No, go back');
  const confirm = el('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm the discharge', hidden: true }, question, el('div', { class: 'form-buttons' }, yes, no));
  ui.form.append(confirm);
  let request = null;
  const ask = (on) => {
    confirm.hidden = !on;
    ui.buttons.hidden = on;
    for (const f of ['outcome', 'at']) ui.field(f).control.disabled = on;
  };
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    request = dischargeRequest(patient.patientId, ward.wardId, ui.values());
    if (request.problem) return ui.showError(request.problem.field, request.problem.message);
    ui.clearErrors();
    const outcomeLabel = /** @type {import('./flow-model').Option} */ (OUTCOMES.find((o) => o.value === request.body.outcome)).label;
    question.replaceChildren(
      el('strong', {}, `Discharge ${patient.displayName} from ${ward.name}?`), ' ',
      `Outcome: ${outcomeLabel}. Monitoring stops: readings from their devices will no longer be accepted or shown.`);
    ask(true);
    question.focus();
  });
  no.addEventListener('click', () => {
    ask(false);
    ui.field('outcome').focus();
  });
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    no.disabled = true;
    yes.textContent = 'Discharging…';
    const { token, wardNames } = context();
    const { status, body } = await postFlow(token, request.body);
    yes.disabled = false;
    no.disabled = false;
    yes.textContent = `Yes, discharge ${patient.displayName}`;
    const answer = readAnswer('discharge', status, body, wardNames);
    if (!answer.ok) {
      ask(false);
      return ui.showError(answer.field, answer.message);
    }
    const outcomeLabel = /** @type {import('./flow-model').Option} */ (OUTCOMES.find((o) => o.value === request.body.outcome)).label.toLowerCase();
    onDone({ text: answer.duplicate ? `Discharge of ${patient.displayName} was already recorded.` : `Discharged ${patient.displayName} from ${ward.name} (${outcomeLabel}).`, warning: null });
  });
  return { node: ui.form, focus: () => ui.field('outcome').focus() };
}

/** The transfer form of one patient: to another of the token's wards, optionally on a new pathway. */
export function transferForm({ patient, ward, wards, context, onDone, onClose }) {
  const others = wards.filter((w) => w.wardId !== ward.wardId);
  const to = el('select', { required: true, 'data-testid': 'transfer-ward' }, options(others.map((w) => ({ value: w.wardId, label: w.name })), others.length === 1 ? null : 'Choose a ward'));
  const current = (patient.pathways || []).join(', ') || 'none';
  const pathway = el('select', { 'data-testid': 'transfer-pathway' }, el('option', { value: '' }, `Keep the current pathway (${current})`), options(PATHWAYS));
  const ui = flowForm({
    testid: 'transfer-form',
    title: `Transfer ${patient.displayName} to another ward`,
    titleLevel: 'h4',
    intro: 'Their devices go with them: readings show on the new ward from the time of transfer.',
    fields: [
      field('wardId', 'Move to', to),
      field('pathway', 'Pathway on the new ward (optional)', pathway),
      timeField('at', 'Transferred at', 'transfer-at', 'Your local time.'),
    ],
    submitLabel: 'Transfer',
    onCancel: onClose,
  });
  ui.form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const request = transferRequest(patient.patientId, ward.wardId, ui.values());
    if (request.problem) return ui.showError(request.problem.field, request.problem.message);
    ui.clearErrors();
    ui.pending(true, 'Transferring…');
    const { token, wardNames } = context();
    const { status, body } = await postFlow(token, request.body);
    ui.pending(false);
    const answer = readAnswer('transfer', status, body, wardNames);
    if (!answer.ok) return ui.showError(answer.field, answer.message);
    const wardId = /** @type {string} */ (request.body.wardId);
    const name = wardNames[wardId] || wardId;
    const beds = answer.beds ? ` ${answer.beds.occupied} of ${answer.beds.capacity} beds in use there.` : '';
    onDone({ text: answer.duplicate ? `Transfer of ${patient.displayName} was already recorded.` : `Transferred ${patient.displayName} to ${name}.${beds}`, warning: answer.capacityWarning });
  });
  return { node: ui.form, focus: () => ui.field('wardId').focus() };
}
