import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type * as Generated from '../../../dashboards/console/generated/frames.js';
import { consoleArtifacts } from '../../../scripts/generate-console-types.ts';
import { BAND_LABEL, PARAM_LABEL, SEVERITY_RANK } from '../../../src/domain/labels.ts';
import type { ClientFrame, ServerFrame } from '../../../src/feed/protocol.ts';

/**
 * The console's generated files (scripts/generate-console-types.ts) and its type check: a change to the
 * feed's zod schemas or to src/domain/labels.ts that is not regenerated fails here, and so does
 * console code that reads a frame in a way vw does not send it.
 */
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const CONSOLE_DIR = 'dashboards/console';
const run = promisify(execFile);

/** The console's type check on a folder laid out as dashboards/console: exit code and what tsc said. */
async function typeCheck(dir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [TSC, '-p', dir], { encoding: 'utf8' });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: `${failed.stdout}${failed.stderr}` };
  }
}

// The declarations are zod's own types: what vw sends as zod's output, what a console sends as vw's
// input. Checked by the compiler (npm run typecheck), where a difference is an error, not by a test run.
expectTypeOf<Generated.ServerFrame>().toEqualTypeOf<z.output<typeof ServerFrame>>();
expectTypeOf<Generated.ClientFrame>().toEqualTypeOf<z.input<typeof ClientFrame>>();

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('the console’s generated files', () => {
  it('are what the generator writes from the schemas and labels now (else: npm run generate:console)', () => {
    const artifacts = consoleArtifacts();
    expect(Object.keys(artifacts).sort()).toEqual([
      `${CONSOLE_DIR}/generated/frames.d.ts`,
      `${CONSOLE_DIR}/generated/frames.schema.json`,
      `${CONSOLE_DIR}/generated/labels.js`,
    ]);
    for (const [path, text] of Object.entries(artifacts)) expect(readFileSync(path, 'utf8'), path).toBe(text);
  });

  it('declare every frame type of the feed’s schemas, both ways', () => {
    const { $defs } = JSON.parse(consoleArtifacts()[`${CONSOLE_DIR}/generated/frames.schema.json`]!) as { $defs: Record<string, { oneOf?: Array<{ properties: { type: { const: string } } }> }> };
    const types = (name: string) => $defs[name]!.oneOf!.map((frame) => frame.properties.type.const).sort();
    expect(types('ServerFrame')).toEqual(['accepted', 'alert', 'capacity', 'error', 'handoverNote', 'handoverNoteAccepted', 'notification', 'referral', 'referralAccepted', 'refreshed', 'roster', 'score', 'series', 'settings', 'settingsAccepted', 'settingsHistory', 'snapshot', 'welcome', 'reading'].sort());
    expect(types('ClientFrame')).toEqual(['acknowledge', 'cancelReferral', 'handoverNote', 'hello', 'refer', 'refresh', 'resolve', 'series', 'settings', 'settingsHistory', 'subscribe', 'unsubscribe'].sort());
  });

  it('give the browser the same labels and severity ranks as vw', async () => {
    // The module the browser loads, as it loads it.
    const browser = (await import(pathToFileURL(resolve(CONSOLE_DIR, 'generated/labels.js')).href)) as Record<string, unknown>;
    expect(browser.PARAM_LABEL).toEqual(PARAM_LABEL);
    expect(browser.BAND_LABEL).toEqual(BAND_LABEL);
    expect(browser.SEVERITY_RANK).toEqual(SEVERITY_RANK);
  });
});

describe('the console’s type check (tsc -p dashboards/console)', () => {
  it('passes on the console as it is', async () => {
    const { code, output } = await typeCheck(CONSOLE_DIR);
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 60_000);

  it('fails when a frame field the console reads is renamed in the schema and regenerated', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'vw-console-'));
    scratch.push(copy);
    cpSync(CONSOLE_DIR, copy, { recursive: true });
    const frames = consoleArtifacts()[`${CONSOLE_DIR}/generated/frames.d.ts`]!;
    // As if Alert.severity were renamed in src/domain/alert.ts: the console sorts and labels by it.
    const alert = /export type Alert = \{[^]*?\n\};/.exec(frames)![0];
    expect(alert).toContain('  severity: AlertSeverity;');
    writeFileSync(join(copy, 'generated/frames.d.ts'), frames.replace(alert, alert.replace('  severity: AlertSeverity;', '  grade: AlertSeverity;')));
    const { code, output } = await typeCheck(copy);
    expect(code).not.toBe(0);
    expect(output).toMatch(/alerts\.js\(\d+,\d+\): error TS2339: Property 'severity' does not exist on type/);
  }, 60_000);
});
