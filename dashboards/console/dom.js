// @ts-check
// Small DOM helpers shared by the console's modules: every piece of data goes in through text nodes
// (textContent), never as HTML.

/** An element of the page by id: the page (index.html) has every id the console asks for. */
export const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * A new element with attributes (`on…` ones are listeners) and children (nodes, or text).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [attrs]
 * @param {...any} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function ago(iso, now = Date.now()) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** Local wall-clock time (the browser's time zone), e.g. 14:05. */
export function clockTime(iso) {
  return new Date(iso).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
}

/** Local date and time, e.g. 30 Nov, 14:05. */
export function localDateTime(iso) {
  return new Date(iso).toLocaleString('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/** ISO times in rule explanations, shown as the reader's local time. */
const ISO_IN_TEXT = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/g;
export function localised(text) {
  return text.replace(ISO_IN_TEXT, (iso) => localDateTime(iso.length === 17 ? `${iso.slice(0, 16)}:00Z` : iso));
}

/** Rule syntax in explanations, in the words and symbols a clinician reads at a glance. */
const PLAIN = [
  [/\bspo2\b/g, 'SpO₂'], [/\brespiratory_rate\b/g, 'RR'], [/\bheart_rate\b/g, 'HR'], [/\bsystolic_bp\b/g, 'systolic BP'], [/\bdiastolic_bp\b/g, 'diastolic BP'],
  [/\bnews2\b/g, 'NEWS2'], [/\btemperature\b/g, 'temperature'], [/<=/g, '≤'], [/>=/g, '≥'], [/!=/g, '≠'],
  [/from window-min \(([^)]*)\)/g, 'from its lowest ($1)'], [/from window-max \(([^)]*)\)/g, 'from its highest ($1)'], [/from window-first \(([^)]*)\)/g, 'from the first ($1)'],
  [/within 1d\b/g, 'within 24 h'], [/\b(\d+)d\b/g, '$1 days'], [/\b(\d+)h\b/g, '$1 h'], [/\b(\d+)m\b/g, '$1 min'],
];
export function plain(text) {
  return PLAIN.reduce((t, [pattern, words]) => t.replace(pattern, words), text);
}

/** Text from the rules, for reading: local times, plain words. */
export function readable(text) {
  return plain(localised(text));
}
