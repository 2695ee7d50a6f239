import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capacitySourceToken } from '../../src/capacity/credentials.ts';
import { testDataDir } from '../support/data-dir.ts';

const VW = join(import.meta.dirname, '..', '..', 'bin', 'vw.js');

function vw(args: string[], input = '', env: Record<string, string | undefined> = {}) {
  // Run from elsewhere: the command must find its own rule files.
  const run = spawnSync(process.execPath, [VW, ...args], { input, cwd: tmpdir(), encoding: 'utf8', timeout: 90_000, env: { ...process.env, ...env } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

// Each check runs vw as a process, some several times: on a loaded machine each start takes seconds.
describe('vw command', { timeout: 120_000 }, () => {
  it('scores NEWS2 from one JSON object on stdin', () => {
    const run = vw(['score', 'news2'], JSON.stringify({
      respiratory_rate: 26, spo2: 94, spo2_scale: 2, supplemental_oxygen: true, systolic_bp: 105, heart_rate: 115, consciousness: 'A', temperature: 38.6,
    }));
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      total: 10,
      band: 'high',
      subscores: { respiratory_rate: 3, spo2: 1, supplemental_oxygen: 2, systolic_bp: 1, heart_rate: 2, consciousness: 0, temperature: 1 },
    });
  });

  it('scores Scale 2 at 94% on air as 0', () => {
    const run = vw(['score', 'news2'], JSON.stringify({ respiratory_rate: 16, spo2: 94, spo2_scale: 2, supplemental_oxygen: false, systolic_bp: 120, heart_rate: 70, consciousness: 'A', temperature: 37 }));
    expect(JSON.parse(run.stdout)).toMatchObject({ total: 0, band: 'low', subscores: { spo2: 0 } });
  });

  it('marks a partial input and names what is missing', () => {
    const out = JSON.parse(vw(['score', 'news2'], JSON.stringify({ respiratory_rate: 25, spo2_scale: 1 })).stdout);
    expect(out).toMatchObject({ total: 3, band: 'low-medium', partial: true });
    expect(out.missing).toHaveLength(6);
  });

  it('refuses bad input with a message naming the field, and a non-zero exit', () => {
    const run = vw(['score', 'news2'], JSON.stringify({ heart_rate: 'fast' }));
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/heart_rate/);
    expect(vw(['score', 'news2'], 'not json').stderr).toMatch(/not one JSON object/);
  });

  it('prints usage for help and fails on an unknown command', () => {
    expect(vw(['help']).stdout).toMatch(/vw demo/);
    expect(vw(['frobnicate']).status).toBe(2);
  });

  it('prints a capacity source\'s token, and refuses without the secret or for an unknown source', { timeout: 90_000 }, () => {
    const secret = 'capacity-secret-for-the-cli-test';
    const run = vw(['capacity-token', '--source', 'cap-rx9-ambulance'], '', { VW_CAPACITY_SECRET: secret, VW_SEEDS: undefined });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${capacitySourceToken(secret, 'cap-rx9-ambulance')}\n`);
    const dataDir = testDataDir('vw-cli');
    const without = vw(['capacity-token', '--source', 'cap-rx9-ambulance'], '', { VW_CAPACITY_SECRET: undefined, VW_SEEDS: undefined, VW_DATA_DIR: dataDir });
    expect(without.status).not.toBe(0);
    expect(without.stderr).toMatch(/VW_CAPACITY_SECRET/);
    // The secret a running embedded vw keeps in its data directory, when none is configured.
    mkdirSync(dataDir, { mode: 0o700 });
    writeFileSync(join(dataDir, 'capacity-secret'), 'a-capacity-secret-kept-in-the-data-directory\n', { mode: 0o600 });
    const kept = vw(['capacity-token', '--source', 'cap-rx9-ambulance'], '', { VW_CAPACITY_SECRET: undefined, VW_SEEDS: undefined, VW_DATA_DIR: dataDir });
    expect(kept.stdout).toBe(`${capacitySourceToken('a-capacity-secret-kept-in-the-data-directory', 'cap-rx9-ambulance')}\n`);
    const unknown = vw(['capacity-token', '--source', 'cap-nobody'], '', { VW_CAPACITY_SECRET: secret, VW_SEEDS: undefined });
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/cap-nobody/);
  });
});
