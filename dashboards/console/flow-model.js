// Admitting, discharging and transferring patients from the console: what a ward lead's form becomes
// as a request to POST /api/v1/flow, what the answer means in words, and how a `roster` frame changes
// the console's list of patients (docs/feed.md). No DOM here, so it can be tested on its own.

export const FLOW_PATH = '/api/v1/flow';

export const PATHWAYS = [
  { value: 'ari', label: 'Acute respiratory infection (ARI)' },
  { value: 'copd', label: 'COPD' },
  { value: 'frailty', label: 'Frailty' },
  { value: 'general', label: 'General' },
  { value: 'heart-failure', label: 'Heart failure' },
  { value: 'hypertension', label: 'Hypertension' },
  { value: 'post-op', label: 'After an operation (post-op)' },
];

export const ADMISSIONS = [
  { value: 'step-up', label: 'Step-up: instead of going into hospital' },
  { value: 'step-down', label: 'Step-down: home early from a hospital stay' },
];

export const SOURCES = [
  { value: 'gp', label: 'GP' },
  { value: 'nhs111', label: 'NHS 111' },
  { value: 'ambulance', label: 'Ambulance service' },
  { value: 'ed-sdec', label: 'A&E or same day emergency care (SDEC)' },
  { value: 'acute-discharge', label: 'Hospital ward (discharged early)' },
  { value: 'other', label: 'Other' },
];

export const OUTCOMES = [
  { value: 'care-completed', label: 'Care completed: back to usual care' },
  { value: 'admitted-acute', label: 'Admitted to hospital' },
  { value: 'ed', label: 'Sent to A&E' },
  { value: 'died', label: 'Died' },
  { value: 'self-discharged', label: 'Chose to leave the virtual ward (self-discharged)' },
];

const ID = /^[A-Za-z0-9._-]{1,64}$/;
/** A time this far ahead of the console's clock is taken as a slip, not a plan. */
const FUTURE_SLACK_MS = 2 * 60_000;
const MAX_DEVICES = 12;

const two = (n) => String(n).padStart(2, '0');

/** A date as a datetime-local input shows it, in the browser's time zone, to the minute. */
export function inputTime(date = new Date()) {
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}T${two(date.getHours())}:${two(date.getMinutes())}`;
}

/** A datetime-local value (local time) as an ISO instant, or null if it is not a time. */
export function isoFromInput(value) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value || '')) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Device ids typed with commas (or spaces, or new lines) between them. */
export function deviceList(text) {
  return (text || '').split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
}

/**
 * The time of an event: a datetime-local value, or an ISO instant (what a time box still showing the
 * time the form opened stands for, to the second).
 */
function when(value, now) {
  if (!value) return { problem: { field: 'at', message: 'Enter the date and time.' } };
  const exact = /(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : null;
  const at = exact || isoFromInput(value);
  if (!at) return { problem: { field: 'at', message: 'Enter a date and time, for example today at 14:30.' } };
  if (Date.parse(at) > now + FUTURE_SLACK_MS) return { problem: { field: 'at', message: 'That time is in the future: enter when it happened.' } };
  return { at };
}

/**
 * An admission from the form's values (strings, as typed): `{ body }` to send, or `{ problem }`
 * naming the field to correct. The server checks again; this only saves a round trip and says it plainly.
 */
export function admitRequest(wardId, values, now = Date.now()) {
  const patientId = (values.patientId || '').trim();
  if (!patientId) return { problem: { field: 'patientId', message: 'Enter the patient’s ID.' } };
  if (!ID.test(patientId)) return { problem: { field: 'patientId', message: 'A patient ID has only letters, digits, dots, dashes and underscores, with no spaces.' } };
  if (!PATHWAYS.some((p) => p.value === values.pathway)) return { problem: { field: 'pathway', message: 'Choose a pathway.' } };
  if (!ADMISSIONS.some((a) => a.value === values.admission)) return { problem: { field: 'admission', message: 'Choose step-up or step-down.' } };
  if (!SOURCES.some((s) => s.value === values.source)) return { problem: { field: 'source', message: 'Choose who referred the patient.' } };
  const decile = (values.imdDecile || '').trim();
  if (decile && !/^([1-9]|10)$/.test(decile)) return { problem: { field: 'imdDecile', message: 'Enter a whole number from 1 to 10, or leave it blank.' } };
  const devices = deviceList(values.deviceIds);
  const bad = devices.find((d) => !ID.test(d));
  if (bad) return { problem: { field: 'deviceIds', message: `“${bad}” is not a device ID: IDs have only letters, digits, dots, dashes and underscores.` } };
  const twice = devices.find((d, i) => devices.indexOf(d) !== i);
  if (twice) return { problem: { field: 'deviceIds', message: `${twice} is listed twice.` } };
  if (devices.length > MAX_DEVICES) return { problem: { field: 'deviceIds', message: `Lend at most ${MAX_DEVICES} devices at a time.` } };
  const time = when(values.at, now);
  if (time.problem) return time;
  return {
    body: {
      kind: 'admit',
      patientId,
      wardId,
      pathway: values.pathway,
      admission: values.admission,
      source: values.source,
      at: time.at,
      ...(decile ? { imdDecile: Number(decile) } : {}),
      ...(devices.length ? { deviceIds: devices } : {}),
    },
  };
}

export function dischargeRequest(patientId, wardId, values, now = Date.now()) {
  if (!OUTCOMES.some((o) => o.value === values.outcome)) return { problem: { field: 'outcome', message: 'Choose how the stay ended.' } };
  const time = when(values.at, now);
  if (time.problem) return time;
  return { body: { kind: 'discharge', patientId, wardId, outcome: values.outcome, at: time.at } };
}

export function transferRequest(patientId, fromWardId, values, now = Date.now()) {
  if (!values.wardId) return { problem: { field: 'wardId', message: 'Choose the ward to move the patient to.' } };
  if (values.wardId === fromWardId) return { problem: { field: 'wardId', message: 'Choose another ward: the patient is on this one.' } };
  if (values.pathway && !PATHWAYS.some((p) => p.value === values.pathway)) return { problem: { field: 'pathway', message: 'Choose a pathway, or keep the current one.' } };
  const time = when(values.at, now);
  if (time.problem) return time;
  return { body: { kind: 'transfer', patientId, fromWardId, wardId: values.wardId, at: time.at, ...(values.pathway ? { pathway: values.pathway } : {}) } };
}

/** The form field a server's `field` names (`deviceIds.1` is the devices box), or null for none. */
export function fieldOf(field, kind) {
  if (!field) return null;
  const head = field.split('.')[0];
  const fields = {
    admit: ['patientId', 'pathway', 'admission', 'source', 'imdDecile', 'deviceIds', 'at'],
    discharge: ['outcome', 'at'],
    transfer: ['wardId', 'pathway', 'at'],
  }[kind] || [];
  return fields.includes(head) ? head : null;
}

/** A server message for a person: without the field-name prefix, ward ids as ward names, a capital first. */
export function plainMessage(message, { field, wardNames = {} } = {}) {
  let text = String(message || '');
  if (field && text.startsWith(`${field}: `)) text = text.slice(field.length + 2);
  for (const [id, name] of Object.entries(wardNames)) text = text.split(id).join(name);
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

/**
 * What the server's answer to a flow request means: `{ ok: true, beds, overCapacity }` or
 * `{ ok: false, field, message }` with `field` one of the form's fields or null.
 */
export function readAnswer(kind, status, body, wardNames = {}) {
  body = body || {};
  if (status === 202) {
    if (body.duplicate) return { ok: true, duplicate: true, beds: null, listed: true, overCapacity: false, capacityWarning: null };
    const beds = typeof body.occupied === 'number' && typeof body.capacity === 'number' ? { occupied: body.occupied, capacity: body.capacity } : null;
    return {
      ok: true,
      duplicate: false,
      beds,
      // A patient not in the registry is counted, but has no name for a console to list.
      listed: body.registered !== false,
      overCapacity: body.overCapacity === true,
      capacityWarning: body.overCapacity === true && beds ? `Over commissioned capacity: ${beds.occupied} of ${beds.capacity} beds in use.` : null,
    };
  }
  if (status === 401) return { ok: false, field: null, message: 'Your sign-in is no longer valid: sign in again, then try again. Nothing was recorded.' };
  if (status === 403 && !body.field) return { ok: false, field: null, message: 'Only a ward lead can admit, discharge or transfer patients. Nothing was recorded.' };
  if (status === 503 || status >= 500) return { ok: false, field: null, message: 'Not recorded: vw could not save it just now. Try again in a moment.' };
  const field = fieldOf(body.field, kind);
  return { ok: false, field, message: plainMessage(body.message || 'Not recorded: the request was refused.', { field: body.field, wardNames }) };
}

/** Sends a flow request with the console's token; resolves to `{ status, body }` (status 0: not reached). */
export async function postFlow(token, body, fetchImpl = fetch) {
  try {
    const response = await fetchImpl(FLOW_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch {
      // An answer without JSON: the status says enough.
    }
    return { status: response.status, body: answer };
  } catch {
    return { status: 0, body: { message: 'Not recorded: could not reach vw. Check the connection and try again.' } };
  }
}

function newer(a, b) {
  return !a || (b && Date.parse(b.ts) >= Date.parse(a.ts));
}

/**
 * Applies a `roster` frame to the console's patients (a Map by id), in place: those not listed leave,
 * those drawn join (or are redrawn, keeping any reading or score the console holds that is newer).
 * Returns who joined, who left, and any listed id the console has no view of (it should resubscribe).
 */
export function applyRoster(patients, frame) {
  const listed = new Set(frame.patientIds);
  const left = [];
  for (const [id, patient] of patients) {
    if (!listed.has(id)) {
      left.push(patient);
      patients.delete(id);
    }
  }
  const joined = [];
  for (const view of frame.patients) {
    if (!listed.has(view.patientId)) continue;
    const held = patients.get(view.patientId);
    if (!held) {
      joined.push(view);
      patients.set(view.patientId, view);
      continue;
    }
    const latest = { ...view.latest };
    for (const [type, value] of Object.entries(held.latest || {})) if (newer(latest[type], value)) latest[type] = value;
    const seen = [held.lastSeen, view.lastSeen].filter(Boolean).sort((a, b) => Date.parse(b) - Date.parse(a))[0] || null;
    const score = held.score && (!view.score || Date.parse(held.score.ts) > Date.parse(view.score.ts)) ? held.score : view.score;
    const settings = held.settings && (!view.settings || held.settings.version > view.settings.version) ? held.settings : view.settings;
    patients.set(view.patientId, { ...view, latest, lastSeen: seen, score, settings, spo2Scale: settings ? settings.spo2Scale : view.spo2Scale });
  }
  const missing = frame.patientIds.filter((id) => !patients.has(id));
  return { joined, left, missing };
}

/** Puts a record in a Map by id unless the Map holds the same or a higher revision; true if it did. */
function keepNewest(map, id, record) {
  const held = map.get(id);
  if (held && held.revision >= record.revision) return false;
  map.set(id, record);
  return true;
}

/**
 * A patient's alerts, referrals, notifications and handover notes are shown on the ward the patient
 * is on now (docs/feed.md). Applies a `roster` frame's share of them to what the console holds
 * (`held`: Maps of alerts, referrals and notifications by id, the routes each alert offers by alert id,
 * and handover notes by patient id), in place: drops everything of the patients the change took to
 * another ward (`transferredOut`), then adds the arriving patients' records, keeping the higher
 * revision of each. Returns the ids of the alerts dropped and the alerts taken from the frame.
 */
export function applyRosterRecords(held, frame) {
  const gone = new Set(frame.transferredOut || []);
  const dropped = [];
  if (gone.size) {
    for (const [id, alert] of held.alerts) {
      if (!gone.has(alert.patientId)) continue;
      held.alerts.delete(id);
      held.alertRoutes.delete(id);
      dropped.push(id);
    }
    for (const [id, referral] of held.referrals) if (gone.has(referral.patientId)) held.referrals.delete(id);
    for (const [id, notification] of held.notifications) if (gone.has(notification.patientId)) held.notifications.delete(id);
    if (held.notes) for (const patientId of gone) held.notes.delete(patientId);
  }
  const arrived = [];
  const routes = frame.alertRoutes || {};
  for (const alert of frame.alerts || []) {
    if (!keepNewest(held.alerts, alert.alertId, alert)) continue;
    held.alertRoutes.set(alert.alertId, routes[alert.alertId] || []);
    arrived.push(alert);
  }
  for (const referral of frame.referrals || []) keepNewest(held.referrals, referral.referralId, referral);
  for (const notification of frame.notifications || []) keepNewest(held.notifications, notification.notificationId, notification);
  return { dropped, arrived };
}
