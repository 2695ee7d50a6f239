// @ts-check
// The open patient's settings (docs/settings.md): the version in force with who set it, when and why,
// its history, and the form that proposes a new version. Saving names the version it was made from, so
// nobody overwrites a change they have not seen: vw answers `conflict` instead.

import { send } from './connection.js';
import { el, ago } from './dom.js';
import { renderDetail } from './patient-detail.js';
import { state } from './state.js';

/**
 * @typedef {import('./generated/frames').PatientView} PatientView
 * @typedef {import('./generated/frames').PatientSettings} PatientSettings
 * @typedef {PatientSettings['values']} SettingValues
 */

const SETTING_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

function formatValue(/** @type {number | string | boolean} */ v) {
  return typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v);
}

function valuesList(/** @type {SettingValues} */ values) {
  const entries = Object.entries(values);
  if (!entries.length) return el('p', { class: 'muted small' }, 'No values set: rules use their defaults.');
  return el('dl', { class: 'settings-values' }, entries.flatMap(([name, v]) => [el('dt', {}, name), el('dd', { 'data-setting': name }, formatValue(v))]));
}

function setterLine(/** @type {PatientSettings} */ s) {
  const when = s.version === 0 ? 'as registered' : `${new Date(s.effectiveFrom).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' })} (${ago(s.effectiveFrom)})`;
  return `Version ${s.version} · ${s.setBy} · ${when}`;
}

export function settingsPanel(/** @type {PatientView} */ patient) {
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
function parseValue(/** @type {string} */ text) {
  const t = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (/^(true|yes)$/i.test(t)) return true;
  if (/^(false|no)$/i.test(t)) return false;
  return t;
}

/** Opens the form for a new version of the patient's settings, made from the one in force. */
function openEditor(/** @type {PatientView} */ patient) {
  const current = /** @type {PatientSettings} */ (patient.settings);
  // The form is built once and kept across renders, so live readings never wipe what is being typed.
  const rows = el('div', { class: 'settings-rows' });
  const addRow = (/** @type {string} */ name = '', /** @type {number | string | boolean} */ v = '') => {
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
  /** @type {import('./state.js').SettingsEditor} */
  const editor = { patientId: patient.patientId, baseVersion: current.version, overVersion: null, pending: false, error: '', notice: '', node: form, message, save };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    /** @type {SettingValues} */
    const values = {};
    for (const row of rows.querySelectorAll('.settings-row')) {
      const name = /** @type {HTMLInputElement} */ (row.querySelector('.setting-name')).value.trim();
      const text = /** @type {HTMLInputElement} */ (row.querySelector('.setting-value')).value;
      if (!name && !text.trim()) continue;
      if (!SETTING_NAME.test(name)) return showEditorError(`“${name}” is not a setting name: a letter, then letters, digits or _.`);
      if (!text.trim()) return showEditorError(`${name} has no value.`);
      if (name in values) return showEditorError(`${name} is listed twice.`);
      values[name] = parseValue(text);
    }
    if (reason.value.trim().length < 3) return showEditorError('Say why you are changing these settings.');
    editor.pending = true;
    editor.error = '';
    send({ type: 'settings', patientId: editor.patientId, baseVersion: editor.overVersion ?? editor.baseVersion, spo2Scale: /** @type {1 | 2} */ (Number(scale.value)), values, reason: reason.value.trim() });
    renderDetail();
  });
  state.editor = editor;
  renderDetail();
}

function showEditorError(/** @type {string} */ text) {
  if (!state.editor) return;
  state.editor.error = text;
  renderDetail();
}

/** The open settings form, brought up to date (its message and Save button) without being rebuilt. */
export function editorNode() {
  const editor = /** @type {import('./state.js').SettingsEditor} */ (state.editor);
  editor.message.textContent = editor.error || editor.notice;
  editor.message.hidden = !(editor.error || editor.notice);
  editor.save.disabled = editor.pending || !state.connected;
  editor.save.textContent = editor.pending ? 'Saving…' : editor.overVersion !== null ? `Save over version ${editor.overVersion}` : 'Save';
  return editor.node;
}
