import type { Alert, AlertAction, AlertEvidence, AlertSeverity, News2Band, News2Parameter, ScoreEvent, ScoredInput } from '../../domain/index.ts';
import { SEVERITY_RANK } from '../../domain/index.ts';
// Explanations are plain ASCII (SpO2, O2): they travel in records, messages and logs.
import { PARAM_LABEL_ASCII as PARAM_LABEL } from '../../domain/labels.ts';
import { actOnAlert, createAlertIndex, escalateDue, openAlert, resumeLadder, reviseAlert, startLadder, type ActionOutcome, type Ladder, type LadderPosition } from './lifecycle.ts';

/**
 * NEWS2's alerts: when a score opens, changes or raises one, on the one alert lifecycle
 * (lifecycle.ts). At most one unresolved alert per patient and cause. An alert opens when the band
 * crosses into low-medium, medium or high from a lower band; a repeat updates it, a higher band steps
 * its severity up (the alert is open again and the new band's ladder starts, so the rise is seen), and
 * only a person resolves it. After a resolution the patient's band must rise again to open a new
 * alert, so a reviewed patient who stays at the same band is not re-alerted on every reading.
 * Lowering severity and auto-resolution are left to explicit rules. State is held per patient by the
 * process that owns the patient's partition.
 */
export interface ScoreExplainer {
  /** Words for the threshold an input's value fell within, e.g. "≥25 /min scores 3". */
  threshold(parameter: News2Parameter, input: ScoredInput, score: ScoreEvent): string;
  /** The recommended response for a band, from the rule (local policy may override). */
  response(band: News2Band): string;
}

export type { ActionOutcome } from './lifecycle.ts';

const BAND_RANK: Record<News2Band, number> = { low: 0, 'low-medium': 1, medium: 2, high: 3 };

function formatValue(value: ScoredInput['value']): string {
  return typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value);
}

/** Who is told, band by band, when an alert stays unacknowledged (rules/news2.yaml localPolicy). */
export type EscalationLadders = Partial<Record<News2Band, ReadonlyArray<{ afterUnacknowledged: number; notify: string }>>>;

export function createAlertBook(explainer: ScoreExplainer, ladders: EscalationLadders = {}) {
  /** Unresolved alerts by patient, then cause. */
  const open = new Map<string, Map<string, Alert>>();
  /** Unresolved alerts by id. */
  const index = createAlertIndex<Alert>();
  /** Where each unacknowledged alert stands on the ladder of its severity. */
  const timers = new Map<string, LadderPosition>();
  const ladderOf = (severity: AlertSeverity): Ladder => ladders[severity] ?? [];
  const setTimer = (alertId: string, position: LadderPosition) => (position.due === undefined ? timers.delete(alertId) : timers.set(alertId, position));

  /** The newest band per patient and cause, to tell a crossing from a repeat; a patient has one cause or very few, so a short list. */
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

  function remember(alert: Alert): Alert {
    let causes = open.get(alert.patientId);
    if (alert.state === 'resolved') {
      // Resolved alerts leave memory; a late action on one is still told it was resolved.
      index.release(alert.alertId);
      timers.delete(alert.alertId);
      causes?.delete(alert.cause);
      if (causes?.size === 0) open.delete(alert.patientId);
    } else {
      index.hold(alert.alertId, alert);
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
        const alert = openAlert(
          {
            openedBy: score.scoreId,
            patientId: score.patientId,
            wardId: score.wardId,
            cause,
            ruleId: score.ruleId,
            ruleVersion: score.ruleVersion,
            severity,
            score: score.total,
            partial: score.partial,
            explanation: explain(score),
            response: explainer.response(score.band),
            evidence: evidenceOf(score),
            receivedAt: score.receivedAt,
          },
          score.ts,
        );
        setTimer(alert.alertId, startLadder(ladderOf(severity), t));
        return remember(alert);
      }
      // Scores older than what the alert already shows, or identical to it (a redelivery), change nothing.
      if (t < Date.parse(current.eventTs)) return undefined;
      const explanation = explain(score);
      const rises = SEVERITY_RANK[severity] > SEVERITY_RANK[current.severity];
      if (!rises && explanation === current.explanation && score.partial === current.partial) return undefined;
      const shown = rises ? severity : current.severity;
      const revised = reviseAlert(
        current,
        timers.get(current.alertId) ?? { step: 0, due: undefined },
        ladderOf(shown),
        {
          at: score.ts,
          severity: shown,
          rises,
          ...(rises ? { note: `severity rose to ${severity}`, response: explainer.response(score.band) } : {}),
          explanation,
          evidence: evidenceOf(score),
          score: score.total,
          partial: score.partial,
          receivedAt: score.receivedAt,
        },
        'restart-ladder',
      );
      if (rises) setTimer(current.alertId, revised.position);
      return remember(revised.alert);
    },

    /** Fires escalation steps due by `now` for unacknowledged alerts of patients `owns` accepts. */
    tick(now: number, owns: (patientId: string) => boolean = () => true): Alert[] {
      const out: Alert[] = [];
      for (const [alertId, position] of [...timers].sort((a, b) => a[1].due! - b[1].due! || (a[0] < b[0] ? -1 : 1))) {
        const alert = index.get(alertId);
        if (!alert || !owns(alert.patientId)) continue;
        const stepped = escalateDue(alert, position, ladderOf(alert.severity), now);
        if (!stepped) continue;
        setTimer(alertId, stepped.position);
        out.push(remember(stepped.alert));
      }
      return out;
    },

    applyAction(action: AlertAction): ActionOutcome {
      const current = index.get(action.alertId);
      if (!current) return { error: index.missing(action.alertId) };
      const outcome = actOnAlert(current, action);
      if ('error' in outcome || !outcome.changed) return outcome;
      timers.delete(current.alertId);
      return { changed: true, alert: remember(outcome.alert) };
    },

    /**
     * Installs an alert published by another process (or by this one before a restart), so a process
     * that takes over a patient continues that patient's alert instead of opening a second one.
     */
    seed(alert: Alert): void {
      const held = index.get(alert.alertId);
      if (held && held.revision >= alert.revision) return;
      if (!held && index.wasResolved(alert.alertId)) return;
      remember(alert);
      if (alert.state !== 'resolved') setTimer(alert.alertId, resumeLadder(alert, ladderOf(alert.severity), 'restart-ladder'));
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

    /** Lets go of the patients `which` names (now another process's): their alerts, timers and bands. */
    releasePatients(which: (patientId: string) => boolean): void {
      for (const [patientId, causes] of open) {
        if (!which(patientId)) continue;
        for (const alert of causes.values()) {
          index.forget(alert.alertId);
          timers.delete(alert.alertId);
        }
        open.delete(patientId);
      }
      for (const patientId of bands.keys()) if (which(patientId)) bands.delete(patientId);
    },

    get(alertId: string): Alert | undefined {
      return index.get(alertId);
    },

    unresolved(patientId: string): Alert[] {
      return [...(open.get(patientId)?.values() ?? [])];
    },
  };
}

export type AlertBook = ReturnType<typeof createAlertBook>;
