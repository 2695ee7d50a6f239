import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Topics } from '../../../src/bus/topics.ts';
import type { ServerFrame } from '../../../src/feed/protocol.ts';
import { isType } from '../../support/console-client.ts';
import { answerTo, reading, startTestFeed, type TestConsole, type TestFeed } from './feed-harness.ts';

/**
 * Every feed action that names a ward, alert, referral or patient is checked against the token's
 * wards. A nurse of ward two is refused what is on ward one, and nothing changes: each refusal is
 * followed by an allowed action on the same connection (answered in order, and on a one-partition bus
 * recorded in order), whose effect arriving shows the refused one had none.
 */
const UCR = 'urgent-community-response';
const settingsFrame = (patientId: string) => ({ type: 'settings', patientId, baseVersion: 0, values: { baselineWeight: 70 }, reason: 'dry weight' });
type ErrorFrame = Extract<ServerFrame, { type: 'error' }>;

let feed: TestFeed;
beforeEach(async () => {
  feed = await startTestFeed();
  await feed.seedRecords();
});
afterEach(async () => {
  await feed.stop();
});

/** A nurse of ward two only. */
const wardTwoNurse = async () => (await feed.open('nurse.two', ['w2'])).client;

async function refused(client: TestConsole, frame: unknown): Promise<ErrorFrame> {
  const answer = await answerTo(client, frame);
  expect(answer.type).toBe('error');
  return answer as ErrorFrame;
}

describe('a nurse of another ward is refused, and nothing changes', () => {
  it.each(['acknowledge', 'resolve'] as const)('%s', async (action) => {
    const actions = await feed.record(Topics.alertActions);
    const nurse = await wardTwoNurse();
    expect(await refused(nurse, { type: action, alertId: 'a1' })).toMatchObject({ code: 'not_found' });
    expect(await answerTo(nurse, { type: action, alertId: 'a2' })).toMatchObject({ type: 'accepted', alertId: 'a2' });
    await expect.poll(() => actions.map((a) => a.alertId)).toContain('a2');
    expect(actions.map((a) => [a.alertId, a.action, a.by])).toEqual([['a2', action, 'nurse.two']]);
  });

  it('series', async () => {
    await feed.store.writeReadings([reading('p1', 71), reading('p2', 72)]);
    const nurse = await wardTwoNurse();
    expect(await refused(nurse, { type: 'series', patientId: 'p1', readingType: 'heart_rate' })).toMatchObject({ code: 'not_found' });
    const allowed = await answerTo(nurse, { type: 'series', patientId: 'p2', readingType: 'heart_rate' });
    expect(allowed).toMatchObject({ type: 'series', patientId: 'p2', points: [{ value: 72 }] });
    expect(nurse.frames.filter(isType('series')).map((s) => s.patientId)).toEqual(['p2']);
  });

  it('settings', async () => {
    const versions = await feed.record(Topics.patientSettings);
    const nurse = await wardTwoNurse();
    expect(await refused(nurse, settingsFrame('p1'))).toMatchObject({ code: 'not_found' });
    expect(await answerTo(nurse, settingsFrame('p2'))).toEqual({ type: 'settingsAccepted', patientId: 'p2', version: 1 });
    expect(versions.map((v) => [v.patientId, v.version, v.setBy])).toEqual([['p2', 1, 'nurse.two']]);
    // Ward one's nurse still sees version 0 of p1's settings.
    const { client: one } = await feed.open('nurse.one', ['w1']);
    expect(await answerTo(one, { type: 'settingsHistory', patientId: 'p1' })).toMatchObject({ type: 'settingsHistory', versions: [{ version: 0 }] });
  });

  it('settingsHistory', async () => {
    const nurse = await wardTwoNurse();
    expect(await refused(nurse, { type: 'settingsHistory', patientId: 'p1' })).toMatchObject({ code: 'not_found' });
    expect(await answerTo(nurse, { type: 'settingsHistory', patientId: 'p2' })).toMatchObject({ type: 'settingsHistory', patientId: 'p2' });
    expect(nurse.frames.filter(isType('settingsHistory')).map((h) => h.patientId)).toEqual(['p2']);
  });

  it('refer', async () => {
    const actions = await feed.record(Topics.referralActions);
    const nurse = await wardTwoNurse();
    expect(await refused(nurse, { type: 'refer', patientId: 'p1', route: UCR })).toMatchObject({ code: 'not_found' });
    expect(await answerTo(nurse, { type: 'refer', patientId: 'p2', route: UCR })).toMatchObject({ type: 'referralAccepted', patientId: 'p2' });
    await expect.poll(() => actions.length).toBe(1);
    expect(actions.map((a) => [a.action, a.patientId, a.wardId, a.by])).toEqual([['request', 'p2', 'w2', 'nurse.two']]);
  });

  it('handoverNote', async () => {
    const notes = await feed.record(Topics.handoverNotes);
    const { client: one } = await feed.open('nurse.one', ['w1'], ['w1']);
    const nurse = await wardTwoNurse();
    expect(await refused(nurse, { type: 'handoverNote', patientId: 'p1', text: 'Not my patient' })).toMatchObject({ code: 'not_found' });
    expect(await answerTo(nurse, { type: 'handoverNote', patientId: 'p2', text: 'Daughter stays tonight' })).toMatchObject({ type: 'handoverNoteAccepted', patientId: 'p2' });
    await expect.poll(() => notes.length).toBe(1);
    expect(notes.map((n) => [n.patientId, n.wardId, n.by])).toEqual([['p2', 'w2', 'nurse.two']]);
    // Ward one's console: its own note arrives, and no other.
    one.send({ type: 'handoverNote', patientId: 'p1', text: 'Lives alone' });
    await one.waitFor(isType('handoverNote'));
    expect(one.frames.filter(isType('handoverNote')).map((n) => [n.note.patientId, n.note.by])).toEqual([['p1', 'nurse.one']]);
  });

  it('cancelReferral', async () => {
    const actions = await feed.record(Topics.referralActions);
    const nurse = await wardTwoNurse();
    expect(await refused(nurse, { type: 'cancelReferral', referralId: 'ref-w1-0001', note: 'Not mine to cancel' })).toMatchObject({ code: 'not_found' });
    expect(await answerTo(nurse, { type: 'cancelReferral', referralId: 'ref-w2-0002', note: 'Reviewed at home' })).toMatchObject({ type: 'referralAccepted', referralId: 'ref-w2-0002' });
    await expect.poll(() => actions.length).toBe(1);
    expect(actions.map((a) => [a.action, a.referralId, a.by])).toEqual([['cancel', 'ref-w2-0002', 'nurse.two']]);
  });

  it('subscribe', async () => {
    const nurse = await wardTwoNurse();
    expect(await refused(nurse, { type: 'subscribe', wardId: 'w1' })).toMatchObject({ code: 'forbidden' });
    expect(await answerTo(nurse, { type: 'subscribe', wardId: 'w2' })).toMatchObject({ type: 'snapshot', wardId: 'w2' });
    // Ward one's reading first, then ward two's, on one partition: when ward two's arrives, ward one's would have.
    await feed.bus.publish(Topics.readings, [{ key: 'p1', value: reading('p1', 80) }]);
    await feed.bus.publish(Topics.readings, [{ key: 'p2', value: reading('p2', 81) }]);
    await nurse.waitFor(isType('reading'));
    expect(nurse.frames.filter(isType('reading')).map((r) => r.reading.patientId)).toEqual(['p2']);
    expect(nurse.frames.filter(isType('snapshot')).map((s) => s.wardId)).toEqual(['w2']);
  });
});

describe('refusals reveal nothing: "does not exist" and "not on your wards" get the same answer', () => {
  /** Each action, with what does not exist, what is on ward one (the nurse has ward two) and, for patients, one on no ward. */
  const cases: Array<[string, unknown[]]> = [
    ['subscribe', [{ type: 'subscribe', wardId: 'w-none' }, { type: 'subscribe', wardId: 'w1' }]],
    ['acknowledge', [{ type: 'acknowledge', alertId: 'a-none' }, { type: 'acknowledge', alertId: 'a1' }]],
    ['resolve', [{ type: 'resolve', alertId: 'a-none' }, { type: 'resolve', alertId: 'a1' }]],
    ['series', ['p-none', 'p1', 'p9'].map((patientId) => ({ type: 'series', patientId, readingType: 'heart_rate' }))],
    ['settings', ['p-none', 'p1', 'p9'].map(settingsFrame)],
    ['settingsHistory', ['p-none', 'p1', 'p9'].map((patientId) => ({ type: 'settingsHistory', patientId }))],
    ['refer', ['p-none', 'p1', 'p9'].map((patientId) => ({ type: 'refer', patientId, route: UCR }))],
    ['refer with an alert', ['a-none', 'a1'].map((alertId) => ({ type: 'refer', patientId: 'p2', route: UCR, alertId }))],
    ['handoverNote', ['p-none', 'p1', 'p9'].map((patientId) => ({ type: 'handoverNote', patientId, text: 'A note' }))],
    ['cancelReferral', ['ref-none-0000', 'ref-w1-0001'].map((referralId) => ({ type: 'cancelReferral', referralId, note: 'No longer needed' }))],
  ];

  it.each(cases)('%s', async (_action, frames) => {
    const nurse = await wardTwoNurse();
    const answers: ErrorFrame[] = [];
    for (const frame of frames) answers.push(await refused(nurse, frame));
    expect(answers[0]!.code).toMatch(/^(not_found|forbidden)$/);
    for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);
  });
});
