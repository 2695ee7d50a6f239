// @ts-check
// Drawing the ward from the state: at most once a frame however many updates arrive, with the focus
// kept where the user had it.

import { renderCapacityStrip, capacitySummary } from './capacity.js';
import { $, el } from './dom.js';
import { currentFocusKey, restoreFocus } from './focus.js';
import { renderAlerts } from './alerts.js';
import { renderNotices } from './notices.js';
import { renderDetail } from './patient-detail.js';
import { renderPatients } from './patient-list.js';
import { state } from './state.js';

let renderQueued = false;
export function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

export function render() {
  renderNotices();
  $('ward-name').textContent = state.wardName || 'Virtual ward';
  document.title = state.wardName ? `${state.wardName} · vw` : 'vw · Virtual ward console';
  renderBeds();
  const focusKey = currentFocusKey();
  renderPatients();
  renderAlerts();
  renderDetail();
  // An action re-draws the lists: the focus goes back to where it was, so keyboard use carries on.
  restoreFocus(focusKey);
}

function renderBeds() {
  const beds = state.capacity && state.capacity.beds;
  const node = $('beds');
  node.hidden = !beds;
  if (beds) node.textContent = `Beds: ${beds.occupied} occupied of ${beds.commissioned} commissioned (${Math.round((beds.occupied / beds.commissioned) * 100)}%)`;
}

export function renderCapacity() {
  renderCapacityStrip($('capacity-strip'), state.capacity);
  $('capacity-title').textContent = state.capacity && state.capacity.ics ? `Urgent care pressure · ${state.capacity.ics.name}` : 'Urgent care pressure';
  $('capacity-summary').textContent = capacitySummary(state.capacity);
  renderBeds();
}

export function fillWardPicker() {
  const select = /** @type {HTMLSelectElement} */ ($('ward-select'));
  select.replaceChildren(...state.wards.map((w) => el('option', { value: w.wardId }, w.name)));
  select.disabled = state.wards.length < 2;
}
