import { z } from 'zod';
import type { News2Rule } from '../rules/news2/rule-file.ts';

/**
 * Threshold bands a console shades behind each chart, taken from the rules themselves so a chart and
 * an alert never disagree: the NEWS2 sub-score ranges of each vital sign, and the NEWS2 aggregate bands.
 */
export const ChartBand = z.object({ min: z.number().optional(), max: z.number().optional(), score: z.number().int().min(0).max(3), label: z.string() });
export type ChartBand = z.infer<typeof ChartBand>;
export const ChartBands = z.object({ ruleVersion: z.string(), bands: z.record(z.string(), z.array(ChartBand)) });
export type ChartBands = z.infer<typeof ChartBands>;

export function chartBands(rule: News2Rule): ChartBands {
  const p = rule.parameters;
  const fromTable = (table: typeof p.respiratory_rate) =>
    table.ranges.map((r) => ({
      ...(r.min !== undefined ? { min: r.min } : {}),
      ...(r.max !== undefined ? { max: r.max } : {}),
      score: r.score,
      label: `NEWS2 ${r.score} for ${r.min !== undefined && r.max !== undefined ? `${r.min}–${r.max}` : r.min !== undefined ? `${r.min} or more` : `${r.max} or less`}`,
    }));
  // Aggregate bands from their minimum totals: low 0–4, medium 5–6, high 7 and over.
  const totals = rule.bands.flatMap((b) => ('minTotal' in b ? [{ band: b.band, min: b.minTotal }] : [])).sort((a, b) => a.min - b.min);
  const news2 = totals.map((t, i) => {
    const next = totals[i + 1];
    return {
      min: t.min,
      ...(next ? { max: next.min - 1 } : {}),
      score: t.band === 'high' ? 3 : t.band === 'medium' ? 2 : t.band === 'low-medium' ? 1 : 0,
      label: `${t.band} (${next ? `${t.min}–${next.min - 1}` : `${t.min} or more`})`,
    };
  });
  return {
    ruleVersion: `${rule.id} ${rule.version}`,
    bands: {
      respiratory_rate: fromTable(p.respiratory_rate),
      spo2_scale_1: fromTable(p.spo2_scale_1),
      spo2_scale_2: fromTable(p.spo2_scale_2_oxygen),
      spo2_scale_2_air: fromTable(p.spo2_scale_2_air),
      systolic_bp: fromTable(p.systolic_bp),
      heart_rate: fromTable(p.heart_rate),
      temperature: fromTable(p.temperature),
      news2,
    },
  };
}
