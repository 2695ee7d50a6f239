import type { z } from 'zod';

/** One line per problem, naming the path to the offending field, so an operator knows what to fix. */
export function formatZodError(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}
