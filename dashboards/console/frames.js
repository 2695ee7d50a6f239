// @ts-check
// Every frame vw sends (docs/feed.md), applied to the console: the session's (welcome, refreshed,
// error), the ward's picture (snapshot, roster) and its live changes, and the answers to what this
// console asked for. The frames' types are generated from vw's own schemas (./generated/frames.d.ts),
// so a frame this file reads in a way vw does not send is a type error (npm run typecheck).

import { subscribe } from './connection.js';
import { $ } from './dom.js';
import { focusLater } from './focus.js';
import { render, renderCapacity, fillWardPicker, scheduleRender } from './render.js';
import { renderDetail } from './patient-detail.js';
import { wantedWard, scheduleExpiry } from './session.js';
import { beep } from './sound.js';
import { state } from './state.js';
import { announce, setConnection, showBanner, showNotice, showSignIn, signInExpired, signInRefused } from './status.js';
import { admitDialog } from './ward-flow.js';
import { applyAlert, applyReading, applyReferral, applyRosterFrame, applyScore, applySettings, forgetSelection } from './ward-updates.js';

/** @typedef {import('./generated/frames').ServerFrame} ServerFrame */

export function onFrame(/** @type {ServerFrame} */ frame) {
  switch (frame.type) {
    case 'welcome': {
      state.user = frame.user;
      state.roles = frame.roles || [];
      state.wardLead = frame.wardLead === true;
      state.wards = frame.wards;
      $('admit-open').hidden = !state.wardLead;
      if (!state.wardLead) {
        admitDialog.close();
        state.flowForm = null;
      }
      state.retryMs = 1000;
      $('user').textContent = frame.user;
      $('signin').hidden = true;
      scheduleExpiry(frame.expiresAt);
      fillWardPicker();
      if (!frame.wards.length) return showSignIn('Your token grants no ward.');
      const wanted = state.wardId || wantedWard();
      subscribe(wanted && frame.wards.some((w) => w.wardId === wanted) ? wanted : frame.wards[0].wardId);
      return;
    }
    case 'snapshot':
      if (frame.wardId !== state.wardId) return;
      state.wardName = frame.wardName;
      state.patients = new Map(frame.patients.map((p) => [p.patientId, p]));
      state.alerts = new Map(frame.alerts.map((a) => [a.alertId, a]));
      state.pendingAck.clear();
      state.capacity = { ...frame.capacity, receivedAt: Date.now() };
      state.referrals = new Map(frame.referrals.map((r) => [r.referralId, r]));
      state.routes = frame.routes;
      state.alertRoutes = new Map(Object.entries(frame.alertRoutes));
      state.notifications = new Map(frame.notifications.map((n) => [n.notificationId, n]));
      state.chartBands = frame.chartBands;
      state.notes = new Map();
      for (const note of frame.handoverNotes) state.notes.set(note.patientId, [...(state.notes.get(note.patientId) || []), note]);
      state.referring = null;
      // The open patient stays open if still on the ward; otherwise its panel and forms close.
      if (state.selected && !state.patients.has(state.selected)) forgetSelection();
      renderCapacity();
      setConnection(true, 'Live');
      // Sent unasked when vw dropped updates before it could read them: this picture replaces the partial one.
      if (frame.missedUpdates) showNotice(`Some updates were missed while vw was very busy: the ward was reloaded at ${new Date().toLocaleTimeString('en-GB')}.`);
      else showBanner(state.expiryWarning);
      $('ward').hidden = false;
      render();
      return;
    case 'refreshed': {
      // The session goes on with the new token: its wards (a subscription it no longer grants has ended) and expiry.
      state.roles = frame.roles || [];
      state.wardLead = frame.wardLead === true;
      state.wards = frame.wards;
      $('admit-open').hidden = !state.wardLead;
      $('signin').hidden = true;
      $('auth-error').hidden = true;
      showBanner('');
      scheduleExpiry(frame.expiresAt);
      fillWardPicker();
      announce('Sign-in renewed.');
      if (!frame.wards.length) return showSignIn('Your token grants no ward.');
      if (!frame.wards.some((w) => w.wardId === state.wardId)) {
        state.wardId = null;
        subscribe(frame.wards[0].wardId);
      } else /** @type {HTMLSelectElement} */ ($('ward-select')).value = /** @type {string} */ (state.wardId);
      return;
    }
    case 'roster':
      if (frame.wardId === state.wardId) applyRosterFrame(frame);
      return;
    case 'reading':
      if (frame.wardId === state.wardId) applyReading(frame.reading);
      return;
    case 'score':
      if (frame.wardId === state.wardId) applyScore(frame.score);
      return;
    case 'alert':
      if (frame.wardId !== state.wardId) return;
      state.alertRoutes.set(frame.alert.alertId, frame.routes || []);
      applyAlert(frame.alert);
      return;
    case 'capacity':
      if (frame.wardId !== state.wardId) return;
      state.capacity = { ...frame.capacity, receivedAt: Date.now() };
      renderCapacity();
      return;
    case 'referral':
      if (frame.wardId === state.wardId) applyReferral(frame.referral);
      return;
    case 'handoverNote': {
      if (frame.wardId !== state.wardId) return;
      const list = state.notes.get(frame.note.patientId) || [];
      if (!list.some((n) => n.noteId === frame.note.noteId)) state.notes.set(frame.note.patientId, [frame.note, ...list]);
      scheduleRender();
      return;
    }
    case 'handoverNoteAccepted':
      if (state.noteForm && state.noteForm.patientId === frame.patientId) {
        state.noteForm.text.value = '';
        state.noteForm.button.disabled = false;
        state.noteForm.button.textContent = 'Add note';
        announce('Handover note saved.');
      }
      return;
    case 'notification': {
      if (frame.wardId !== state.wardId) return;
      const n = frame.notification;
      const held = state.notifications.get(n.notificationId);
      if (held && held.revision >= n.revision) return;
      state.notifications.set(n.notificationId, n);
      if (!held && state.roles.includes(n.target)) {
        announce(`Escalated to you as ${n.target}: ${n.message}`);
        beep();
      }
      scheduleRender();
      return;
    }
    case 'referralAccepted':
      if (state.referring && state.referring.pending) {
        state.referring = null;
        announce('Referral requested: its progress is shown with the patient.');
        focusLater(`referrals:${frame.patientId}`);
      }
      scheduleRender();
      return;
    case 'series':
      state.series.set(`${frame.patientId}:${frame.readingType}`, frame.points);
      renderDetail();
      return;
    case 'accepted':
      return;
    case 'settings':
      if (frame.wardId === state.wardId) applySettings(frame.settings);
      return;
    case 'settingsAccepted':
      if (state.editor && state.editor.pending && state.editor.patientId === frame.patientId) {
        state.editor = null;
        announce(`Settings saved as version ${frame.version}.`);
      }
      renderDetail();
      return;
    case 'settingsHistory':
      state.settingsHistory.set(frame.patientId, frame.versions);
      renderDetail();
      return;
    case 'error':
      if (frame.code === 'unauthorized' && frame.message === 'token expired') {
        signInExpired();
      } else if (frame.code === 'unauthorized') {
        signInRefused(frame.message);
      } else if (state.referring && state.referring.pending) {
        state.referring.pending = false;
        const message = /** @type {HTMLElement} */ (state.referring.node.querySelector('[role="alert"]'));
        message.hidden = false;
        message.textContent = `Not sent: ${frame.message}.`;
        const button = /** @type {HTMLButtonElement} */ (state.referring.node.querySelector('[data-testid="referral-send"]'));
        button.disabled = false;
        button.textContent = 'Send referral';
      } else if (state.editor && state.editor.pending) {
        // Frames are answered in order and the form waits for its answer: this error is the form's.
        state.editor.pending = false;
        state.editor.error = frame.code === 'conflict' ? `Not saved: ${frame.message}. Your edits are kept; check the current version above.` : `Not saved: ${frame.message}.`;
        renderDetail();
      } else if (frame.code === 'forbidden') {
        showBanner(`That ward is not in your token: ${frame.message}.`);
      } else {
        showBanner(`vw: ${frame.message}`);
        for (const id of state.pendingAck) state.pendingAck.delete(id);
        render();
      }
      return;
  }
}
