import { londonDay, londonDate } from './calendar.ts';
import { formatDuration } from './duration.ts';
import type { Condition, Operand, Operator, SeriesType } from './pack-file.ts';

/**
 * Condition evaluation over one patient's recent history, at an event time. Pure apart from the small
 * per-node state that `sustained` and `hysteresis` need, which the caller keeps per patient and rule.
 */
export interface Point {
  t: number;
  readingId: string;
  value: number | string | boolean;
  flags?: readonly string[];
  position?: 'sitting' | 'standing' | 'lying';
}

export interface History {
  /** Points of a type in event-time order (the engine trims them to what its rules need). */
  points(type: SeriesType): readonly Point[];
  /** Event time the patient was first seen, for "no data since enrolment". */
  firstSeen: number;
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
  /** Series whose newest point just arrived (late readings advance no sustained or hysteresis state). */
  fresh: readonly SeriesType[];
  state: Map<string, NodeState>;
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

function describe(operand: Operand, value: Value | undefined, settings: Settings, version?: number): string {
  if (typeof operand !== 'object') return String(value);
  if (settings[operand.setting] === undefined) return `${String(value)} (default for ${operand.setting})`;
  return `${String(value)} (setting ${operand.setting}${version !== undefined ? `, settings v${version}` : ''})`;
}

function latestAt(points: readonly Point[], now: number): Point | undefined {
  for (let i = points.length - 1; i >= 0; i--) if (points[i]!.t <= now) return points[i];
  return undefined;
}

function inWindow(points: readonly Point[], from: number, to: number): Point[] {
  const out: Point[] = [];
  for (const p of points) if (p.t >= from && p.t <= to) out.push(p);
  return out;
}

const NONE: Outcome = { holds: false, evidence: [] };
const round1 = (v: number) => Math.round(v * 10) / 10;

/** Evaluates a condition at the context's time. `path` names the node for its state. */
export function evaluate(condition: Condition, path: string, ctx: EvaluationContext): Outcome {
  const node = () => {
    let s = ctx.state.get(path);
    if (!s) ctx.state.set(path, (s = { count: 0, active: false }));
    return s;
  };
  switch (condition.kind) {
    case 'threshold': {
      const last = latestAt(ctx.history.points(condition.type), ctx.now);
      const target = resolve(condition.value, ctx.settings);
      if (!last || target === undefined) return NONE;
      const raw = compare(last.value, condition.op, target);
      const holds = condition.sustained ? sustained(node(), condition.sustained, raw, last, ctx.fresh.includes(condition.type)) : raw;
      if (!raw) return { holds, evidence: [] };
      const text = `${condition.type} ${condition.op} ${describe(condition.value, target, ctx.settings, ctx.settingsVersion)}${condition.sustained ? sustainedText(condition.sustained) : ''}`;
      return { holds, evidence: [{ readingId: last.readingId, type: condition.type, value: last.value, t: last.t, threshold: text }] };
    }
    case 'hysteresis': {
      const last = latestAt(ctx.history.points(condition.type), ctx.now);
      const s = node();
      const raiseAt = resolve(condition.raise.value, ctx.settings);
      const clearAt = resolve(condition.clear.value, ctx.settings);
      if (!last || raiseAt === undefined || clearAt === undefined) return { holds: s.active, evidence: [] };
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
      const text = `${condition.type} ${condition.raise.op} ${describe(condition.raise.value, raiseAt, ctx.settings, ctx.settingsVersion)}${condition.sustained ? sustainedText(condition.sustained) : ''} raises, ${condition.clear.op} ${describe(condition.clear.value, clearAt, ctx.settings, ctx.settingsVersion)} clears`;
      return { holds: s.active, evidence: s.active ? [{ readingId: last.readingId, type: condition.type, value: last.value, t: last.t, threshold: text }] : [] };
    }
    case 'delta': {
      const points = inWindow(ctx.history.points(condition.type), ctx.now - condition.window, ctx.now).filter((p) => typeof p.value === 'number');
      const last = points.at(-1);
      if (!last) return NONE;
      let base: Point | undefined;
      let baseValue: number | undefined;
      if (typeof condition.from === 'object') {
        const setting = ctx.settings[condition.from.setting];
        baseValue = typeof setting === 'number' ? setting : undefined;
      } else {
        const min = condition.from === 'window-min';
        base = condition.from === 'window-first' ? points[0] : points.reduce((a, b) => ((min ? (b.value as number) < (a.value as number) : (b.value as number) > (a.value as number)) ? b : a));
        baseValue = base?.value as number | undefined;
      }
      if (baseValue === undefined) return NONE;
      const change = Math.round(((last.value as number) - baseValue) * 100) / 100;
      const holds = compare(change, condition.op, condition.value);
      if (!holds) return NONE;
      const from =
        typeof condition.from === 'object'
          ? `setting ${condition.from.setting} (${baseValue}${ctx.settingsVersion !== undefined ? `, settings v${ctx.settingsVersion}` : ''})`
          : `${condition.from} (${baseValue})`;
      const threshold = `${condition.type} change ${change} from ${from} within ${formatDuration(condition.window)} ${condition.op} ${condition.value}`;
      const evidence: Evidence[] = [{ readingId: last.readingId, type: condition.type, value: last.value, t: last.t, threshold }];
      if (base && base !== last) evidence.unshift({ readingId: base.readingId, type: condition.type, value: base.value, t: base.t, threshold: BASELINE });
      return { holds, evidence };
    }
    case 'average': {
      const points = inWindow(ctx.history.points(condition.type), ctx.now - condition.window, ctx.now).filter((p) => typeof p.value === 'number');
      const target = resolve(condition.value, ctx.settings);
      if (points.length < condition.minReadings || target === undefined) return NONE;
      const mean = round1(points.reduce((sum, p) => sum + (p.value as number), 0) / points.length);
      const holds = compare(mean, condition.op, target);
      if (!holds) return NONE;
      const threshold = `average ${mean} of ${points.length} readings within ${formatDuration(condition.window)} ${condition.op} ${describe(condition.value, target, ctx.settings, ctx.settingsVersion)}`;
      return { holds, evidence: points.map((p) => ({ readingId: p.readingId, type: condition.type, value: p.value, t: p.t, threshold })) };
    }
    case 'protocol-average': {
      // NICE NG136 home BP: readings on calendar days (UK time), the first day of monitoring left out,
      // averaged once enough days have readings.
      const today = londonDay(ctx.now);
      const fromDay = today - condition.days + 1;
      const first = ctx.history.firstOf(condition.type);
      const discard = condition.discardFirstDay && first !== undefined ? londonDay(first) : undefined;
      const used: Point[] = [];
      const days = new Set<number>();
      for (const p of ctx.history.points(condition.type)) {
        if (p.t > ctx.now || typeof p.value !== 'number') continue;
        const day = londonDay(p.t);
        if (day < fromDay || day === discard) continue;
        if (condition.excludeFlagged && p.flags?.length) continue;
        if (condition.position && p.position && p.position !== condition.position) continue;
        used.push(p);
        days.add(day);
      }
      const target = resolve(condition.value, ctx.settings);
      if (days.size < condition.minDays || target === undefined) return NONE;
      const mean = round1(used.reduce((sum, p) => sum + (p.value as number), 0) / used.length);
      const holds = compare(mean, condition.op, target);
      if (!holds) return NONE;
      const span = `${londonDate(used[0]!.t)} to ${londonDate(used.at(-1)!.t)}`;
      const threshold = `${condition.type} home average ${mean} of ${used.length} readings on ${days.size} days (${span}${discard !== undefined && discard >= fromDay ? ', first day left out' : ''}) ${condition.op} ${describe(condition.value, target, ctx.settings, ctx.settingsVersion)}`;
      return { holds, evidence: used.map((p) => ({ readingId: p.readingId, type: condition.type, value: p.value, t: p.t, threshold })) };
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
      const last = latestAt(ctx.history.points(condition.type), ctx.now);
      const since = last?.t ?? ctx.history.firstSeen;
      const holds = ctx.now - since > condition.expectedEvery;
      if (!holds) return NONE;
      if (!last) return { holds, evidence: [], notes: [`no ${condition.type} yet: none has arrived since monitoring began (expected at least every ${formatDuration(condition.expectedEvery)})`] };
      const threshold = `no ${condition.type} for more than ${formatDuration(condition.expectedEvery)}`;
      return { holds, evidence: [{ readingId: last.readingId, type: condition.type, value: last.value, t: last.t, threshold }] };
    }
    case 'flagged': {
      const last = latestAt(ctx.history.points(condition.type), ctx.now);
      const holds = !!last?.flags?.includes(condition.flag);
      return { holds, evidence: holds && last ? [{ readingId: last.readingId, type: condition.type, value: last.value, t: last.t, threshold: `flagged ${condition.flag}` }] : [] };
    }
    case 'all': {
      // Every branch is evaluated so each keeps its sustained/hysteresis state current.
      const outcomes = condition.of.map((c, i) => evaluate(c, `${path}.${i}`, ctx));
      const holds = outcomes.every((o) => o.holds);
      return holds ? combine(outcomes) : NONE;
    }
    case 'any': {
      const outcomes = condition.of.map((c, i) => evaluate(c, `${path}.${i}`, ctx)).filter((o) => o.holds);
      return outcomes.length ? combine(outcomes) : NONE;
    }
  }
}

function combine(outcomes: Outcome[]): Outcome {
  const notes = outcomes.flatMap((o) => o.notes ?? []);
  return { holds: true, evidence: outcomes.flatMap((o) => o.evidence), ...(notes.length ? { notes } : {}) };
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
