import { createHash } from 'node:crypto';
import type { Alert, AlertAction, AlertEvidence, AlertSeverity, News2Band, News2Parameter, ScoreEvent, ScoredInput } from '../../domain/index.ts';
import { SEVERITY_RANK } from '../../domain/index.ts';
import { createRecentIds } from './recent-ids.ts';

/**
 * The alert lifecycle for scored causes: at most one unresolved alert per patient and cause. An alert
 * opens when the band crosses into low-medium, medium or high from a lower band; a repeat updates it,
 * a higher band steps its severity up (and reopens it if it had been acknowledged, so the rise is
 * seen), and only a person resolves it. After a resolution the patient's band must rise again to open
 * a new alert, so a reviewed patient who stays at the same band is not re-alerted on every reading.
 * Lowering severity and auto-resolution are left to explicit rules. State is held per patient by the
 * process that owns the patient's partition.
 */
export interface ScoreExplainer {
  /** Words for the threshold an input's value fell within, e.g. "≥25 /min scores 3". */
  threshold(parameter: News2Parameter, input: ScoredInput, score: ScoreEvent): string;
  /** The recommended response for a band, from the rule (local policy may override). */
  response(band: News2Band): string;
}

export type ActionOutcome = { alert: Alert; changed: boolean } | { error: 'not_found' | 'already_resolved' | 'wrong_patient' };

const BAND_RANK: Record<News2Band, number> = { low: 0, 'low-medium': 1, medium: 2, high: 3 };
const PARAM_LABEL: Record<News2Parameter, string> = {
  respiratory_rate: 'RR',
  spo2: 'SpO2',
  supplemental_oxygen: 'O2',
  systolic_bp: 'SBP',
  heart_rate: 'HR',
  consciousness: 'ACVPU',
  temperature: 'Temp',
};

function alertIdFor(patientId: string, cause: string, raisedBy: string): string {
  return 'al_' + createHash('sha1').update(`${patientId}\u0000${cause}\u0000${raisedBy}`).digest('base64url').slice(0, 20);
}

function formatValue(value: ScoredInput['value']): string {
  return typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value);
}

/** Who is told, band by band, when an alert stays unacknowledged (rules/news2.yaml localPolicy). */
export type EscalationLadders = Partial<Record<News2Band, ReadonlyArray<{ afterUnacknowledged: number; notify: string }>>>;

export function createAlertBook(explainer: ScoreExplainer, ladders: EscalationLadders = {}) {
  /** Unresolved alerts by patient, then cause. */
  const open = new Map<string, Map<string, Alert>>();
  /** Unresolved alerts by id. */
  const byId = new Map<string, Alert>();
  const resolved = createRecentIds();
  /** Escalation timers of unacknowledged alerts: the next step of the ladder of the alert's severity. */
  const timers = new Map<string, { step: number; due: number }>();

  /** Starts (or restarts, after a rise) the ladder of the alert's severity from `from`. */
  function arm(alert: Alert, from: number, step = 0): void {
    const next = ladders[alert.severity]?.[step];
    if (next && (alert.state === 'open' || alert.state === 'escalated')) timers.set(alert.alertId, { step, due: from + next.afterUnacknowledged });
    else timers.delete(alert.alertId);
  }
  /** The newest band seen per patient and cause, to tell a crossing from a repeat. */
  /** The newest band per patient and cause; a patient has one cause or very few, so a short list. */
  const bands = new Map<string, Array<{ cause: string; band: News2Band; t: number }>>();
  const bandOf = (patientId: string, cause: string) => bands.get(patientId)?.find((b) => b.cause === cause);
  /** Records the newest band, in place when one is held (this runs for every score). */
  const setBand = (patientId: string, cause: string, band: News2Band, t: number) => {
    const causes = bands.get(patientId);
    const held = causes?.find((b) => b.cause === cause);
    if (held) {
      held.band = band;
      held.t = t;
    } else if (causes) causes.push({ cause, band, t });
    else bands.set(patientId, [{ cause, band, t }]);
  };

  function evidenceOf(score: ScoreEvent): AlertEvidence[] {
    const out: AlertEvidence[] = [];
    for (const [parameter, input] of Object.entries(score.inputs) as [News2Parameter, ScoredInput][]) {
      if (input.subscore === 0) continue;
      out.push({
        readingId: input.readingId,
        type: parameter,
        value: input.value,
        ts: input.ts,
        threshold: explainer.threshold(parameter, input, score),
      });
    }
    return out;
  }

  function explain(score: ScoreEvent): string {
    const parts = (Object.entries(score.inputs) as [News2Parameter, ScoredInput][])
      .filter(([, i]) => i.subscore > 0)
      .sort((a, b) => b[1].subscore - a[1].subscore)
      .map(([p, i]) => `${PARAM_LABEL[p]} ${formatValue(i.value)} (+${i.subscore})`);
    const partial = score.partial ? `; partial, at least this high (no fresh ${score.missing.map((m) => PARAM_LABEL[m]).join(', ')})` : '';
    return `NEWS2 ${score.total} (${score.band}): ${parts.join(', ') || 'no raised parameters'}${partial}`;
  }

  function armed(alert: Alert, from: number): Alert {
    arm(alert, from);
    return alert;
  }

  function remember(alert: Alert): Alert {
    let causes = open.get(alert.patientId);
    if (alert.state === 'resolved') {
      // Resolved alerts leave memory; a late action on one is still told it was resolved.
      byId.delete(alert.alertId);
      resolved.add(alert.alertId);
      timers.delete(alert.alertId);
      causes?.delete(alert.cause);
      if (causes?.size === 0) open.delete(alert.patientId);
    } else {
      byId.set(alert.alertId, alert);
      if (!causes) open.set(alert.patientId, (causes = new Map()));
      causes.set(alert.cause, alert);
    }
    return alert;
  }

  return {
    /** Returns the alert to publish when the score opens or changes one, otherwise undefined. */
    applyScore(score: ScoreEvent): Alert | undefined {
      const cause = score.ruleId;
      const current = open.get(score.patientId)?.get(cause);
      const t = Date.parse(score.ts);
      const held = bandOf(score.patientId, cause);
      if (held && t < held.t) return undefined;
      const previousBand = held?.band;
      setBand(score.patientId, cause, score.band, t);
      if (BAND_RANK[score.band] === 0) return undefined;
      const severity = score.band as AlertSeverity;
      if (!current) {
        const crossed = BAND_RANK[score.band] > BAND_RANK[previousBand ?? 'low'];
        if (!crossed) return undefined;
        return armed(remember({
          alertId: alertIdFor(score.patientId, cause, score.scoreId),
          patientId: score.patientId,
          wardId: score.wardId,
          cause,
          ruleId: score.ruleId,
          ruleVersion: score.ruleVersion,
          severity,
          state: 'open',
          revision: 0,
          raisedAt: score.ts,
          updatedAt: score.ts,
          eventTs: score.ts,
          score: score.total,
          partial: score.partial,
          explanation: explain(score),
          response: explainer.response(score.band),
          evidence: evidenceOf(score),
          history: [{ state: 'open', at: score.ts, by: 'vw' }],
          receivedAt: score.receivedAt,
        }), t);
      }
      // Scores older than what the alert already shows, or identical to it (a redelivery), change nothing.
      if (t < Date.parse(current.eventTs)) return undefined;
      const explanation = explain(score);
      const rises = SEVERITY_RANK[severity] > SEVERITY_RANK[current.severity];
      if (!rises && explanation === current.explanation && score.partial === current.partial) return undefined;
      // A rise reopens the alert (acknowledged or escalated) and starts the ladder of its new band.
      const reopen = rises && current.state !== 'open';
      const updated = remember({
        ...current,
        severity: rises ? severity : current.severity,
        state: reopen ? 'open' : current.state,
        revision: current.revision + 1,
        updatedAt: score.ts,
        eventTs: score.ts,
        score: score.total,
        partial: score.partial,
        explanation,
        response: rises ? explainer.response(score.band) : current.response,
        evidence: evidenceOf(score),
        history: rises ? [...current.history, { state: 'open', at: score.ts, by: 'vw', note: `severity rose to ${severity}` }] : current.history,
        receivedAt: score.receivedAt,
      });
      if (rises) arm(updated, t);
      return updated;
    },

    /** Fires escalation steps due by `now` for unacknowledged alerts of patients `owns` accepts. */
    tick(now: number, owns: (patientId: string) => boolean = () => true): Alert[] {
      const out: Alert[] = [];
      for (const [alertId, timer] of [...timers].sort((a, b) => a[1].due - b[1].due || (a[0] < b[0] ? -1 : 1))) {
        let alert = byId.get(alertId);
        if (!alert || !owns(alert.patientId)) continue;
        let { step, due } = timer;
        const ladder = ladders[alert.severity] ?? [];
        let changed = false;
        while (step < ladder.length && due <= now && (alert.state === 'open' || alert.state === 'escalated')) {
          const at = new Date(due).toISOString();
          alert = remember({
            ...alert,
            state: 'escalated',
            revision: alert.revision + 1,
            updatedAt: at > alert.updatedAt ? at : alert.updatedAt,
            history: [...alert.history, { state: 'escalated', at, by: 'vw', note: `not acknowledged in time: ${ladder[step]!.notify}`, notify: ladder[step]!.notify }],
          });
          changed = true;
          step++;
          if (step < ladder.length) due += ladder[step]!.afterUnacknowledged;
        }
        if (!changed) continue;
        if (step < ladder.length) timers.set(alertId, { step, due });
        else timers.delete(alertId);
        out.push(alert);
      }
      return out;
    },

    applyAction(action: AlertAction): ActionOutcome {
      const current = byId.get(action.alertId);
      if (!current) return { error: resolved.has(action.alertId) ? 'already_resolved' : 'not_found' };
      if (current.patientId !== action.patientId) return { error: 'wrong_patient' };
      if (current.state === 'resolved') return { error: 'already_resolved' };
      const state = action.action === 'acknowledge' ? 'acknowledged' : 'resolved';
      // A repeated acknowledgement (double click, redelivered action) is absorbed.
      if (state === current.state) return { alert: current, changed: false };
      const at = action.at > current.updatedAt ? action.at : current.updatedAt;
      timers.delete(current.alertId);
      return {
        changed: true,
        alert: remember({
          ...current,
          state,
          revision: current.revision + 1,
          updatedAt: at,
          history: [...current.history, { state, at: action.at, by: action.by, ...(action.note ? { note: action.note } : {}) }],
        }),
      };
    },

    /**
     * Installs an alert published by another process (or by this one before a restart), so a process
     * that takes over a patient continues that patient's alert instead of opening a second one.
     */
    seed(alert: Alert): void {
      const held = byId.get(alert.alertId);
      if (held && held.revision >= alert.revision) return;
      if (!held && resolved.has(alert.alertId)) return;
      remember(alert);
      // Resume the ladder where it was: steps taken since the latest opening or rise.
      let since = 0;
      alert.history.forEach((h, i) => {
        if (h.state === 'open') since = i;
      });
      const taken = alert.history.slice(since).filter((h) => h.state === 'escalated').length;
      const ladder = ladders[alert.severity] ?? [];
      let due = Date.parse(alert.history[since]?.at ?? alert.raisedAt);
      for (let i = 0; i <= taken && i < ladder.length; i++) due += ladder[i]!.afterUnacknowledged;
      if (taken < ladder.length && (alert.state === 'open' || alert.state === 'escalated')) timers.set(alert.alertId, { step: taken, due });
      else timers.delete(alert.alertId);
      const t = Date.parse(alert.eventTs);
      const previous = bandOf(alert.patientId, alert.cause);
      if (!previous || previous.t <= t) setBand(alert.patientId, alert.cause, alert.severity, t);
    },

    /** The newest band seen for a patient and cause, for a changelog. */
    exportBand(patientId: string, cause: string): { band: News2Band; t: number } | undefined {
      const held = bandOf(patientId, cause);
      return held && { band: held.band, t: held.t };
    },
    importBand(patientId: string, cause: string, value: { band: News2Band; t: number }): void {
      const previous = bandOf(patientId, cause);
      if (!previous || previous.t <= value.t) setBand(patientId, cause, value.band, value.t);
    },

    get(alertId: string): Alert | undefined {
      return byId.get(alertId);
    },

    unresolved(patientId: string): Alert[] {
      return [...(open.get(patientId)?.values() ?? [])];
    },
  };
}

export type AlertBook = ReturnType<typeof createAlertBook>;
