import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { RegistryData } from '../domain/index.ts';
import { createRegistry, type Registry } from './registry.ts';
import { formatZodError } from '../config/errors.ts';

/** Loads wards, patients, devices and enrolments from a YAML or JSON seed file. */
export async function loadRegistryFile(path: string): Promise<{ data: RegistryData; registry: Registry }> {
  const text = await readFile(path, 'utf8');
  const parsed = RegistryData.safeParse(parse(text));
  if (!parsed.success) throw new Error(`${path}: ${formatZodError(parsed.error)}`);
  return { data: parsed.data, registry: createRegistry(parsed.data) };
}
