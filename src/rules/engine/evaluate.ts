import { londonDay, londonDate, nextLondonMidnight } from '../../time/calendar.ts';
import { formatDuration } from '../../time/duration.ts';
import type { Condition, Operand, Operator, SeriesType } from './pack-file.ts';

/**
 * Condition evaluation over one patient's recent history, at an event time. Pure apart from the small
 * per-node state that `sustained` and `hysteresis` need, which the caller keeps per patient in slots
 * numbered when the packs load (`slotOf`).
 */
export interface Point {
  t: number;
  readingId: string;
  value: number | string | boolean;
  /** The reading's canonical ISO time, kept only where a score quotes it. */
  ts?: string;
  flags?: readonly string[];
  position?: 'sitting' | 'standing' | 'lying';
}

export interface History {
  /** Points of a type in event-time order (the engine trims them to what its rules need). */
  points(type: SeriesType): readonly Point[];
  /** Event time the patient was first seen, for "no data since enrolment". */
  readonly firstSeen: number;
  /** Event time of the first point of a type ever seen (not trimmed), for "discard the first day". */
  firstOf(type: SeriesType): number | undefined;
}

export interface Evidence {
  readingId: string;
  type: SeriesType;
  value: number | string | boolean;
  t: number;
  threshold: string;
}

export interface NodeState {
  since?: number;
  count: number;
  lastT?: number;
  active: boolean;
}

export interface Outcome {
  holds: boolean;
  evidence: Evidence[];
  /** What held, in words, when no reading can show it (e.g. nothing has arrived at all). */
  notes?: string[];
}

export type Settings = Readonly<Record<string, number | string | boolean>>;

type Value = number | string | boolean;

export interface EvaluationContext {
  history: History;
  settings: Settings;
  settingsVersion?: number;
  /** The patient's clock: the newest event time seen, or the timer's time. */
  now: number;
  /**
   * The latest time the timers have moved to (the wall clock live, event time in a replay). Missing
   * data is judged at the later of it and `now`, so a reading that arrives late (an offline burst, a
   * device clock behind) does not clear a missing-data alert the clock has already raised: the same
   * time raises and clears it, and the alert does not flap.
   */
  timerNow?: number;
  /** Series whose newest point just arrived (late readings advance no sustained or hysteresis state). */
  fresh: readonly SeriesType[];
  /** Sustained and hysteresis state by slot. */
  nodes: Array<NodeState | undefined>;
  slotOf: ReadonlyMap<Condition, number>;
}

export function compare(left: Value, op: Operator, right: Value): boolean {
  switch (op) {
    case '==':
      return left === right;
    case '!=':
      return left !== right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
  }
}

function resolve(operand: Operand, settings: Settings): Value | undefined {
  return typeof operand === 'object' ? (settings[operand.setting] ?? operand.default) : operand;
}

function describe(operand: Operand, value: Value | undefined, ctx: EvaluationContext): string {
  if (typeof operand !== 'object') return String(value);
  if (ctx.settings[operand.setting] === undefined) return `${String(value)} (default for ${operand.setting})`;
  return `${String(value)} (setting ${operand.setting}${ctx.settingsVersion !== undefined ? `, settings v${ctx.settingsVersion}` : ''})`;
}

function latestAt(points: readonly Point[], now: number): Point | undefined {
  for (let i = points.length - 1; i >= 0; i--) if (points[i]!.t <= now) return points[i];
  return undefined;
}

/** Index of the first point at or after `t` (or, `after`, after it): points are in event-time order. */
function bound(points: readonly Point[], t: number, after = false): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]!.t < t || (after && points[mid]!.t === t)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
const lowerBound = (points: readonly Point[], t: number) => bound(points, t);
/** Index one past the last point at or before `t`. */
const upperBound = (points: readonly Point[], t: number) => bound(points, t, true);

const NONE: Outcome = { holds: false, evidence: [] };
const round1 = (v: number) => Math.round(v * 10) / 10;

function nodeOf(condition: Condition, ctx: EvaluationContext): NodeState {
  const slot = ctx.slotOf.get(condition)!;
  let s = ctx.nodes[slot];
  // Every field from the start: one object shape for all nodes, with no properties added later.
  if (!s) ctx.nodes[slot] = s = { since: undefined, count: 0, lastT: undefined, active: false };
  return s;
}

/** Evaluates a condition at the context's time. */
export function evaluate(condition: Condition, ctx: EvaluationContext): Outcome {
  switch (condition.kind) {
    case 'threshold': {
      const last = latestAt(ctx.history.points(condition.type), ctx.now);
      const target = resolve(condition.value, ctx.settings);
      if (!last || target === undefined) return NONE;
      const raw = compare(last.value, condition.op, target);
      const holds = condition.sustained ? sustained(nodeOf(condition, ctx), condition.sustained, raw, last, ctx.fresh.includes(condition.type)) : raw;
      if (!raw) return holds ? { holds, evidence: [] } : NONE;
      const text = `${condition.type} ${condition.op} ${describe(condition.value, target, ctx)}${condition.sustained ? sustainedText(condition.sustained) : ''}`;
      return { holds, evidence: [{ readingId: last.readingId, type: condition.type, value: last.value, t: last.t, threshold: text }] };
    }
    case 'hysteresis': {
      const last = latestAt(ctx.history.points(condition.type), ctx.now);
      const s = nodeOf(condition, ctx);
      const raiseAt = resolve(condition.raise.value, ctx.settings);
      const clearAt = resolve(condition.clear.value, ctx.settings);
      if (!last || raiseAt === undefined || clearAt === undefined) return s.active ? { holds: true, evidence: [] } : NONE;
      const raises = compare(last.value, condition.raise.op, raiseAt);
      const fresh = ctx.fresh.includes(condition.type);
      if (!s.active) {
        const up = condition.sustained ? sustained(s, condition.sustained, raises, last, fresh) : raises;
        if (up) s.active = true;
      } else if (fresh && compare(last.value, condition.clear.op, clearAt)) {
        s.active = false;
        s.since = undefined;
        s.count = 0;
      }
      if (!s.active) return NONE;
      const text = `${condition.type} ${condition.raise.op} ${describe(condition.raise.value, raiseAt, ctx)}${condition.sustained ? sustainedText(condition.sustained) : ''} raises, ${condition.clear.op} ${describe(condition.clear.value, clearAt, ctx)} clears`;
      return { holds: true, evidence: [{ readingId: last.readingId, type: condition.type, value: last.value, t: last.t, threshold: text }] };
    }
    case 'delta': {
      const points = ctx.history.points(condition.type);
      const from = lowerBound(points, ctx.now - condition.window);
      const to = upperBound(points, ctx.now);
      let first: Point | undefined;
      let last: Point | undefined;
      let min: Point | undefined;
      let max: Point | undefined;
      for (let i = from; i < to; i++) {
        const p = points[i]!;
        if (typeof p.value !== 'number') continue;
        first ??= p;
        last = p;
        if (!min || p.value < (min.value as number)) min = p;
        if (!max || p.value > (max.value as number)) max = p;
      }
      if (!last) return NONE;
      let base: Point | undefined;
      let baseValue: number | undefined;
      if (typeof condition.from === 'object') {
        const setting = ctx.settings[condition.from.setting];
        baseValue = typeof setting === 'number' ? setting : undefined;
      } else {
        base = condition.from === 'window-first' ? first : condition.from === 'window-min' ? min : max;
        baseValue = base?.value as number | undefined;
      }
      if (baseValue === undefined) return NONE;
      const change = Math.round(((last.value as number) - baseValue) * 100) / 100;
      if (!compare(change, condition.op, condition.value)) return NONE;
      const reference =
        typeof condition.from === 'object'
          ? `setting ${condition.from.setting} (${baseValue}${ctx.settingsVersion !== undefined ? `, settings v${ctx.settingsVersion}` : ''})`
          : `${condition.from} (${baseValue})`;
      const threshold = `${condition.type} change ${change} from ${reference} within ${formatDuration(condition.window)} ${condition.op} ${condition.value}`;
      const evidence: Evidence[] = [{ readingId: last.readingId, type: condition.type, value: last.value, t: last.t, threshold }];
      if (base && base !== last) evidence.unshift({ readingId: base.readingId, type: condition.type, value: base.value, t: base.t, threshold: BASELINE });
      return { holds: true, evidence };
    }
    case 'average': {
      const points = ctx.history.points(condition.type);
      const from = lowerBound(points, ctx.now - condition.window);
      const to = upperBound(points, ctx.now);
      let sum = 0;
      let count = 0;
      for (let i = from; i < to; i++) {
        const v = points[i]!.value;
        if (typeof v === 'number') {
          sum += v;
          count++;
        }
      }
      const target = resolve(condition.value, ctx.settings);
      if (count < condition.minReadings || target === undefined) return NONE;
      const mean = round1(sum / count);
      if (!compare(mean, condition.op, target)) return NONE;
      const threshold = `average ${mean} of ${count} readings within ${formatDuration(condition.window)} ${condition.op} ${describe(condition.value, target, ctx)}`;
      const evidence: Evidence[] = [];
      for (let i = from; i < to; i++) {
        const p = points[i]!;
        if (typeof p.value === 'number') evidence.push({ readingId: p.readingId, type: condition.type, value: p.value, t: p.t, threshold });
      }
      return { holds: true, evidence };
    }
    case 'protocol-average': {
      // NICE NG136 home BP: readings on calendar days (UK time), the first day of monitoring left out,
      // averaged once enough days have readings.
      const today = londonDay(ctx.now);
      const fromDay = today - condition.days + 1;
      const first = ctx.history.firstOf(condition.type);
      const discard = condition.discardFirstDay && first !== undefined ? londonDay(first) : undefined;
      const points = ctx.history.points(condition.type);
      const used: Point[] = [];
      let sum = 0;
      let days = 0;
      let lastDay = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < points.length; i++) {
        const p = points[i]!;
        if (p.t > ctx.now || typeof p.value !== 'number') continue;
        const day = londonDay(p.t);
        if (day < fromDay || day === discard) continue;
        if (condition.excludeFlagged && p.flags?.length) continue;
        if (condition.position && p.position && p.position !== condition.position) continue;
        used.push(p);
        sum += p.value;
        // Points are in time order, so days arrive in order too.
        if (day !== lastDay) {
          days++;
          lastDay = day;
        }
      }
      const target = resolve(condition.value, ctx.settings);
      if (days < condition.minDays || target === undefined) return NONE;
      const mean = round1(sum / used.length);
      if (!compare(mean, condition.op, target)) return NONE;
      const span = `${londonDate(used[0]!.t)} to ${londonDate(used.at(-1)!.t)}`;
      const threshold = `${condition.type} home average ${mean} of ${used.length} readings on ${days} days (${span}${discard !== undefined && discard >= fromDay ? ', first day left out' : ''}) ${condition.op} ${describe(condition.value, target, ctx)}`;
      return { holds: true, evidence: used.map((p) => ({ readingId: p.readingId, type: condition.type, value: p.value, t: p.t, threshold })) };
    }
    case 'postural-drop': {
      // The newest standing reading against the newest seated or lying one shortly before it.
      const points = ctx.history.points(condition.type);
      let standing: Point | undefined;
      let i = points.length - 1;
      for (; i >= 0; i--) {
        const p = points[i]!;
        if (p.t <= ctx.now && p.position === 'standing' && typeof p.value === 'number' && !p.flags?.length) {
          standing = p;
          break;
        }
      }
      if (!standing) return NONE;
      let rest: Point | undefined;
      for (let j = i - 1; j >= 0; j--) {
        const p = points[j]!;
        if (standing.t - p.t > condition.within) break;
        if ((p.position === 'sitting' || p.position === 'lying') && typeof p.value === 'number' && !p.flags?.length) {
          rest = p;
          break;
        }
      }
      if (!rest) return NONE;
      const drop = (rest.value as number) - (standing.value as number);
      if (drop < condition.drop) return NONE;
      const threshold = `${condition.type} fell ${drop} on standing (${rest.position} ${String(rest.value)}, standing ${String(standing.value)}) within ${formatDuration(condition.within)} >= ${condition.drop}`;
      return {
        holds: true,
        evidence: [
          { readingId: rest.readingId, type: condition.type, value: rest.value, t: rest.t, threshold: BASELINE },
          { readingId: standing.readingId, type: condition.type, value: standing.value, t: standing.t, threshold },
        ],
      };
    }
    case 'missing': {
      const at = ctx.timerNow !== undefined && ctx.timerNow > ctx.now ? ctx.timerNow : ctx.now;
      const last = latestAt(ctx.history.points(condition.type), at);
      const since = last?.t ?? ctx.history.firstSeen;
      if (!(at - since > condition.expectedEvery)) return NONE;
      if (!last) return { holds: true, evidence: [], notes: [`no ${condition.type} yet: none has arrived since monitoring began (expected at least every ${formatDuration(condition.expectedEvery)})`] };
      const threshold = `no ${condition.type} for more than ${formatDuration(condition.expectedEvery)}`;
      return { holds: true, evidence: [{ readingId: last.readingId, type: condition.type, value: last.value, t: last.t, threshold }] };
    }
    case 'flagged': {
      const last = latestAt(ctx.history.points(condition.type), ctx.now);
      if (!last?.flags?.includes(condition.flag)) return NONE;
      return { holds: true, evidence: [{ readingId: last.readingId, type: condition.type, value: last.value, t: last.t, threshold: `flagged ${condition.flag}` }] };
    }
    case 'all': {
      // Every branch is evaluated so each keeps its sustained/hysteresis state current.
      let holds = true;
      const outcomes: Outcome[] = [];
      for (const c of condition.of) {
        const o = evaluate(c, ctx);
        if (!o.holds) holds = false;
        outcomes.push(o);
      }
      return holds ? combine(outcomes) : NONE;
    }
    case 'any': {
      const outcomes: Outcome[] = [];
      for (const c of condition.of) {
        const o = evaluate(c, ctx);
        if (o.holds) outcomes.push(o);
      }
      return outcomes.length ? combine(outcomes) : NONE;
    }
  }
}

/**
 * The earliest event time after `now` at which the condition could change with no new reading: a
 * missing-data deadline, a point leaving a window, UK midnight for a protocol average. Infinity if
 * only a reading can change it. The engine's timers wake a patient then, and not before.
 */
export function wakeAt(condition: Condition, history: History, now: number): number {
  switch (condition.kind) {
    case 'missing': {
      const last = latestAt(history.points(condition.type), now);
      const deadline = (last?.t ?? history.firstSeen) + condition.expectedEvery;
      return now > deadline ? Number.POSITIVE_INFINITY : deadline + 1;
    }
    case 'delta':
    case 'average': {
      const points = history.points(condition.type);
      const from = lowerBound(points, now - condition.window);
      const oldest = points[from];
      return oldest && oldest.t <= now ? oldest.t + condition.window + 1 : Number.POSITIVE_INFINITY;
    }
    case 'protocol-average':
      return history.points(condition.type).length ? Math.max(nextLondonMidnight(now), now + 1) : Number.POSITIVE_INFINITY;
    case 'all':
    case 'any': {
      let wake = Number.POSITIVE_INFINITY;
      for (const c of condition.of) wake = Math.min(wake, wakeAt(c, history, now));
      return wake;
    }
    default:
      return Number.POSITIVE_INFINITY;
  }
}

function combine(outcomes: Outcome[]): Outcome {
  if (outcomes.length === 1) return outcomes[0]!;
  const evidence: Evidence[] = [];
  let notes: string[] | undefined;
  for (const o of outcomes) {
    for (const e of o.evidence) evidence.push(e);
    if (o.notes) (notes ??= []).push(...o.notes);
  }
  return { holds: true, evidence, ...(notes ? { notes } : {}) };
}

/** Evidence that is the reference a change was measured from, not itself over a threshold. */
export const BASELINE = 'baseline for the change';

function sustained(s: NodeState, rule: { for?: number; readings?: number }, raw: boolean, last: Point, fresh: boolean): boolean {
  if (fresh && s.lastT !== last.t) {
    s.lastT = last.t;
    if (raw) {
      s.since ??= last.t;
      s.count++;
    } else {
      s.since = undefined;
      s.count = 0;
    }
  }
  if (!raw || s.since === undefined) return false;
  return (rule.for === undefined || last.t - s.since >= rule.for) && (rule.readings === undefined || s.count >= rule.readings);
}

function sustainedText(rule: { for?: number; readings?: number }): string {
  const parts = [rule.for !== undefined ? `for ${formatDuration(rule.for)}` : '', rule.readings !== undefined ? `over ${rule.readings} readings` : ''].filter(Boolean);
  return `, sustained ${parts.join(' and ')}`;
}
