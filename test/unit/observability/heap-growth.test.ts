import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.ts';
import { applyHeapGrowth } from '../../../src/observability/heap-growth.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

describe('heap growth', () => {
  it('is 50% unless configured, bounded, and says which variable is wrong', () => {
    expect(loadConfig({}).heapGrowthPercent).toBe(50);
    expect(loadConfig({ VW_HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent).toBe(0);
    expect(() => loadConfig({ VW_HEAP_GROWTH_PERCENT: '1000' })).toThrow(/heapGrowthPercent \(VW_HEAP_GROWTH_PERCENT\)/);
    expect(() => loadConfig({ VW_HEAP_GROWTH_PERCENT: '-5' })).toThrow(/VW_HEAP_GROWTH_PERCENT/);
  });

  it("leaves a flag the operator gave node alone, on the command line or in NODE_OPTIONS", () => {
    expect(applyHeapGrowth(50, { execArgv: ['--heap-growing-percent=80'], nodeOptions: undefined })).toEqual({ applied: false, reason: 'set by the operator' });
    expect(applyHeapGrowth(50, { execArgv: [], nodeOptions: '--max-old-space-size=900 --heap_growing_percent=20' })).toEqual({ applied: false, reason: 'set by the operator' });
    expect(applyHeapGrowth(0, { execArgv: [], nodeOptions: undefined })).toEqual({ applied: false, reason: 'off' });
    expect(applyHeapGrowth(50, { execArgv: ['--import', 'tsx'], nodeOptions: '--max-old-space-size=900' })).toEqual({ applied: true, percent: 50 });
  });

  it('keeps the heap of a process churning a steady live set near that set, where V8 alone lets it grow', () => {
    // The same churn twice in fresh processes: ~100 MiB live, replaced over and over.
    const churn = (percent: number) => {
      const script = `
        import { applyHeapGrowth } from ${JSON.stringify(join(ROOT, 'src/observability/heap-growth.ts'))};
        import { getHeapStatistics } from 'node:v8';
        applyHeapGrowth(${percent});
        const ring = new Array(200_000);
        let peak = 0;
        for (let i = 0; i < 2_000_000; i++) {
          ring[i % ring.length] = { text: 'x'.repeat(400) + i, list: [i, i + 1], inner: { i } };
          if (i % 10_000 === 0) peak = Math.max(peak, getHeapStatistics().total_heap_size);
        }
        process.stdout.write(String(peak));`;
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      expect(run.status, run.stderr).toBe(0);
      return Number(run.stdout) / 2 ** 20;
    };
    const own = churn(0);
    const bounded = churn(20);
    expect(bounded).toBeLessThan(own * 0.6);
  }, 240_000);
});
