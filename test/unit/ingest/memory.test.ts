import { describe, expect, it } from 'vitest';
import { benchHostile } from '../../bench/hostile.ts';
import { DEFAULT_REFUSAL_POLICY } from '../../../src/ingest/refusals.ts';

/**
 * Issue 13's probe: twelve 260 KB arrays of invalid items took the process from 226 MB to 2.1 GB and
 * stalled /healthz for 1.9 s. The same batch, sent three times over, must keep memory and the event
 * loop bounded: every refusal counted, a few dead letters per device, each a small excerpt.
 */
describe('hostile input keeps memory bounded', () => {
  it('twelve 260 KB arrays of invalid items, three times: bounded dead letters, heap and stalls', { timeout: 60_000 }, async () => {
    const f = await benchHostile(3);
    // 6 messages of 2,000 refused items and 6 refused whole, three rounds.
    expect(f.refused).toBe(3 * (6 * 2_000 + 6));
    // Three devices, one window: at most the per-device budget each.
    expect(f.deadLetters).toBeLessThanOrEqual(3 * DEFAULT_REFUSAL_POLICY.deadLettersPerDevice);
    expect(f.deadLetterBytes).toBeLessThan(f.deadLetters * 1_500);
    // Generous bounds (no forced GC in the test runner; other tests share the worker): the old path kept ~130 MB of dead letters alone.
    expect(f.heapGrowthMiB).toBeLessThan(100);
    expect(f.maxStallMs).toBeLessThan(1_500);
    process.stdout.write(`hostile: ${JSON.stringify(f)}\n`);
  });
});
