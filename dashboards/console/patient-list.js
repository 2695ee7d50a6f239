// @ts-check
// The ward's patients as a table, most acute first: open alerts, then NEWS2. Each row shows the
// latest vitals with the device and time they came from, and how long since the patient's devices
// last sent anything.

import { $, el, ago, clockTime } from './dom.js';
import { BAND_LABEL, SEVERITY_RANK, paramLabel } from './labels.js';
import { select } from './patient-detail.js';
import { state } from './state.js';

/**
 * @typedef {import('./generated/frames').PatientView} PatientView
 * @typedef {import('./generated/frames').ReadingType} ReadingType
 */

const STALE_AMBER_MS = 15 * 60_000;
const STALE_RED_MS = 60 * 60_000;

/** Amber after 15 minutes without data, red after an hour. */
function staleClass(/** @type {number} */ ageMs) {
  return ageMs > STALE_RED_MS ? 'stale-red' : ageMs > STALE_AMBER_MS ? 'stale-amber' : '';
}

/** The pathways rules use for the patient: those set in their settings, else their enrolments'. */
export function pathwaysOf(/** @type {PatientView} */ patient) {
  return (patient.settings && patient.settings.pathways) || patient.pathways;
}

function openAlerts(/** @type {string} */ patientId) {
  return [...state.alerts.values()].filter((a) => a.patientId === patientId && a.state !== 'resolved');
}

function acuity(/** @type {PatientView} */ patient) {
  const alertRank = Math.max(0, ...openAlerts(patient.patientId).map((a) => SEVERITY_RANK[a.severity]));
  return [alertRank, patient.score ? patient.score.total : -1];
}

function byAcuity(/** @type {PatientView} */ a, /** @type {PatientView} */ b) {
  const [ar, as] = acuity(a);
  const [br, bs] = acuity(b);
  return br - ar || bs - as || a.displayName.localeCompare(b.displayName);
}

/** @param {PatientView} patient @param {ReadingType} type @param {number} [digits] */
function value(patient, type, digits) {
  const v = patient.latest[type];
  if (!v) return null;
  return typeof v.value === 'number' && digits !== undefined ? v.value.toFixed(digits) : String(v.value);
}

/** @param {PatientView} patient @param {ReadingType} type @param {{ digits?: number, extra?: unknown }} [options] */
function vitalCell(patient, type, { digits, extra } = {}) {
  const text = value(patient, type, digits);
  const reading = patient.latest[type];
  const unreliable = reading?.flags?.includes('irregular_pulse_during_measurement');
  return el(
    'td',
    { title: reading ? `${reading.deviceId}, ${clockTime(reading.ts)}` : 'no reading', 'data-label': paramLabel(type) },
    text ?? '–',
    extra,
    unreliable ? el('span', { class: 'badge badge-warn', title: 'Irregular pulse during measurement: may be unreliable' }, '⚠ irregular pulse') : null,
  );
}

function scoreCell(/** @type {PatientView} */ patient) {
  const score = patient.score;
  if (!score) return el('td', { 'data-label': 'NEWS2' }, el('span', { class: 'score band-none', 'data-testid': 'news2-total' }, '–'));
  const missing = score.partial ? score.missing.map(paramLabel).join(', ') : '';
  return el(
    'td',
    { title: `${BAND_LABEL[score.band]} · ${score.ruleId} ${score.ruleVersion}`, 'data-label': 'NEWS2' },
    el('span', { class: `score band-${score.band}`, 'data-testid': 'news2-total' }, String(score.total)),
    score.partial ? el('span', { class: 'partial' }, `partial (missing: ${missing})`) : null,
  );
}

function lastDataCell(/** @type {PatientView} */ patient) {
  const age = patient.lastSeen ? Date.now() - Date.parse(patient.lastSeen) : Infinity;
  return el('td', { class: staleClass(age), 'data-last-seen': patient.lastSeen || '', 'data-label': 'Last data' }, ago(patient.lastSeen));
}

/** Every second: the "Last data" cells age without a render. */
export function ageLastSeen() {
  for (const cell of document.querySelectorAll('[data-last-seen]')) {
    const seen = cell.getAttribute('data-last-seen');
    const age = seen ? Date.now() - Date.parse(seen) : Infinity;
    cell.textContent = ago(seen || null);
    cell.className = staleClass(age);
  }
}

export function renderPatients() {
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
        onclick: (/** @type {MouseEvent} */ event) => {
          if (/** @type {Element} */ (event.target).closest('button') === null) select(p.patientId);
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
