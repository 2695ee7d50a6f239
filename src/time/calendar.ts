/**
 * Calendar days as patients live them (UK time), for protocols such as "twice daily for 7 days,
 * discard day 1". Computed from the UK's summer-time rule rather than the host's time zone data, so a
 * replay gives the same days on any machine.
 */
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** 01:00 UTC on the last Sunday of a month: when UK clocks change. */
function lastSundayOneAm(year: number, month: number): number {
  const lastDay = Date.UTC(year, month + 1, 0);
  const weekday = new Date(lastDay).getUTCDay();
  return lastDay - weekday * DAY_MS + HOUR_MS;
}

/** The year last asked about: most calls fall in it, and then need no Date at all. */
let cached = { from: 0, to: -1, bstFrom: 0, bstTo: 0 };

/** Milliseconds UK time is ahead of UTC at `t`: one hour during British Summer Time, else none. */
export function londonOffset(t: number): number {
  if (t < cached.from || t >= cached.to) {
    const year = new Date(t).getUTCFullYear();
    cached = { from: Date.UTC(year, 0, 1), to: Date.UTC(year + 1, 0, 1), bstFrom: lastSundayOneAm(year, 2), bstTo: lastSundayOneAm(year, 9) };
  }
  return t >= cached.bstFrom && t < cached.bstTo ? HOUR_MS : 0;
}

/** The first instant of the next UK calendar day after `t`. */
export function nextLondonMidnight(t: number): number {
  const next = londonDay(t) + 1;
  // Local midnight is UTC midnight less the offset in force then; clocks never change at midnight.
  let m = next * DAY_MS - londonOffset(next * DAY_MS - HOUR_MS);
  while (londonDay(m) < next) m += HOUR_MS;
  return m;
}

/** Days since 1970-01-01 of the UK calendar date at `t`. */
export function londonDay(t: number): number {
  return Math.floor((t + londonOffset(t)) / DAY_MS);
}

/** The UK calendar date at `t`, as YYYY-MM-DD. */
export function londonDate(t: number): string {
  return new Date(londonDay(t) * DAY_MS).toISOString().slice(0, 10);
}

/** An event time (ms since the epoch) as the ISO 8601 UTC text records carry. */
export const isoTime = (t: number): string => new Date(t).toISOString();
