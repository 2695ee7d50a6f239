import { join } from 'node:path';
import type { Alert, Reading } from '../domain/index.ts';
import type { Registry } from '../registry/registry.ts';
import { londonDay } from '../time/calendar.ts';
import { loadRulePacks, type RulePack } from './engine/pack-file.ts';
import { loadNews2Rule, type News2Rule } from './news2/rule-file.ts';
import { createPatientContexts } from './patient-context.ts';
import { createRulesProcessor } from './processor.ts';

/**
 * Replay: a recorded (or simulated) stream of readings run through the same rules processor the
 * rules role runs, on event time only, so a rule change can be judged on real traces before it goes
 * live. Pure apart from loading rule files: the same readings, registry and tick give the same
 * alerts, byte for byte (docs/replay.md).
 */
export const DEFAULT_TICK_MS = 60_000;

export interface RuleSet {
  news2: News2Rule;
  packs: readonly RulePack[];
}

export async function loadRuleSet(dir: string): Promise<RuleSet> {
  const [news2, packs] = await Promise.all([loadNews2Rule(join(dir, 'news2.yaml')), loadRulePacks(dir)]);
  return { news2, packs };
}

/** A replay reads patients, enrolments and settings versions from a registry, as the rules role does. */
export type ReplayRegistry = Registry;

export type ReplayOptions = ({ rulesDir: string } | RuleSet) & {
  readings: AsyncIterable<Reading> | Iterable<Reading>;
  registry: ReplayRegistry;
  /** Timers are moved at every multiple of this much event time; 60 s unless given. */
  tickMs?: number;
  /** Told of each reading skipped because the registry does not know its patient. */
  onSkip?: (reading: Reading) => void;
};

export interface RuleSummary {
  /** The pack the rule came from (`news2` for NEWS2 itself). */
  pack: string;
  version: string;
  /** Alerts opened (revision 0), not counting later revisions of them. */
  opened: number;
  /** Alerts opened per patient-day. */
  burden: number;
}

export interface ReplaySummary {
  readingsIn: number;
  readingsSkipped: number;
  /** Patients named by skipped readings, sorted. */
  unknownPatients: string[];
  /** Distinct (patient, UK calendar day) pairs with at least one replayed reading. */
  patientDays: number;
  /** Alert revisions published, opening ones included. */
  revisions: number;
  firstEventTs?: string;
  lastEventTs?: string;
  /** Every loaded rule, NEWS2 first then the packs in file order, whether or not it opened an alert. */
  rules: Record<string, RuleSummary>;
}

export interface ReplayRun {
  /** Every alert revision in the order the processor published it. Iterate once. */
  alerts: AsyncIterable<Alert>;
  /** Complete once `alerts` has been iterated to the end; throws before then. */
  summary(): ReplaySummary;
}

export function replay(options: ReplayOptions): ReplayRun {
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  // The same patient context as the rules role, so a replay shows what would run.
  const contexts = createPatientContexts(options.registry);
  if (!Number.isFinite(tickMs) || tickMs <= 0) throw new Error(`replay: tick must be a positive duration, not ${tickMs} ms`);
  let done: ReplaySummary | undefined;
  let started = false;

  async function* run(): AsyncGenerator<Alert> {
    if (started) throw new Error('replay: the alerts of a run can be iterated only once');
    started = true;
    const rules = 'rulesDir' in options ? await loadRuleSet(options.rulesDir) : { news2: options.news2, packs: options.packs };
    const processor = createRulesProcessor(rules);
    const summary: ReplaySummary = { readingsIn: 0, readingsSkipped: 0, unknownPatients: [], patientDays: 0, revisions: 0, rules: {} };
    summary.rules[rules.news2.id] = { pack: 'news2', version: rules.news2.version, opened: 0, burden: 0 };
    for (const pack of rules.packs) for (const rule of pack.rules) summary.rules[rule.id] = { pack: pack.pack, version: rule.version, opened: 0, burden: 0 };
    const unknown = new Set<string>();
    const days = new Set<string>();
    const count = (alert: Alert) => {
      summary.revisions++;
      if (alert.revision === 0) {
        // A rule missing from the summary cannot happen with one processor, but counting it beats losing it.
        const entry = (summary.rules[alert.ruleId] ??= { pack: '?', version: alert.ruleVersion, opened: 0, burden: 0 });
        entry.opened++;
      }
      return alert;
    };

    // The ward's clock: the newest event time replayed. Ticks fall on multiples of tickMs, each run
    // just before the first reading later than it, so a reading at exactly a tick is seen first.
    let clock: number | undefined;
    let nextTick = 0;
    let lastTick: number | undefined;
    function* tickBefore(t: number, inclusive: boolean): Generator<Alert> {
      while (inclusive ? nextTick <= t : nextTick < t) {
        lastTick = nextTick;
        for (const alert of processor.tick(nextTick)) yield count(alert);
        nextTick += tickMs;
      }
    }

    for await (const reading of options.readings) {
      summary.readingsIn++;
      const t = Date.parse(reading.ts);
      const at = new Date(t);
      const ctx = options.registry.patient(reading.patientId) ? contexts.contextOf(reading.patientId, reading.wardId, at.getTime()) : undefined;
      if (!ctx) {
        // Not part of the ward being replayed: it moves no clock, so a stray timestamp costs nothing.
        summary.readingsSkipped++;
        unknown.add(reading.patientId);
        options.onSkip?.(reading);
        continue;
      }
      if (clock === undefined) {
        clock = t;
        nextTick = Math.ceil(t / tickMs) * tickMs;
        summary.firstEventTs = reading.ts;
      } else if (t > clock) {
        yield* tickBefore(t, false);
        clock = t;
      }
      days.add(`${reading.patientId}\u0000${londonDay(t)}`);
      for (const alert of processor.onReading(reading, ctx).alerts) yield count(alert);
    }
    if (clock !== undefined) {
      yield* tickBefore(clock, true);
      if (lastTick !== clock) for (const alert of processor.tick(clock)) yield count(alert);
      summary.lastEventTs = new Date(clock).toISOString();
    }

    summary.unknownPatients = [...unknown].sort();
    summary.patientDays = days.size;
    for (const entry of Object.values(summary.rules)) entry.burden = summary.patientDays ? entry.opened / summary.patientDays : 0;
    done = summary;
  }

  return {
    alerts: { [Symbol.asyncIterator]: () => run() },
    summary() {
      if (!done) throw new Error('replay: the summary is ready once every alert has been read');
      return done;
    },
  };
}

/** Runs a replay to the end, holding every alert revision. */
export async function replayAll(options: ReplayOptions): Promise<{ alerts: Alert[]; summary: ReplaySummary }> {
  const run = replay(options);
  const alerts: Alert[] = [];
  for await (const alert of run.alerts) alerts.push(alert);
  return { alerts, summary: run.summary() };
}

export interface RuleComparison {
  ruleId: string;
  openedA: number;
  openedB: number;
  /** Opened under B with no alert of the same patient, rule and raisedAt under A. */
  added: number;
  /** Opened under A with no alert of the same patient, rule and raisedAt under B. */
  removed: number;
  burdenA: number;
  burdenB: number;
  /** Undefined when the rule is not in that rule set. */
  versionA?: string;
  versionB?: string;
}

export interface Comparison {
  patientDays: number;
  rules: RuleComparison[];
  totals: Omit<RuleComparison, 'ruleId' | 'versionA' | 'versionB'>;
}

const openingKey = (a: Alert) => `${a.patientId}\u0000${a.ruleId}\u0000${a.raisedAt}`;

/**
 * Per rule: what a change from rule set A to B does to the alerts on one trace. Openings are matched
 * by patient, rule and raisedAt (as a multiset), since alert ids may embed score ids or versions.
 */
export function compareReplays(a: { alerts: readonly Alert[]; summary: ReplaySummary }, b: { alerts: readonly Alert[]; summary: ReplaySummary }): Comparison {
  const openingsOf = (alerts: readonly Alert[]) => {
    const byRule = new Map<string, Map<string, number>>();
    for (const alert of alerts) {
      if (alert.revision !== 0) continue;
      let keys = byRule.get(alert.ruleId);
      if (!keys) byRule.set(alert.ruleId, (keys = new Map()));
      keys.set(openingKey(alert), (keys.get(openingKey(alert)) ?? 0) + 1);
    }
    return byRule;
  };
  const notIn = (mine: Map<string, number> | undefined, theirs: Map<string, number> | undefined) => {
    let n = 0;
    for (const [key, count] of mine ?? []) n += Math.max(0, count - (theirs?.get(key) ?? 0));
    return n;
  };
  const openA = openingsOf(a.alerts);
  const openB = openingsOf(b.alerts);
  const ids = [...new Set([...Object.keys(a.summary.rules), ...Object.keys(b.summary.rules), ...openA.keys(), ...openB.keys()])];
  const perDay = (n: number, days: number) => (days ? n / days : 0);
  const rules = ids.map((ruleId): RuleComparison => {
    const ra = a.summary.rules[ruleId];
    const rb = b.summary.rules[ruleId];
    const openedA = ra?.opened ?? 0;
    const openedB = rb?.opened ?? 0;
    return {
      ruleId,
      openedA,
      openedB,
      added: notIn(openB.get(ruleId), openA.get(ruleId)),
      removed: notIn(openA.get(ruleId), openB.get(ruleId)),
      burdenA: perDay(openedA, a.summary.patientDays),
      burdenB: perDay(openedB, b.summary.patientDays),
      ...(ra ? { versionA: ra.version } : {}),
      ...(rb ? { versionB: rb.version } : {}),
    };
  });
  const sum = (f: (r: RuleComparison) => number) => rules.reduce((n, r) => n + f(r), 0);
  const openedA = sum((r) => r.openedA);
  const openedB = sum((r) => r.openedB);
  return {
    // The same trace and registry give the same patient-days under both rule sets.
    patientDays: a.summary.patientDays,
    rules,
    totals: {
      openedA,
      openedB,
      added: sum((r) => r.added),
      removed: sum((r) => r.removed),
      burdenA: perDay(openedA, a.summary.patientDays),
      burdenB: perDay(openedB, b.summary.patientDays),
    },
  };
}
