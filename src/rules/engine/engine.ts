import { createHash } from 'node:crypto';
import type { Alert, AlertAction, AlertSeverity, Pathway, Reading, ScoreEvent } from '../../domain/index.ts';
import { SEVERITY_RANK } from '../../domain/index.ts';
import { BASELINE, evaluate, type Evidence, type NodeState, type Point, type Settings } from './evaluate.ts';
import type { Condition, RuleDefinition, RulePack, SeriesType } from './pack-file.ts';
import { EngineSnapshot } from './snapshot.ts';

/**
 * The rule engine: every loaded rule, for every patient on its pathways, with the alert lifecycle
 * (open → escalated → acknowledged → resolved). Time is event time only: each patient has a clock,
 * the newest event time of its readings, and rules are evaluated at that clock; `tick(now)` moves
 * time for timers (missing data, windows, escalation). The same readings and ticks in the same order
 * give the same alerts, byte for byte.
 *
 * Late and out-of-order readings (docs/rules.md, "Time"): a reading is stored in its series in event
 * time order, so it counts in every window, average and delta it falls in; but rules are still
 * evaluated at the patient's clock, and a reading older than the newest of its type advances no
 * sustained or hysteresis state and is never "the latest". A reading older than everything a rule
 * keeps has no effect. Redelivered readings (same id) are absorbed.
 */
export interface PatientContext {
  wardId: string;
  pathways: readonly Pathway[];
  settings: Settings;
  /** The version of the settings, named beside every setting an alert's thresholds use. */
  settingsVersion?: number;
}

interface LoadedRule extends RuleDefinition {
  pack: string;
  /** Series the rule looks at: a reading of one of these re-evaluates it. */
  types: ReadonlySet<SeriesType>;
  /** Its outcome can change with time alone (missing data, windows): the clock re-evaluates it. */
  timeDriven: boolean;
}

interface OpenAlert {
  alert: Alert;
  /** Severity from the rule and its levels, before escalation. */
  level: AlertSeverity;
  /** Severity escalation has reached; severity never falls below it. */
  floor?: AlertSeverity;
  step: number;
  due?: number;
}

interface PatientState {
  ctx: PatientContext;
  firstSeen: number;
  clock: number;
  history: Map<SeriesType, Point[]>;
  firstOf: Map<SeriesType, number>;
  /** Sustained and hysteresis state, by rule id and node path. */
  nodes: Map<string, NodeState>;
  alerts: Map<string, OpenAlert>;
  /** Rules a person resolved while their condition held: no new alert until the condition clears. */
  rearm: Set<string>;
}

export type EngineActionOutcome = { alert: Alert; changed: boolean } | { error: 'not_found' | 'already_resolved' };

const DAY_MS = 86_400_000;
const iso = (t: number) => new Date(t).toISOString();
const maxSeverity = (a: AlertSeverity, b: AlertSeverity | undefined) => (b && SEVERITY_RANK[b] > SEVERITY_RANK[a] ? b : a);

function walk(condition: Condition, visit: (c: Exclude<Condition, { kind: 'all' | 'any' }>) => void): void {
  if (condition.kind === 'all' || condition.kind === 'any') condition.of.forEach((c) => walk(c, visit));
  else visit(condition);
}

export function createRuleEngine(packs: readonly RulePack[]) {
  const rules: LoadedRule[] = packs.flatMap((pack) =>
    pack.rules.map((rule) => {
      const types = new Set<SeriesType>();
      let timeDriven = false;
      for (const condition of [rule.condition, ...rule.levels.map((l) => l.when)]) {
        walk(condition, (c) => {
          types.add(c.type);
          timeDriven ||= c.kind === 'missing' || c.kind === 'delta' || c.kind === 'average' || c.kind === 'protocol-average';
        });
      }
      return { ...rule, pack: pack.pack, types, timeDriven };
    }),
  );
  // How much history each series needs: the longest window any rule looks back over. Sustained and
  // hysteresis keep their own small state, so they need only the latest point.
  const keepMs = new Map<SeriesType, number>();
  for (const rule of rules) {
    for (const condition of [rule.condition, ...rule.levels.map((l) => l.when)]) {
      walk(condition, (c) => {
        const window =
          c.kind === 'delta' || c.kind === 'average' ? c.window : c.kind === 'protocol-average' ? (c.days + 1) * DAY_MS : c.kind === 'postural-drop' ? c.within : 0;
        keepMs.set(c.type, Math.max(keepMs.get(c.type) ?? 0, window));
      });
    }
  }
  // Series no rule averages can keep one point per run of equal values (its first and its latest):
  // windows, deltas and latest values come out the same, and a 1 Hz device stays small.
  const compressible = new Set<SeriesType>(keepMs.keys());
  for (const rule of rules) {
    for (const condition of [rule.condition, ...rule.levels.map((l) => l.when)]) {
      walk(condition, (c) => {
        if (c.kind === 'average' || c.kind === 'protocol-average' || c.kind === 'postural-drop') compressible.delete(c.type);
      });
    }
  }
  const patients = new Map<string, PatientState>();
  const byId = new Map<string, { patientId: string; ruleId: string }>();

  const applies = (rule: LoadedRule, ctx: PatientContext) => rule.pathways === 'all' || rule.pathways.some((p) => ctx.pathways.includes(p));

  function stateOf(patientId: string, ctx: PatientContext, t: number): PatientState {
    let state = patients.get(patientId);
    if (!state) {
      state = { ctx, firstSeen: t, clock: t, history: new Map(), firstOf: new Map(), nodes: new Map(), alerts: new Map(), rearm: new Set() };
      patients.set(patientId, state);
    }
    state.ctx = ctx;
    return state;
  }

  /** Stores a point in its series; returns whether it is new and whether it is the newest of its type. */
  function record(state: PatientState, type: SeriesType, point: Point): { added: boolean; newest: boolean } {
    const keep = keepMs.get(type);
    if (keep === undefined) return { added: true, newest: true };
    let points = state.history.get(type);
    if (!points) state.history.set(type, (points = []));
    for (const p of points) if (p.readingId === point.readingId) return { added: false, newest: false };
    const first = state.firstOf.get(type);
    if (first === undefined || point.t < first) state.firstOf.set(type, point.t);
    let i = points.length;
    while (i > 0 && points[i - 1]!.t > point.t) i--;
    const n = points.length;
    if (i === n && n >= 2 && compressible.has(type) && points[n - 1]!.value === point.value && points[n - 2]!.value === point.value) points[n - 1] = point;
    else points.splice(i, 0, point);
    const newest = points.at(-1)!.t;
    let drop = 0;
    while (drop < points.length - 1 && points[drop]!.t < newest - keep) drop++;
    if (drop) points.splice(0, drop);
    return { added: true, newest: points.at(-1) === point };
  }

  function explain(rule: LoadedRule, evidence: Evidence[], notes: readonly string[] = []): string {
    const parts = [...new Set([...evidence.filter((e) => e.threshold !== BASELINE).map((e) => e.threshold), ...notes])];
    const latest = evidence.filter((e) => e.threshold !== BASELINE).at(-1);
    return `${rule.title}: ${parts.join('; ') || 'condition met'}${latest ? ` (latest ${String(latest.value)} at ${iso(latest.t).slice(0, 16)}Z)` : ''}`;
  }

  function toAlertEvidence(evidence: Evidence[]): Alert['evidence'] {
    const seen = new Set<string>();
    const out: Alert['evidence'] = [];
    for (const e of evidence) {
      const key = `${e.readingId}\u0000${e.threshold}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ readingId: e.readingId, type: e.type, value: e.value, ts: iso(e.t), threshold: e.threshold });
    }
    return out;
  }

  /** Evaluates one rule for one patient at `now`; returns the alert if it opened, changed or resolved. */
  function run(rule: LoadedRule, patientId: string, state: PatientState, now: number, fresh: readonly SeriesType[], receivedAt: string): Alert | undefined {
    const history = { points: (type: SeriesType) => state.history.get(type) ?? [], firstSeen: state.firstSeen, firstOf: (type: SeriesType) => state.firstOf.get(type) };
    const ctx = { history, settings: state.ctx.settings, ...(state.ctx.settingsVersion !== undefined ? { settingsVersion: state.ctx.settingsVersion } : {}), now, fresh, state: state.nodes };
    const outcome = evaluate(rule.condition, rule.id, ctx);
    let level: AlertSeverity = rule.severity;
    let response = rule.response;
    const levelEvidence: Evidence[] = [];
    rule.levels.forEach((l, i) => {
      // Levels are evaluated every time, so their own sustained state stays current.
      const o = evaluate(l.when, `${rule.id}#${i}`, ctx);
      if (outcome.holds && o.holds) {
        if (SEVERITY_RANK[l.severity] > SEVERITY_RANK[level]) {
          level = l.severity;
          response = l.response ?? response;
        }
        levelEvidence.push(...o.evidence);
      }
    });
    const current = state.alerts.get(rule.id);
    if (!outcome.holds) state.rearm.delete(rule.id);
    if (outcome.holds && !current) {
      if (state.rearm.has(rule.id)) return undefined;
      const evidence = [...outcome.evidence, ...levelEvidence];
      const alertId = 'al_' + createHash('sha1').update(`${patientId}\u0000${rule.id}\u0000${now}`).digest('base64url').slice(0, 20);
      const alert: Alert = {
        alertId,
        patientId,
        wardId: state.ctx.wardId,
        cause: rule.id,
        ruleId: rule.id,
        ruleVersion: rule.version,
        severity: level,
        state: 'open',
        revision: 0,
        raisedAt: iso(now),
        updatedAt: iso(now),
        eventTs: iso(now),
        partial: false,
        explanation: explain(rule, evidence, outcome.notes),
        response,
        evidence: toAlertEvidence(evidence),
        history: [{ state: 'open', at: iso(now), by: 'vw' }],
        receivedAt,
      };
      const first = rule.escalation[0];
      state.alerts.set(rule.id, { alert, level, step: 0, ...(first ? { due: now + first.afterUnacknowledged } : {}) });
      byId.set(alertId, { patientId, ruleId: rule.id });
      return alert;
    }
    if (!current) return undefined;
    const alert = current.alert;
    if (!outcome.holds) {
      if (!rule.autoResolve) return undefined;
      state.alerts.delete(rule.id);
      return {
        ...alert,
        state: 'resolved',
        revision: alert.revision + 1,
        updatedAt: iso(now),
        eventTs: iso(now),
        history: [...alert.history, { state: 'resolved', at: iso(now), by: 'vw', note: 'condition cleared' }],
        receivedAt,
      };
    }
    const evidence = [...outcome.evidence, ...levelEvidence];
    const alertEvidence = toAlertEvidence(evidence);
    // Severity steps up with the rule's levels; it steps down only where the rule allows it, and
    // never below what escalation has reached.
    const rises = SEVERITY_RANK[level] > SEVERITY_RANK[current.level];
    const falls = SEVERITY_RANK[level] < SEVERITY_RANK[current.level] && rule.severityMayFall;
    const sameEvidence = alertEvidence.length === alert.evidence.length && alertEvidence.every((e, i) => e.readingId === alert.evidence[i]!.readingId && e.threshold === alert.evidence[i]!.threshold);
    if (!rises && !falls && sameEvidence) return undefined;
    if (rises || falls) current.level = level;
    const severity = maxSeverity(current.level, current.floor);
    const reopen = rises && alert.state === 'acknowledged';
    if (reopen) {
      const next = rule.escalation[current.step];
      current.due = next ? now + next.afterUnacknowledged : undefined;
    }
    current.alert = {
      ...alert,
      severity,
      state: reopen ? 'open' : alert.state,
      revision: alert.revision + 1,
      updatedAt: iso(now),
      eventTs: iso(now),
      evidence: alertEvidence,
      explanation: explain(rule, evidence, outcome.notes),
      ...(rises || falls ? { response } : {}),
      history: rises || falls ? [...alert.history, { state: reopen ? 'open' : alert.state, at: iso(now), by: 'vw', note: `severity ${rises ? 'rose' : 'fell'} to ${severity}` }] : alert.history,
      receivedAt,
    };
    return current.alert;
  }

  function escalate(rule: LoadedRule, open: OpenAlert, now: number): Alert | undefined {
    let changed: Alert | undefined;
    while (open.due !== undefined && open.due <= now && (open.alert.state === 'open' || open.alert.state === 'escalated')) {
      const step = rule.escalation[open.step]!;
      open.floor = maxSeverity(step.to, open.floor);
      const at = iso(open.due);
      open.alert = {
        ...open.alert,
        severity: maxSeverity(open.alert.severity, open.floor),
        state: 'escalated',
        revision: open.alert.revision + 1,
        updatedAt: at,
        history: [...open.alert.history, { state: 'escalated', at, by: 'vw', note: `not acknowledged in time: ${step.notify}` }],
      };
      changed = open.alert;
      open.step++;
      const next = rule.escalation[open.step];
      open.due = next ? open.due + next.afterUnacknowledged : undefined;
    }
    return changed;
  }

  function evaluateAll(patientId: string, state: PatientState, touched: readonly SeriesType[], fresh: readonly SeriesType[], receivedAt: string): Alert[] {
    const out: Alert[] = [];
    for (const rule of rules) {
      if (!applies(rule, state.ctx) || !touched.some((t) => rule.types.has(t))) continue;
      const changed = run(rule, patientId, state, state.clock, fresh, receivedAt);
      if (changed) out.push(changed);
    }
    return out;
  }

  return {
    rules: rules as readonly RuleDefinition[],

    /**
     * Applies a reading, and the NEWS2 score it produced if any (rules may look at the `news2`
     * series); returns the alerts it opened, changed or resolved, in rule order.
     */
    onReading(reading: Reading, ctx: PatientContext, score?: ScoreEvent): Alert[] {
      const t = Date.parse(reading.ts);
      const state = stateOf(reading.patientId, ctx, t);
      const point: Point = { t, readingId: reading.readingId, value: reading.value, ...(reading.flags ? { flags: reading.flags } : {}), ...(reading.position ? { position: reading.position } : {}) };
      const stored = record(state, reading.type, point);
      if (!stored.added) return [];
      const touched: SeriesType[] = [reading.type];
      const fresh: SeriesType[] = stored.newest ? [reading.type] : [];
      // Only complete scores enter the NEWS2 series: a partial score is a lower bound, and a rise from
      // one to the next complete score would be an artefact of missing readings, not of the patient.
      if (score && !score.partial) {
        const scored = record(state, 'news2', { t: Date.parse(score.ts), readingId: score.scoreId, value: score.total });
        if (scored.added) touched.push('news2');
        if (scored.newest) fresh.push('news2');
      }
      if (t > state.clock) state.clock = t;
      return evaluateAll(reading.patientId, state, touched, fresh, reading.receivedAt);
    },

    /** Moves the clock: re-evaluates time-driven rules and fires escalation timers due by `now`. */
    tick(now: number, owns: (patientId: string) => boolean = () => true): Alert[] {
      const out: Alert[] = [];
      for (const [patientId, state] of patients) {
        if (!owns(patientId)) continue;
        // A device clock ahead of this one must not make time run backwards for the patient.
        const at = Math.max(now, state.clock);
        for (const rule of rules) {
          if (!applies(rule, state.ctx)) continue;
          if (rule.timeDriven) {
            const changed = run(rule, patientId, state, at, [], iso(now));
            if (changed) out.push(changed);
          }
          const open = state.alerts.get(rule.id);
          if (open) {
            const escalated = escalate(rule, open, now);
            if (escalated) out.push(escalated);
          }
        }
      }
      return out;
    },

    applyAction(action: AlertAction): EngineActionOutcome {
      const ref = byId.get(action.alertId);
      if (!ref) return { error: 'not_found' };
      const state = patients.get(ref.patientId);
      const open = state?.alerts.get(ref.ruleId);
      if (!state || !open || open.alert.alertId !== action.alertId) return { error: 'already_resolved' };
      const next = action.action === 'acknowledge' ? 'acknowledged' : 'resolved';
      if (open.alert.state === next) return { alert: open.alert, changed: false };
      const alert: Alert = {
        ...open.alert,
        state: next,
        revision: open.alert.revision + 1,
        updatedAt: action.at > open.alert.updatedAt ? action.at : open.alert.updatedAt,
        history: [...open.alert.history, { state: next, at: action.at, by: action.by, ...(action.note ? { note: action.note } : {}) }],
      };
      if (next === 'resolved') {
        state.alerts.delete(ref.ruleId);
        state.rearm.add(ref.ruleId);
      } else {
        open.alert = alert;
        open.due = undefined;
      }
      return { alert, changed: true };
    },

    /**
     * Installs an alert published by another process (or before a restart), so the process now
     * owning the patient continues it: same id, its escalation timer resumed.
     */
    seed(alert: Alert, ctx: PatientContext): void {
      const rule = rules.find((r) => r.id === alert.ruleId);
      if (!rule) return;
      const state = stateOf(alert.patientId, ctx, Date.parse(alert.eventTs));
      const held = state.alerts.get(rule.id);
      if (held && held.alert.alertId === alert.alertId && held.alert.revision >= alert.revision) return;
      byId.set(alert.alertId, { patientId: alert.patientId, ruleId: rule.id });
      if (alert.state === 'resolved') {
        // Only an alert this process was holding open re-arms the rule; older history does not (the
        // changelog restores re-arm marks as they were).
        if (held?.alert.alertId === alert.alertId) {
          state.alerts.delete(rule.id);
          if (alert.history.at(-1)?.by !== 'vw') state.rearm.add(rule.id);
        }
        return;
      }
      if (held && held.alert.alertId !== alert.alertId && held.alert.raisedAt > alert.raisedAt) return;
      const escalations = alert.history.filter((h) => h.state === 'escalated').length;
      const floor = escalations ? rule.escalation.slice(0, escalations).reduce<AlertSeverity | undefined>((f, e) => maxSeverity(e.to, f), undefined) : undefined;
      const level = floor && alert.severity === floor ? rule.severity : alert.severity;
      const next = rule.escalation[escalations];
      const waiting = alert.state === 'open' || alert.state === 'escalated';
      state.alerts.set(rule.id, { alert, level, ...(floor ? { floor } : {}), step: escalations, ...(waiting && next ? { due: Date.parse(alert.updatedAt) + next.afterUnacknowledged } : {}) });
    },

    /** The patient's rule state (series, sustained/hysteresis nodes, re-arm marks), for a changelog. */
    exportPatient(patientId: string): EngineSnapshot | undefined {
      const s = patients.get(patientId);
      if (!s) return undefined;
      return {
        firstSeen: s.firstSeen,
        clock: s.clock,
        series: [...s.history].map(([type, points]) => ({
          type,
          first: s.firstOf.get(type)!,
          points: points.map((p) => [p.t, p.readingId, p.value, ...(p.flags || p.position ? [p.flags ?? [], p.position ?? null] : [])] as EngineSnapshot['series'][number]['points'][number]),
        })),
        nodes: [...s.nodes].map(([path, n]) => [path, n.since ?? null, n.count, n.lastT ?? null, n.active] as const),
        rearm: [...s.rearm],
      };
    },

    /** Restores a patient's rule state from a changelog record; open alerts come from `seed`. */
    importPatient(patientId: string, snapshot: EngineSnapshot, ctx: PatientContext): void {
      const data = EngineSnapshot.parse(snapshot);
      const state = stateOf(patientId, ctx, data.firstSeen);
      state.firstSeen = data.firstSeen;
      state.clock = data.clock;
      state.history = new Map(
        data.series.map((s) => [
          s.type,
          s.points.map(([t, readingId, value, flags, position]) => ({ t, readingId, value, ...(flags?.length ? { flags } : {}), ...(position ? { position } : {}) })),
        ]),
      );
      state.firstOf = new Map(data.series.map((s) => [s.type, s.first]));
      state.nodes = new Map(data.nodes.map(([path, since, count, lastT, active]) => [path, { ...(since !== null ? { since } : {}), count, ...(lastT !== null ? { lastT } : {}), active }]));
      state.rearm = new Set(data.rearm);
    },

    owns: (alertId: string) => byId.has(alertId),

    patientCount: () => patients.size,
  };
}
export type RuleEngine = ReturnType<typeof createRuleEngine>;
