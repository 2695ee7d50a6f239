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

const offsets = new Map<number, [number, number]>();

/** Milliseconds UK time is ahead of UTC at `t`: one hour during British Summer Time, else none. */
export function londonOffset(t: number): number {
  const year = new Date(t).getUTCFullYear();
  let change = offsets.get(year);
  if (!change) offsets.set(year, (change = [lastSundayOneAm(year, 2), lastSundayOneAm(year, 9)]));
  return t >= change[0] && t < change[1] ? HOUR_MS : 0;
}

/** Days since 1970-01-01 of the UK calendar date at `t`. */
export function londonDay(t: number): number {
  return Math.floor((t + londonOffset(t)) / DAY_MS);
}

/** The UK calendar date at `t`, as YYYY-MM-DD. */
export function londonDate(t: number): string {
  return new Date(londonDay(t) * DAY_MS).toISOString().slice(0, 10);
}
