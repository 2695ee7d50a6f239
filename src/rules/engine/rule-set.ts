import type { Pathway } from '../../domain/index.ts';
import { NEWS2_PARAMETERS } from '../news2/score.ts';
import { SERIES_TYPES, type Condition, type RuleDefinition, type RulePack, type SeriesType } from './pack-file.ts';

/**
 * The loaded rules, compiled once: which series each reads, which change with time alone, where their
 * sustained and hysteresis state lives, and per set of pathways which rules apply and how long each
 * series must be kept for them.
 */
export interface CompiledRule {
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
export interface RuleSet {
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

const DAY_MS = 86_400_000;
export const TYPE_INDEX = Object.fromEntries(SERIES_TYPES.map((t, i) => [t, i])) as Record<SeriesType, number>;
export const IS_NEWS2_TYPE = SERIES_TYPES.map((t) => (NEWS2_PARAMETERS as readonly string[]).includes(t));

type Leaf = Exclude<Condition, { kind: 'all' | 'any' }>;
function walk(condition: Condition, visit: (c: Leaf) => void): void {
  if (condition.kind === 'all' || condition.kind === 'any') for (const c of condition.of) walk(c, visit);
  else visit(condition);
}

/** `scoresNews2`: the engine scores NEWS2, so every patient keeps the latest reading of each parameter. */
export function compileRules(packs: readonly RulePack[], scoresNews2: boolean) {
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
    const keep: number[] = SERIES_TYPES.map((t) => (scoresNews2 && IS_NEWS2_TYPE[TYPE_INDEX[t]] ? 0 : -1));
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

  return { defs, rules, slotOf, slotNames, nameSlot, ruleSetFor };
}
export type CompiledRules = ReturnType<typeof compileRules>;
