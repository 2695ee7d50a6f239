import { describe, expect, it } from 'vitest';
import { backoffDelay, retry, RetryAbandoned } from '../../../src/time/retry.ts';

const quick = { initialMs: 1, maxMs: 4 };

describe('retry', () => {
  it('waits double after each failure, from the first wait, never above the most', () => {
    expect([1, 2, 3, 4, 5, 40].map((n) => backoffDelay({ initialMs: 100, maxMs: 5_000 }, n))).toEqual([100, 200, 400, 800, 1_600, 5_000]);
  });

  it('runs the task until it succeeds, telling each failure with its attempt', async () => {
    const heard: number[] = [];
    const value = await retry(async (attempt) => {
      if (attempt < 4) throw new Error(`no ${attempt}`);
      return attempt * 10;
    }, { backoff: quick, onFailure: (_, attempt) => void heard.push(attempt) });
    expect(value).toBe(40);
    expect(heard).toEqual([1, 2, 3]);
  });

  it('rethrows the last failure after the attempts allowed', async () => {
    let runs = 0;
    await expect(retry(async () => {
      runs++;
      throw new Error(`failure ${runs}`);
    }, { backoff: quick, attempts: 3 })).rejects.toThrow('failure 3');
    expect(runs).toBe(3);
  });

  it('stops at once when the failure is one that will not pass', async () => {
    let runs = 0;
    await expect(retry(async () => {
      runs++;
      throw new TypeError('will not pass');
    }, { backoff: quick, onFailure: (error) => !(error instanceof TypeError) })).rejects.toThrow('will not pass');
    expect(runs).toBe(1);
  });

  it('abandons the task when it is no longer wanted after a wait', async () => {
    let wanted = true;
    let runs = 0;
    const run = retry(async () => {
      runs++;
      wanted = runs < 2;
      throw new Error('down');
    }, { backoff: quick, stillWanted: () => wanted });
    await expect(run).rejects.toBeInstanceOf(RetryAbandoned);
    expect(runs).toBe(2);
  });
});
