import type { Acvpu, News2Parameter, Reading, ScoreEvent, ScoredInput } from '../../domain/index.ts';
import type { News2Rule } from './rule-file.ts';
import { NEWS2_PARAMETERS, scoreNews2, type News2Input } from './score.ts';

/** The latest reading held for a parameter; `ts`, when held, is its canonical ISO time (saves formatting `t`). */
export interface HeldValue {
  readingId: string;
  value: number | string | boolean;
  t: number;
  ts?: string;
}

const isoOf = (h: HeldValue) => h.ts ?? new Date(h.t).toISOString();

export const IS_NEWS2_PARAMETER = new Set<string>(NEWS2_PARAMETERS);

/** Freshness windows of a rule, in ms, by parameter. */
export function freshnessMs(rule: News2Rule): Record<News2Parameter, number> {
  return Object.fromEntries(NEWS2_PARAMETERS.map((p) => [p, rule.freshnessMinutes[p] * 60_000])) as Record<News2Parameter, number>;
}

/**
 * NEWS2 from each parameter's latest reading, as of the newest of them: a held reading counts only
 * while it is within its freshness window of that newest reading. Shared by the standalone scorer and
 * the rule engine, which hold the latest readings in their own state.
 */
export function scoreFromHeld(
  rule: News2Rule,
  windowMs: Record<News2Parameter, number>,
  held: (parameter: News2Parameter) => HeldValue | undefined,
  spo2Scale: 1 | 2,
  trigger: Reading,
): ScoreEvent {
  // Parameters in their fixed order (NEWS2_PARAMETERS): respiratory_rate, spo2, supplemental_oxygen,
  // systolic_bp, heart_rate, consciousness, temperature. Plain locals and one object literal keep
  // this hot path free of dynamically shaped objects.
  const rr = held('respiratory_rate');
  const spo2 = held('spo2');
  const o2 = held('supplemental_oxygen');
  const sbp = held('systolic_bp');
  const hr = held('heart_rate');
  const acvpu = held('consciousness');
  const temp = held('temperature');
  let newest: HeldValue | undefined;
  for (const h of [rr, spo2, o2, sbp, hr, acvpu, temp]) if (h && (!newest || h.t > newest.t)) newest = h;
  const asOf = newest?.t ?? 0;
  const fresh = (h: HeldValue | undefined, p: News2Parameter) => (h && asOf - h.t <= windowMs[p] ? h : undefined);
  const used = [
    fresh(rr, 'respiratory_rate'),
    fresh(spo2, 'spo2'),
    fresh(o2, 'supplemental_oxygen'),
    fresh(sbp, 'systolic_bp'),
    fresh(hr, 'heart_rate'),
    fresh(acvpu, 'consciousness'),
    fresh(temp, 'temperature'),
  ] as const;
  const input: News2Input = {
    spo2Scale,
    respiratory_rate: used[0]?.value as number | undefined,
    spo2: used[1]?.value as number | undefined,
    supplemental_oxygen: used[2]?.value as boolean | undefined,
    systolic_bp: used[3]?.value as number | undefined,
    heart_rate: used[4]?.value as number | undefined,
    consciousness: used[5]?.value as Acvpu | undefined,
    temperature: used[6]?.value as number | undefined,
  };
  const result = scoreNews2(rule, input);
  const inputs: Partial<Record<News2Parameter, ScoredInput>> = {};
  for (let i = 0; i < NEWS2_PARAMETERS.length; i++) {
    const p = NEWS2_PARAMETERS[i]!;
    const subscore = result.subscores[p];
    if (subscore === undefined) continue;
    const h = used[i]!;
    inputs[p] = { readingId: h.readingId, value: h.value, ts: isoOf(h), subscore };
  }
  const asOfTs = newest ? isoOf(newest) : new Date(0).toISOString();
  return {
    scoreId: `${trigger.patientId}:${rule.id}:${asOfTs}:${trigger.readingId}`,
    patientId: trigger.patientId,
    wardId: trigger.wardId,
    ruleId: rule.id,
    ruleVersion: rule.version,
    ts: asOfTs,
    total: result.total,
    band: result.band,
    spo2Scale,
    partial: result.partial,
    missing: result.missing,
    inputs,
    receivedAt: trigger.receivedAt,
  };
}

/**
 * Per-patient NEWS2 from each parameter's latest reading. Time is event time only, so the same
 * readings in the same order always give the same scores: a reading older than the one held for its
 * parameter changes nothing.
 */
export function createNews2Scorer(rule: News2Rule) {
  const patients = new Map<string, Partial<Record<News2Parameter, HeldValue>>>();
  const windowMs = freshnessMs(rule);

  return {
    onReading(reading: Reading, patient: { spo2Scale: 1 | 2 }, t = Date.parse(reading.ts)): ScoreEvent | undefined {
      if (!IS_NEWS2_PARAMETER.has(reading.type)) return undefined;
      const parameter = reading.type as News2Parameter;
      let held = patients.get(reading.patientId);
      if (!held) patients.set(reading.patientId, (held = {}));
      const current = held[parameter];
      if (current && (current.t > t || current.readingId === reading.readingId)) return undefined;
      // Canonical ISO times are kept: every score quotes them, and formatting each time costs more.
      held[parameter] = { readingId: reading.readingId, value: reading.value, t, ...(reading.ts.length === 24 && reading.ts.endsWith('Z') ? { ts: reading.ts } : {}) };
      const state = held;
      return scoreFromHeld(rule, windowMs, (p) => state[p], patient.spo2Scale, reading);
    },
    forget(patientId: string): void {
      patients.delete(patientId);
    },
    stateSize(): number {
      return patients.size;
    },
  };
}
export type News2Scorer = ReturnType<typeof createNews2Scorer>;
export type { Acvpu };
