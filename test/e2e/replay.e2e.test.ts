import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Alert } from '../../src/domain/index.ts';
import { loadRegistryFile } from '../../src/registry/load.ts';
import { loadTraceScenario } from '../../simulators/scenario.ts';
import { generateTrace, traceJsonl } from '../../simulators/trace.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const VW = join(ROOT, 'bin', 'vw.js');
const RULES = join(ROOT, 'rules');
const SEEDS = join(ROOT, 'seeds', 'trace-ward.yaml');

function vw(args: string[]) {
  // Run from elsewhere, as cli.e2e.test.ts does: every path is given, nothing depends on the cwd.
  const run = spawnSync(process.execPath, [VW, ...args], { cwd: tmpdir(), encoding: 'utf8', timeout: 90_000, maxBuffer: 256 * 1024 * 1024 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

let dir: string;
let week: string;
let readingCount: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vw-replay-e2e-'));
  const { data } = await loadRegistryFile(SEEDS);
  const readings = generateTrace(data, await loadTraceScenario(join(ROOT, 'simulators/scenarios/ward-week.yaml')));
  readingCount = readings.length;
  week = join(dir, 'week.jsonl');
  writeFileSync(week, traceJsonl(readings));
});

// Each check runs vw as a process, some several times: on a loaded machine each start takes seconds.
describe('vw replay', { timeout: 180_000 }, () => {
  it('writes every alert revision as JSONL and a one-line summary on stderr, the same on stdout and in --out', () => {
    const run = vw(['replay', '--rules', RULES, '--input', week, '--seeds', SEEDS]);
    expect(run.stderr).toMatch(new RegExp(`^replay: ${readingCount} readings in, 0 skipped; \\d+ patient-days; \\d+ alerts opened`));
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.status).toBe(0);
    const alerts = run.stdout.trim().split('\n').map((line) => Alert.parse(JSON.parse(line)));
    expect(alerts.length).toBeGreaterThan(50);
    expect(alerts.some((a) => a.revision > 0)).toBe(true);
    expect(run.stderr).toMatch(/hf-weight-gain 1 \(0\.0\d\d\)/);
    // Counts and rule ids only: no patient and no reading value.
    expect(run.stderr).not.toMatch(/tw-\d\d/);

    const out = join(dir, 'alerts.jsonl');
    const toFile = vw(['replay', '--rules', RULES, '--input', week, '--seeds', SEEDS, '--out', out]);
    expect(toFile.status).toBe(0);
    expect(toFile.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(run.stdout);
  }, 120_000);

  it('refuses a bad line with its line number and the reason, writing nothing', () => {
    const lines = readFileSync(week, 'utf8').split('\n').slice(0, 5);
    const bad = join(dir, 'bad.jsonl');
    lines[2] = JSON.stringify({ ...JSON.parse(lines[2]!), value: 'fast' });
    lines[4] = '{"readingId": ';
    writeFileSync(bad, lines.join('\n'));
    const out = join(dir, 'never.jsonl');
    const run = vw(['replay', '--rules', RULES, '--input', bad, '--seeds', SEEDS, '--out', out]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/bad\.jsonl line 3: not a canonical reading \(.*value/);
    expect(run.stderr).toMatch(/bad\.jsonl line 5: not valid JSON/);
    expect(run.stderr).not.toMatch(/line [124]:/);
    expect(run.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  it('reports readings of patients not in the registry on stderr and replays the rest', () => {
    const lines = readFileSync(week, 'utf8').split('\n').slice(0, 20);
    const stray = { ...JSON.parse(lines[0]!), readingId: 'stray-1', patientId: 'pt-unknown' };
    const file = join(dir, 'stray.jsonl');
    writeFileSync(file, [...lines, JSON.stringify(stray)].join('\n'));
    const run = vw(['replay', '--rules', RULES, '--input', file, '--seeds', SEEDS]);
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/skipped 1 readings of 1 patients not in the registry \(pt-unknown\)/);
    expect(run.stderr).toMatch(/replay: 21 readings in, 1 skipped/);
  });

  it('refuses bad arguments with a non-zero exit', () => {
    expect(vw(['replay', '--rules', RULES]).stderr).toMatch(/needs --input/);
    const tick = vw(['replay', '--rules', RULES, '--input', week, '--tick', 'soon']);
    expect(tick.status).not.toBe(0);
    expect(tick.stderr).toMatch(/--tick/);
    expect(vw(['replay', '--compare', RULES, '--input', week]).status).not.toBe(0);
    expect(vw(['help']).stdout).toMatch(/vw replay --compare DIR_A DIR_B/);
  });

  it('compares two rule folders per rule, as a markdown table and as JSON', () => {
    const changed = join(dir, 'rules-b');
    cpSync(RULES, changed, { recursive: true });
    const file = join(changed, 'heart-failure.yaml');
    const text = readFileSync(file, 'utf8');
    const edited = text.replace(/(- id: hf-weight-gain\n\s+version: )1\.0\.0/, '$11.1.0').replace(/(from: window-min\n\s+op: '>'\n\s+value: )2\n/, '$15\n');
    expect(edited).not.toBe(text);
    writeFileSync(file, edited);

    // A 5-minute tick: quicker, and this rule opens on a reading, not on a timer.
    const md = vw(['replay', '--compare', RULES, changed, '--input', week, '--seeds', SEEDS, '--tick', '5m']);
    expect(md.status).toBe(0);
    expect(md.stdout).toMatch(/\| rule \| version A \| version B \| opened A \| opened B \| added \| removed \|/);
    expect(md.stdout).toMatch(/\| hf-weight-gain \| 1\.0\.0 \| 1\.1\.0 \| 1 \| 0 \| 0 \| −1 \| 0\.0\d\d \| 0\.000 \|/);
    expect(md.stdout).toMatch(/\| hf-weight-above-dry \| 1\.0\.0 \| 1\.0\.0 \| 1 \| 1 \| 0 \| 0 \|/);
    expect(md.stdout).toMatch(/\| \*\*total\*\* \| \| \| (\d+) \| \d+ \| 0 \| −1 \|/);

    const json = vw(['replay', '--compare', RULES, changed, '--input', week, '--seeds', SEEDS, '--tick', '5m', '--json']);
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.readingsIn).toBe(readingCount);
    const hf = report.rules.find((r: { ruleId: string }) => r.ruleId === 'hf-weight-gain');
    expect(hf).toMatchObject({ openedA: 1, openedB: 0, added: 0, removed: 1, versionA: '1.0.0', versionB: '1.1.0' });
    expect(report.totals.openedA - report.totals.openedB).toBe(1);
  }, 120_000);
});
