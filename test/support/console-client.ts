import WebSocket from 'ws';
import { ServerFrame } from '../../src/feed/protocol.ts';

/** A console as a test sees it: sends frames, and waits for a received frame that matches. */
export async function connectConsole(httpUrl: string) {
  const socket = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/feed`);
  const frames: ServerFrame[] = [];
  const waiters: Array<() => void> = [];
  let closed: { code: number } | undefined;
  /** The token of the last `hello`, for `roundTrip`. */
  let token: string | undefined;
  socket.on('message', (data) => {
    frames.push(ServerFrame.parse(JSON.parse(data.toString())));
    for (const wake of waiters.splice(0)) wake();
  });
  socket.on('close', (code) => {
    closed = { code };
    for (const wake of waiters.splice(0)) wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    frames,
    send(frame: unknown) {
      const f = frame as { type?: unknown; token?: unknown };
      if (f.type === 'hello' && typeof f.token === 'string') token = f.token;
      socket.send(JSON.stringify(frame));
    },
    closed: () => closed,
    async waitFor<T extends ServerFrame>(predicate: (f: ServerFrame) => f is T, timeoutMs = 10_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = frames.find(predicate);
        if (found) return found;
        if (closed) throw new Error(`socket closed (${closed.code}) before the frame arrived`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`frame not received in ${timeoutMs} ms; got ${frames.map((f) => f.type).join(',')}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    /**
     * A round trip on this console's own socket: a `refresh` with the token it said hello with (which
     * changes nothing), answered by `refreshed`. The feed writes a socket's frames in order, so whatever it
     * sent this console before reading the refresh has arrived once this resolves: check that a frame
     * did not come after this, not after a sleep.
     */
    async roundTrip(timeoutMs = 10_000): Promise<void> {
      if (!token) throw new Error('roundTrip needs a console that has said hello');
      const from = frames.length;
      socket.send(JSON.stringify({ type: 'refresh', token }));
      await this.waitFor((f): f is Extract<ServerFrame, { type: 'refreshed' }> => f.type === 'refreshed' && frames.indexOf(f, from) >= from, timeoutMs);
    },
    async waitClosed(timeoutMs = 5_000): Promise<{ code: number }> {
      const deadline = Date.now() + timeoutMs;
      while (!closed) {
        if (Date.now() > deadline) throw new Error('socket still open');
        await new Promise((r) => setTimeout(r, 10));
      }
      return closed;
    },
    close() {
      socket.close();
    },
  };
}

export function isType<K extends ServerFrame['type']>(type: K) {
  return (f: ServerFrame): f is Extract<ServerFrame, { type: K }> => f.type === type;
}
