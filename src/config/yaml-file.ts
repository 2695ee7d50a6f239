import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { z } from 'zod';
import { formatZodError } from './errors.ts';

/** A YAML (or JSON) document, not yet checked; a refusal names the source and what the parser found. */
export function parseYaml(source: string, text: string): unknown {
  try {
    return parse(text);
  } catch (error) {
    throw new Error(`${source}: not valid YAML (${(error as Error).message})`);
  }
}

/** A YAML (or JSON) document checked against its schema; a refusal names the source and every field to fix. */
export function parseYamlAs<S extends z.ZodType>(schema: S, source: string, text: string): z.output<S> {
  const parsed = schema.safeParse(parseYaml(source, text));
  if (!parsed.success) throw new Error(`${source}: ${formatZodError(parsed.error)}`);
  return parsed.data;
}

export async function loadYamlAs<S extends z.ZodType>(schema: S, path: string): Promise<z.output<S>> {
  return parseYamlAs(schema, path, await readFile(path, 'utf8'));
}
