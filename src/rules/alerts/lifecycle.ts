import { createHash } from 'node:crypto';
import type { Alert, AlertAction, AlertSeverity, AlertTransition } from '../../domain/index.ts';
import { createRecentIds } from './recent-ids.ts';
import { isoTime } from '../../time/calendar.ts';

/**
 * The one alert lifecycle, for the rule engine's alerts and NEWS2's alike:
 *
 *   open ──(unacknowledged past a step)──▶ escalated ──▶ …
 *     │  ▲                                     │
 *     │  └──(severity rises)── acknowledged ◀──┘ (a person)
 *     └──────────────▶ resolved (a person, or a rule whose condition cleared)
 *
 * Each change is a new revision of the same alert (same id, revision + 1, one more history entry),
 * and `updatedAt` never goes back. What opens an alert, and what its severity is, is the caller's:
 * a rule's condition and levels, or a NEWS2 band crossing. What happens to it afterwards is here.
 */

/** One step of an escalation ladder: who is told when an alert stays unacknowledged this long. */
export interface EscalationStep {
  afterUnacknowledged: number;
  notify: string;
  /** The severity the alert reaches at this step, if it rises (a rule's ladder may say). */
  to?: AlertSeverity;
}
export type Ladder = readonly EscalationStep[];

/**
 * Where an alert stands on its ladder: the next step, and when it falls due (undefined when nothing
 * is due: acknowledged, resolved, or past the last step).
 */
export interface LadderPosition {
  step: number;
  due: number | undefined;
}

/**
 * How a severity rise meets the ladder. A rule has one ladder whatever the severity, so a rise
 * carries on where the alert was (an acknowledged alert is reopened from its next step); NEWS2 has a
 * ladder per band, so a rise starts the new band's ladder from its first step and the alert is open
 * again, whatever it was.
 */
export type OnRise = 'continue-ladder' | 'restart-ladder';

export type ActionOutcome = { alert: Alert; changed: boolean } | { error: 'not_found' | 'already_resolved' | 'wrong_patient' };

const later = (a: string, b: string) => (a > b ? a : b);

/** An alert's id: the same opening gives the same id in every process and every replay. */
export function alertIdFor(patientId: string, cause: string, opening: string): string {
  return 'al_' + createHash('sha1').update(`${patientId}\u0000${cause}\u0000${opening}`).digest('base64url').slice(0, 20);
}

/** Whether the alert is waiting for a person: its ladder runs. */
export const awaitsAcknowledgement = (alert: Pick<Alert, 'state'>) => alert.state === 'open' || alert.state === 'escalated';

/** What opens an alert: everything but the lifecycle's own fields. */
export type Opening = Omit<Alert, 'alertId' | 'state' | 'revision' | 'raisedAt' | 'updatedAt' | 'eventTs' | 'history' | 'partial' | 'score'> & {
  /** What makes this opening unique for its patient and cause (its time, or the score that crossed). */
  openedBy: string;
  score?: number;
  partial: boolean;
};

/** Revision 0 of a new alert, opened at `at`. */
export function openAlert(opening: Opening, at: string): Alert {
  const { openedBy, score, ...rest } = opening;
  // Field order is the published JSON's: replays are compared byte for byte.
  return {
    alertId: alertIdFor(rest.patientId, rest.cause, openedBy),
    patientId: rest.patientId,
    wardId: rest.wardId,
    cause: rest.cause,
    ruleId: rest.ruleId,
    ruleVersion: rest.ruleVersion,
    severity: rest.severity,
    state: 'open',
    revision: 0,
    raisedAt: at,
    updatedAt: at,
    eventTs: at,
    ...(score !== undefined ? { score } : {}),
    partial: rest.partial,
    explanation: rest.explanation,
    response: rest.response,
    evidence: rest.evidence,
    history: [{ state: 'open', at, by: 'vw' }],
    receivedAt: rest.receivedAt,
  };
}

/** The ladder from its step `step`, counted from `from`. */
export function startLadder(ladder: Ladder, from: number, step = 0): LadderPosition {
  const next = ladder[step];
  return { step, due: next ? from + next.afterUnacknowledged : undefined };
}

/** New evidence, and perhaps a new severity, for an unresolved alert: the next revision, and where its ladder stands after it. */
export interface Revision {
  at: string;
  severity: AlertSeverity;
  /** The severity rose (reopens an acknowledged alert; see OnRise). */
  rises: boolean;
  /** A history note when the shown severity changed, e.g. "severity rose to high". */
  note?: string;
  response?: string;
  explanation: string;
  evidence: Alert['evidence'];
  score?: number;
  partial?: boolean;
  receivedAt: string;
}

export function reviseAlert(alert: Alert, position: LadderPosition, ladder: Ladder, change: Revision, onRise: OnRise): { alert: Alert; position: LadderPosition } {
  const t = Date.parse(change.at);
  let state = alert.state;
  let next = position;
  if (change.rises && onRise === 'restart-ladder') {
    state = 'open';
    next = startLadder(ladder, t);
  } else if (change.rises && alert.state === 'acknowledged') {
    state = 'open';
    next = startLadder(ladder, t, position.step);
  }
  const revised: Alert = {
    ...alert,
    severity: change.severity,
    state,
    revision: alert.revision + 1,
    updatedAt: later(change.at, alert.updatedAt),
    eventTs: change.at,
    ...(change.score !== undefined ? { score: change.score } : {}),
    ...(change.partial !== undefined ? { partial: change.partial } : {}),
    explanation: change.explanation,
    ...(change.response !== undefined ? { response: change.response } : {}),
    evidence: change.evidence,
    history: change.note ? [...alert.history, { state, at: change.at, by: 'vw', note: change.note }] : alert.history,
    receivedAt: change.receivedAt,
  };
  return { alert: revised, position: next };
}

/**
 * Takes every step of the ladder due by `now` while nobody acknowledges: each is a revision, the
 * step's time in its history. Returns undefined when nothing was due.
 */
export function escalateDue(alert: Alert, position: LadderPosition, ladder: Ladder, now: number, severityAt: (step: EscalationStep, alert: Alert) => AlertSeverity = (_, a) => a.severity): { alert: Alert; position: LadderPosition } | undefined {
  let { step, due } = position;
  let current = alert;
  let changed = false;
  while (due !== undefined && due <= now && step < ladder.length && awaitsAcknowledgement(current)) {
    const rung = ladder[step]!;
    const at = isoTime(due);
    current = {
      ...current,
      severity: severityAt(rung, current),
      state: 'escalated',
      revision: current.revision + 1,
      updatedAt: later(at, current.updatedAt),
      history: [...current.history, { state: 'escalated', at, by: 'vw', note: `not acknowledged in time: ${rung.notify}`, notify: rung.notify }],
    };
    changed = true;
    step++;
    const next = ladder[step];
    due = next ? due + next.afterUnacknowledged : undefined;
  }
  return changed ? { alert: current, position: { step, due } } : undefined;
}

/**
 * A person's acknowledgement or resolution. A repeated one (double click, redelivered action) is
 * absorbed; an action naming another patient is refused.
 */
export function actOnAlert(alert: Alert, action: AlertAction): ActionOutcome {
  if (alert.patientId !== action.patientId) return { error: 'wrong_patient' };
  if (alert.state === 'resolved') return { error: 'already_resolved' };
  const state = action.action === 'acknowledge' ? 'acknowledged' : 'resolved';
  if (state === alert.state) return { alert, changed: false };
  const entry: AlertTransition = { state, at: action.at, by: action.by, ...(action.note ? { note: action.note } : {}) };
  return {
    changed: true,
    alert: { ...alert, state, revision: alert.revision + 1, updatedAt: later(action.at, alert.updatedAt), history: [...alert.history, entry] },
  };
}

/** Resolved by the rule itself: its condition no longer holds. */
export function resolveCleared(alert: Alert, at: string, receivedAt: string): Alert {
  return {
    ...alert,
    state: 'resolved',
    revision: alert.revision + 1,
    updatedAt: later(at, alert.updatedAt),
    eventTs: at,
    history: [...alert.history, { state: 'resolved', at, by: 'vw', note: 'condition cleared' }],
    receivedAt,
  };
}

/**
 * Where the ladder of an alert published earlier stands, from its history alone, so a process that
 * takes the patient over escalates it when the first process would have. The ladder (re)started at
 * the latest opening: the first, a reopening, or (restart-ladder) a rise; the steps since are taken.
 */
export function resumeLadder(alert: Alert, ladder: Ladder, onRise: OnRise): LadderPosition {
  // A step taken names who was told; other entries in state escalated are severity changes.
  const isStep = (h: AlertTransition) => h.state === 'escalated' && h.notify !== undefined;
  let since = 0;
  let stepAtStart = 0;
  let escalations = 0;
  alert.history.forEach((h, i) => {
    const before = i > 0 ? alert.history[i - 1]!.state : undefined;
    if (h.state === 'open' && (i === 0 || before !== 'open' || onRise === 'restart-ladder')) {
      since = i;
      stepAtStart = onRise === 'restart-ladder' ? 0 : escalations;
    }
    if (isStep(h)) escalations++;
  });
  const step = stepAtStart + alert.history.slice(since).filter(isStep).length;
  if (!awaitsAcknowledgement(alert) || step >= ladder.length) return { step, due: undefined };
  let due = Date.parse(alert.history[since]?.at ?? alert.raisedAt);
  for (let i = stepAtStart; i <= step; i++) due += ladder[i]!.afterUnacknowledged;
  return { step, due };
}

/**
 * Unresolved alerts by id, and the ids of recently resolved ones, so a late or repeated action on a
 * resolved alert is told so rather than "not found".
 */
export function createAlertIndex<Ref>() {
  const open = new Map<string, Ref>();
  const resolved = createRecentIds();
  return {
    hold(alertId: string, ref: Ref): void {
      open.set(alertId, ref);
    },
    release(alertId: string): void {
      open.delete(alertId);
      resolved.add(alertId);
    },
    /** Lets go of an open alert this process no longer owns (its patient moved to another process): not resolved. */
    forget(alertId: string): void {
      open.delete(alertId);
    },
    get: (alertId: string) => open.get(alertId),
    /** Why an id is not held: resolved a while ago, or never seen. */
    missing: (alertId: string): 'already_resolved' | 'not_found' => (resolved.has(alertId) ? 'already_resolved' : 'not_found'),
    wasResolved: (alertId: string) => resolved.has(alertId),
    knows: (alertId: string) => open.has(alertId) || resolved.has(alertId),
  };
}
