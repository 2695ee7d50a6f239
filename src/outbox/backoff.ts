/** Waits between an outbox's attempts to send: 2 s, 4 s, 8 s … up to 5 minutes. */
export function backoffMs(attempts: number): number {
  return Math.min(300_000, 1000 * 2 ** Math.min(attempts, 12));
}
