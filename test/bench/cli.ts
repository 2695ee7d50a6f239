import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/**
 * How long the `vw` command takes to start and finish a small job, and its peak memory: the built
 * CLI (bin/vw.js → dist/) beside the same source run through tsx, and bare node for the floor.
 */
export interface CliFigures {
  runs: number;
  rows: Array<{ command: string; how: string; medianMs: number; p90Ms: number; maxRssMiB: number }>;
}

const SCORE_INPUT = JSON.stringify({ respiratory_rate: 22, spo2: 95, spo2_scale: 1, supplemental_oxygen: false, systolic_bp: 118, heart_rate: 92, consciousness: 'A', temperature: 37.9 });
const HAS_TIME = existsSync('/usr/bin/time');

function timeRuns(argv: string[], runs: number, env: NodeJS.ProcessEnv, input?: string): { medianMs: number; p90Ms: number; maxRssMiB: number } {
  const times: number[] = [];
  let rss = NaN;
  for (let i = 0; i < runs + 1; i++) {
    const start = performance.now();
    const run = HAS_TIME
      ? spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { input, env, encoding: 'utf8' })
      : spawnSync(argv[0]!, argv.slice(1), { input, env, encoding: 'utf8' });
    const ms = performance.now() - start;
    if (run.status !== 0) throw new Error(`${argv.join(' ')} failed: ${run.stderr}`);
    // The first run warms the file cache and is left out.
    if (i === 0) continue;
    times.push(ms);
    if (HAS_TIME) rss = Math.max(Number.isFinite(rss) ? rss : 0, Number(run.stderr.trim().split('\n').at(-1)) / 1024);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)]!, p90Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.9))]!, maxRssMiB: rss };
}

export async function benchCli(runs = 15): Promise<CliFigures> {
  if (!existsSync('dist/src/cli/main.js')) execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  const env = { ...process.env, VW_DATA_DIR: mkdtempSync(join(tmpdir(), 'vw-bench-cli-')), VW_FEED_TOKEN_SECRET: 'bench-cli-secret-of-enough-length-000000' };
  const node = process.execPath;
  const rows: CliFigures['rows'] = [
    { command: 'vw score news2', how: 'built (bin/vw.js)', ...timeRuns([node, 'bin/vw.js', 'score', 'news2'], runs, env, SCORE_INPUT) },
    { command: 'vw score news2', how: 'from source through tsx', ...timeRuns([node, '--import', 'tsx', 'src/cli/main.ts', 'score', 'news2'], runs, env, SCORE_INPUT) },
    { command: 'vw token', how: 'built (bin/vw.js)', ...timeRuns([node, 'bin/vw.js', 'token', '--user', 'bench', '--wards', 'w1'], runs, env) },
    { command: 'vw help', how: 'built (bin/vw.js)', ...timeRuns([node, 'bin/vw.js', 'help'], runs, env) },
    { command: 'node -e 0', how: 'bare node, the floor', ...timeRuns([node, '-e', '0'], runs, env) },
  ];
  return { runs, rows };
}

export function cliReport(f: CliFigures): string[] {
  const ms = (x: number) => `${Math.round(x)} ms`;
  return f.rows.map((r) => `| \`${r.command}\`, ${r.how} (${f.runs} runs) | median ${ms(r.medianMs)}, p90 ${ms(r.p90Ms)}${Number.isFinite(r.maxRssMiB) ? `, peak RSS ${r.maxRssMiB.toFixed(0)} MiB` : ''} |`);
}
