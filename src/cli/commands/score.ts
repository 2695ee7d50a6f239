import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../../config/config.ts';
import { formatZodError } from '../../config/errors.ts';
import { Acvpu } from '../../domain/index.ts';
import { loadNews2Rule } from '../../rules/news2/rule-file.ts';
import { scoreNews2 } from '../../rules/news2/score.ts';

const ScoreInput = z
  .object({
    respiratory_rate: z.number().finite().optional(),
    spo2: z.number().finite().optional(),
    spo2_scale: z.union([z.literal(1), z.literal(2)]).default(1),
    supplemental_oxygen: z.boolean().optional(),
    systolic_bp: z.number().finite().optional(),
    heart_rate: z.number().finite().optional(),
    consciousness: Acvpu.optional(),
    temperature: z.number().finite().optional(),
  })
  .strict();

export async function score(args: string[]): Promise<void> {
  if (args[0] !== 'news2') throw new ConfigError('usage: vw score news2 < readings.json');
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError('vw score news2: stdin is not one JSON object');
  }
  const input = ScoreInput.safeParse(json);
  if (!input.success) throw new ConfigError(`vw score news2: ${formatZodError(input.error)}`);
  const { spo2_scale, ...values } = input.data;
  const rule = await loadNews2Rule(join(loadConfig().rules.dir, 'news2.yaml'));
  const result = scoreNews2(rule, { spo2Scale: spo2_scale, ...values });
  // A partial score is a lower bound: it says so, and what is missing.
  const out = { total: result.total, band: result.band, subscores: result.subscores, ...(result.partial ? { partial: true, missing: result.missing } : {}) };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
