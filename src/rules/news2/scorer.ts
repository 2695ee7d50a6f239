import type { Acvpu, News2Parameter, Reading, ScoreEvent, ScoredInput } from '../../domain/index.ts';
import type { News2Rule } from './rule-file.ts';
import { NEWS2_PARAMETERS, scoreNews2, type News2Input } from './score.ts';

interface Held {
  readingId: string;
  value: number | string | boolean;
  t: number;
  ts: string;
}

const IS_PARAMETER = new Set<string>(NEWS2_PARAMETERS);

/**
 * Per-patient NEWS2 from each parameter's latest reading. Time is event time only, so the same
 * readings in the same order always give the same scores: a reading older than the one held for its
 * parameter changes nothing, and a held reading counts only while it is within its freshness window
 * of the patient's newest reading.
 */
export function createNews2Scorer(rule: News2Rule) {
  const patients = new Map<string, Partial<Record<News2Parameter, Held>>>();
  const windowMs = Object.fromEntries(
    NEWS2_PARAMETERS.map((p) => [p, rule.freshnessMinutes[p] * 60_000]),
  ) as Record<News2Parameter, number>;

  return {
    onReading(reading: Reading, patient: { spo2Scale: 1 | 2 }): ScoreEvent | undefined {
      if (!IS_PARAMETER.has(reading.type)) return undefined;
      const parameter = reading.type as News2Parameter;
      let held = patients.get(reading.patientId);
      if (!held) patients.set(reading.patientId, (held = {}));
      const t = Date.parse(reading.ts);
      const current = held[parameter];
      if (current && (current.t > t || current.readingId === reading.readingId)) return undefined;
      held[parameter] = { readingId: reading.readingId, value: reading.value, t, ts: reading.ts };

      let asOf = 0;
      let asOfTs = reading.ts;
      for (const h of Object.values(held)) {
        if (h.t > asOf) {
          asOf = h.t;
          asOfTs = h.ts;
        }
      }
      const input: News2Input = { spo2Scale: patient.spo2Scale };
      const used: Partial<Record<News2Parameter, Held>> = {};
      for (const p of NEWS2_PARAMETERS) {
        const h = held[p];
        if (!h || asOf - h.t > windowMs[p]) continue;
        used[p] = h;
        (input as unknown as Record<string, unknown>)[p] = h.value;
      }
      const result = scoreNews2(rule, input);
      const inputs: Partial<Record<News2Parameter, ScoredInput>> = {};
      for (const [p, subscore] of Object.entries(result.subscores) as [News2Parameter, number][]) {
        const h = used[p]!;
        inputs[p] = { readingId: h.readingId, value: h.value, ts: h.ts, subscore };
      }
      return {
        scoreId: `${reading.patientId}:${rule.id}:${asOfTs}:${reading.readingId}`,
        patientId: reading.patientId,
        wardId: reading.wardId,
        ruleId: rule.id,
        ruleVersion: rule.version,
        ts: asOfTs,
        total: result.total,
        band: result.band,
        spo2Scale: patient.spo2Scale,
        partial: result.partial,
        missing: result.missing,
        inputs,
        receivedAt: reading.receivedAt,
      };
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
