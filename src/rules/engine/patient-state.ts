import type { Alert, AlertSeverity, Pathway } from '../../domain/index.ts';
import type { LadderPosition } from '../alerts/lifecycle.ts';
import type { History, NodeState, Point, Settings } from './evaluate.ts';
import { SERIES_TYPES, type SeriesType } from './pack-file.ts';
import { TYPE_INDEX, type RuleSet } from './rule-set.ts';

/** What the engine needs to know of a patient beside the readings: ward, pathways and local settings. */
export interface PatientContext {
  wardId: string;
  pathways: readonly Pathway[];
  settings: Settings;
  /** NEWS2 SpO2 scale, when the engine scores NEWS2 (1 unless given). */
  spo2Scale?: 1 | 2;
  /** The version of the settings, named beside every setting an alert's thresholds use. */
  settingsVersion?: number;
}

/** An unresolved alert of one rule for one patient, and where its escalation ladder stands. */
export interface OpenAlert {
  alert: Alert;
  /** Severity from the rule and its levels, before escalation. */
  level: AlertSeverity;
  /** Severity escalation has reached; severity never falls below it. */
  floor?: AlertSeverity;
  ladder: LadderPosition;
}

const INF = Number.POSITIVE_INFINITY;
const EMPTY: readonly Point[] = [];
// Shared empty placeholders; a patient gets its own array on first write.
export const NO_NODES: Array<NodeState | undefined> = [];
export const NO_ALERTS: Array<OpenAlert | undefined> = [];
export const NO_WAKES: number[] = [];

/** One patient's state: its series, rule state and open alerts. Its methods are the History a condition reads. */
export class PatientState implements History {
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

const ADDED_NEWEST = { added: true, newest: true } as const;
const DUPLICATE = { added: false, newest: false } as const;
const ADDED_LATE = { added: true, newest: false } as const;

/**
 * Stores a point in its series, in event time order, keeping only what the patient's rules read;
 * says whether it is new (a redelivered reading is not) and whether it is the newest of its type.
 */
export function record(state: PatientState, type: SeriesType, point: Point): { added: boolean; newest: boolean } {
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
