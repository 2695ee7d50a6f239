import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { testDataDir } from '../support/data-dir.ts';

const run = promisify(execFile);
const SECRET = 'capacity-cli-secret-for-the-test';
let app: VwApp;

beforeAll(async () => {
  app = await startVw(loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'capacity.secret': SECRET }), { logger: createLogger({ level: 'silent' }) });
});
afterAll(async () => {
  await app?.close();
});

const accepted = async () => {
  const text = await (await fetch(`${app.httpUrl}/metrics`)).text();
  return [...text.matchAll(/^vw_capacity_snapshots_total\{service="(\w+)"\} (\d+)/gm)].reduce((n, m) => n + Number(m[2]), 0);
};

// Each check runs the simulator as a process: on a loaded machine its start takes seconds.
describe('capacity simulator against a running vw', { timeout: 90_000 }, () => {
  it('posts each provider’s feed through the capacity API with its source’s token', async () => {
    const { stderr } = await run(process.execPath, ['--import', 'tsx', 'simulators/capacity-cli.ts', '--vw', app.httpUrl, '--secret', SECRET, '--seconds', '1'], { timeout: 60_000 });
    expect(stderr).toMatch(/capacity: [1-9]\d* snapshots accepted, 0 refused/);
    expect(await accepted()).toBeGreaterThanOrEqual(3);
  });

  it('is refused with the wrong secret, and says so', async () => {
    const before = await accepted();
    const failure = await run(process.execPath, ['--import', 'tsx', 'simulators/capacity-cli.ts', '--vw', app.httpUrl, '--secret', 'not-the-secret-of-this-vw', '--seconds', '1'], { timeout: 60_000 }).catch((e: { code: number; stderr: string }) => e);
    expect('code' in failure && failure.code).toBe(1);
    expect((failure as { stderr: string }).stderr).toContain('capacity API answered 401');
    expect(await accepted()).toBe(before);
  });
});
