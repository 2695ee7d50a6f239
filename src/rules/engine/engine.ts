import { createHash } from 'node:crypto';
import type { Alert, AlertAction, AlertSeverity, News2Parameter, Pathway, Reading, ScoreEvent } from '../../domain/index.ts';
import { NEWS2_PARAMETERS } from '../news2/score.ts';
import type { HeldValue } from '../news2/scorer.ts';
import { SEVERITY_RANK } from '../../domain/index.ts';
import { createRecentIds } from '../alerts/recent-ids.ts';
import { BASELINE, evaluate, wakeAt, type EvaluationContext, type Evidence, type History, type NodeState, type Point, type Settings } from './evaluate.ts';
import { SERIES_TYPES, type Condition, type RuleDefinition, type RulePack, type SeriesType } from './pack-file.ts';
import type { EngineSnapshot } from './snapshot.ts';

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
 *
 * Timers cost nothing while nothing is due: each patient is woken at the earliest time a time-driven
 * condition could change (a missing-data deadline, a point leaving a window, UK midnight) or an
 * escalation falls due, from a queue ordered by that time.
 */
export interface PatientContext {
  wardId: string;
  pathways: readonly Pathway[];
  settings: Settings;
  /** NEWS2 SpO2 scale, when the engine scores NEWS2 (1 unless given). */
  spo2Scale?: 1 | 2;
  /** The version of the settings, named beside every setting an alert's thresholds use. */
  settingsVersion?: number;
}

interface CompiledRule {
  def: RuleDefinition;
  index: number;
  /** Series the rule looks at: a reading of one of these re-evaluates it. */
  types: ReadonlySet<SeriesType>;
  /** Its outcome can change with time alone (missing data, windows): the clock re-evaluates it. */
  timeDriven: boolean;
  /** `types` as bits by series type index, for the per-reading check (there are fewer than 32 types). */
  typeMask: number;
}

/** The rules that apply to one set of pathways, and what they need kept. */
interface RuleSet {
  key: string;
  rules: CompiledRule[];
  /** Position of each time-driven rule in `rules`, for per-rule wake times. */
  timed: number[];
  /** How long each series is kept (ms), by type index; -1 when no rule here reads it. */
  keep: number[];
  /** Series no rule here averages: a run of equal values keeps its first and latest point only. */
  compressible: boolean[];
  /** Series whose first point ever seen a protocol needs (to leave out the first day). */
  needsFirst: boolean[];
  /** Whether any rule here keeps sustained or hysteresis state. */
  hasNodes: boolean;
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

export type EngineActionOutcome = { alert: Alert; changed: boolean } | { error: 'not_found' | 'already_resolved' };

const DAY_MS = 86_400_000;
const INF = Number.POSITIVE_INFINITY;
const EMPTY: readonly Point[] = [];
// Shared empty placeholders; a patient gets its own array on first write.
const NO_NODES: Array<NodeState | undefined> = [];
const NO_ALERTS: Array<OpenAlert | undefined> = [];
const NO_WAKES: number[] = [];
const TYPE_INDEX = Object.fromEntries(SERIES_TYPES.map((t, i) => [t, i])) as Record<SeriesType, number>;
const iso = (t: number) => new Date(t).toISOString();
const maxSeverity = (a: AlertSeverity, b: AlertSeverity | undefined) => (b && SEVERITY_RANK[b] > SEVERITY_RANK[a] ? b : a);

function samePathways(a: readonly Pathway[], b: readonly Pathway[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

type Leaf = Exclude<Condition, { kind: 'all' | 'any' }>;
function walk(condition: Condition, visit: (c: Leaf) => void): void {
  if (condition.kind === 'all' || condition.kind === 'any') for (const c of condition.of) walk(c, visit);
  else visit(condition);
}

/** One patient's state. Its methods are the History a condition reads. */
class PatientState implements History {
  // Sized exactly, and created only when first needed: thousands of patients each hold one.
  /** Points by series type index. */
  series: Array<Point[] | undefined> = new Array<Point[] | undefined>(SERIES_TYPES.length).fill(undefined);
  /** Event time of the first point ever seen, by series type index, for series a protocol needs it of. */
  first?: number[];
  /** Sustained and hysteresis state by slot. */
  nodes: Array<NodeState | undefined> = NO_NODES;
  /** Open alerts by rule index. */
  alerts: Array<OpenAlert | undefined> = NO_ALERTS;
  /** Rules (by index) a person resolved while their condition held: no new alert until it clears. */
  rearm?: Set<number>;
  /** Per time-driven rule (position in ruleSet.timed), the next time it could change. */
  wakes: number[] = NO_WAKES;
  /** Wake time of this patient's live entry in the timer queue (Infinity: none). */
  queued = INF;

  constructor(
    readonly patientId: string,
    public ctx: PatientContext,
    public ruleSet: RuleSet,
    public firstSeen: number,
    public clock: number,
  ) {}

  points(type: SeriesType): readonly Point[] {
    return this.series[TYPE_INDEX[type]] ?? EMPTY;
  }

  firstOf(type: SeriesType): number | undefined {
    const t = this.first?.[TYPE_INDEX[type]];
    return t === undefined || Number.isNaN(t) ? undefined : t;
  }

  latest(type: SeriesType): Point | undefined {
    const points = this.series[TYPE_INDEX[type]];
    return points?.[points.length - 1];
  }
}

/** A binary heap of patients by wake time, then id, so timers fire in the same order on every run. */
function createTimerQueue() {
  const heap: Array<{ wake: number; state: PatientState }> = [];
  const before = (a: { wake: number; state: PatientState }, b: { wake: number; state: PatientState }) =>
    a.wake < b.wake || (a.wake === b.wake && a.state.patientId < b.state.patientId);
  return {
    push(wake: number, state: PatientState): void {
      const entry = { wake, state };
      let i = heap.push(entry) - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!before(entry, heap[parent]!)) break;
        heap[i] = heap[parent]!;
        i = parent;
      }
      heap[i] = entry;
    },
    peek: () => heap[0],
    pop(): { wake: number; state: PatientState } | undefined {
      const top = heap[0];
      const last = heap.pop();
      if (!top || !last || !heap.length) return top;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let best = last;
        if (l < heap.length && before(heap[l]!, best)) {
          m = l;
          best = heap[l]!;
        }
        if (r < heap.length && before(heap[r]!, best)) m = r;
        if (m === i) break;
        heap[i] = heap[m]!;
        i = m;
      }
      heap[i] = last;
      return top;
    },
  };
}

/** Scores NEWS2 from the latest reading of each parameter the engine holds (see news2/scorer.ts). */
export type ScoreHook = (held: (parameter: News2Parameter) => HeldValue | undefined, spo2Scale: 1 | 2, trigger: Reading) => ScoreEvent;

export function createRuleEngine(packs: readonly RulePack[], options: { score?: ScoreHook } = {}) {
  const scoreHook = options.score;
  const defs: RuleDefinition[] = packs.flatMap((pack) => pack.rules);
  const rules: CompiledRule[] = defs.map((def, index) => {
    const types = new Set<SeriesType>();
    let timeDriven = false;
    for (const condition of [def.condition, ...def.levels.map((l) => l.when)]) {
      walk(condition, (c) => {
        types.add(c.type);
        timeDriven ||= c.kind === 'missing' || c.kind === 'delta' || c.kind === 'average' || c.kind === 'protocol-average';
      });
    }
    let typeMask = 0;
    for (const t of types) typeMask |= 1 << TYPE_INDEX[t];
    return { def, index, types, timeDriven, typeMask };
  });

  // Sustained and hysteresis nodes get numbered slots; their names (rule id and position) are what a
  // snapshot records, so state survives a restart with a different set of packs.
  const slotOf = new Map<Condition, number>();
  const slotNames: string[] = [];
  const nameSlot = new Map<string, number>();
  const number = (condition: Condition, name: string) => {
    if ((condition.kind === 'threshold' && condition.sustained) || condition.kind === 'hysteresis') {
      slotOf.set(condition, slotNames.length);
      nameSlot.set(name, slotNames.length);
      slotNames.push(name);
    }
    if (condition.kind === 'all' || condition.kind === 'any') condition.of.forEach((c, i) => number(c, `${name}.${i}`));
  };
  for (const def of defs) {
    number(def.condition, def.id);
    def.levels.forEach((l, i) => number(l.when, `${def.id}#${i}`));
  }

  const ruleSets = new Map<string, RuleSet>();
  function ruleSetFor(pathways: readonly Pathway[], spo2Scale: 1 | 2): RuleSet {
    const key = (pathways.length === 1 ? pathways[0]! : [...pathways].sort().join('|')) + (spo2Scale === 2 ? '#scale2' : '');
    let set = ruleSets.get(key);
    if (set) return set;
    // A rule for one SpO2 scale applies only to patients judged on it (their prescribed target range).
    const applicable = rules.filter(
      (r) => (r.def.pathways === 'all' || r.def.pathways.some((p) => pathways.includes(p))) && (r.def.spo2Scale === undefined || r.def.spo2Scale === spo2Scale),
    );
    // NEWS2 reads the latest reading of each of its parameters, for every patient.
    const keep: number[] = SERIES_TYPES.map((t) => (scoreHook && IS_NEWS2_TYPE[TYPE_INDEX[t]] ? 0 : -1));
    const compressible = SERIES_TYPES.map(() => true);
    const needsFirst = SERIES_TYPES.map(() => false);
    let hasNodes = false;
    for (const rule of applicable) {
      for (const condition of [rule.def.condition, ...rule.def.levels.map((l) => l.when)]) {
        walk(condition, (c) => {
          const i = TYPE_INDEX[c.type];
          // Sustained and hysteresis keep their own small state, so they need only the latest point.
          const window =
            c.kind === 'delta' || c.kind === 'average' ? c.window : c.kind === 'protocol-average' ? (c.days + 1) * DAY_MS : c.kind === 'postural-drop' ? c.within : 0;
          keep[i] = Math.max(keep[i]!, window);
          if (c.kind === 'average' || c.kind === 'protocol-average' || c.kind === 'postural-drop') compressible[i] = false;
          if (c.kind === 'protocol-average') needsFirst[i] = true;
          if (slotOf.has(c)) hasNodes = true;
        });
      }
    }
    set = { key, rules: applicable, timed: applicable.flatMap((r, i) => (r.timeDriven ? [i] : [])), keep, compressible, needsFirst, hasNodes };
    ruleSets.set(key, set);
    return set;
  }

  const patients = new Map<string, PatientState>();
  const byId = new Map<string, { patientId: string; rule: number }>();
  const resolved = createRecentIds();
  const timers = createTimerQueue();
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

  /** Stores a point in its series; whether it is new, and whether it is the newest of its type. */
  function record(state: PatientState, type: SeriesType, point: Point): { added: boolean; newest: boolean } {
    const ti = TYPE_INDEX[type];
    const keep = state.ruleSet.keep[ti]!;
    if (keep < 0) return ADDED_NEWEST;
    let points = state.series[ti];
    const needsFirst = state.ruleSet.needsFirst[ti];
    if (needsFirst) {
      state.first ??= new Array<number>(SERIES_TYPES.length).fill(Number.NaN);
      if (!(point.t >= state.first[ti]!)) state.first[ti] = point.t;
    }
    if (!points) {
      state.series[ti] = [point];
      return ADDED_NEWEST;
    }
    for (let i = points.length - 1; i >= 0 && points[i]!.t >= point.t; i--) if (points[i]!.readingId === point.readingId) return DUPLICATE;
    if (keep === 0) {
      // Only the latest point counts: replace it in place (the common case, e.g. a 1 Hz heart rate).
      if (point.t < points[points.length - 1]!.t) return ADDED_LATE;
      if (points.length === 1) points[0] = point;
      else state.series[ti] = [point];
      return ADDED_NEWEST;
    }
    let i = points.length;
    while (i > 0 && points[i - 1]!.t > point.t) i--;
    const n = points.length;
    if (i === n && n >= 2 && state.ruleSet.compressible[ti] && points[n - 1]!.value === point.value && points[n - 2]!.value === point.value) points[n - 1] = point;
    else if (i === n) points.push(point);
    else points.splice(i, 0, point);
    const newest = points[points.length - 1]!.t;
    let drop = 0;
    while (drop < points.length - 1 && points[drop]!.t < newest - keep) drop++;
    if (drop) {
      points = points.slice(drop);
      state.series[ti] = points;
    }
    return { added: true, newest: points[points.length - 1] === point };
  }

  function explain(def: RuleDefinition, evidence: Evidence[], notes: readonly string[] = []): string {
    const parts = [...new Set([...evidence.filter((e) => e.threshold !== BASELINE).map((e) => e.threshold), ...notes])];
    const latest = evidence.filter((e) => e.threshold !== BASELINE).at(-1);
    return `${def.title}: ${parts.join('; ') || 'condition met'}${latest ? ` (latest ${String(latest.value)} at ${iso(latest.t).slice(0, 16)}Z)` : ''}`;
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

  /** Same readings held against the same thresholds as the alert already shows. */
  function sameEvidence(alert: Alert, evidence: Evidence[]): boolean {
    let k = 0;
    for (let i = 0; i < evidence.length; i++) {
      const e = evidence[i]!;
      let repeated = false;
      for (let j = 0; j < i; j++) if (evidence[j]!.readingId === e.readingId && evidence[j]!.threshold === e.threshold) repeated = true;
      if (repeated) continue;
      const shown = alert.evidence[k++];
      if (!shown || shown.readingId !== e.readingId || shown.threshold !== e.threshold) return false;
    }
    return k === alert.evidence.length;
  }

  function contextFor(state: PatientState, now: number, fresh: readonly SeriesType[]): EvaluationContext {
    if (state.nodes === NO_NODES && state.ruleSet.hasNodes) state.nodes = new Array<NodeState | undefined>(slotNames.length).fill(undefined);
    const ctx: EvaluationContext = { history: state, settings: state.ctx.settings, now, timerNow, fresh, nodes: state.nodes, slotOf };
    if (state.ctx.settingsVersion !== undefined) ctx.settingsVersion = state.ctx.settingsVersion;
    return ctx;
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
      const alertId = 'al_' + createHash('sha1').update(`${state.patientId}\u0000${def.id}\u0000${now}`).digest('base64url').slice(0, 20);
      const at = iso(now);
      const alert: Alert = {
        alertId,
        patientId: state.patientId,
        wardId: state.ctx.wardId,
        cause: def.id,
        ruleId: def.id,
        ruleVersion: def.version,
        severity: level,
        state: 'open',
        revision: 0,
        raisedAt: at,
        updatedAt: at,
        eventTs: at,
        partial: false,
        explanation: explain(def, evidence, outcome.notes),
        response,
        evidence: toAlertEvidence(evidence),
        history: [{ state: 'open', at, by: 'vw' }],
        receivedAt: receivedAt(),
      };
      const first = def.escalation[0];
      if (state.alerts === NO_ALERTS) state.alerts = new Array<OpenAlert | undefined>(defs.length).fill(undefined);
      state.alerts[rule.index] = { alert, level, step: 0, ...(first ? { due: now + first.afterUnacknowledged } : {}) };
      byId.set(alertId, { patientId: state.patientId, rule: rule.index });
      return alert;
    }
    const open = current!;
    const alert = open.alert;
    if (!outcome.holds) {
      if (!def.autoResolve) return undefined;
      state.alerts[rule.index] = undefined;
      byId.delete(alert.alertId);
      resolved.add(alert.alertId);
      const at = iso(now);
      return {
        ...alert,
        state: 'resolved',
        revision: alert.revision + 1,
        updatedAt: at,
        eventTs: at,
        history: [...alert.history, { state: 'resolved', at, by: 'vw', note: 'condition cleared' }],
        receivedAt: receivedAt(),
      };
    }
    const evidence = levelEvidence ? [...outcome.evidence, ...levelEvidence] : outcome.evidence;
    // Severity steps up with the rule's levels; it steps down only where the rule allows it, and
    // never below what escalation has reached.
    const rises = SEVERITY_RANK[level] > SEVERITY_RANK[open.level];
    const falls = SEVERITY_RANK[level] < SEVERITY_RANK[open.level] && def.severityMayFall;
    if (!rises && !falls && sameEvidence(alert, evidence)) return undefined;
    if (rises || falls) open.level = level;
    const severity = maxSeverity(open.level, open.floor);
    const reopen = rises && alert.state === 'acknowledged';
    if (reopen) {
      const next = def.escalation[open.step];
      open.due = next ? now + next.afterUnacknowledged : undefined;
    }
    const at = iso(now);
    // What the nurse sees changes only when the shown severity does: a level falling beneath what
    // escalation reached leaves the alert, its advice and its history as they were.
    const shownRose = SEVERITY_RANK[severity] > SEVERITY_RANK[alert.severity];
    const shownFell = SEVERITY_RANK[severity] < SEVERITY_RANK[alert.severity];
    open.alert = {
      ...alert,
      severity,
      state: reopen ? 'open' : alert.state,
      revision: alert.revision + 1,
      updatedAt: at,
      eventTs: at,
      evidence: toAlertEvidence(evidence),
      explanation: explain(def, evidence, outcome.notes),
      ...(rises || (falls && shownFell) ? { response } : {}),
      history: shownRose || shownFell ? [...alert.history, { state: reopen ? 'open' : alert.state, at, by: 'vw', note: `severity ${shownRose ? 'rose' : 'fell'} to ${severity}` }] : alert.history,
      receivedAt: receivedAt(),
    };
    return open.alert;
  }

  function escalate(def: RuleDefinition, open: OpenAlert, now: number): Alert | undefined {
    let changed: Alert | undefined;
    while (open.due !== undefined && open.due <= now && (open.alert.state === 'open' || open.alert.state === 'escalated')) {
      const step = def.escalation[open.step]!;
      open.floor = maxSeverity(step.to, open.floor);
      const at = iso(open.due);
      open.alert = {
        ...open.alert,
        severity: maxSeverity(open.alert.severity, open.floor),
        state: 'escalated',
        revision: open.alert.revision + 1,
        updatedAt: at,
        history: [...open.alert.history, { state: 'escalated', at, by: 'vw', note: `not acknowledged in time: ${step.notify}`, notify: step.notify }],
      };
      changed = open.alert;
      open.step++;
      const next = def.escalation[open.step];
      open.due = next ? open.due + next.afterUnacknowledged : undefined;
    }
    return changed;
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
    for (const open of state.alerts) if (open?.due !== undefined && open.due < wake) wake = open.due;
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
    const point: Point = { t, readingId: reading.readingId, value: reading.value, ts, flags: reading.flags, position: reading.position };
    const stored = record(state, reading.type, point);
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
      const receivedAt = () => iso(now);
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
      const ref = byId.get(action.alertId);
      if (!ref) return { error: resolved.has(action.alertId) ? 'already_resolved' : 'not_found' };
      const state = patients.get(ref.patientId);
      const open = state?.alerts[ref.rule];
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
        state.alerts[ref.rule] = undefined;
        (state.rearm ??= new Set()).add(ref.rule);
        byId.delete(action.alertId);
        resolved.add(action.alertId);
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
          state.alerts[index] = undefined;
          byId.delete(alert.alertId);
          resolved.add(alert.alertId);
          if (alert.history.at(-1)?.by !== 'vw') (state.rearm ??= new Set()).add(index);
        }
        return;
      }
      if (held && held.alert.alertId !== alert.alertId && held.alert.raisedAt > alert.raisedAt) return;
      byId.set(alert.alertId, { patientId: alert.patientId, rule: index });
      const escalations = alert.history.filter((h) => h.state === 'escalated').length;
      const floor = escalations ? def.escalation.slice(0, escalations).reduce<AlertSeverity | undefined>((f, e) => maxSeverity(e.to, f), undefined) : undefined;
      const level = floor && alert.severity === floor ? def.severity : alert.severity;
      const next = def.escalation[escalations];
      const waiting = alert.state === 'open' || alert.state === 'escalated';
      if (state.alerts === NO_ALERTS) state.alerts = new Array<OpenAlert | undefined>(defs.length).fill(undefined);
      state.alerts[index] = { alert, level, ...(floor ? { floor } : {}), step: escalations, ...(waiting && next ? { due: Date.parse(alert.updatedAt) + next.afterUnacknowledged } : {}) };
      schedule(state, state.clock);
    },

    /** The patient's rule state (series, sustained/hysteresis nodes, re-arm marks), for a changelog. */
    exportPatient(patientId: string): EngineSnapshot | undefined {
      const s = patients.get(patientId);
      if (!s) return undefined;
      const series: EngineSnapshot['series'] = [];
      s.series.forEach((points, i) => {
        if (!points) return;
        series.push({
          type: SERIES_TYPES[i]!,
          first: s.firstOf(SERIES_TYPES[i]!) ?? points[0]?.t ?? s.firstSeen,
          points: points.map((p) => (p.flags || p.position ? [p.t, p.readingId, p.value, p.flags ? [...p.flags] : [], p.position ?? null] : [p.t, p.readingId, p.value])),
        });
      });
      const nodes: EngineSnapshot['nodes'] = [];
      s.nodes.forEach((n, slot) => {
        if (n) nodes.push([slotNames[slot]!, n.since ?? null, n.count, n.lastT ?? null, n.active]);
      });
      return { firstSeen: s.firstSeen, clock: s.clock, series, nodes, rearm: [...(s.rearm ?? [])].map((i) => defs[i]!.id) };
    },

    /** Restores a patient's rule state from a changelog record; open alerts come from `seed`. */
    importPatient(patientId: string, snapshot: EngineSnapshot, ctx: PatientContext): void {
      // Records arrive validated (the changelog topic's schema); this is the one place they are read.
      const data = snapshot;
      const state = stateOf(patientId, ctx, data.firstSeen);
      state.firstSeen = data.firstSeen;
      state.clock = data.clock;
      state.series = new Array<Point[] | undefined>(SERIES_TYPES.length).fill(undefined);
      delete state.first;
      for (const s of data.series) {
        const i = TYPE_INDEX[s.type];
        state.series[i] = s.points.map(([t, readingId, value, flags, position]) => {
          const p: Point = { t, readingId, value };
          if (flags?.length) p.flags = flags;
          if (position) p.position = position;
          return p;
        });
        if (state.ruleSet.needsFirst[i]) (state.first ??= new Array<number>(SERIES_TYPES.length).fill(Number.NaN))[i] = s.first;
      }
      state.nodes = new Array<NodeState | undefined>(slotNames.length).fill(undefined);
      for (const [name, since, count, lastT, active] of data.nodes) {
        const slot = nameSlot.get(name);
        if (slot === undefined) continue;
        state.nodes[slot] = { ...(since !== null ? { since } : {}), count, ...(lastT !== null ? { lastT } : {}), active };
      }
      const rearm = data.rearm.map((id) => defs.findIndex((d) => d.id === id)).filter((i) => i >= 0);
      if (rearm.length) state.rearm = new Set(rearm);
      else delete state.rearm;
      state.wakes = NO_WAKES;
      schedule(state, state.clock);
    },

    owns: (alertId: string) => byId.has(alertId) || resolved.has(alertId),

    patientCount: () => patients.size,
  };
}
export type RuleEngine = ReturnType<typeof createRuleEngine>;

const ADDED_NEWEST = { added: true, newest: true } as const;
const DUPLICATE = { added: false, newest: false } as const;
const ADDED_LATE = { added: true, newest: false } as const;
const IS_NEWS2_TYPE = SERIES_TYPES.map((t) => (NEWS2_PARAMETERS as readonly string[]).includes(t));
