import { backoffDelay, type Backoff } from '../time/retry.ts';

/** An outbox's waits between attempts to send: 2 s, 4 s, 8 s … up to 5 minutes. */
export const OUTBOX_BACKOFF: Backoff = { initialMs: 2_000, maxMs: 300_000 };

/** The wait after the `attempts`th failed attempt to send. */
export function backoffMs(attempts: number): number {
  return backoffDelay(OUTBOX_BACKOFF, attempts);
}
