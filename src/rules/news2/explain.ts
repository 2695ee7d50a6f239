import type { News2Band, News2Parameter, ScoreEvent, ScoredInput } from '../../domain/index.ts';
import type { ScoreExplainer } from '../alerts/alert-book.ts';
import type { News2Rule, Range, RangeTableName } from './rule-file.ts';
import { findRange, spo2Table } from './score.ts';

function describeRange(range: Range, unit: string): string {
  const u = unit === '%' ? '%' : ` ${unit}`;
  if (range.min === undefined) return `≤${range.max}${u}`;
  if (range.max === undefined) return `≥${range.min}${u}`;
  return `${range.min}–${range.max}${u}`;
}

/** Puts each sub-score in the words of the rule's own table, so a reviewer can check it against the source. */
export function createNews2Explainer(rule: News2Rule): ScoreExplainer {
  const p = rule.parameters;
  const tables: Partial<Record<News2Parameter, RangeTableName>> = {
    respiratory_rate: 'respiratory_rate',
    systolic_bp: 'systolic_bp',
    heart_rate: 'heart_rate',
    temperature: 'temperature',
  };
  return {
    threshold(parameter: News2Parameter, input: ScoredInput, score: ScoreEvent): string {
      const suffix = `scores ${input.subscore} (${rule.id} ${rule.version})`;
      if (parameter === 'supplemental_oxygen') return `${input.value ? 'on supplemental oxygen' : 'on air'} ${suffix}`;
      if (parameter === 'consciousness') return `ACVPU ${String(input.value)} (not Alert) ${suffix}`;
      const value = Number(input.value);
      let tableName = tables[parameter];
      if (parameter === 'spo2') {
        const onOxygen = score.inputs.supplemental_oxygen?.value;
        tableName = spo2Table(score.spo2Scale, value, typeof onOxygen === 'boolean' ? onOxygen : undefined);
      }
      if (!tableName) return suffix;
      const table = p[tableName];
      return `${table.label} ${describeRange(findRange(table, value), table.unit)} ${suffix}`;
    },
    response(band: News2Band): string {
      const minutes = rule.localPolicy?.reviewWithinMinutes[band];
      return minutes ? `${rule.response[band]} Local policy: review within ${minutes} minutes.` : rule.response[band];
    },
  };
}
