// @ts-check
// Live changes to the ward shown (docs/feed.md): readings, scores, alerts, referrals, settings and the
// roster. Each keeps the newest copy (by time, revision or version), so late or repeated frames
// change nothing, and then asks for a render.

import { send } from './connection.js';
import { localised } from './dom.js';
import { applyRoster, applyRosterRecords } from './flow-model.js';
import { SEVERITY_RANK } from './labels.js';
import { scheduleRender } from './render.js';
import { beep } from './sound.js';
import { state } from './state.js';
import { announce } from './status.js';

/**
 * @typedef {import('./generated/frames').ServerFrameOf<'roster'>} RosterFrame
 * @typedef {import('./generated/frames').Reading} Reading
 * @typedef {import('./generated/frames').ScoreEvent} ScoreEvent
 * @typedef {import('./generated/frames').Alert} Alert
 * @typedef {import('./generated/frames').Referral} Referral
 * @typedef {import('./generated/frames').PatientSettings} PatientSettings
 * @typedef {import('./generated/frames').HandoverNote} HandoverNote
 */

/**
 * Someone admitted, transferred or discharged a patient: the roster says who is on the ward now.
 * Patients join or leave the list. A patient's alerts, referrals, notifications and notes follow them:
 * those of a patient transferred away leave with them, and those of a patient transferred in arrive
 * with them. Everything else on the console stays as it is.
 */
export function applyRosterFrame(/** @type {RosterFrame} */ frame) {
  const { joined, left, missing } = applyRoster(state.patients, frame);
  const { dropped, arrived } = applyRosterRecords(state, frame);
  for (const alertId of dropped) {
    state.pendingAck.delete(alertId);
    state.fresh.delete(alertId);
  }
  const movedAway = new Set(frame.transferredOut || []);
  if (state.referring && movedAway.has(state.referring.patientId)) state.referring = null;
  /** @type {Map<string, HandoverNote[]>} */
  const notesOf = new Map();
  for (const note of frame.handoverNotes) notesOf.set(note.patientId, [...(notesOf.get(note.patientId) || []), note]);
  for (const [patientId, notes] of notesOf) {
    const held = state.notes.get(patientId) || [];
    const merged = [...held, ...notes.filter((n) => !held.some((h) => h.noteId === n.noteId))];
    state.notes.set(patientId, merged.sort((a, b) => Date.parse(b.at) - Date.parse(a.at)));
  }
  for (const patient of left) state.notes.delete(patient.patientId);
  if (state.selected && !state.patients.has(state.selected)) forgetSelection();
  const openArrived = (/** @type {string} */ patientId) => arrived.filter((a) => a.patientId === patientId && a.state !== 'resolved').length;
  const joinedWords = (/** @type {{ patientId: string, displayName: string }} */ p) => {
    const open = openArrived(p.patientId);
    return `${p.displayName} joined the ward${open ? `, with ${open} unresolved alert${open === 1 ? '' : 's'}` : ''}.`;
  };
  const words = [...joined.map(joinedWords), ...left.map((p) => `${p.displayName} left the ward.`)];
  if (words.length) announce(words.join(' '));
  // An id it cannot draw means the console missed something: it starts again from a snapshot.
  if (missing.length && state.wardId) send({ type: 'subscribe', wardId: state.wardId });
  scheduleRender();
}

/** The open patient is no longer on the ward: close the panel and the forms that were about them. */
export function forgetSelection() {
  const patientId = state.selected;
  state.selected = null;
  if (state.editor && state.editor.patientId === patientId) state.editor = null;
  if (state.referring && state.referring.patientId === patientId) state.referring = null;
  if (state.noteForm && state.noteForm.patientId === patientId) state.noteForm = null;
  if (state.flowForm && state.flowForm.patientId === patientId) state.flowForm = null;
}

export function applyReading(/** @type {Reading} */ reading) {
  const patient = state.patients.get(reading.patientId);
  if (!patient) return;
  const held = patient.latest[reading.type];
  if (!held || Date.parse(held.ts) <= Date.parse(reading.ts)) {
    patient.latest[reading.type] = { value: reading.value, unit: reading.unit, ts: reading.ts, deviceId: reading.deviceId, flags: reading.flags };
  }
  if (!patient.lastSeen || Date.parse(reading.ts) > Date.parse(patient.lastSeen)) patient.lastSeen = reading.ts;
  const points = state.series.get(`${reading.patientId}:${reading.type}`);
  if (points) points.push({ ts: reading.ts, value: reading.value });
  scheduleRender();
}

export function applyScore(/** @type {ScoreEvent} */ score) {
  const patient = state.patients.get(score.patientId);
  if (!patient) return;
  const points = state.series.get(`${score.patientId}:news2`);
  if (points && !score.partial) points.push({ ts: score.ts, value: score.total });
  if (!patient.score || Date.parse(patient.score.ts) <= Date.parse(score.ts)) patient.score = score;
  scheduleRender();
}

export function applyAlert(/** @type {Alert} */ alert) {
  const held = state.alerts.get(alert.alertId);
  // Keep the highest revision: duplicates and late copies change nothing.
  if (held && held.revision >= alert.revision) return;
  state.alerts.set(alert.alertId, alert);
  state.pendingAck.delete(alert.alertId);
  const rose = !held || SEVERITY_RANK[alert.severity] > SEVERITY_RANK[held.severity];
  if (rose && (alert.state === 'open' || alert.state === 'escalated')) {
    state.fresh.add(alert.alertId);
    setTimeout(() => state.fresh.delete(alert.alertId), 3000);
    const name = state.patients.get(alert.patientId)?.displayName || 'a patient';
    announce(`New ${alert.severity} alert for ${name}: ${localised(alert.explanation)}`);
    if (alert.severity === 'high') beep();
  }
  scheduleRender();
}

export function applyReferral(/** @type {Referral} */ referral) {
  const held = state.referrals.get(referral.referralId);
  if (held && held.revision >= referral.revision) return;
  state.referrals.set(referral.referralId, referral);
  const patient = state.patients.get(referral.patientId);
  if (held && held.state !== referral.state) {
    announce(`Referral of ${patient ? patient.displayName : 'a patient'} to ${referral.routeTitle}: ${referral.state}.`);
  }
  scheduleRender();
}

export function applySettings(/** @type {PatientSettings} */ settings) {
  const patient = state.patients.get(settings.patientId);
  if (!patient) return;
  // Versions only go up: a late copy of an older one changes nothing.
  if (patient.settings && patient.settings.version >= settings.version) return;
  patient.settings = settings;
  patient.spo2Scale = settings.spo2Scale;
  const history = state.settingsHistory.get(settings.patientId);
  if (history && !history.some((v) => v.version === settings.version)) history.unshift(settings);
  const editor = state.editor;
  if (editor && editor.patientId === settings.patientId && settings.version > (editor.overVersion ?? editor.baseVersion)) {
    // Saving now would overwrite a change this clinician has not seen: say so, and make saving over it explicit.
    // (A console's own save also arrives here just before settingsAccepted closes the form.)
    editor.overVersion = settings.version;
    editor.notice = `${settings.setBy} saved version ${settings.version} while you were editing: check it above before saving yours over it.`;
  }
  scheduleRender();
}
