import type { Alert, AlertAction, AlertSeverity, News2Parameter, Pathway, Reading, ScoreEvent } from '../../domain/index.ts';
import { SEVERITY_RANK } from '../../domain/index.ts';
import {
  actOnAlert,
  createAlertIndex,
  escalateDue,
  openAlert,
  resolveCleared,
  resumeLadder,
  reviseAlert,
  startLadder,
  type ActionOutcome,
} from '../alerts/lifecycle.ts';
import { NEWS2_PARAMETERS } from '../news2/score.ts';
import type { HeldValue } from '../news2/scorer.ts';
import { explain, sameEvidence, toAlertEvidence } from './alert-text.ts';
import { evaluate, wakeAt, type EvaluationContext, type Evidence, type NodeState } from './evaluate.ts';
import type { RuleDefinition, RulePack, SeriesType } from './pack-file.ts';
import { NO_ALERTS, NO_NODES, NO_WAKES, PatientState, record, type OpenAlert, type PatientContext } from './patient-state.ts';
import { IS_NEWS2_TYPE, TYPE_INDEX, compileRules, type CompiledRule } from './rule-set.ts';
import { restoreInto, snapshotOf, type EngineSnapshot } from './snapshot.ts';
import { createTimerQueue } from './timer-queue.ts';
import { isoTime } from '../../time/calendar.ts';

export type { PatientContext } from './patient-state.ts';

/**
 * The rule engine: every loaded rule, for every patient on its pathways, with the alert lifecycle
 * (alerts/lifecycle.ts). Time is event time only: each patient has a clock, the newest event time
 * of its readings, and rules are evaluated at that clock; `tick(now)` moves time for timers (missing
 * data, windows, escalation). The same readings and ticks in the same order give the same alerts,
 * byte for byte.
 *
 * Late and out-of-order readings (docs/rules.md, "Time"): a reading is stored in its series in event
 * time order, so it counts in every window, average and delta it falls in; but rules are still
 * evaluated at the patient's clock, and a reading older than the newest of its type advances no
 * sustained or hysteresis state and is never "the latest". A reading older than everything a rule
 * keeps has no effect. Redelivered readings (same id) are absorbed.
 *
 * Timers cost nothing while nothing is due: each patient is woken at the earliest time a time-driven
 * condition could change (a missing-data deadline, a point leaving a window, UK midnight) or an
 * escalation falls due, from a queue ordered by that time (timer-queue.ts).
 *
 * Where the rest lives: compiled rules and rule sets per pathway (rule-set.ts), a patient's series
 * and open alerts (patient-state.ts), the changelog form (snapshot.ts), an alert's words
 * (alert-text.ts), conditions (evaluate.ts).
 */

export type EngineActionOutcome = ActionOutcome;

const INF = Number.POSITIVE_INFINITY;
const maxSeverity = (a: AlertSeverity, b: AlertSeverity | undefined) => (b && SEVERITY_RANK[b] > SEVERITY_RANK[a] ? b : a);

function samePathways(a: readonly Pathway[], b: readonly Pathway[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Scores NEWS2 from the latest reading of each parameter the engine holds (see news2/scorer.ts). */
export type ScoreHook = (held: (parameter: News2Parameter) => HeldValue | undefined, spo2Scale: 1 | 2, trigger: Reading) => ScoreEvent;

export function createRuleEngine(packs: readonly RulePack[], options: { score?: ScoreHook } = {}) {
  const scoreHook = options.score;
  const compiled = compileRules(packs, !!scoreHook);
  const { defs, slotOf, slotNames, ruleSetFor } = compiled;

  const patients = new Map<string, PatientState>();
  const alerts = createAlertIndex<{ patientId: string; rule: number }>();
  const timers = createTimerQueue<PatientState>();
  /** The latest time `tick` moved to: missing data is judged at it too (see EvaluationContext.timerNow). */
  let timerNow = Number.NEGATIVE_INFINITY;

  function stateOf(patientId: string, ctx: PatientContext, t: number): PatientState {
    let state = patients.get(patientId);
    if (!state) {
      state = new PatientState(patientId, ctx, ruleSetFor(ctx.pathways, ctx.spo2Scale ?? 1), t, t);
      patients.set(patientId, state);
      return state;
    }
    const previous = state.ctx;
    state.ctx = ctx;
    if ((previous.pathways !== ctx.pathways && !samePathways(previous.pathways, ctx.pathways)) || (previous.spo2Scale ?? 1) !== (ctx.spo2Scale ?? 1)) {
      const set = ruleSetFor(ctx.pathways, ctx.spo2Scale ?? 1);
      if (set !== state.ruleSet) {
        state.ruleSet = set;
        state.wakes = NO_WAKES;
      }
    }
    return state;
  }

  function contextFor(state: PatientState, now: number, fresh: readonly SeriesType[]): EvaluationContext {
    if (state.nodes === NO_NODES && state.ruleSet.hasNodes) state.nodes = new Array<NodeState | undefined>(slotNames.length).fill(undefined);
    const ctx: EvaluationContext = { history: state, settings: state.ctx.settings, now, timerNow, fresh, nodes: state.nodes, slotOf };
    if (state.ctx.settingsVersion !== undefined) ctx.settingsVersion = state.ctx.settingsVersion;
    return ctx;
  }

  function hold(state: PatientState, rule: number, open: OpenAlert): void {
    if (state.alerts === NO_ALERTS) state.alerts = new Array<OpenAlert | undefined>(defs.length).fill(undefined);
    state.alerts[rule] = open;
    alerts.hold(open.alert.alertId, { patientId: state.patientId, rule });
  }

  function letGo(state: PatientState, rule: number, alertId: string): void {
    state.alerts[rule] = undefined;
    alerts.release(alertId);
  }

  /** Evaluates one rule for one patient; returns the alert if it opened, changed or resolved. */
  function run(rule: CompiledRule, state: PatientState, ctx: EvaluationContext, receivedAt: () => string): Alert | undefined {
    const def = rule.def;
    const now = ctx.now;
    const outcome = evaluate(def.condition, ctx);
    let level: AlertSeverity = def.severity;
    let response = def.response;
    let levelEvidence: Evidence[] | undefined;
    for (const l of def.levels) {
      // Levels are evaluated every time, so their own sustained state stays current.
      const o = evaluate(l.when, ctx);
      if (outcome.holds && o.holds) {
        if (SEVERITY_RANK[l.severity] > SEVERITY_RANK[level]) {
          level = l.severity;
          response = l.response ?? response;
        }
        (levelEvidence ??= []).push(...o.evidence);
      }
    }
    const current = state.alerts[rule.index];
    if (!outcome.holds) state.rearm?.delete(rule.index);
    if (!outcome.holds && !current) return undefined;
    if (outcome.holds && !current) {
      if (state.rearm?.has(rule.index)) return undefined;
      const evidence = levelEvidence ? [...outcome.evidence, ...levelEvidence] : outcome.evidence;
      const alert = openAlert(
        {
          openedBy: String(now),
          patientId: state.patientId,
          wardId: state.ctx.wardId,
          cause: def.id,
          ruleId: def.id,
          ruleVersion: def.version,
          severity: level,
          partial: false,
          explanation: explain(def, evidence, outcome.notes),
          response,
          evidence: toAlertEvidence(evidence),
          receivedAt: receivedAt(),
        },
        isoTime(now),
      );
      hold(state, rule.index, { alert, level, ladder: startLadder(def.escalation, now) });
      return alert;
    }
    const open = current!;
    const alert = open.alert;
    if (!outcome.holds) {
      if (!def.autoResolve) return undefined;
      letGo(state, rule.index, alert.alertId);
      return resolveCleared(alert, isoTime(now), receivedAt());
    }
    const evidence = levelEvidence ? [...outcome.evidence, ...levelEvidence] : outcome.evidence;
    // Severity steps up with the rule's levels; it steps down only where the rule allows it, and
    // never below what escalation has reached.
    const rises = SEVERITY_RANK[level] > SEVERITY_RANK[open.level];
    const falls = SEVERITY_RANK[level] < SEVERITY_RANK[open.level] && def.severityMayFall;
    if (!rises && !falls && sameEvidence(alert, evidence)) return undefined;
    if (rises || falls) open.level = level;
    const severity = maxSeverity(open.level, open.floor);
    // What the nurse sees changes only when the shown severity does: a level falling beneath what
    // escalation reached leaves the alert, its advice and its history as they were.
    const shownRose = SEVERITY_RANK[severity] > SEVERITY_RANK[alert.severity];
    const shownFell = SEVERITY_RANK[severity] < SEVERITY_RANK[alert.severity];
    const revised = reviseAlert(
      alert,
      open.ladder,
      def.escalation,
      {
        at: isoTime(now),
        severity,
        rises,
        ...(shownRose || shownFell ? { note: `severity ${shownRose ? 'rose' : 'fell'} to ${severity}` } : {}),
        ...(rises || (falls && shownFell) ? { response } : {}),
        explanation: explain(def, evidence, outcome.notes),
        evidence: toAlertEvidence(evidence),
        receivedAt: receivedAt(),
      },
      'continue-ladder',
    );
    open.alert = revised.alert;
    open.ladder = revised.position;
    return open.alert;
  }

  function escalate(def: RuleDefinition, open: OpenAlert, now: number): Alert | undefined {
    // Each step may raise severity (its `to`), and severity never falls below what escalation reached.
    const stepped = escalateDue(open.alert, open.ladder, def.escalation, now, (step, alert) => {
      open.floor = maxSeverity(step.to!, open.floor);
      return maxSeverity(alert.severity, open.floor);
    });
    if (!stepped) return undefined;
    open.alert = stepped.alert;
    open.ladder = stepped.position;
    return open.alert;
  }

  /** Recomputes the wake times of the patient's time-driven rules that `touched` affects (all if undefined), and queues the patient. */
  function schedule(state: PatientState, at: number, touched?: number): void {
    const set = state.ruleSet;
    let wake = INF;
    if (state.wakes === NO_WAKES && set.timed.length) state.wakes = new Array<number>(set.timed.length).fill(Number.NaN);
    for (let k = 0; k < set.timed.length; k++) {
      const rule = set.rules[set.timed[k]!]!;
      let w = state.wakes[k]!;
      if (Number.isNaN(w) || touched === undefined || rule.typeMask & touched) {
        w = wakeAt(rule.def.condition, state, at);
        for (const l of rule.def.levels) w = Math.min(w, wakeAt(l.when, state, at));
        state.wakes[k] = w;
      }
      if (w < wake) wake = w;
    }
    for (const open of state.alerts) if (open?.ladder.due !== undefined && open.ladder.due < wake) wake = open.ladder.due;
    if (wake < state.queued) {
      state.queued = wake;
      timers.push(wake, state);
    }
  }

  function applyReading(reading: Reading, ctx: PatientContext, t: number, external?: ScoreEvent, compute = false): { score?: ScoreEvent; alerts: Alert[] } {
    const state = stateOf(reading.patientId, ctx, t);
    const news2Input = compute && IS_NEWS2_TYPE[TYPE_INDEX[reading.type]]!;
    // Canonical ISO times are kept for NEWS2 inputs: a score quotes them, and formatting costs more.
    const ts = news2Input && reading.ts.length === 24 && reading.ts.endsWith('Z') ? reading.ts : undefined;
    // Every field from the start: one object shape for all points, with no properties added later.
    const stored = record(state, reading.type, { t, readingId: reading.readingId, value: reading.value, ts, flags: reading.flags, position: reading.position });
    if (!stored.added) return { alerts: [] };
    // A reading older than the one held for its parameter changes no score.
    const score = news2Input && stored.newest ? scoreHook!((p) => state.latest(p), ctx.spo2Scale ?? 1, reading) : external;
    const touched: SeriesType[] = [reading.type];
    const fresh: SeriesType[] = stored.newest ? [reading.type] : [];
    // Only complete scores enter the NEWS2 series: a partial score is a lower bound, and a rise from
    // one to the next complete score would be an artefact of missing readings, not of the patient.
    if (score && !score.partial) {
      // The point names the reading that completed the score: the score's own id is that reading's
      // id with the patient, rule and time, and keeping a second long string per point costs memory.
      // The score's time is its newest input's: found among the held readings, not parsed from text.
      let asOf = t;
      if (compute) for (const p of NEWS2_PARAMETERS) asOf = Math.max(asOf, state.latest(p)?.t ?? 0);
      else asOf = Date.parse(score.ts);
      const scored = record(state, 'news2', { t: asOf, readingId: reading.readingId, value: score.total, ts: undefined, flags: undefined, position: undefined });
      if (scored.added) touched.push('news2');
      if (scored.newest) fresh.push('news2');
    }
    if (t > state.clock) state.clock = t;
    const out: Alert[] = [];
    const evaluation = contextFor(state, state.clock, fresh);
    const receivedAt = () => reading.receivedAt;
    let mask = 0;
    for (const type of touched) mask |= 1 << TYPE_INDEX[type];
    for (const rule of state.ruleSet.rules) {
      if (!(rule.typeMask & mask)) continue;
      const changed = run(rule, state, evaluation, receivedAt);
      if (changed) out.push(changed);
    }
    schedule(state, state.clock, mask);
    return score ? { score, alerts: out } : { alerts: out };
  }

  const NO_FRESH: readonly SeriesType[] = [];

  return {
    rules: defs as readonly RuleDefinition[],

    /**
     * Applies a reading, and the NEWS2 score it produced if any (rules may look at the `news2`
     * series); returns the alerts it opened, changed or resolved, in rule order.
     */
    onReading(reading: Reading, ctx: PatientContext, score?: ScoreEvent, t = Date.parse(reading.ts)): Alert[] {
      return applyReading(reading, ctx, t, score).alerts;
    },

    /** Applies a reading, scoring NEWS2 from the held readings (needs the `score` option). */
    apply(reading: Reading, ctx: PatientContext, t = Date.parse(reading.ts)): { score?: ScoreEvent; alerts: Alert[] } {
      return applyReading(reading, ctx, t, undefined, true);
    },
    /** Moves the clock: re-evaluates time-driven rules that are due and fires escalation timers. */
    tick(now: number, owns: (patientId: string) => boolean = () => true): Alert[] {
      if (now > timerNow) timerNow = now;
      const out: Alert[] = [];
      const deferred: PatientState[] = [];
      const receivedAt = () => isoTime(now);
      for (let top = timers.peek(); top && top.wake <= now; top = timers.peek()) {
        timers.pop();
        const state = top.state;
        if (top.wake !== state.queued) continue; // superseded by an earlier entry
        state.queued = INF;
        if (!owns(state.patientId)) {
          deferred.push(state);
          continue;
        }
        // A device clock ahead of this one must not make time run backwards for the patient.
        const at = Math.max(now, state.clock);
        const set = state.ruleSet;
        const evaluation = contextFor(state, at, NO_FRESH);
        let k = 0;
        for (let i = 0; i < set.rules.length; i++) {
          const rule = set.rules[i]!;
          if (rule.timeDriven) {
            const due = state.wakes[k]! <= at;
            k++;
            if (due) {
              const changed = run(rule, state, evaluation, receivedAt);
              if (changed) out.push(changed);
            }
          }
          const open = state.alerts[rule.index];
          if (open) {
            const escalated = escalate(rule.def, open, now);
            if (escalated) out.push(escalated);
          }
        }
        state.wakes = NO_WAKES;
        schedule(state, at);
      }
      for (const state of deferred) {
        state.queued = INF;
        schedule(state, Math.max(now, state.clock));
        // Not this process's patient now: look again a minute later rather than at every tick.
        if (state.queued <= now) {
          state.queued = now + 60_000;
          timers.push(state.queued, state);
        }
      }
      return out;
    },

    applyAction(action: AlertAction): EngineActionOutcome {
      const ref = alerts.get(action.alertId);
      if (!ref) return { error: alerts.missing(action.alertId) };
      const state = patients.get(ref.patientId);
      const open = state?.alerts[ref.rule];
      if (!state || !open || open.alert.alertId !== action.alertId) return { error: 'already_resolved' };
      const outcome = actOnAlert(open.alert, action);
      if ('error' in outcome || !outcome.changed) return outcome;
      if (outcome.alert.state === 'resolved') {
        letGo(state, ref.rule, action.alertId);
        (state.rearm ??= new Set()).add(ref.rule);
      } else {
        open.alert = outcome.alert;
        open.ladder = { step: open.ladder.step, due: undefined };
      }
      return outcome;
    },

    /**
     * Installs an alert published by another process (or before a restart), so the process now
     * owning the patient continues it: same id, its escalation timer resumed.
     */
    seed(alert: Alert, ctx: PatientContext): void {
      const index = defs.findIndex((d) => d.id === alert.ruleId);
      if (index < 0) return;
      const def = defs[index]!;
      const state = stateOf(alert.patientId, ctx, Date.parse(alert.eventTs));
      const held = state.alerts[index];
      if (held && held.alert.alertId === alert.alertId && held.alert.revision >= alert.revision) return;
      if (alert.state === 'resolved') {
        // Only an alert this process was holding open re-arms the rule; older history does not (the
        // changelog restores re-arm marks as they were).
        if (held?.alert.alertId === alert.alertId) {
          letGo(state, index, alert.alertId);
          if (alert.history.at(-1)?.by !== 'vw') (state.rearm ??= new Set()).add(index);
        }
        return;
      }
      if (held && held.alert.alertId !== alert.alertId && held.alert.raisedAt > alert.raisedAt) return;
      const ladder = resumeLadder(alert, def.escalation, 'continue-ladder');
      const floor = def.escalation.slice(0, ladder.step).reduce<AlertSeverity | undefined>((f, e) => maxSeverity(e.to, f), undefined);
      const level = floor && alert.severity === floor ? def.severity : alert.severity;
      hold(state, index, { alert, level, ...(floor ? { floor } : {}), ladder });
      schedule(state, state.clock);
    },

    /** The patient's rule state (series, sustained/hysteresis nodes, re-arm marks), for a changelog. */
    exportPatient(patientId: string): EngineSnapshot | undefined {
      const s = patients.get(patientId);
      return s && snapshotOf(s, compiled);
    },

    /** Restores a patient's rule state from a changelog record; open alerts come from `seed`. */
    importPatient(patientId: string, snapshot: EngineSnapshot, ctx: PatientContext): void {
      const state = stateOf(patientId, ctx, snapshot.firstSeen);
      restoreInto(state, snapshot, compiled);
      schedule(state, state.clock);
    },

    /** Lets go of the patients `which` names (now another process's): their state, open alerts and timers. */
    releasePatients(which: (patientId: string) => boolean): void {
      for (const [patientId, state] of patients) {
        if (!which(patientId)) continue;
        patients.delete(patientId);
        for (const open of state.alerts) if (open) alerts.forget(open.alert.alertId);
        // Its entries in the timer queue no longer match its wake, so they are skipped.
        state.queued = Number.NaN;
      }
    },

    owns: (alertId: string) => alerts.knows(alertId),

    patientCount: () => patients.size,
  };
}
export type RuleEngine = ReturnType<typeof createRuleEngine>;
