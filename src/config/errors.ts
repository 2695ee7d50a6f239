import type { z } from 'zod';

/** One line per problem, naming the path to the offending field, so an operator knows what to fix. */
export function formatZodError(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** A setting, file or argument an operator must fix; the CLI prints its message alone and exits 1. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
