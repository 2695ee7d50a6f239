// @ts-check
// The open patient's panel: who they are and whom to call, referral and ward-lead actions, handover
// notes, charts and settings. Forms in it are built once and kept, so a live update never takes away
// what someone is typing.

import { send } from './connection.js';
import { $, el, ago, localDateTime } from './dom.js';
import { CHARTS, chartCard, requestSeries } from './charts.js';
import { pathwaysOf } from './patient-list.js';
import { openReferral, referralSection } from './referral-actions.js';
import { render } from './render.js';
import { editorNode, settingsPanel } from './settings-panel.js';
import { state } from './state.js';
import { flowButtons } from './ward-flow.js';

/** @typedef {import('./generated/frames').PatientView} PatientView */

/** Opens the patient's panel (or closes it, when open) and asks vw for their charts' series. */
export function select(/** @type {string} */ patientId) {
  state.selected = state.selected === patientId ? null : patientId;
  if (state.editor && state.editor.patientId !== state.selected) state.editor = null;
  if (state.flowForm && state.flowForm.patientId !== state.selected) state.flowForm = null;
  if (state.selected) requestSeries(patientId);
  render();
}

export function renderDetail() {
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
  const referringHere = state.referring && state.referring.key === `patient:${patient.patientId}` ? state.referring : null;
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
    referringHere ? referringHere.node : null,
    referrals.length ? referralSection(`detail-${patient.patientId}`, referrals) : null,
    notesSection(patient),
    el('h4', { class: 'trends-title' }, `Charts: up to the last 24 hours (weight 7 days); shading shows the ${state.chartBands.ruleVersion || 'NEWS2'} score bands`),
    el('div', { class: 'trends' }, CHARTS.map((chart) => chartCard(patient, chart))),
    settingsPanel(patient),
  ].filter((node) => node !== null));
}

function notesList(/** @type {PatientView} */ patient) {
  const notes = state.notes.get(patient.patientId) || [];
  if (!notes.length) return el('p', { class: 'muted small', 'data-testid': 'handover-notes' }, 'No handover notes yet.');
  return el('ol', { class: 'notes', 'data-testid': 'handover-notes' }, notes.map((n) =>
    el('li', { 'data-testid': 'handover-note' }, el('div', { class: 'small muted' }, `${n.by} · ${localDateTime(n.at)} (${ago(n.at)})`), el('div', { class: 'note-text' }, n.text))));
}

/** Handover notes: newest first, each with who wrote it and when; a note is never edited, only added. */
function notesSection(/** @type {PatientView} */ patient) {
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

/** Age in whole years today. */
function age(/** @type {string | undefined} */ dateOfBirth) {
  if (!dateOfBirth) return null;
  const born = new Date(dateOfBirth);
  const now = new Date();
  let years = now.getFullYear() - born.getFullYear();
  if (now.getMonth() < born.getMonth() || (now.getMonth() === born.getMonth() && now.getDate() < born.getDate())) years--;
  return years;
}

/** NHS numbers are read in groups of 3, 3 and 4 digits. */
function nhsNumber(/** @type {string | undefined} */ n) {
  return n ? `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}` : null;
}

function patientHeader(/** @type {PatientView} */ patient) {
  const years = age(patient.dateOfBirth);
  return el('header', { class: 'patient-header', 'data-testid': 'patient-header' },
    el('h3', {}, patient.displayName),
    el('dl', { class: 'patient-facts' },
      el('dt', {}, 'NHS number'), el('dd', { 'data-testid': 'nhs-number' }, nhsNumber(patient.nhsNumber) || 'not recorded'),
      el('dt', {}, 'Age'), el('dd', {}, years === null ? 'not recorded' : `${years} (born ${new Date(/** @type {string} */ (patient.dateOfBirth)).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' })})`),
      el('dt', {}, 'Pathway'), el('dd', {}, pathwaysOf(patient).join(', ') || 'none'),
      el('dt', {}, 'Contacts'), el('dd', {}, patient.contacts && patient.contacts.length ? patient.contacts.map((c) => `${c.name} (${c.relationship})${c.phone ? ` ${c.phone}` : ''}`).join('; ') : 'none recorded'),
      el('dt', {}, 'Escalation plan'), el('dd', { class: 'plan' }, patient.escalationPlan || 'none recorded: agree one with the patient')));
}

