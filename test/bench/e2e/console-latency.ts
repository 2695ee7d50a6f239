import WebSocket from 'ws';

/**
 * The end of the line for a benchmark: a console that measures, for every reading it is sent, the
 * time from the device's publish (the reading's event time, stamped by the fleet at publish) to its
 * arrival here. Only the frames it needs are parsed, with JSON.parse alone, so measuring costs as
 * little as it can: a console that falls behind is disconnected by vw as too slow.
 */
export interface LatencyCollector {
  /** Distinct readings delivered. */
  delivered(): number;
  latencies(): number[];
  /** [publish ms, latency ms] of every timed reading, for looking at how latency moves over a run. */
  timeline(): Array<[number, number]>;
  /** Set if the server closed the console during the run (e.g. judged too slow), with when and why. */
  closedEarly(): string | undefined;
  close(): void;
}

interface Seen {
  seen: Set<string>;
  latencies: number[];
  timeline: Array<[number, number]>;
}

function collector(
  socket: WebSocket,
  pick: (frame: Record<string, unknown>) => { key: string; ts: string; untimed?: boolean } | undefined,
  onFrame?: (frame: Record<string, unknown>) => void,
  wanted: (text: string) => boolean = () => true,
  /** What earlier connections of the same console saw, so a reconnected console counts on from there. */
  shared: Seen = { seen: new Set(), latencies: [], timeline: [] },
): LatencyCollector {
  const { seen, latencies, timeline } = shared;
  let closing = false;
  let closedEarly: string | undefined;
  socket.on('close', (code) => {
    if (!closing) closedEarly = `closed by the server (code ${code}) at ${new Date().toISOString()} after ${seen.size} readings`;
  });
  socket.on('message', (data) => {
    const now = Date.now();
    const text = data.toString();
    if (!wanted(text)) return;
    const frame = JSON.parse(text) as Record<string, unknown>;
    onFrame?.(frame);
    const r = pick(frame);
    if (!r || seen.has(r.key)) return;
    seen.add(r.key);
    if (r.untimed) return;
    const at = Date.parse(r.ts);
    latencies.push(now - at);
    timeline.push([at, now - at]);
  });
  return {
    delivered: () => seen.size,
    latencies: () => latencies,
    timeline: () => timeline,
    closedEarly: () => closedEarly,
    close: () => {
      closing = true;
      socket.close();
    },
  };
}

async function open(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return socket;
}

/**
 * vw's console feed: hello with a token, subscribe to each ward, then every `reading` frame. Readings
 * of `notTimed` devices are counted but not timed: a watch stamps each sample with when it was taken,
 * up to a batch interval before it publishes, so their latency would measure the watch's batching.
 *
 * With `reconnectAfterMs`, a console the server closes opens again after that long, as the real
 * console does (a long soak would otherwise lose its latency at the first disconnection); readings
 * sent while it was away are not timed, and `closedEarly` says how often it happened.
 */
export async function vwConsole(
  httpUrl: string,
  token: string,
  wardIds: readonly string[],
  notTimed: ReadonlySet<string> = new Set(),
  options: { reconnectAfterMs?: number } = {},
): Promise<LatencyCollector> {
  if (options.reconnectAfterMs === undefined) return vwConsoleOnce(httpUrl, token, wardIds, notTimed);
  const reconnectAfterMs = options.reconnectAfterMs;
  const shared: Seen = { seen: new Set(), latencies: [], timeline: [] };
  let current = await vwConsoleOnce(httpUrl, token, wardIds, notTimed, shared);
  const closures: string[] = [];
  let closing = false;
  let timer: NodeJS.Timeout | undefined;
  const watch = setInterval(() => {
    const closed = current.closedEarly();
    if (!closed || closing || timer) return;
    closures.push(closed);
    timer = setTimeout(() => {
      void vwConsoleOnce(httpUrl, token, wardIds, notTimed, shared)
        .then((c) => {
          if (closing) c.close();
          else current = c;
        })
        .catch((error: Error) => closures.push(`reconnect failed: ${error.message}`))
        .finally(() => (timer = undefined));
    }, reconnectAfterMs);
  }, 250);
  return {
    delivered: () => shared.seen.size,
    latencies: () => shared.latencies,
    timeline: () => shared.timeline,
    closedEarly: () => {
      const now = current.closedEarly();
      const all = now && !closures.includes(now) ? [...closures, now] : closures;
      if (!all.length) return undefined;
      const what = (c: string) => c.replace(/^closed by the server /, '');
      return `closed by the server ${all.length} time${all.length === 1 ? '' : 's'} (${all.length === 1 ? what(all[0]!) : `first ${what(all[0]!)}, last ${what(all.at(-1)!)}`}) and reopened after ${reconnectAfterMs / 1000} s each time`;
    },
    close: () => {
      closing = true;
      clearInterval(watch);
      if (timer) clearTimeout(timer);
      current.close();
    },
  };
}

async function vwConsoleOnce(httpUrl: string, token: string, wardIds: readonly string[], notTimed: ReadonlySet<string>, shared?: Seen): Promise<LatencyCollector> {
  const socket = await open(`${httpUrl.replace(/^http/, 'ws')}/feed`);
  let snapshots = 0;
  let ready: () => void = () => {};
  const subscribed = new Promise<void>((resolve) => (ready = resolve));
  const c = collector(
    socket,
    (f) => {
      if (f.type !== 'reading') return undefined;
      const r = f.reading as { readingId: string; ts: string; deviceId: string };
      return { key: r.readingId, ts: r.ts, ...(notTimed.has(r.deviceId) ? { untimed: true } : {}) };
    },
    (f) => {
      if (f.type === 'snapshot' && ++snapshots === wardIds.length) ready();
    },
    (text) => text.startsWith('{"type":"reading"') || text.startsWith('{"type":"snapshot"'),
    shared,
  );
  socket.send(JSON.stringify({ type: 'hello', token }));
  for (const wardId of wardIds) socket.send(JSON.stringify({ type: 'subscribe', wardId }));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([subscribed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`console: ${snapshots} of ${wardIds.length} ward snapshots in 300 s`)), 300_000)))]);
  clearTimeout(timer);
  return c;
}

/** The Node-RED peer's WebSocket: one message per scored reading. */
export async function peerConsole(wsUrl: string): Promise<LatencyCollector> {
  const socket = await open(wsUrl);
  return collector(socket, (f) => (typeof f.deviceId === 'string' && typeof f.ts === 'string' && typeof f.type === 'string' ? { key: `${f.deviceId}|${f.type}|${f.ts}`, ts: f.ts } : undefined));
}
