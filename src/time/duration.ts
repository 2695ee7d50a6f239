import { z } from 'zod';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Durations in rule files are written as people say them: `90s`, `15m`, `72h`, `7d`. */
export const Duration = z
  .string()
  .regex(/^\d+(\.\d+)?(s|m|h|d)$/, 'a duration such as 90s, 15m, 72h or 7d')
  .transform((text) => Number(text.slice(0, -1)) * UNIT_MS[text.at(-1) as keyof typeof UNIT_MS]);

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}
