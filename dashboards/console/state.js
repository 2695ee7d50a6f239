// @ts-check
// What the console holds: the session, the ward it shows as vw last described it, and the forms that
// are open. One object, shared by the console's modules; frames change it and a render draws it.

/**
 * @typedef {import('./generated/frames').PatientView} PatientView
 * @typedef {import('./generated/frames').Alert} Alert
 * @typedef {import('./generated/frames').Referral} Referral
 * @typedef {import('./generated/frames').ReferralRoute} ReferralRoute
 * @typedef {import('./generated/frames').Notification} Notification
 * @typedef {import('./generated/frames').HandoverNote} HandoverNote
 * @typedef {import('./generated/frames').PatientSettings} PatientSettings
 * @typedef {import('./generated/frames').SeriesPoint} SeriesPoint
 * @typedef {import('./generated/frames').ChartBands} ChartBands
 * @typedef {import('./generated/frames').WardCapacity} WardCapacity
 */

/**
 * The ward's capacity picture, with when it arrived: ages are reckoned on the server's clock.
 * @typedef {WardCapacity & { receivedAt: number }} HeldCapacity
 */

/**
 * The open referral form: about an alert (`key` alert:<id>) or a patient (patient:<id>).
 * @typedef {{ key: string, patientId: string, alertId: string | null, pending: boolean, node: HTMLFormElement }} Referring
 */

/**
 * The open settings form; `overVersion` is a version saved by someone else while it was open.
 * @typedef {{ patientId: string, baseVersion: number, overVersion: number | null, pending: boolean, error: string, notice: string,
 *   node: HTMLFormElement, message: HTMLElement, save: HTMLButtonElement }} SettingsEditor
 */

/** @typedef {{ patientId: string, node: HTMLFormElement, text: HTMLTextAreaElement, button: HTMLButtonElement }} NoteForm */

/** @typedef {{ kind: 'discharge' | 'transfer', patientId: string, node: HTMLElement, focus: () => void }} FlowForm */

export const state = {
  /** @type {string | null} */
  token: null,
  /** @type {WebSocket | null} */
  socket: null,
  /** @type {string | null} */
  user: null,
  /** @type {Array<{ wardId: string, name: string }>} */
  wards: [],
  /** @type {string | null} */
  wardId: null,
  wardName: '',
  /** @type {Map<string, PatientView>} */
  patients: new Map(),
  /** @type {Map<string, Alert>} */
  alerts: new Map(),
  /** @type {Set<string>} Alerts whose acknowledgement or resolution is on its way. */
  pendingAck: new Set(),
  /** @type {Set<string>} Alerts that have just arrived or risen, drawn highlighted for a moment. */
  fresh: new Set(),
  /** @type {string | null} */
  selected: null,
  /** @type {Map<string, SeriesPoint[]>} Points by `<patientId>:<readingType>`. */
  series: new Map(),
  // Settings versions per patient, newest first, once asked for; and the open change form, if any.
  /** @type {Map<string, PatientSettings[]>} */
  settingsHistory: new Map(),
  /** @type {SettingsEditor | null} */
  editor: null,
  connected: false,
  retryMs: 1000,
  // Sound for new high alerts is on, and plays once the user has interacted with the page (browsers
  // allow audio only then); the button turns it off.
  muted: false,
  interacted: false,
  authFailed: false,
  /** @type {HeldCapacity | null} */
  capacity: null,
  /** @type {Map<string, Referral>} */
  referrals: new Map(),
  /** @type {{ version: string, routes: ReferralRoute[], patientRoutes: string[] }} */
  routes: { version: '', routes: [], patientRoutes: [] },
  /** @type {Map<string, string[]>} */
  alertRoutes: new Map(),
  /** @type {Referring | null} */
  referring: null,
  /** @type {string[]} */
  roles: [],
  /** @type {Map<string, Notification>} */
  notifications: new Map(),
  /** @type {ChartBands} */
  chartBands: { ruleVersion: '', bands: {} },
  // Handover notes per patient, newest first; and the note form of the open patient, kept across renders.
  /** @type {Map<string, HandoverNote[]>} */
  notes: new Map(),
  /** @type {NoteForm | null} */
  noteForm: null,
  // The token names the role "ward lead" (from the welcome): admit, discharge and transfer are offered.
  wardLead: false,
  /** @type {FlowForm | null} The open discharge or transfer form of the selected patient. */
  flowForm: null,
  // When the token expires (from the welcome, or the last refresh), and the timer that warns before.
  /** @type {number | null} */
  expiresAt: null,
  /** @type {ReturnType<typeof setTimeout> | null} */
  expiryTimer: null,
  // The warning shown while the token is about to expire, kept in the banner until it is renewed.
  expiryWarning: '',
};
