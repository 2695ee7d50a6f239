// @ts-check
// The sign-in token: where it comes from (the URL fragment once, then this tab's session storage),
// and its renewal before it expires (docs/feed.md#token-expiry-and-refresh).

import { $ } from './dom.js';
import { send } from './connection.js';
import { state } from './state.js';
import { showBanner } from './status.js';

// How long before the token expires the console renews it (through the deployment's hook) or warns.
const EXPIRY_WARNING_MS = 2 * 60_000;

/** @type {Window & { vwRefreshToken?: () => Promise<unknown> }} */
const page = window;

export function readToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromUrl = fragment.get('token');
  if (fromUrl) {
    sessionStorage.setItem('vw.token', fromUrl);
    // Keep the token out of the address bar (and so out of screenshots and shared links).
    fragment.delete('token');
    const rest = fragment.toString();
    history.replaceState(null, '', location.pathname + (rest ? `#${rest}` : ''));
  }
  return fromUrl || sessionStorage.getItem('vw.token');
}

/** The ward asked for in the URL fragment, or the one this tab showed last. */
export function wantedWard() {
  return new URLSearchParams(location.hash.slice(1)).get('ward') || sessionStorage.getItem('vw.ward');
}

/**
 * Before the token expires the console renews it: through `window.vwRefreshToken`, if the deployment
 * provides one (an async function resolving to a fresh token for the same user, e.g. from its SSO), or
 * else by warning the user and offering the sign-in form while the ward stays on screen. The new token
 * goes to vw in a `refresh` frame; the session goes on without a reload.
 */
export function scheduleExpiry(/** @type {string | undefined} */ expiresAt) {
  if (state.expiryTimer !== null) clearTimeout(state.expiryTimer);
  state.expiryTimer = null;
  state.expiryWarning = '';
  state.expiresAt = expiresAt ? Date.parse(expiresAt) : null;
  if (!state.expiresAt) return;
  const due = state.expiresAt - EXPIRY_WARNING_MS - Date.now();
  state.expiryTimer = setTimeout(renewSignIn, Math.max(0, Math.min(due, 2 ** 31 - 1)));
}

async function renewSignIn() {
  if (typeof page.vwRefreshToken === 'function') {
    try {
      const token = await page.vwRefreshToken();
      if (typeof token === 'string' && token) return sendRefresh(token);
    } catch {
      // Falls back to asking the user.
    }
  }
  const at = new Date(/** @type {number} */ (state.expiresAt)).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
  state.expiryWarning = `Your sign-in expires at ${at}: sign in again below to stay connected.`;
  showBanner(state.expiryWarning);
  $('signin').hidden = false;
  const error = $('auth-error');
  error.hidden = false;
  error.textContent = `Your sign-in expires at ${at}. Paste a new access token to stay signed in.`;
}

/** Renews the session with a fresh token for the same user. */
export function sendRefresh(/** @type {string} */ token) {
  state.token = token;
  sessionStorage.setItem('vw.token', token);
  send({ type: 'refresh', token });
}
