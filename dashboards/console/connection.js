// @ts-check
// The /feed WebSocket (docs/feed.md): sign in with the token, send the console's frames, and
// reconnect with a growing pause when the connection drops.

import { $ } from './dom.js';
import { state } from './state.js';
import { setConnection, showBanner, showSignIn, signInExpired } from './status.js';

/**
 * @typedef {import('./generated/frames').ClientFrame} ClientFrame
 * @typedef {import('./generated/frames').ServerFrame} ServerFrame
 */

// vw closes the socket with this code when the token expires (docs/feed.md#token-expiry-and-refresh).
const CLOSE_TOKEN_EXPIRED = 4001;

/** Sends a frame if the socket is open; a frame sent while offline is dropped (the screen says offline). */
export function send(/** @type {ClientFrame} */ frame) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(frame));
}

/**
 * Opens the socket and signs in; every frame vw sends goes to `onFrame`. A dropped connection is
 * opened again, after 1 s and then twice as long each time up to 30 s (a welcome resets the pause).
 * @param {(frame: ServerFrame) => void} onFrame
 */
export function connect(onFrame) {
  if (!state.token) return showSignIn();
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/feed`;
  const socket = new WebSocket(url);
  state.socket = socket;
  setConnection(false, 'Connecting…');
  socket.addEventListener('open', () => send({ type: 'hello', token: /** @type {string} */ (state.token) }));
  socket.addEventListener('message', (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    onFrame(frame);
  });
  socket.addEventListener('close', (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    if (event.code === CLOSE_TOKEN_EXPIRED) return signInExpired();
    if (state.authFailed) return setConnection(false, 'Signed out');
    setConnection(false, 'Offline');
    showBanner(`Connection lost — reconnecting. What you see may be out of date (since ${new Date().toLocaleTimeString('en-GB')}).`);
    setTimeout(() => connect(onFrame), state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 30_000);
  });
}

/** Shows another ward: the console stops the old ward's updates and asks for the new one's snapshot. */
export function subscribe(/** @type {string} */ wardId) {
  if (state.wardId && state.wardId !== wardId) send({ type: 'unsubscribe', wardId: state.wardId });
  state.wardId = wardId;
  state.selected = null;
  state.editor = null;
  state.flowForm = null;
  sessionStorage.setItem('vw.ward', wardId);
  /** @type {HTMLSelectElement} */ ($('ward-select')).value = wardId;
  send({ type: 'subscribe', wardId });
}
