import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVw, type VwApp } from '../../src/app/app.ts';
import { on, type Subscription } from '../../src/bus/bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { PatientSettings } from '../../src/domain/index.ts';
import type { ServerFrame } from '../../src/feed/protocol.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { connectConsole, isType } from '../support/console-client.ts';
import { testDataDir } from '../support/data-dir.ts';

/**
 * Clinicians change a patient's settings from the console: over a real WebSocket to the feed, onto the
 * settings topic of the in-process bus, and back to every console of the patient's ward.
 */
let app: VwApp;
let audit: Subscription;
const topic: PatientSettings[] = [];
const HF = 'pt-0004';

type Console = Awaited<ReturnType<typeof connectConsole>>;
const consoles: Console[] = [];

async function signIn(user: string, wards: string[], subscribeTo: string): Promise<{ console: Console; snapshot: Extract<ServerFrame, { type: 'snapshot' }> }> {
  const c = await connectConsole(app.httpUrl);
  consoles.push(c);
  c.send({ type: 'hello', token: await app.tokens.issue({ sub: user, wards }) });
  await c.waitFor(isType('welcome'));
  c.send({ type: 'subscribe', wardId: subscribeTo });
  return { console: c, snapshot: await c.waitFor(isType('snapshot')) };
}

const settingsFrame = (version: number) => (f: ServerFrame): f is Extract<ServerFrame, { type: 'settings' }> =>
  f.type === 'settings' && f.settings.patientId === HF && f.settings.version === version;
const errorFrame = (code: string) => (f: ServerFrame): f is Extract<ServerFrame, { type: 'error' }> => f.type === 'error' && f.code === code;
const settingsFrames = (c: Console) => c.frames.filter(isType('settings'));
/** Records ever written to the settings topic: a record a console's change published is there before the answer to it is sent. */
const settingsWritten = async () => (await app.bus.offsets(Topics.patientSettings)).reduce((n, p) => n + p.high, 0);

beforeAll(async () => {
  const config = loadConfig({}, { dataDir: testDataDir(), 'http.port': 0, 'mqtt.embeddedPort': 0, 'feed.tokenSecret': 'settings-e2e-secret-settings-e2e-secret', logLevel: 'silent' });
  app = await startVw(config, { roles: ['feed'], logger: createLogger({ level: 'silent' }) });
  audit = await app.bus.consume({
    groupId: 'e2e-settings-audit',
    fromBeginning: true,
    topics: [on(Topics.patientSettings, async ({ value }) => void topic.push(value))],
  });
});

afterAll(async () => {
  for (const c of consoles) c.close();
  await audit?.stop();
  await app?.close();
});

describe('per-patient settings from the console', () => {
  it('records a nurse’s change on the topic, with who, when and why, and tells every console of the ward', async () => {
    const { console: bailey, snapshot } = await signIn('nurse.bailey', ['ward-hf'], 'ward-hf');
    const { console: cole } = await signIn('nurse.cole', ['ward-ari', 'ward-hf'], 'ward-hf');
    const { console: ari } = await signIn('nurse.ari', ['ward-ari'], 'ward-ari');
    const held = snapshot.patients.find((p) => p.patientId === HF)!.settings!;
    expect(held).toMatchObject({ version: 2, setBy: 'hf.nurse.bailey', values: { baselineWeight: 82 } });

    const before = Date.now();
    bailey.send({
      type: 'settings', patientId: HF, baseVersion: 2, values: { baselineWeight: 80.5, homeBpTargetSystolic: 130 },
      reason: '  Dry weight after IV furosemide, reviewed at home visit  ',
    });
    const accepted = await bailey.waitFor(isType('settingsAccepted'));
    expect(accepted).toEqual({ type: 'settingsAccepted', patientId: HF, version: 3 });

    await expect.poll(() => topic.length).toBe(1);
    const record = topic[0]!;
    expect(record).toMatchObject({
      patientId: HF, wardId: 'ward-hf', version: 3, setBy: 'nurse.bailey', spo2Scale: 1,
      reason: 'Dry weight after IV furosemide, reviewed at home visit', values: { baselineWeight: 80.5, homeBpTargetSystolic: 130 },
    });
    expect(Date.parse(record.effectiveFrom)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(record.effectiveFrom)).toBeLessThanOrEqual(Date.now());

    for (const c of [bailey, cole]) {
      const frame = await c.waitFor(settingsFrame(3));
      expect(frame).toEqual({ type: 'settings', wardId: 'ward-hf', settings: record });
    }
    // Both ward-hf consoles have heard; a console on another ward hears nothing of it. The feed sends a
    // settings change to every console of the ward at once: a round trip on ari's socket after
    // bailey and cole have it shows whether ari was sent it too.
    await ari.roundTrip();
    expect(settingsFrames(ari)).toEqual([]);

    cole.send({ type: 'settingsHistory', patientId: HF });
    const history = await cole.waitFor(isType('settingsHistory'));
    expect(history.versions.map((v) => [v.version, v.setBy])).toEqual([[3, 'nurse.bailey'], [2, 'hf.nurse.bailey'], [1, 'dr.okafor'], [0, 'registry']]);

    // A console that connects later starts from the new version.
    const { snapshot: later } = await signIn('nurse.dee', ['ward-hf'], 'ward-hf');
    expect(later.patients.find((p) => p.patientId === HF)?.settings).toEqual(record);
  });

  it('refuses a nurse whose token does not grant the patient’s ward, and publishes nothing', async () => {
    const { console: ari } = await signIn('nurse.ari', ['ward-ari'], 'ward-ari');
    const written = await settingsWritten();
    ari.send({ type: 'settings', patientId: HF, baseVersion: 3, values: { baselineWeight: 70 }, reason: 'not my patient' });
    // The same answer as for a patient who does not exist: it reveals nothing of other wards.
    const refused = await ari.waitFor(errorFrame('not_found'));
    expect(refused.message).toBe('no such patient on your wards');
    ari.send({ type: 'settingsHistory', patientId: HF });
    await expect.poll(() => ari.frames.filter(errorFrame('not_found')).length).toBe(2);
    expect(ari.frames.filter(isType('settingsHistory'))).toEqual([]);
    ari.send({ type: 'settings', patientId: 'pt-9999', baseVersion: 0, values: {}, reason: 'no such patient' });
    await expect.poll(() => ari.frames.filter(errorFrame('not_found')).length).toBe(3);
    expect(ari.frames.filter(errorFrame('not_found')).at(-1)).toEqual(refused);
    // Each answer came after its request was handled: nothing was written to the topic meanwhile.
    expect(await settingsWritten()).toBe(written);
  });

  it('refuses a change made from a stale version with conflict, and invalid names as bad frames', async () => {
    const { console: bailey, snapshot } = await signIn('nurse.bailey', ['ward-hf'], 'ward-hf');
    const current = snapshot.patients.find((p) => p.patientId === HF)!.settings!.version;
    const written = await settingsWritten();
    bailey.send({ type: 'settings', patientId: HF, baseVersion: current - 1, values: { baselineWeight: 79 }, reason: 'from an old screen' });
    const conflict = await bailey.waitFor(errorFrame('conflict'));
    expect(conflict.message).toMatch(/reload/);
    bailey.send({ type: 'settings', patientId: HF, baseVersion: current, values: { 'baseline weight': 79 }, reason: 'bad name' });
    await bailey.waitFor(errorFrame('bad_frame'));
    bailey.send({ type: 'settings', patientId: HF, baseVersion: current, values: { baselineWeight: 79 }, reason: '  ' });
    await expect.poll(() => bailey.frames.filter(errorFrame('bad_frame')).length).toBe(2);
    // Answered after being handled: nothing was written to the topic, so no console is told of a change.
    expect(await settingsWritten()).toBe(written);
    expect(settingsFrames(bailey)).toEqual([]);
  });

  it('lets exactly one of two consoles racing from the same version win; the other hears conflict', async () => {
    const { console: a, snapshot } = await signIn('nurse.a', ['ward-hf'], 'ward-hf');
    const { console: b } = await signIn('nurse.b', ['ward-hf'], 'ward-hf');
    const base = snapshot.patients.find((p) => p.patientId === HF)!.settings!.version;
    const written = await settingsWritten();
    a.send({ type: 'settings', patientId: HF, baseVersion: base, values: { baselineWeight: 81 }, reason: 'race a' });
    b.send({ type: 'settings', patientId: HF, baseVersion: base, values: { baselineWeight: 83 }, reason: 'race b' });
    const outcome = async (c: Console) => {
      await c.waitFor((f): f is ServerFrame => f.type === 'settingsAccepted' || (f.type === 'error' && f.code === 'conflict'));
      return c.frames.some((f) => f.type === 'settingsAccepted') ? 'accepted' : 'conflict';
    };
    expect([await outcome(a), await outcome(b)].sort()).toEqual(['accepted', 'conflict']);
    // Both answered, each once its request was handled: one record was written, the winner's.
    expect(await settingsWritten()).toBe(written + 1);
    const winner = (await a.waitFor(settingsFrame(base + 1))).settings;
    expect((await b.waitFor(settingsFrame(base + 1))).settings).toEqual(winner);
    await expect.poll(() => topic.filter((s) => s.version === base + 1)).toEqual([winner]);
  });

  it('applies the first of two same-numbered versions from different feeds, in partition order, and refuses the second', async () => {
    const { console: watcher, snapshot } = await signIn('nurse.w', ['ward-hf'], 'ward-hf');
    const current = snapshot.patients.find((p) => p.patientId === HF)!.settings!;
    const next = (setBy: string, baselineWeight: number): PatientSettings => ({
      ...current, version: current.version + 1, effectiveFrom: new Date().toISOString(), setBy, reason: `set by ${setBy}`, values: { baselineWeight },
    });
    // As two feed processes would, each having checked against the same version.
    await app.bus.publish(Topics.patientSettings, [{ key: HF, value: next('feed1.nurse', 80) }, { key: HF, value: next('feed2.nurse', 84) }]);
    await expect.poll(() => topic.filter((s) => s.version === current.version + 1).length).toBe(2);
    const applied = await watcher.waitFor(settingsFrame(current.version + 1));
    expect(applied.settings.setBy).toBe('feed1.nurse');
    // A next version on the same partition, after both: once the console has it, the feed has handled the second one too.
    await app.bus.publish(Topics.patientSettings, [{ key: HF, value: { ...next('feed1.nurse', 81), version: current.version + 2 } }]);
    await watcher.waitFor(settingsFrame(current.version + 2));
    expect(settingsFrames(watcher).map((f) => [f.settings.version, f.settings.setBy])).toEqual([[current.version + 1, 'feed1.nurse'], [current.version + 2, 'feed1.nurse']]);
    watcher.send({ type: 'settingsHistory', patientId: HF });
    const history = await watcher.waitFor(isType('settingsHistory'));
    expect(history.versions.slice(0, 2)).toMatchObject([{ version: current.version + 2 }, { version: current.version + 1, setBy: 'feed1.nurse' }]);
    expect(history.versions.filter((v) => v.version === current.version + 1)).toHaveLength(1);
  });
});
