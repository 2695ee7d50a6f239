import type { z } from 'zod';
import { ConfigError } from '../config/config.ts';
import { formatZodError } from '../config/errors.ts';

const MAX_REPORTED_LINES = 10;

/**
 * Every line of a JSONL file checked against `schema` before anything is done with it, so a bad file
 * is refused whole, naming its bad lines: no partial output that could pass for a complete one. Blank
 * lines are allowed (a trailing newline, hand edits).
 */
export function parseJsonl<S extends z.ZodType>(schema: S, what: string, source: string, text: string, refusal: { command: string; consequence: string }): Array<z.output<S>> {
  const items: Array<z.output<S>> = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      problems.push(`${source} line ${i + 1}: not valid JSON`);
      return;
    }
    const parsed = schema.safeParse(json);
    if (parsed.success) items.push(parsed.data);
    else problems.push(`${source} line ${i + 1}: not ${what} (${formatZodError(parsed.error)})`);
  });
  if (problems.length) {
    const more = problems.length > MAX_REPORTED_LINES ? `\n…and ${problems.length - MAX_REPORTED_LINES} more bad lines` : '';
    throw new ConfigError(`${refusal.command}: refused ${source}, ${refusal.consequence}:\n${problems.slice(0, MAX_REPORTED_LINES).join('\n')}${more}`);
  }
  return items;
}
