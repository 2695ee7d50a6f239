import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.ts';
import { parseJsonl } from './jsonl.ts';
import { Reading } from '../domain/index.ts';
import { loadRegistryFile } from '../registry/load.ts';
import { Duration } from '../time/duration.ts';
import { compareReplays, loadRuleSet, replayAll, type Comparison, type ReplayRegistry, type ReplaySummary } from '../rules/replay.ts';

/** `vw replay`: readings from a JSONL file through the rules, alone or under two rule sets (docs/replay.md). */

/** Every reading checked before anything is replayed (src/cli/jsonl.ts). */
export function parseReadingsJsonl(source: string, text: string): Reading[] {
  return parseJsonl(Reading, 'a canonical reading', source, text, { command: 'vw replay', consequence: 'nothing replayed' });
}

function parseTick(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const parsed = Duration.safeParse(text);
  if (!parsed.success || parsed.data <= 0) throw new ConfigError(`vw replay: --tick must be a duration such as 30s, 1m or 5m, not '${text}'`);
  return parsed.data;
}

const fixed = (n: number) => n.toFixed(3);

/** One line for stderr: counts only, never a reading's value. */
export function summaryLine(summary: ReplaySummary): string {
  const opened = Object.entries(summary.rules).filter(([, r]) => r.opened > 0);
  const total = opened.reduce((n, [, r]) => n + r.opened, 0);
  const perRule = opened.map(([id, r]) => `${id} ${r.opened} (${fixed(r.burden)})`).join(', ');
  return (
    `replay: ${summary.readingsIn} readings in, ${summary.readingsSkipped} skipped; ${summary.patientDays} patient-days; ` +
    `${total} alerts opened (${fixed(summary.patientDays ? total / summary.patientDays : 0)} per patient-day), ${summary.revisions} revisions` +
    (perRule ? `; by rule (per patient-day): ${perRule}` : '')
  );
}

function reportSkipped(summary: ReplaySummary): void {
  if (!summary.readingsSkipped) return;
  const ids = summary.unknownPatients;
  const shown = ids.slice(0, 10).join(', ') + (ids.length > 10 ? `, …${ids.length - 10} more` : '');
  process.stderr.write(`vw replay: skipped ${summary.readingsSkipped} readings of ${ids.length} patients not in the registry (${shown})\n`);
}

export function comparisonMarkdown(c: Comparison, labels: { a: string; b: string; input: string }): string {
  const rows = c.rules.map(
    (r) =>
      `| ${r.ruleId} | ${r.versionA ?? '—'} | ${r.versionB ?? '—'} | ${r.openedA} | ${r.openedB} | ${r.added ? `+${r.added}` : '0'} | ${r.removed ? `−${r.removed}` : '0'} | ${fixed(r.burdenA)} | ${fixed(r.burdenB)} |`,
  );
  const t = c.totals;
  return [
    `Replay of ${labels.input} (${c.patientDays} patient-days): A = ${labels.a}, B = ${labels.b}`,
    '',
    '| rule | version A | version B | opened A | opened B | added | removed | per patient-day A | per patient-day B |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    `| **total** | | | ${t.openedA} | ${t.openedB} | ${t.added ? `+${t.added}` : '0'} | ${t.removed ? `−${t.removed}` : '0'} | ${fixed(t.burdenA)} | ${fixed(t.burdenB)} |`,
    '',
  ].join('\n');
}

export async function replayCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      rules: { type: 'string' },
      compare: { type: 'boolean', default: false },
      input: { type: 'string' },
      seeds: { type: 'string' },
      tick: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.input) throw new ConfigError('vw replay needs --input readings.jsonl');
  if (values.compare && positionals.length !== 2) throw new ConfigError('vw replay --compare needs two rule folders: --compare DIR_A DIR_B');
  if (!values.compare && positionals.length) throw new ConfigError(`vw replay: unexpected argument '${positionals[0]}'`);
  if (values.compare && values.rules) throw new ConfigError('vw replay: use either --rules DIR or --compare DIR_A DIR_B');
  const tickMs = parseTick(values.tick);
  const config = loadConfig();

  let text: string;
  try {
    text = await readFile(values.input, 'utf8');
  } catch (error) {
    throw new ConfigError(`vw replay: cannot read ${values.input} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const readings = parseReadingsJsonl(values.input, text);
  const { registry } = await loadRegistryFile(values.seeds ?? config.registry.seedsFile);
  const run = async (dir: string) => {
    const rules = await loadRuleSet(dir);
    return replayAll({ ...rules, readings, registry: registry satisfies ReplayRegistry, ...(tickMs ? { tickMs } : {}) });
  };

  if (values.compare) {
    const [dirA, dirB] = positionals as [string, string];
    const a = await run(dirA);
    const b = await run(dirB);
    reportSkipped(a.summary);
    const comparison = compareReplays(a, b);
    const out = values.json
      ? `${JSON.stringify({ input: values.input, a: dirA, b: dirB, readingsIn: a.summary.readingsIn, readingsSkipped: a.summary.readingsSkipped, ...comparison }, null, 2)}\n`
      : comparisonMarkdown(comparison, { a: dirA, b: dirB, input: values.input });
    if (values.out) await writeFile(values.out, out);
    else process.stdout.write(out);
    return;
  }

  const { alerts, summary } = await run(values.rules ?? config.rules.dir);
  reportSkipped(summary);
  const out = alerts.map((a) => `${JSON.stringify(a)}\n`).join('');
  if (values.out) await writeFile(values.out, out);
  else process.stdout.write(out);
  process.stderr.write(`${summaryLine(summary)}\n`);
}
