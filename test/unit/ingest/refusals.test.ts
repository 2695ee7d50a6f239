import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createDeadLetterBudget, createRefusalLog, OTHER_SENDERS } from '../../../src/ingest/refusals.ts';
import { createLogger } from '../../../src/observability/logger.ts';

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
