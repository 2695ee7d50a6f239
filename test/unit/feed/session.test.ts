import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Topics } from '../../../src/bus/topics.ts';
import { isType } from '../../support/console-client.ts';
import { answerTo, reading, startTestFeed, type TestFeed } from './feed-harness.ts';

/** A console's session: closed when its token expires unless refreshed first; a bounded rate and size of frames. */
let feed: TestFeed;
beforeEach(async () => {
  feed = await startTestFeed();
});
afterEach(async () => {
  await feed.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('token expiry', () => {
  it('closes an idle console when its token expires (4001, "token expired")', async () => {
    const { socket, closed } = await feed.openRaw();
    const frames: Array<{ type: string; message?: string }> = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString())));
    socket.send(JSON.stringify({ type: 'hello', token: await feed.tokens.issue({ sub: 'nurse.short', wards: ['w1'] }, 2) }));
    socket.send(JSON.stringify({ type: 'subscribe', wardId: 'w1' }));
    // The console says nothing more and nothing is sent to it: only the session's timer can close it.
    const { code, reason } = await Promise.race([closed, sleep(4_000).then(() => ({ code: 0, reason: 'still open 4 s later' }))]);
    expect({ code, reason }).toEqual({ code: 4001, reason: 'token expired' });
    expect(frames.map((f) => f.type)).toEqual(['welcome', 'snapshot', 'error']);
    expect(frames.at(-1)).toEqual({ type: 'error', code: 'unauthorized', message: 'token expired' });
  });

  it('sends a console nothing after its token expires', async () => {
    const { client, welcome } = await feed.open('nurse.short', ['w1'], ['w1'], 2);
    const expiresAt = Date.parse(welcome.expiresAt!);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(2_000);
    // Readings every 50 ms, stamped when published, until the console is closed and a while after.
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await feed.bus.publish(Topics.readings, [{ key: 'p1', value: reading('p1', 70) }]);
        await sleep(50);
      }
    })();
    expect((await client.waitClosed(5_000)).code).toBe(4001);
    await sleep(300);
    publishing = false;
    await publisher;
    const readings = client.frames.filter(isType('reading'));
    expect(readings.length).toBeGreaterThan(5);
    expect(Math.max(...readings.map((r) => Date.parse(r.reading.receivedAt)))).toBeLessThan(expiresAt);
    expect(client.frames.at(-1)).toEqual({ type: 'error', code: 'unauthorized', message: 'token expired' });
  });

  it('goes on past the old expiry after a refresh for the same user, dropping wards the new token does not grant', async () => {
    const { client, welcome } = await feed.open('nurse.refresh', ['w1', 'w2'], ['w1', 'w2'], 2);
    const firstExpiry = Date.parse(welcome.expiresAt!);
    const refreshed = await answerTo(client, { type: 'refresh', token: await feed.tokens.issue({ sub: 'nurse.refresh', wards: ['w2'] }, 600) });
    expect(refreshed).toMatchObject({ type: 'refreshed', user: 'nurse.refresh', wards: [{ wardId: 'w2', name: 'Ward Two' }], dropped: ['w1'] });
    expect(Date.parse((refreshed as { expiresAt: string }).expiresAt)).toBeGreaterThan(Date.now() + 500_000);
    await sleep(firstExpiry - Date.now() + 300);
    // Past the first token's expiry: still served, but only ward two.
    await feed.bus.publish(Topics.readings, [{ key: 'p1', value: reading('p1', 90) }]);
    await feed.bus.publish(Topics.readings, [{ key: 'p2', value: reading('p2', 91) }]);
    await client.waitFor(isType('reading'));
    expect(client.frames.filter(isType('reading')).map((r) => r.reading.patientId)).toEqual(['p2']);
    expect(await answerTo(client, { type: 'subscribe', wardId: 'w1' })).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(client.closed()).toBeUndefined();
  });

  it('refuses a refresh for another user, or with an invalid token, and closes the console (4401)', async () => {
    const { client: other } = await feed.open('nurse.a', ['w1'], ['w1']);
    other.send({ type: 'refresh', token: await feed.tokens.issue({ sub: 'nurse.b', wards: ['w1', 'w2'] }) });
    expect((await other.waitClosed()).code).toBe(4401);
    expect(other.frames.at(-1)).toMatchObject({ type: 'error', code: 'unauthorized' });

    const { client: forged } = await feed.open('nurse.a', ['w1'], ['w1']);
    forged.send({ type: 'refresh', token: 'not-a-token' });
    expect((await forged.waitClosed()).code).toBe(4401);
  });

  it('refuses a refresh before hello', async () => {
    const { socket, closed } = await feed.openRaw();
    socket.send(JSON.stringify({ type: 'refresh', token: await feed.tokens.issue({ sub: 'nurse.a', wards: ['w1'] }) }));
    expect((await closed).code).toBe(4401);
  });
});

describe('frame rate and size', () => {
  it('answers frames beyond the rate with rate_limited, and serves the console again once it slows down', async () => {
    const { client } = await feed.open('nurse.busy', ['w1']);
    for (let i = 0; i < 100; i++) client.send({ type: 'unsubscribe', wardId: 'w1' });
    const limited = await client.waitFor(isType('error'));
    expect(limited).toEqual({ type: 'error', code: 'rate_limited', message: 'too many frames from this console: slow down' });
    // Told once, not once per frame.
    expect(client.frames.filter(isType('error'))).toHaveLength(1);
    await sleep(600);
    expect(await answerTo(client, { type: 'subscribe', wardId: 'w1' })).toMatchObject({ type: 'snapshot', wardId: 'w1' });
    expect(client.closed()).toBeUndefined();
  });

  it('closes a console that keeps on sending beyond the rate (1008)', async () => {
    const { client } = await feed.open('nurse.flood', ['w1']);
    for (let i = 0; i < 400; i++) client.send({ type: 'unsubscribe', wardId: 'w1' });
    expect((await client.waitClosed()).code).toBe(1008);
  });

  it('closes a console that sends a frame over 64 KiB (1009)', async () => {
    const { client } = await feed.open('nurse.big', ['w1']);
    client.send({ type: 'handoverNote', patientId: 'p1', text: 'x'.repeat(70 * 1024) });
    expect((await client.waitClosed()).code).toBe(1009);
  });
});
