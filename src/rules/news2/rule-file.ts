import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { Duration } from '../../time/duration.ts';
import { formatZodError } from '../../config/errors.ts';
import { News2Band, News2Parameter } from '../../domain/index.ts';
import { parseYaml } from '../../config/yaml-file.ts';

/** The NEWS2 rule file (rules/news2.yaml): the RCP table, bands and responses as reviewable data. */

const Range = z
  .object({ min: z.number().optional(), max: z.number().optional(), score: z.number().int().min(0).max(3) })
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, 'min must not exceed max');
export type Range = z.infer<typeof Range>;

const RangeTable = z.object({
  label: z.string(),
  unit: z.string(),
  decimals: z.number().int().min(0).max(2),
  ranges: z.array(Range).min(1),
});
export type RangeTable = z.infer<typeof RangeTable>;

const Band = z.union([
  z.object({ band: News2Band, minTotal: z.number().int().min(0) }),
  z.object({ band: News2Band, anySubscore: z.number().int().min(1).max(3) }),
]);

const Minutes = z.number().positive();

export const News2RuleFile = z.object({
  id: z.string().regex(/^[a-z0-9-]+$/),
  version: z.string().regex(/^\d+\.\d+\.\d+$/, 'must be a semantic version, e.g. 1.0.0'),
  title: z.string(),
  source: z.string(),
  description: z.string(),
  rounding: z.string(),
  parameters: z.object({
    respiratory_rate: RangeTable,
    spo2_scale_1: RangeTable,
    spo2_scale_2_air: RangeTable,
    spo2_scale_2_oxygen: RangeTable,
    systolic_bp: RangeTable,
    heart_rate: RangeTable,
    temperature: RangeTable,
    supplemental_oxygen: z.object({ label: z.string(), onAir: z.number().int().min(0).max(3), onOxygen: z.number().int().min(0).max(3) }),
    consciousness: z.object({
      label: z.string(),
      scores: z.object({ A: z.number().int(), C: z.number().int(), V: z.number().int(), P: z.number().int(), U: z.number().int() }),
    }),
  }),
  bands: z.array(Band).min(1),
  response: z.record(News2Band, z.string()),
  localPolicy: z
    .object({
      reviewWithinMinutes: z.partialRecord(News2Band, Minutes),
      /**
       * Who is told when an alert of a band stays unacknowledged: each step waits its time after the
       * previous one. Severity stays the band's; escalation moves the alert up the chain of people.
       */
      escalation: z
        .partialRecord(News2Band, z.array(z.object({ afterUnacknowledged: Duration, notify: z.string().min(1) }).strict()).min(1))
        .optional(),
    })
    .optional(),
  freshnessMinutes: z.record(News2Parameter, Minutes),
});
export type News2Rule = z.infer<typeof News2RuleFile>;
export type RangeTableName = Exclude<keyof News2Rule['parameters'], 'supplemental_oxygen' | 'consciousness'>;

/**
 * A table must cover its whole line once: the first range open below, the last open above, and each
 * range starting one step (10^-decimals) after the previous one ends.
 */
function tableProblems(name: string, table: RangeTable): string[] {
  const step = 10 ** -table.decimals;
  const r = table.ranges;
  const problems: string[] = [];
  if (r[0]!.min !== undefined) problems.push(`parameters.${name}.ranges[0]: the first range must have no min`);
  if (r.at(-1)!.max !== undefined) problems.push(`parameters.${name}.ranges[${r.length - 1}]: the last range must have no max`);
  for (let i = 1; i < r.length; i++) {
    const prev = r[i - 1]!.max;
    const next = r[i]!.min;
    if (prev === undefined || next === undefined || Math.abs(next - prev - step) > step / 100) {
      problems.push(`parameters.${name}.ranges[${i}]: must start at ${prev === undefined ? '?' : +(prev + step).toFixed(table.decimals)} (gap or overlap)`);
    }
  }
  return problems;
}

export function parseNews2Rule(source: string, text: string): News2Rule {
  const json = parseYaml(source, text);
  const parsed = News2RuleFile.safeParse(json);
  if (!parsed.success) throw new Error(`${source}: rule ${String((json as { id?: unknown })?.id ?? '?')}: ${formatZodError(parsed.error)}`);
  const rule = parsed.data;
  const problems = (['respiratory_rate', 'spo2_scale_1', 'spo2_scale_2_air', 'spo2_scale_2_oxygen', 'systolic_bp', 'heart_rate', 'temperature'] as const)
    .flatMap((name) => tableProblems(name, rule.parameters[name]));
  if (!rule.bands.some((b) => 'minTotal' in b && b.minTotal === 0)) problems.push('bands: needs a final band with minTotal 0');
  if (problems.length) throw new Error(`${source}: rule ${rule.id}: ${problems.join('; ')}`);
  return rule;
}

export async function loadNews2Rule(path: string): Promise<News2Rule> {
  return parseNews2Rule(path, await readFile(path, 'utf8'));
}
