import { setTimeout as sleep } from 'node:timers/promises';

/** Waits that double after each failure, from `initialMs`, never above `maxMs`. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** Retrying a lost connection: 100 ms, 200 ms, … up to 5 s. */
export const RECONNECT_BACKOFF: Backoff = { initialMs: 100, maxMs: 5_000 };

/** The wait after the `failures`th failure in a row (1 for the first). */
export function backoffDelay(backoff: Backoff, failures: number): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(Math.max(0, failures - 1), 30));
}

/** Thrown by `retry` when `stillWanted` says the task is no longer wanted (its cause is the last failure). */
export class RetryAbandoned extends Error {
  constructor(cause: unknown) {
    super('retry abandoned: no longer wanted', { cause });
    this.name = 'RetryAbandoned';
  }
}

export interface RetryOptions {
  backoff: Backoff;
  /** Attempts in all, the first included (default: no limit). The last failure is rethrown. */
  attempts?: number;
  /**
   * Hears each failure before the wait; returning false stops at once, rethrowing the failure (an
   * error that will not pass, a shutdown). May be async (a heartbeat, a metadata refresh).
   */
  onFailure?: (error: unknown, attempt: number) => boolean | void | Promise<boolean | void>;
  /** Asked after each wait: false abandons the task with RetryAbandoned (its owner moved on). */
  stillWanted?: () => boolean;
}

/**
 * Runs `task` until it resolves, waiting `backoff` between failures: vw's one retry loop, for a bus
 * that is down, a broker electing leaders, a store that refuses a write, a handler that fails.
 */
export async function retry<T>(task: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await task(attempt);
    } catch (error) {
      if (attempt >= (options.attempts ?? Infinity)) throw error;
      if ((await options.onFailure?.(error, attempt)) === false) throw error;
      await sleep(backoffDelay(options.backoff, attempt));
      if (options.stillWanted && !options.stillWanted()) throw new RetryAbandoned(error);
    }
  }
}
