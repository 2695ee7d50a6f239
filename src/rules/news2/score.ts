import { News2Parameter as News2ParameterSchema, type Acvpu, type News2Band, type News2Parameter } from '../../domain/index.ts';
import type { News2Rule, Range, RangeTable, RangeTableName } from './rule-file.ts';

export interface News2Input {
  spo2Scale: 1 | 2;
  respiratory_rate?: number;
  spo2?: number;
  supplemental_oxygen?: boolean;
  systolic_bp?: number;
  heart_rate?: number;
  consciousness?: Acvpu;
  temperature?: number;
}

export interface News2Result {
  total: number;
  band: News2Band;
  subscores: Partial<Record<News2Parameter, number>>;
  missing: News2Parameter[];
  partial: boolean;
}

export const NEWS2_PARAMETERS: readonly News2Parameter[] = News2ParameterSchema.options;

/** Rounds halves up at the given decimals, immune to binary error such as 38.05 * 10 = 380.4999… */
export function roundHalfUp(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.floor(value * factor + 0.5 + 1e-9) / factor;
}

export function findRange(table: RangeTable, value: number): Range {
  const v = roundHalfUp(value, table.decimals);
  // The loader guarantees the table covers the whole line, so a range always matches.
  return table.ranges.find((r) => (r.min === undefined || v >= r.min) && (r.max === undefined || v <= r.max))!;
}

/** Which SpO2 table applies; undefined when Scale 2 needs the air/oxygen state and it is unknown. */
export function spo2Table(spo2Scale: 1 | 2, spo2: number, onOxygen: boolean | undefined): RangeTableName | undefined {
  if (spo2Scale === 1) return 'spo2_scale_1';
  if (onOxygen === true) return 'spo2_scale_2_oxygen';
  if (onOxygen === false) return 'spo2_scale_2_air';
  // Below 93% both Scale 2 columns agree, so the oxygen state is not needed.
  return roundHalfUp(spo2, 0) < 93 ? 'spo2_scale_2_air' : undefined;
}

export function bandOf(rule: News2Rule, total: number, subscores: Partial<Record<News2Parameter, number>>, highest = Math.max(0, ...Object.values(subscores))): News2Band {
  for (const b of rule.bands) {
    if ('minTotal' in b ? total >= b.minTotal : highest >= b.anySubscore) return b.band;
  }
  return 'low';
}

/**
 * Scores what is known. Sub-scores are never negative, so with parameters missing the total is a
 * lower bound: the band can only rise when they arrive. Such a result is marked partial.
 */
export function scoreNews2(rule: News2Rule, input: News2Input): News2Result {
  const p = rule.parameters;
  const subscores: Partial<Record<News2Parameter, number>> = {};
  const numeric = (param: News2Parameter, table: RangeTableName, value: number | undefined) => {
    if (value !== undefined && Number.isFinite(value)) subscores[param] = findRange(p[table], value).score;
  };
  numeric('respiratory_rate', 'respiratory_rate', input.respiratory_rate);
  if (input.spo2 !== undefined) {
    const table = spo2Table(input.spo2Scale, input.spo2, input.supplemental_oxygen);
    if (table) numeric('spo2', table, input.spo2);
  }
  if (input.supplemental_oxygen !== undefined) {
    subscores.supplemental_oxygen = input.supplemental_oxygen ? p.supplemental_oxygen.onOxygen : p.supplemental_oxygen.onAir;
  }
  numeric('systolic_bp', 'systolic_bp', input.systolic_bp);
  numeric('heart_rate', 'heart_rate', input.heart_rate);
  if (input.consciousness !== undefined) subscores.consciousness = p.consciousness.scores[input.consciousness];
  numeric('temperature', 'temperature', input.temperature);

  const missing: News2Parameter[] = [];
  let total = 0;
  let highest = 0;
  for (const param of NEWS2_PARAMETERS) {
    const s = subscores[param];
    if (s === undefined) missing.push(param);
    else {
      total += s;
      if (s > highest) highest = s;
    }
  }
  return { total, band: bandOf(rule, total, subscores, highest), subscores, missing, partial: missing.length > 0 };
}
