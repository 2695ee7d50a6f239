import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Topics } from '../../../src/bus/topics.ts';
import type { ScoreEvent } from '../../../src/domain/index.ts';
import { isType } from '../../support/console-client.ts';
import { alert, answerTo, reading, referral, startTestFeed, type TestFeed } from './feed-harness.ts';

/**
 * What each console action sends on once the token allows it, and how the session's own checks
 * (hello first, one token at a time, the token's wards known to the registry) answer. Ward one's
 * nurse acts on p1 (ward one) throughout; the harness seeds alert a1 and referral ref-w1-0001 there.
 */
const UCR = 'urgent-community-response';
let feed: TestFeed;
beforeEach(async () => {
  feed = await startTestFeed();
  await feed.seedRecords();
});
afterEach(async () => {
  await feed.stop();
});

const wardOneNurse = async () => (await feed.open('nurse.one', ['w1'])).client;

describe('signing in', () => {
  it('lists only the token’s wards the registry knows, and refuses a subscription to one it does not', async () => {
    const { client, welcome } = await feed.open('nurse.x', ['w1', 'w-gone']);
    expect(welcome).toMatchObject({ type: 'welcome', user: 'nurse.x', roles: [], wardLead: false, wards: [{ wardId: 'w1', name: 'Ward One' }] });
    expect(await answerTo(client, { type: 'subscribe', wardId: 'w-gone' })).toEqual({ type: 'error', code: 'forbidden', message: 'this ward is not in your token' });
  });

  it('a frame before hello closes the console (4401) telling it to send hello first', async () => {
    const { socket, closed } = await feed.openRaw();
    const frames: unknown[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString())));
    socket.send(JSON.stringify({ type: 'subscribe', wardId: 'w1' }));
    expect(await closed).toEqual({ code: 4401, reason: 'unauthorized' });
    expect(frames).toEqual([{ type: 'error', code: 'unauthorized', message: 'send hello with a token first' }]);
  });

  it('an invalid token in hello closes the console (4401)', async () => {
    const { socket, closed } = await feed.openRaw();
    const frames: unknown[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString())));
    socket.send(JSON.stringify({ type: 'hello', token: 'not-a-token' }));
    expect(await closed).toEqual({ code: 4401, reason: 'unauthorized' });
    expect(frames).toEqual([{ type: 'error', code: 'unauthorized', message: 'token missing, invalid or expired' }]);
  });

  it('a second hello starts afresh: wards subscribed under the first token are dropped', async () => {
    const { client } = await feed.open('nurse.one', ['w1', 'w2'], ['w1']);
    client.send({ type: 'hello', token: await feed.tokens.issue({ sub: 'nurse.one', wards: ['w2'] }) });
    await client.waitFor((f): f is Extract<typeof f, { type: 'welcome' }> => f.type === 'welcome' && f.wards.length === 1 && f.wards[0]!.wardId === 'w2');
    // Ward one is no longer granted, nor subscribed: its reading does not arrive, ward two's does once subscribed.
    expect(await answerTo(client, { type: 'subscribe', wardId: 'w1' })).toMatchObject({ code: 'forbidden' });
    await answerTo(client, { type: 'subscribe', wardId: 'w2' });
    await feed.bus.publish(Topics.readings, [{ key: 'p1', value: reading('p1', 80) }]);
    await feed.bus.publish(Topics.readings, [{ key: 'p2', value: reading('p2', 81) }]);
    await client.waitFor(isType('reading'));
    expect(client.frames.filter(isType('reading')).map((r) => r.reading.patientId)).toEqual(['p2']);
  });

  it('unsubscribe stops a ward’s deltas', async () => {
    const { client } = await feed.open('nurse.one', ['w1', 'w2'], ['w1', 'w2']);
    client.send({ type: 'unsubscribe', wardId: 'w1' });
    await answerTo(client, { type: 'series', patientId: 'p2', readingType: 'heart_rate' });
    await feed.bus.publish(Topics.readings, [{ key: 'p1', value: reading('p1', 80) }]);
    await feed.bus.publish(Topics.readings, [{ key: 'p2', value: reading('p2', 81) }]);
    await client.waitFor(isType('reading'));
    expect(client.frames.filter(isType('reading')).map((r) => r.reading.patientId)).toEqual(['p2']);
  });
});

describe('acknowledge and resolve', () => {
  it('send the alert’s ids, the action, who and the note to the rules', async () => {
    const actions = await feed.record(Topics.alertActions);
    const nurse = await wardOneNurse();
    const accepted = await answerTo(nurse, { type: 'acknowledge', alertId: 'a1', note: 'Phoned her' });
    expect(accepted).toEqual({ type: 'accepted', alertId: 'a1', actionId: expect.any(String) });
    await answerTo(nurse, { type: 'resolve', alertId: 'a1' });
    await expect.poll(() => actions.length).toBe(2);
    expect(actions[0]).toEqual({ actionId: (accepted as { actionId: string }).actionId, alertId: 'a1', patientId: 'p1', wardId: 'w1', action: 'acknowledge', by: 'nurse.one', at: expect.any(String), note: 'Phoned her' });
    expect(actions[1]).not.toHaveProperty('note');
    expect(actions[1]).toMatchObject({ action: 'resolve', alertId: 'a1', by: 'nurse.one' });
    expect(Math.abs(Date.parse(actions[0]!.at) - Date.now())).toBeLessThan(10_000);
  });
});

describe('series', () => {
  it('from the time asked, else the last 6 hours', async () => {
    const now = Date.now();
    await feed.store.writeReadings([reading('p1', 60, new Date(now - 7 * 3600_000)), reading('p1', 61, new Date(now - 5 * 3600_000)), reading('p1', 62, new Date(now - 60_000))]);
    const nurse = await wardOneNurse();
    expect(await answerTo(nurse, { type: 'series', patientId: 'p1', readingType: 'heart_rate' })).toMatchObject({ type: 'series', patientId: 'p1', readingType: 'heart_rate', points: [{ value: 61 }, { value: 62 }] });
    const since = new Date(now - 8 * 3600_000).toISOString();
    const all = await answerTo(nurse, { type: 'series', patientId: 'p1', readingType: 'heart_rate', since });
    expect((all as { points: Array<{ value: number }> }).points.map((p) => p.value)).toEqual([60, 61, 62]);
  });

  it('NEWS2: complete scores only, as totals', async () => {
    const now = Date.now();
    const at = (minutes: number) => new Date(now - minutes * 60_000).toISOString();
    const score = (total: number, partial: boolean, ts: string): ScoreEvent => ({
      scoreId: `s-${total}`, patientId: 'p1', wardId: 'w1', ruleId: 'news2', ruleVersion: '1.0.0', ts, total, band: 'low', spo2Scale: 1, partial, missing: [], inputs: {}, receivedAt: ts,
    });
    await feed.store.writeScores([score(3, false, at(30)), score(9, true, at(20)), score(4, false, at(10))]);
    const nurse = await wardOneNurse();
    expect(await answerTo(nurse, { type: 'series', patientId: 'p1', readingType: 'news2' })).toEqual({
      type: 'series',
      patientId: 'p1',
      readingType: 'news2',
      points: [{ ts: at(30), value: 3 }, { ts: at(10), value: 4 }],
    });
  });
});

describe('referrals', () => {
  it('from the patient: the route’s details, the latest readings as evidence, and a default reason', async () => {
    const actions = await feed.record(Topics.referralActions);
    await feed.store.writeReadings([reading('p1', 118)]);
    const nurse = await wardOneNurse();
    const accepted = await answerTo(nurse, { type: 'refer', patientId: 'p1', route: UCR });
    expect(accepted).toEqual({ type: 'referralAccepted', referralId: expect.any(String), patientId: 'p1' });
    await expect.poll(() => actions.length).toBe(1);
    const referralId = (accepted as { referralId: string }).referralId;
    expect(actions[0]).toEqual({
      action: 'request',
      actionId: referralId,
      referralId,
      patientId: 'p1',
      wardId: 'w1',
      by: 'nurse.one',
      at: expect.any(String),
      route: UCR,
      routeTitle: 'Urgent community response (2-hour)',
      routesVersion: '1.1.0',
      priority: 'asap',
      urgency: 'within 2 hours',
      alertIds: [],
      reason: 'Referred from the virtual ward',
      evidence: [{ readingId: expect.any(String), type: 'heart_rate', value: 118, ts: expect.any(String), threshold: 'latest reading' }],
    });
  });

  it('from an alert: the alert’s id, explanation and evidence, or the clinician’s note; the reason cut to 1000 characters', async () => {
    const actions = await feed.record(Topics.referralActions);
    const { client: nurse } = await feed.open('nurse.one', ['w1'], ['w1']);
    await answerTo(nurse, { type: 'refer', patientId: 'p1', route: 'ambulance-999', alertId: 'a1' });
    await answerTo(nurse, { type: 'refer', patientId: 'p1', route: 'sdec-ed', alertId: 'a1', note: 'Chest pain since noon' });
    await expect.poll(() => actions.length).toBe(2);
    expect(actions[0]).toMatchObject({ route: 'ambulance-999', priority: 'stat', alertIds: ['a1'], reason: 'NEWS2 7', evidence: [] });
    expect(actions[1]).toMatchObject({ route: 'sdec-ed', alertIds: ['a1'], reason: 'Chest pain since noon' });
    const evidence = [{ readingId: 'r-ev', type: 'respiratory_rate', value: 26, ts: new Date().toISOString(), threshold: '≥25 /min scores 3' }];
    await feed.bus.publish(Topics.alerts, [{ key: 'p1', value: { ...alert('a1', 'p1', 'w1'), revision: 2, explanation: 'y'.repeat(1_200), evidence } }]);
    await nurse.waitFor((f): f is Extract<typeof f, { type: 'alert' }> => f.type === 'alert' && f.alert.revision === 2);
    await answerTo(nurse, { type: 'refer', patientId: 'p1', route: UCR, alertId: 'a1' });
    await expect.poll(() => actions.length).toBe(3);
    expect(actions.at(-1)).toMatchObject({ action: 'request', reason: 'y'.repeat(1_000), evidence });
  });

  it('refuses a route the alert or patient does not offer, naming which', async () => {
    const nurse = await wardOneNurse();
    expect(await answerTo(nurse, { type: 'refer', patientId: 'p1', route: 'same-day-gp', alertId: 'a1' })).toEqual({ type: 'error', code: 'bad_frame', message: 'route same-day-gp is not offered for this alert' });
    expect(await answerTo(nurse, { type: 'refer', patientId: 'p1', route: 'no-such-route' })).toEqual({ type: 'error', code: 'bad_frame', message: 'route no-such-route is not offered for this patient' });
  });

  it('refuses an alert of another patient, even on the same ward', async () => {
    await feed.bus.publish(Topics.alerts, [{ key: 'p9', value: alert('a9', 'p9', 'w1') }]);
    const nurse = await wardOneNurse();
    await expect.poll(async () => (await answerTo(nurse, { type: 'refer', patientId: 'p1', route: UCR, alertId: 'a9' }))).toEqual({ type: 'error', code: 'not_found', message: 'no such alert for this patient on your wards' });
  });

  it('allows five referrals from one console in a burst, then refuses', async () => {
    const nurse = await wardOneNurse();
    for (let i = 0; i < 5; i++) expect(await answerTo(nurse, { type: 'refer', patientId: 'p1', route: UCR })).toMatchObject({ type: 'referralAccepted' });
    expect(await answerTo(nurse, { type: 'refer', patientId: 'p1', route: UCR })).toEqual({ type: 'error', code: 'rate_limited', message: 'too many referrals from this console in a short time; wait a minute' });
    // Another console has its own allowance.
    expect(await answerTo(await wardOneNurse(), { type: 'refer', patientId: 'p1', route: UCR })).toMatchObject({ type: 'referralAccepted' });
  });

  it('cancels a referral with the clinician’s note, and refuses one already finished', async () => {
    const actions = await feed.record(Topics.referralActions);
    const nurse = await wardOneNurse();
    expect(await answerTo(nurse, { type: 'cancelReferral', referralId: 'ref-w1-0001', note: 'Improved' })).toEqual({ type: 'referralAccepted', referralId: 'ref-w1-0001', patientId: 'p1' });
    await expect.poll(() => actions.length).toBe(1);
    expect(actions[0]).toEqual({ action: 'cancel', actionId: expect.any(String), referralId: 'ref-w1-0001', patientId: 'p1', wardId: 'w1', by: 'nurse.one', at: expect.any(String), note: 'Improved' });
    await feed.bus.publish(Topics.referrals, [{ key: 'p1', value: { ...referral('ref-w1-0001', 'p1', 'w1'), state: 'completed', revision: 2 } }]);
    await expect
      .poll(async () => answerTo(nurse, { type: 'cancelReferral', referralId: 'ref-w1-0001', note: 'Again' }))
      .toEqual({ type: 'error', code: 'bad_frame', message: 'the referral is already completed' });
  });
});

describe('handover notes', () => {
  it('carry the patient’s ward now, the text and who wrote it; ten in a burst, then refused', async () => {
    const notes = await feed.record(Topics.handoverNotes);
    const nurse = await wardOneNurse();
    const accepted = await answerTo(nurse, { type: 'handoverNote', patientId: 'p1', text: 'Lives alone' });
    expect(accepted).toEqual({ type: 'handoverNoteAccepted', noteId: expect.any(String), patientId: 'p1' });
    await expect.poll(() => notes.length).toBe(1);
    expect(notes[0]).toEqual({ noteId: (accepted as { noteId: string }).noteId, patientId: 'p1', wardId: 'w1', text: 'Lives alone', by: 'nurse.one', at: expect.any(String) });
    for (let i = 0; i < 9; i++) expect(await answerTo(nurse, { type: 'handoverNote', patientId: 'p1', text: `Note ${i}` })).toMatchObject({ type: 'handoverNoteAccepted' });
    expect(await answerTo(nurse, { type: 'handoverNote', patientId: 'p1', text: 'One too many' })).toEqual({ type: 'error', code: 'rate_limited', message: 'too many notes from this console in a short time; wait a little' });
  });
});

describe('refreshing the token', () => {
  const closedWith = async (client: Awaited<ReturnType<typeof wardOneNurse>>) => {
    const { code } = await client.waitClosed();
    return { code, last: client.frames.at(-1) };
  };

  it('the same user: the new token’s wards, the wards dropped, and the new expiry', async () => {
    const { client } = await feed.open('nurse.r', ['w1', 'w2'], ['w1', 'w2']);
    const token = await feed.tokens.issue({ sub: 'nurse.r', wards: ['w2', 'w-gone'], roles: ['virtual ward consultant'] }, 600);
    const refreshed = await answerTo(client, { type: 'refresh', token });
    expect(refreshed).toEqual({
      type: 'refreshed',
      user: 'nurse.r',
      roles: ['virtual ward consultant'],
      wardLead: false,
      wards: [{ wardId: 'w2', name: 'Ward Two' }],
      expiresAt: expect.any(String),
      dropped: ['w1'],
    });
    const expiresAt = Date.parse((refreshed as { expiresAt: string }).expiresAt);
    expect(expiresAt).toBeGreaterThan(Date.now() + 590_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 600_000);
    await feed.bus.publish(Topics.readings, [{ key: 'p1', value: reading('p1', 80) }]);
    await feed.bus.publish(Topics.readings, [{ key: 'p2', value: reading('p2', 81) }]);
    await client.waitFor(isType('reading'));
    expect(client.frames.filter(isType('reading')).map((r) => r.reading.patientId)).toEqual(['p2']);
    expect(await answerTo(client, { type: 'subscribe', wardId: 'w1' })).toMatchObject({ code: 'forbidden' });
    // Nothing dropped when the new token grants the same wards.
    expect(await answerTo(client, { type: 'refresh', token })).toMatchObject({ type: 'refreshed', dropped: [] });
  });

  it('another user’s token, or an invalid one, closes the console (4401)', async () => {
    const other = await wardOneNurse();
    other.send({ type: 'refresh', token: await feed.tokens.issue({ sub: 'nurse.b', wards: ['w1'] }) });
    expect(await closedWith(other)).toEqual({ code: 4401, last: { type: 'error', code: 'unauthorized', message: 'a refreshed token must name the same user' } });
    const forged = await wardOneNurse();
    forged.send({ type: 'refresh', token: 'not-a-token' });
    expect(await closedWith(forged)).toEqual({ code: 4401, last: { type: 'error', code: 'unauthorized', message: 'token missing, invalid or expired' } });
  });

  it('before hello, closes the console (4401)', async () => {
    const { socket, closed } = await feed.openRaw();
    const frames: unknown[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString())));
    socket.send(JSON.stringify({ type: 'refresh', token: await feed.tokens.issue({ sub: 'nurse.a', wards: ['w1'] }) }));
    expect(await closed).toEqual({ code: 4401, reason: 'unauthorized' });
    expect(frames).toEqual([{ type: 'error', code: 'unauthorized', message: 'send hello with a token first' }]);
  });

  it('a frame that is not valid is refused as bad_frame once signed in, and closes the console before', async () => {
    const nurse = await wardOneNurse();
    expect(await answerTo(nurse, { type: 'subscribe' })).toMatchObject({ type: 'error', code: 'bad_frame' });
    const { socket, closed } = await feed.openRaw();
    socket.send('not json');
    expect(await closed).toEqual({ code: 4401, reason: 'unauthorized' });
  });
});
