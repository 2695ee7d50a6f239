import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDeadLetterBudget, createRefusalLog, DEFAULT_REFUSAL_POLICY, MAX_TRACKED_SENDERS, OTHER_SENDERS } from '../../../src/ingest/refusals.ts';
import { createLogger, type Logger } from '../../../src/observability/logger.ts';

describe('dead-letter budget', () => {
  it('allows a few per sender per window, then again in the next window', () => {
    let now = 0;
    const budget = createDeadLetterBudget({ perSender: 2, windowMs: 60_000, now: () => now });
    expect([budget.take('a'), budget.take('a'), budget.take('a'), budget.take('b')]).toEqual([true, true, false, true]);
    now = 59_999;
    expect(budget.take('a')).toBe(false);
    now = 60_000;
    expect(budget.take('a')).toBe(true);
  });

  it('tracks a bounded number of senders; the rest, and topics naming no device, share one budget', () => {
    const budget = createDeadLetterBudget({ perSender: 1, windowMs: 60_000, maxSenders: 3, now: () => 0 });
    expect(['a', 'b', 'c'].map((s) => budget.take(s))).toEqual([true, true, true]);
    expect(budget.take('d')).toBe(true); // the shared budget
    expect(budget.take('e')).toBe(false);
    expect(budget.take(undefined)).toBe(false);
    expect(budget.senders()).toBe(4);
  });
});

describe('refusal log', () => {
  it('writes one line per device and reason per interval, with counts, bounded in entries', () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (chunk, _, done) => void (lines.push(JSON.parse(String(chunk))), done()) }) });
    const log = createRefusalLog({ logger, intervalMs: 60_000, maxEntries: 2 });
    for (let i = 0; i < 1_000; i++) log.record('dev-1', 'implausible_value', 1, i < 20 ? 1 : 0);
    log.record('dev-2', 'schema_violation', 3, 3);
    log.record('dev-3', 'schema_violation', 4, 0);
    log.record(undefined, 'unknown_topic', 1, 1);
    expect(lines).toEqual([]);
    log.stop();
    expect(lines.map((l) => [l.deviceId ?? l.sender, l.reason, l.refused, l.deadLettered])).toEqual([
      ['dev-1', 'implausible_value', 1_000, 20],
      ['dev-2', 'schema_violation', 3, 3],
      [OTHER_SENDERS, 'schema_violation', 4, 0],
      [OTHER_SENDERS, 'unknown_topic', 1, 1],
    ]);
  });
});

describe('dead-letter budget: windows and senders', () => {
  it('starts a fresh window when the clock goes back, rather than holding a future window', () => {
    let now = 1_000_000;
    const budget = createDeadLetterBudget({ perSender: 1, windowMs: 60_000, now: () => now });
    expect([budget.take('a'), budget.take('a')]).toEqual([true, false]);
    now = 999_999;
    expect(budget.take('a')).toBe(true);
    expect(budget.take('a')).toBe(false);
  });

  it('forgets every sender when the window ends', () => {
    let now = 0;
    const budget = createDeadLetterBudget({ perSender: 5, windowMs: 1_000, now: () => now });
    budget.take('a');
    budget.take('b');
    expect(budget.senders()).toBe(2);
    now = 1_000;
    budget.take('c');
    expect(budget.senders()).toBe(1);
  });

  it('a sender tracked before the limit keeps its own budget after it; one past it shares', () => {
    const budget = createDeadLetterBudget({ perSender: 2, windowMs: 60_000, maxSenders: 2, now: () => 0 });
    expect([budget.take('a'), budget.take('b')]).toEqual([true, true]);
    expect([budget.take('c'), budget.take('d'), budget.take('e')]).toEqual([true, true, false]);
    // a still has one of its own two.
    expect([budget.take('a'), budget.take('a')]).toEqual([true, false]);
    expect(budget.senders()).toBe(3);
  });

  it('messages on no device topic share the one budget of other senders, even with room to track', () => {
    const budget = createDeadLetterBudget({ perSender: 1, windowMs: 60_000, now: () => 0 });
    expect([budget.take(undefined), budget.take(undefined)]).toEqual([true, false]);
    expect(budget.take(OTHER_SENDERS)).toBe(false);
    expect(budget.take('dev-1')).toBe(true);
    expect(budget.senders()).toBe(2);
  });

  it(`tracks ${MAX_TRACKED_SENDERS} senders by default`, () => {
    const budget = createDeadLetterBudget({ perSender: 1, windowMs: 60_000, now: () => 0 });
    for (let i = 0; i < MAX_TRACKED_SENDERS; i++) expect(budget.take(`dev-${i}`)).toBe(true);
    expect(budget.senders()).toBe(MAX_TRACKED_SENDERS);
    expect([budget.take('late-1'), budget.take('late-2')]).toEqual([true, false]);
    expect(budget.senders()).toBe(MAX_TRACKED_SENDERS + 1);
  });

  it('reads the wall clock when given none', () => {
    const budget = createDeadLetterBudget({ perSender: 1, windowMs: 60_000 });
    expect([budget.take('a'), budget.take('a')]).toEqual([true, false]);
  });
});

describe('refusal log: lines and interval', () => {
  const capture = () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (chunk, _, done) => void (lines.push(JSON.parse(String(chunk))), done()) }) });
    return { lines, logger };
  };
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes each interval’s lines when the interval ends, as warnings with the interval in seconds, and nothing after stop', () => {
    vi.useFakeTimers();
    const { lines, logger } = capture();
    const log = createRefusalLog({ logger, intervalMs: 30_000 });
    log.record('dev-1', 'implausible_value', 2, 1);
    log.record('dev-1', 'implausible_value', 3, 0);
    log.record(undefined, 'unknown_topic', 1, 1);
    vi.advanceTimersByTime(29_999);
    expect(lines).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(lines.map(({ level, msg, deviceId, sender, reason, refused, deadLettered, intervalSeconds }) => ({ level, msg, deviceId, sender, reason, refused, deadLettered, intervalSeconds }))).toEqual([
      { level: 40, msg: 'device input refused', deviceId: 'dev-1', sender: undefined, reason: 'implausible_value', refused: 5, deadLettered: 1, intervalSeconds: 30 },
      { level: 40, msg: 'device input refused', deviceId: undefined, sender: OTHER_SENDERS, reason: 'unknown_topic', refused: 1, deadLettered: 1, intervalSeconds: 30 },
    ]);
    // The next interval starts empty: counts are not carried over.
    log.record('dev-1', 'implausible_value', 1, 0);
    vi.advanceTimersByTime(30_000);
    expect(lines.slice(2).map((l) => [l.deviceId, l.refused, l.deadLettered])).toEqual([['dev-1', 1, 0]]);
    vi.advanceTimersByTime(30_000);
    expect(lines).toHaveLength(3);
    log.record('dev-2', 'schema_violation', 1, 1);
    log.stop();
    expect(lines.slice(3).map((l) => [l.deviceId, l.reason])).toEqual([['dev-2', 'schema_violation']]);
    log.record('dev-3', 'schema_violation', 1, 1);
    vi.advanceTimersByTime(120_000);
    expect(lines).toHaveLength(4);
  });

  it('keeps one line per device and reason: the same device with two reasons is two lines', () => {
    const { lines, logger } = capture();
    const log = createRefusalLog({ logger, intervalMs: 60_000 });
    log.record('dev-1', 'implausible_value', 1, 1);
    log.record('dev-1', 'schema_violation', 1, 0);
    log.record('dev-2', 'schema_violation', 4, 2);
    log.flush();
    expect(lines.map((l) => [l.deviceId, l.reason, l.refused, l.deadLettered])).toEqual([
      ['dev-1', 'implausible_value', 1, 1],
      ['dev-1', 'schema_violation', 1, 0],
      ['dev-2', 'schema_violation', 4, 2],
    ]);
    log.flush();
    expect(lines).toHaveLength(3);
    log.stop();
  });

  it('past the entry limit, a device already counted keeps its own line; new ones share', () => {
    const { lines, logger } = capture();
    const log = createRefusalLog({ logger, intervalMs: 60_000, maxEntries: 1 });
    log.record('dev-1', 'implausible_value', 1, 0);
    log.record('dev-2', 'implausible_value', 2, 0);
    log.record('dev-1', 'implausible_value', 1, 1);
    log.record('dev-3', 'implausible_value', 3, 1);
    log.stop();
    expect(lines.map((l) => [l.deviceId ?? l.sender, l.refused, l.deadLettered])).toEqual([
      ['dev-1', 2, 1],
      [OTHER_SENDERS, 5, 1],
    ]);
  });

  it(`counts up to ${MAX_TRACKED_SENDERS} devices apart by default`, () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = { warn: (fields: Record<string, unknown>) => void lines.push(fields) } as unknown as Logger;
    const log = createRefusalLog({ logger, intervalMs: 60_000 });
    for (let i = 0; i <= MAX_TRACKED_SENDERS; i++) log.record(`dev-${i}`, 'schema_violation', 1, 0);
    log.stop();
    expect(lines).toHaveLength(MAX_TRACKED_SENDERS + 1);
    expect(lines.at(-1)).toMatchObject({ sender: OTHER_SENDERS, refused: 1 });
    expect(lines.at(-2)).toMatchObject({ deviceId: `dev-${MAX_TRACKED_SENDERS - 1}` });
  });
});

describe('default refusal policy', () => {
  it('is 20 dead letters per device a minute, and a log line a minute', () => {
    expect(DEFAULT_REFUSAL_POLICY).toEqual({ deadLettersPerDevice: 20, windowMs: 60_000, logIntervalMs: 60_000 });
    expect(MAX_TRACKED_SENDERS).toBe(10_000);
    expect(OTHER_SENDERS).toBe('(other senders)');
  });
});
