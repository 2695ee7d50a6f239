import type { RejectionReason } from '../domain/index.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * What ingest does with refusals beyond counting them, bounded whatever a device sends: a dead letter
 * for at most `deadLettersPerDevice` refusals per device per window (the rest are counted only), and
 * one log line per device and reason per interval, with the count, instead of a line per item.
 */
export interface RefusalPolicy {
  deadLettersPerDevice: number;
  windowMs: number;
  logIntervalMs: number;
}

export const DEFAULT_REFUSAL_POLICY: RefusalPolicy = { deadLettersPerDevice: 20, windowMs: 60_000, logIntervalMs: 60_000 };

/** Devices (or senders) tracked per window; beyond this many, the others share one budget and one log line. */
export const MAX_TRACKED_SENDERS = 10_000;
/** The budget and log key of everything past MAX_TRACKED_SENDERS, and of messages on no device's topic. */
export const OTHER_SENDERS = '(other senders)';

/**
 * How many dead letters each device may still write in the current window. A fixed window: the
 * counts are forgotten when it ends, so memory is at most MAX_TRACKED_SENDERS entries.
 */
export function createDeadLetterBudget(options: { perSender: number; windowMs: number; maxSenders?: number; now?: () => number }) {
  const now = options.now ?? Date.now;
  const maxSenders = options.maxSenders ?? MAX_TRACKED_SENDERS;
  let windowStart = now();
  let used = new Map<string, number>();
  return {
    /** True when `sender` may write one more dead letter now (and counts it). */
    take(sender: string | undefined): boolean {
      const t = now();
      if (t - windowStart >= options.windowMs || t < windowStart) {
        used = new Map();
        windowStart = t;
      }
      const key = sender !== undefined && (used.has(sender) || used.size < maxSenders) ? sender : OTHER_SENDERS;
      const n = used.get(key) ?? 0;
      if (n >= options.perSender) return false;
      used.set(key, n + 1);
      return true;
    },
    senders: () => used.size,
  };
}

interface Tally {
  deviceId?: string;
  reason: RejectionReason;
  refused: number;
  deadLettered: number;
}

/**
 * Refusal log lines, aggregated: one warn line per device and reason per interval, with how many were
 * refused and how many of those reached the dead-letter topic. Only the device id, reason and counts:
 * details may quote measured values, and those go to the dead letter, never the log.
 */
export function createRefusalLog(options: { logger: Logger; intervalMs: number; maxEntries?: number }) {
  const maxEntries = options.maxEntries ?? MAX_TRACKED_SENDERS;
  let tallies = new Map<string, Tally>();
  const timer = setInterval(flush, options.intervalMs);
  timer.unref();

  function flush(): void {
    const done = tallies;
    tallies = new Map();
    for (const t of done.values()) {
      options.logger.warn(
        { ...(t.deviceId !== undefined ? { deviceId: t.deviceId } : { sender: OTHER_SENDERS }), reason: t.reason, refused: t.refused, deadLettered: t.deadLettered, intervalSeconds: options.intervalMs / 1000 },
        'device input refused',
      );
    }
  }

  return {
    record(deviceId: string | undefined, reason: RejectionReason, refused: number, deadLettered: number): void {
      let key = `${deviceId ?? OTHER_SENDERS}\u0000${reason}`;
      let tallyDevice = deviceId;
      if (!tallies.has(key) && tallies.size >= maxEntries) {
        key = `${OTHER_SENDERS}\u0000${reason}`;
        tallyDevice = undefined;
      }
      const tally = tallies.get(key) ?? { ...(tallyDevice !== undefined ? { deviceId: tallyDevice } : {}), reason, refused: 0, deadLettered: 0 };
      tally.refused += refused;
      tally.deadLettered += deadLettered;
      tallies.set(key, tally);
    },
    /** Writes the lines of the interval so far now (at shutdown, or in tests). */
    flush,
    stop(): void {
      clearInterval(timer);
      flush();
    },
  };
}
