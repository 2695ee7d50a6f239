import { z } from 'zod';
import type { NodeState, Point } from './evaluate.ts';
import { SERIES_TYPES, SeriesType } from './pack-file.ts';
import { NO_WAKES, type PatientState } from './patient-state.ts';
import { TYPE_INDEX, type CompiledRules } from './rule-set.ts';

/**
 * One patient's rule state in a compact, JSON-safe form: what a rules process writes to its changelog
 * after each reading, and what a process taking the patient over restores. Points are tuples
 * [event time, reading id, value, flags?, position?] to keep the record small.
 */
const Value = z.union([z.number(), z.string(), z.boolean()]);
const PointTuple = z.union([
  z.tuple([z.number(), z.string(), Value]),
  z.tuple([z.number(), z.string(), Value, z.array(z.string()), z.enum(['sitting', 'standing', 'lying']).nullable()]),
]);

export const EngineSnapshot = z.object({
  firstSeen: z.number(),
  clock: z.number(),
  series: z.array(z.object({ type: SeriesType, first: z.number(), points: z.array(PointTuple) })),
  /** [node path, since, count, last event time, active] */
  nodes: z.array(z.tuple([z.string(), z.number().nullable(), z.number().int().nonnegative(), z.number().nullable(), z.boolean()])),
  rearm: z.array(z.string()),
});
export type EngineSnapshot = z.infer<typeof EngineSnapshot>;

/** The patient's rule state (series, sustained/hysteresis nodes, re-arm marks), for a changelog. */
export function snapshotOf(s: PatientState, compiled: Pick<CompiledRules, 'defs' | 'slotNames'>): EngineSnapshot {
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
    if (n) nodes.push([compiled.slotNames[slot]!, n.since ?? null, n.count, n.lastT ?? null, n.active]);
  });
  return { firstSeen: s.firstSeen, clock: s.clock, series, nodes, rearm: [...(s.rearm ?? [])].map((i) => compiled.defs[i]!.id) };
}

/**
 * Restores a patient's rule state from a changelog record (validated by the changelog topic's
 * schema: this is the one place records are read). Nodes and re-arm marks of rules no longer loaded
 * are let go; open alerts come back separately, from the alerts topic.
 */
export function restoreInto(state: PatientState, data: EngineSnapshot, compiled: Pick<CompiledRules, 'defs' | 'slotNames' | 'nameSlot'>): void {
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
  state.nodes = new Array<NodeState | undefined>(compiled.slotNames.length).fill(undefined);
  for (const [name, since, count, lastT, active] of data.nodes) {
    const slot = compiled.nameSlot.get(name);
    if (slot === undefined) continue;
    state.nodes[slot] = { ...(since !== null ? { since } : {}), count, ...(lastT !== null ? { lastT } : {}), active };
  }
  const rearm = data.rearm.map((id) => compiled.defs.findIndex((d) => d.id === id)).filter((i) => i >= 0);
  if (rearm.length) state.rearm = new Set(rearm);
  else delete state.rearm;
  state.wakes = NO_WAKES;
}
