// @ts-check
// Keyboard use across re-renders: every render redraws the lists, so the focus is put back on the
// element with the same `data-focus-key`, or moved to the one an action asked for.

/** @type {string | null} */
let focusWanted = null;

/** Moves the focus to an element once the next render has drawn it. */
export function focusLater(/** @type {string} */ key) {
  focusWanted = key;
}

/** The focus key of the element that has the focus now, to give it back after a render. */
export function currentFocusKey() {
  const active = /** @type {HTMLElement | null} */ (document.activeElement);
  return active && active.dataset ? active.dataset.focusKey : undefined;
}

export function restoreFocus(/** @type {string | undefined} */ previous) {
  const key = focusWanted || previous;
  if (!key) return;
  const target = /** @type {HTMLElement & { disabled?: boolean } | null} */ (document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`));
  // A button still disabled (its action on its way) cannot take the focus yet: the next render gives it.
  if (!target || target.disabled) return;
  if (document.activeElement !== target) target.focus();
  if (focusWanted === key) focusWanted = null;
}

/** Someone who moves on elsewhere keeps the focus where they put it. */
export function followFocus() {
  document.addEventListener('focusin', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (focusWanted && target.dataset && target.dataset.focusKey !== focusWanted && target !== document.body) focusWanted = null;
  });
}
