// @ts-check
// What the page says about the session: the connection pill, the banner, the sign-in form, and the
// screen readers' live region.

import { $ } from './dom.js';
import { state } from './state.js';

const EXPIRED_MESSAGE = 'Your sign-in has expired: sign in again.';
// How long a notice such as "updates were missed" stays in the banner.
const NOTICE_MS = 20_000;

/** @param {string} [message] what went wrong, if anything */
export function showSignIn(message) {
  $('signin').hidden = false;
  $('ward').hidden = true;
  const error = $('auth-error');
  error.hidden = !message;
  error.textContent = message || '';
}

export function setConnection(/** @type {boolean} */ connected, /** @type {string} */ text) {
  state.connected = connected;
  const pill = $('connection');
  pill.textContent = text;
  pill.className = `pill ${connected ? 'pill-on' : 'pill-off'}`;
}

export function showBanner(/** @type {string} */ text) {
  const banner = $('banner');
  banner.hidden = !text;
  banner.textContent = text || '';
}

/** A passing notice in the banner: cleared after a while unless something else has replaced it. */
export function showNotice(/** @type {string} */ text) {
  showBanner(text);
  setTimeout(() => {
    if ($('banner').textContent === text) showBanner('');
  }, NOTICE_MS);
}

/** Said to screen readers (the page's assertive live region). */
export function announce(/** @type {string} */ text) {
  $('announcer').textContent = text;
}

/** Forgets the token: the next sign-in starts afresh. */
function signOut() {
  state.authFailed = true;
  if (state.expiryTimer !== null) clearTimeout(state.expiryTimer);
  sessionStorage.removeItem('vw.token');
  state.token = null;
  setConnection(false, 'Signed out');
}

/** The token expired: vw has closed the session. The ward is hidden and the sign-in form shown. */
export function signInExpired() {
  signOut();
  state.expiryWarning = '';
  showBanner('');
  showSignIn(EXPIRED_MESSAGE);
}

/** vw refused the token (invalid, or another user's). */
export function signInRefused(/** @type {string} */ message) {
  signOut();
  showSignIn(`Sign-in refused: ${message}.`);
}
