import type { Reading, ReadingType } from '../../domain/index.ts';
import { formatDuration } from './duration.ts';
import type { Condition, Operand, Operator } from './pack-file.ts';

/**
 * Condition evaluation over one patient's recent history, at an event time. Pure apart from the small
 * per-node state that `sustained` and `hysteresis` need, which the caller keeps per patient and rule.
 */
export interface Point {
  t: number;
  readingId: string;
  value: Reading['value'];
  flags?: readonly string[];
}

export interface History {
  /** Points of a type in event-time order (the engine trims them to what its rules need). */
  points(type: ReadingType): readonly Point[];
  /** Event time the patient was first seen, for "no data since enrolment". */
  firstSeen: number;
}

export interface Evidence {
  readingId: string;
  type: ReadingType;
  value: Reading['value'];
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
}

export type Settings = Readonly<Record<string, number | string | boolean>>;

type Value = number | string | boolean;

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
  return typeof operand === 'object' ? settings[operand.setting] : operand;
}

function describe(operand: Operand, value: Value | undefined): string {
  return typeof operand === 'object' ? `${String(value)} (setting ${operand.setting})` : String(value);
}

function latestAt(points: readonly Point[], now: number): Point | undefined {
  for (let i = points.length - 1; i >= 0; i--) if (points[i]!.t <= now) return points[i];
  return undefined;
}

function inWindow(points: readonly Point[], from: number, to: number): Point[] {
  return points.filter((p) => p.t >= from && p.t <= to);
}

/**
 * Evaluates a condition at event time `now`. `reading` is the reading being processed, if any:
 * sustained and hysteresis state advances only on readings of the node's own type.
 */
export function evaluate(
  condition: Condition,
  path: string,
  ctx: { history: History; settings: Settings; now: number; reading?: Reading; state: Map<string, NodeState> },
): Outcome {
  const node = () => {
    let s = ctx.state.get(path);
    if (!s) ctx.state.set(path, (s = { count: 0, active: false }));
    return s;
  };
  switch (condition.kind) {
    case 'threshold': {
      const last = latestAt(ctx.history.points(condition.type), ctx.now);
      const target = resolve(condition.value, ctx.settings);
      if (!last || target === undefined) return { holds: false, evidence: [] };
      const raw = compare(last.value, condition.op, target);
      const text = `${condition.type} ${condition.op} ${describe(condition.value, target)}`;
      const holds = condition.sustained ? sustained(node(), condition.sustained, raw, last, ctx.reading?.type === condition.type) : raw;
      const suffix = condition.sustained ? sustainedText(condition.sustained) : '';
      return { holds, evidence: raw ? [{ readingId: last.readingId, type: condition.type, value: last.value, t: last.t, threshold: text + suffix }] : [] };
    }
    case 'hysteresis': {
      const last = latestAt(ctx.history.points(condition.type), ctx.now);
      const s = node();
      const raiseAt = resolve(condition.raise.value, ctx.settings);
      const clearAt = resolve(condition.clear.value, ctx.settings);
      if (!last || raiseAt === undefined || clearAt === undefined) return { holds: s.active, evidence: [] };
      const raises = compare(last.value, condition.raise.op, raiseAt);
      const fresh = ctx.reading?.type === condition.type;
      if (!s.active) {
        const up = condition.sustained ? sustained(s, condition.sustained, raises, last, fresh) : raises;
        if (up) s.active = true;
      } else if (fresh && compare(last.value, condition.clear.op, clearAt)) {
        s.active = false;
        s.since = undefined;
        s.count = 0;
      }
      const text = `${condition.type} ${condition.raise.op} ${describe(condition.raise.value, raiseAt)} raises, ${condition.clear.op} ${describe(condition.clear.value, clearAt)} clears`;
      return { holds: s.active, evidence: s.active ? [{ readingId: last.readingId, type: condition.type, value: last.value, t: last.t, threshold: text }] : [] };
    }
    case 'delta': {
      const points = inWindow(ctx.history.points(condition.type), ctx.now - condition.window, ctx.now).filter((p) => typeof p.value === 'number');
      const last = points.at(-1);
      if (!last) return { holds: false, evidence: [] };
      let base: Point | undefined;
      let baseValue: number | undefined;
      if (typeof condition.from === 'object') {
        const setting = ctx.settings[condition.from.setting];
        baseValue = typeof setting === 'number' ? setting : undefined;
      } else {
        const pick = condition.from === 'window-first' ? points[0] : points.reduce((a, b) => ((condition.from === 'window-min' ? (b.value as number) < (a.value as number) : (b.value as number) > (a.value as number)) ? b : a));
        base = pick;
        baseValue = pick?.value as number | undefined;
      }
      if (baseValue === undefined) return { holds: false, evidence: [] };
      const change = Math.round(((last.value as number) - baseValue) * 100) / 100;
      const holds = compare(change, condition.op, condition.value);
      const from = typeof condition.from === 'object' ? `setting ${condition.from.setting} (${baseValue})` : `${condition.from} (${baseValue})`;
      const threshold = `${condition.type} change ${change} from ${from} within ${formatDuration(condition.window)} ${condition.op} ${condition.value}`;
      const evidence: Evidence[] = [{ readingId: last.readingId, type: condition.type, value: last.value, t: last.t, threshold }];
      if (base && base !== last) evidence.unshift({ readingId: base.readingId, type: condition.type, value: base.value, t: base.t, threshold: 'baseline for the change' });
      return { holds, evidence: holds ? evidence : [] };
    }
    case 'average': {
      const points = inWindow(ctx.history.points(condition.type), ctx.now - condition.window, ctx.now).filter((p) => typeof p.value === 'number');
      const target = resolve(condition.value, ctx.settings);
      if (points.length < condition.minReadings || target === undefined) return { holds: false, evidence: [] };
      const mean = Math.round((points.reduce((sum, p) => sum + (p.value as number), 0) / points.length) * 10) / 10;
      const holds = compare(mean, condition.op, target);
      const threshold = `average ${mean} of ${points.length} readings within ${formatDuration(condition.window)} ${condition.op} ${describe(condition.value, target)}`;
      return { holds, evidence: holds ? points.slice(-10).map((p) => ({ readingId: p.readingId, type: condition.type, value: p.value, t: p.t, threshold })) : [] };
    }
    case 'missing': {
      const last = latestAt(ctx.history.points(condition.type), ctx.now);
      const since = last?.t ?? ctx.history.firstSeen;
      const holds = ctx.now - since > condition.expectedEvery;
      const threshold = `no ${condition.type} for more than ${formatDuration(condition.expectedEvery)}${last ? '' : ' (none yet)'}`;
      return { holds, evidence: holds && last ? [{ readingId: last.readingId, type: condition.type, value: last.value, t: last.t, threshold }] : [] };
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
      return { holds, evidence: holds ? outcomes.flatMap((o) => o.evidence) : [] };
    }
    case 'any': {
      const outcomes = condition.of.map((c, i) => evaluate(c, `${path}.${i}`, ctx));
      return { holds: outcomes.some((o) => o.holds), evidence: outcomes.filter((o) => o.holds).flatMap((o) => o.evidence) };
    }
  }
}

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
