// @ts-check
// A short tone for a new high alert and for an escalation to this user. Browsers let a page play sound
// only after the user has interacted with it; the Sound button turns it off.

import { $ } from './dom.js';
import { state } from './state.js';

/** @type {AudioContext | undefined} */
let audio;

export function beep() {
  if (state.muted || !state.interacted) return;
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.6);
  } catch {
    // No audio device: the visual alert and the live region still announce it.
  }
}

/** Notes the first interaction (sound may play from then on) and wires the Sound button. */
export function setUpSound() {
  for (const type of ['pointerdown', 'keydown']) {
    document.addEventListener(type, () => {
      state.interacted = true;
    }, { once: true, capture: true });
  }
  $('mute').addEventListener('click', () => {
    state.muted = !state.muted;
    $('mute').setAttribute('aria-pressed', String(!state.muted));
    $('mute').textContent = state.muted ? 'Sound: off' : 'Sound: on';
  });
}
