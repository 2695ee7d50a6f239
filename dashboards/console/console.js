// @ts-check
// The ward console: a live view of one virtual ward, fed by vw's /feed WebSocket (docs/feed.md).
// Plain browser JavaScript modules with no build step, so the page works offline and is easy to audit.
// This file starts the page; each concern has its own module:
//   connection.js (socket, reconnect) · session.js (token, renewal) · status.js (pill, banner, sign-in)
//   frames.js (every frame vw sends) · ward-updates.js (live changes) · state.js (what is held)
//   render.js · patient-list.js · alerts.js · notices.js · patient-detail.js · charts.js
//   settings-panel.js · referral-actions.js · ward-flow.js · focus.js · sound.js · labels.js

import { updateCapacityAges } from './capacity.js';
import { connect, subscribe } from './connection.js';
import { $ } from './dom.js';
import { followFocus } from './focus.js';
import { onFrame } from './frames.js';
import { ageLastSeen } from './patient-list.js';
import { readToken, sendRefresh } from './session.js';
import { setUpSound } from './sound.js';
import { state } from './state.js';
import { setConnection, showSignIn } from './status.js';
import { admitDialog } from './ward-flow.js';

/** Every second: the clock, and the ages of capacity figures and of each patient's last data. */
function tick() {
  $('clock').textContent = new Date().toLocaleTimeString('en-GB');
  updateCapacityAges($('capacity-strip'), state.capacity);
  ageLastSeen();
}

function start() {
  $('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = /** @type {HTMLTextAreaElement} */ ($('token-input'));
    const token = input.value.trim();
    if (!token) return;
    // Signed in and connected: the new token renews this session (vw refuses one for another user).
    if (state.socket && state.socket.readyState === WebSocket.OPEN && state.user && !state.authFailed) {
      input.value = '';
      return sendRefresh(token);
    }
    sessionStorage.setItem('vw.token', token);
    state.token = token;
    state.authFailed = false;
    $('signin').hidden = true;
    connect(onFrame);
  });
  $('ward-select').addEventListener('change', (event) => subscribe(/** @type {HTMLSelectElement} */ (event.target).value));
  $('admit-open').addEventListener('click', () => admitDialog.open());
  followFocus();
  setUpSound();
  // On a phone the alerts come first: the capacity strip starts folded to one line.
  if (window.matchMedia('(max-width: 700px)').matches) /** @type {HTMLDetailsElement} */ ($('capacity')).open = false;
  setInterval(tick, 1000);
  tick();
  state.token = readToken();
  if (state.token) connect(onFrame);
  else {
    setConnection(false, 'Signed out');
    showSignIn();
  }
}

start();
