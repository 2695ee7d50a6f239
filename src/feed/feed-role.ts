import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Bus, BusGap, Subscription } from '../bus/bus.ts';
import { on } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import { TERMINAL_REFERRAL_STATES, type AlertAction, type AlertEvidence, type ReferralAction } from '../domain/index.ts';
import type { RouteCatalogue } from '../referrals/routes-file.ts';
import type { ChartBands } from './chart-bands.ts';
import type { Logger } from '../observability/logger.ts';
import { registerHeldGauges, secondsSince, type Metrics } from '../observability/metrics.ts';
import type { EnrolmentChange, Registry } from '../registry/registry.ts';
import { WARD_LEAD_ROLE } from '../flow/http-api.ts';
import type { TimeSeriesStore } from '../store/store.ts';
import type { ConsoleUser, TokenAuthority } from './auth.ts';
import { ClientFrame, type ServerFrame } from './protocol.ts';
import { createSettingsChanges } from './settings-changes.ts';
import { createWardView } from './ward-view.ts';
import { createCapacityBoard } from '../capacity/board.ts';

/** The largest frame a console may send (ws closes the socket with 1009 beyond it); the largest real one, a settings change, is about 20 KiB. */
const MAX_FRAME_BYTES = 64 * 1024;
/**
 * Frames a console may send: a burst of FRAME_BURST, refilled at FRAME_RATE a second. The burst lets a
 * console sign in and subscribe to 50 wards at once (the largest load-test deployment's console does).
 */
const FRAME_RATE = 20;
const FRAME_BURST = 64;
/** Frames received and not yet answered (a settings change waits up to 10 s for its confirmation). */
const MAX_PENDING_FRAMES = 64;
/** A console that keeps sending past its limit (this many frames refused within the window) is closed with 1008. */
const MAX_REFUSED_FRAMES = 100;
const REFUSED_WINDOW_MS = 10_000;
/** Close codes: an expired token (the console asks the user to sign in again), and a console that would not slow down. */
export const CLOSE_TOKEN_EXPIRED = 4001;
export const CLOSE_POLICY_VIOLATION = 1008;
/** After records were dropped unread, consoles get fresh snapshots: gaps this close together share one round. */
const GAP_SETTLE_MS = 100;
const GAP_MIN_INTERVAL_MS = 1_000;
/** A console this far behind is cut off; it reconnects and starts again from a snapshot. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const DEFAULT_SERIES_MS = 6 * 3600_000;
/** An admission or transfer dated further ahead than this reaches consoles with their next snapshot. */
const MAX_ROSTER_DELAY_MS = 24 * 3600_000;

interface Session {
  socket: WebSocket;
  user?: ConsoleUser;
  wards: Set<string>;
  buckets: Partial<Record<'refer' | 'handoverNote', { tokens: number; at: number }>>;
  /** Closes the session when its token expires, unless a `refresh` moves it on. */
  expiryTimer?: NodeJS.Timeout;
  /** The token expired (or the console was closed for cause): nothing more is sent. */
  ended?: boolean;
  /** Every frame the console sends: FRAME_BURST, refilled at FRAME_RATE a second. */
  frames: { tokens: number; at: number };
  /** Frames refused for the rate in the current window, and when the console was last told. */
  refused: { since: number; count: number; toldAt: number };
  /** Frames received and not yet handled. */
  pending: number;
}

/**
 * The feed role: the ward consoles' WebSocket. Each console proves who it is with a token, may
 * subscribe only to wards the token grants, gets a snapshot and then live deltas, and can act on
 * alerts; actions go to the rules role over the bus, and the resulting alert comes back as a delta.
 * A patient's alerts, referrals, notifications and handover notes are shown, and acted on, on the
 * ward the patient is on now (the ward they were raised on once the patient is on none): they follow
 * a transfer.
 * Clinicians also change patients' settings here: a new version goes on the settings topic and, once
 * applied in order, to every console on the patient's ward. When an admission, transfer or discharge
 * changes who is on a ward, its consoles get a `roster` of the ward.
 */
export async function startFeedRole(deps: {
  bus: Bus;
  store: TimeSeriesStore;
  registry: Registry;
  tokens: TokenAuthority;
  metrics: Metrics;
  logger: Logger;
  helloTimeoutMs: number;
  /** Capacity snapshots older than this are shown as stale. */
  capacityStaleSeconds: number;
  /** Referral routes (rules/referral-routes.yaml). */
  routes: RouteCatalogue;
  /** Bands shaded behind consoles' charts, from the NEWS2 rule. */
  chartBands?: ChartBands;
  /** Distinguishes this process's consumer group: every feed instance needs every record. */
  instanceId?: string;
}) {
  const { bus, store, registry, tokens, metrics } = deps;
  const log = deps.logger.child({ role: 'feed' });
  const capacity = createCapacityBoard({ registry, staleAfterSeconds: deps.capacityStaleSeconds });
  const view = createWardView({ registry, store, capacity, routes: deps.routes, ...(deps.chartBands ? { chartBands: deps.chartBands } : {}) });
  registerHeldGauges(metrics, { feed: view });
  const settingsChanges = createSettingsChanges({ bus, registry, view, metrics, logger: log });
  const sessions = new Set<Session>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const group = `vw-feed-${deps.instanceId ?? randomUUID()}`;

  function send(session: Session, frame: ServerFrame): boolean {
    if (session.ended || session.socket.readyState !== session.socket.OPEN) return false;
    // Nothing reaches a console after its token expires, whatever the timer's lateness.
    if (session.user && session.user.expiresAt <= Date.now()) {
      expire(session);
      return false;
    }
    return write(session, frame);
  }

  function write(session: Session, frame: ServerFrame): boolean {
    if (session.socket.readyState !== session.socket.OPEN) return false;
    // Judged at a turn's first frame: frames held back within the turn are not the console's backlog.
    if (!corked.has(session.socket) && session.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      log.warn({ user: session.user?.user }, 'console too slow; disconnecting it');
      session.socket.terminate();
      return false;
    }
    holdWritesUntilImmediate(session.socket);
    session.socket.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Frames sent in one turn of the event loop (a bus batch's readings and scores) leave in one socket
   * write instead of one system call per frame: the socket is corked until the next setImmediate.
   */
  const corked = new Set<WebSocket>();
  /** ws has no public cork: its underlying socket is the one field this reaches into. */
  const rawSocket = (socket: WebSocket) => (socket as unknown as { _socket?: Duplex })._socket;
  function holdWritesUntilImmediate(socket: WebSocket): void {
    const raw = rawSocket(socket);
    if (!raw || corked.has(socket)) return;
    raw.cork();
    corked.add(socket);
    if (corked.size === 1) {
      setImmediate(() => {
        for (const s of corked) rawSocket(s)?.uncork();
        corked.clear();
      });
    }
  }

  /**
   * A ward's snapshots and rosters are built and sent one at a time, in order: a roster never reaches
   * a console ahead of a snapshot built before its change, nor an older roster after a newer one.
   */
  const wardQueues = new Map<string, Promise<void>>();
  function inWardOrder(wardId: string, task: () => Promise<void>): Promise<void> {
    const done = (wardQueues.get(wardId) ?? Promise.resolve()).then(task);
    const settled = done.catch(() => undefined);
    wardQueues.set(wardId, settled);
    void settled.then(() => {
      if (wardQueues.get(wardId) === settled) wardQueues.delete(wardId);
    });
    return done;
  }

  /**
   * After an admission, transfer or discharge (the registry follows the flow topic, and this process's
   * own flow API), each ward it changed gets a roster: the patient appears or leaves on its consoles
   * without a reload. A change dated ahead is sent when it takes effect.
   */
  const rosterTimers = new Set<NodeJS.Timeout>();
  let stopping = false;
  function pushRosters(change: EnrolmentChange): void {
    if (stopping) return;
    const due = Date.parse(change.at) - Date.now();
    if (due > 0) {
      if (due > MAX_ROSTER_DELAY_MS) return;
      const timer = setTimeout(() => {
        rosterTimers.delete(timer);
        pushRosters({ ...change, at: new Date().toISOString() });
      }, due + 10);
      rosterTimers.add(timer);
      return;
    }
    for (const wardId of new Set(change.wardIds)) {
      inWardOrder(wardId, async () => {
        if (![...sessions].some((s) => s.wards.has(wardId))) return;
        broadcast(wardId, await view.roster(wardId, [change.patientId]));
        // The beds in use changed with it.
        broadcast(wardId, { type: 'capacity', wardId, capacity: capacity.forWard(wardId) });
      }).catch((error: unknown) => log.warn({ err: error, wardId }, 'could not send a ward roster; its consoles catch up at their next snapshot'));
    }
  }

  function broadcast(wardId: string, frame: ServerFrame): number {
    let delivered = 0;
    for (const session of sessions) {
      // send() closes a console whose token has expired instead.
      if (session.wards.has(wardId) && send(session, frame)) delivered++;
    }
    return delivered;
  }

  /**
   * A console whose token has expired gets nothing more: it is told, and closed with 4001 so it asks
   * the user to sign in again. Called by the session's timer at `expiresAt`, and by send() and the frame
   * handler should that timer run late.
   */
  function expire(session: Session): void {
    if (session.ended) return;
    session.ended = true;
    clearTimeout(session.expiryTimer);
    session.wards.clear();
    metrics.feedAuthFailures.inc({ reason: 'expired' });
    write(session, { type: 'error', code: 'unauthorized', message: 'token expired' });
    session.socket.close(CLOSE_TOKEN_EXPIRED, 'token expired');
  }

  /** (Re)arms the session's expiry timer for its token's `expiresAt`. */
  function armExpiry(session: Session): void {
    clearTimeout(session.expiryTimer);
    const user = session.user;
    if (!user) return;
    // setTimeout holds at most 2^31-1 ms (24.8 days): a longer token is re-armed when that passes.
    const due = Math.min(user.expiresAt - Date.now(), 2 ** 31 - 1);
    session.expiryTimer = setTimeout(() => {
      if (session.user !== user) return;
      if (user.expiresAt <= Date.now()) expire(session);
      else armExpiry(session);
    }, Math.max(0, due));
  }

  /**
   * Every frame a console sends is counted against a token bucket (FRAME_BURST, refilled at FRAME_RATE
   * a second) and against the frames it has waiting. A frame beyond either is not handled: the console
   * hears `rate_limited` (at most once a second), and one that keeps on is closed with 1008.
   */
  function admitFrame(session: Session): boolean {
    const now = Date.now();
    const bucket = session.frames;
    bucket.tokens = Math.min(FRAME_BURST, bucket.tokens + ((now - bucket.at) * FRAME_RATE) / 1000);
    bucket.at = now;
    if (bucket.tokens >= 1 && session.pending < MAX_PENDING_FRAMES) {
      bucket.tokens -= 1;
      return true;
    }
    const refused = session.refused;
    if (now - refused.since > REFUSED_WINDOW_MS) {
      refused.since = now;
      refused.count = 0;
    }
    refused.count++;
    if (refused.count > MAX_REFUSED_FRAMES) {
      if (!session.ended) {
        session.ended = true;
        clearTimeout(session.expiryTimer);
        session.wards.clear();
        log.warn({ user: session.user?.user }, 'console kept sending frames beyond its rate limit; closing it');
        metrics.feedAuthFailures.inc({ reason: 'rate_limited' });
        session.socket.close(CLOSE_POLICY_VIOLATION, 'too many frames');
      }
      return false;
    }
    if (now - refused.toldAt >= 1000) {
      refused.toldAt = now;
      send(session, { type: 'error', code: 'rate_limited', message: 'too many frames from this console: slow down' });
    }
    return false;
  }

  /**
   * Records dropped before the feed read them (the in-process bus bounds each partition) leave holes in
   * what consoles were sent. Which wards they were about cannot be known (they are gone), so every ward
   * with a console gets a fresh snapshot, marked `missedUpdates`. Gaps close together share one round,
   * and rounds are at least GAP_MIN_INTERVAL_MS apart, so a sustained overload is not made worse.
   */
  let gapTimer: NodeJS.Timeout | undefined;
  let lastGapRound = 0;
  function onGap(gap: BusGap): void {
    log.warn({ topic: gap.topic, partition: gap.partition, records: gap.records }, 'records dropped before the feed read them; consoles get a fresh snapshot');
    if (stopping || gapTimer) return;
    const wait = Math.max(GAP_SETTLE_MS, lastGapRound + GAP_MIN_INTERVAL_MS - Date.now());
    gapTimer = setTimeout(() => {
      gapTimer = undefined;
      lastGapRound = Date.now();
      const wards = new Set([...sessions].flatMap((s) => [...s.wards]));
      for (const wardId of wards) {
        inWardOrder(wardId, async () => {
          if (![...sessions].some((s) => s.wards.has(wardId))) return;
          broadcast(wardId, { ...(await view.snapshot(wardId)), missedUpdates: true });
        }).catch((error: unknown) => log.warn({ err: error, wardId }, 'could not send a fresh snapshot after missed records'));
      }
    }, wait);
  }

  /**
   * Actions that send something outside vw or keep something for ever are rate limited per console:
   * a burst of `burst`, then one every `everyMs`.
   */
  const LIMITS = { refer: { burst: 5, everyMs: 60_000 }, handoverNote: { burst: 10, everyMs: 30_000 } } as const;
  function allowed(session: Session, kind: keyof typeof LIMITS): boolean {
    const { burst, everyMs } = LIMITS[kind];
    const now = Date.now();
    const bucket = (session.buckets[kind] ??= { tokens: burst, at: now });
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) / everyMs);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  function refuse(session: Session, code: 'unauthorized', message: string): void {
    metrics.feedAuthFailures.inc({ reason: code });
    send(session, { type: 'error', code, message });
    session.ended = true;
    clearTimeout(session.expiryTimer);
    session.wards.clear();
    session.socket.close(4401, code);
  }

  /** The token's wards the registry knows, as the welcome lists them. */
  function grantedWards(user: ConsoleUser): Array<{ wardId: string; name: string }> {
    return [...user.wards].flatMap((id) => {
      const ward = registry.ward(id);
      return ward ? [{ wardId: id, name: ward.name }] : [];
    });
  }

  /**
   * What a console hears for a ward, alert, referral or patient it may not see: the same whether the
   * thing does not exist or is on a ward not in the token, so an answer reveals nothing of other wards.
   */
  const NOT_YOURS = {
    ward: { type: 'error', code: 'forbidden', message: 'this ward is not in your token' },
    alert: { type: 'error', code: 'not_found', message: 'no such alert on your wards' },
    patient: { type: 'error', code: 'not_found', message: 'no such patient on your wards' },
    patientAlert: { type: 'error', code: 'not_found', message: 'no such alert for this patient on your wards' },
    referral: { type: 'error', code: 'not_found', message: 'no such referral on your wards' },
  } as const satisfies Record<string, ServerFrame>;

  async function onFrame(session: Session, frame: ClientFrame): Promise<void> {
    if (frame.type === 'hello') {
      const user = await tokens.verify(frame.token);
      if (!user) return refuse(session, 'unauthorized', 'token missing, invalid or expired');
      // A new token starts afresh: wards the previous one granted are not carried over.
      session.user = user;
      session.wards.clear();
      armExpiry(session);
      send(session, { type: 'welcome', user: user.user, roles: [...user.roles], wardLead: user.roles.has(WARD_LEAD_ROLE), wards: grantedWards(user), expiresAt: new Date(user.expiresAt).toISOString() });
      return;
    }
    const user = session.user;
    if (!user) return refuse(session, 'unauthorized', 'send hello with a token first');
    if (user.expiresAt <= Date.now()) return expire(session);

    switch (frame.type) {
      case 'refresh': {
        // The same user with a fresh token (from the deployment's sign-in): the session goes on.
        const fresh = await tokens.verify(frame.token);
        if (!fresh) return refuse(session, 'unauthorized', 'token missing, invalid or expired');
        if (fresh.user !== user.user) return refuse(session, 'unauthorized', 'a refreshed token must name the same user');
        if (session.ended) return;
        session.user = fresh;
        const dropped = [...session.wards].filter((wardId) => !fresh.wards.has(wardId) || !registry.ward(wardId));
        for (const wardId of dropped) session.wards.delete(wardId);
        armExpiry(session);
        send(session, {
          type: 'refreshed',
          user: fresh.user,
          roles: [...fresh.roles],
          wardLead: fresh.roles.has(WARD_LEAD_ROLE),
          wards: grantedWards(fresh),
          expiresAt: new Date(fresh.expiresAt).toISOString(),
          dropped,
        });
        return;
      }
      case 'subscribe': {
        if (!user.wards.has(frame.wardId) || !registry.ward(frame.wardId)) {
          metrics.feedAuthFailures.inc({ reason: 'forbidden' });
          send(session, NOT_YOURS.ward);
          return;
        }
        session.wards.add(frame.wardId);
        const wardId = frame.wardId;
        await inWardOrder(wardId, async () => {
          send(session, await view.snapshot(wardId));
        });
        return;
      }
      case 'unsubscribe':
        session.wards.delete(frame.wardId);
        return;
      case 'acknowledge':
      case 'resolve': {
        const alert = view.alert(frame.alertId);
        // The alert is acted on where it is shown: the patient's ward now (view.wardFor), not
        // necessarily the ward it was raised on. Alerts on wards the user cannot see are reported as
        // absent, so their existence does not leak.
        if (!alert || !user.wards.has(view.wardFor(alert))) {
          send(session, NOT_YOURS.alert);
          return;
        }
        const action: AlertAction = {
          actionId: randomUUID(),
          alertId: alert.alertId,
          patientId: alert.patientId,
          wardId: alert.wardId,
          action: frame.type,
          by: user.user,
          at: new Date().toISOString(),
          ...(frame.note ? { note: frame.note } : {}),
        };
        await bus.publish(Topics.alertActions, [{ key: alert.patientId, value: action }]);
        send(session, { type: 'accepted', alertId: alert.alertId, actionId: action.actionId });
        return;
      }
      case 'series': {
        const wardId = registry.wardOf(frame.patientId, new Date());
        if (!wardId || !user.wards.has(wardId)) {
          send(session, NOT_YOURS.patient);
          return;
        }
        const since = frame.since ? new Date(frame.since) : new Date(Date.now() - DEFAULT_SERIES_MS);
        const points =
          frame.readingType === 'news2'
            ? (await store.scores(frame.patientId, { since, limit: 2000 })).filter((s) => !s.partial).map((s) => ({ ts: s.ts, value: s.total }))
            : await store.series(frame.patientId, frame.readingType, { since, limit: 2000 });
        send(session, { type: 'series', patientId: frame.patientId, readingType: frame.readingType, points });
        return;
      }
      case 'settings':
        send(session, await settingsChanges.change(user, frame));
        return;
      case 'settingsHistory':
        send(session, settingsChanges.history(user, frame.patientId));
        return;
      case 'refer':
        if (!allowed(session, 'refer')) {
          send(session, { type: 'error', code: 'rate_limited', message: 'too many referrals from this console in a short time; wait a minute' });
          return;
        }
        return refer(session, user, frame);
      case 'handoverNote': {
        if (!allowed(session, 'handoverNote')) {
          send(session, { type: 'error', code: 'rate_limited', message: 'too many notes from this console in a short time; wait a little' });
          return;
        }
        const wardId = registry.wardOf(frame.patientId, new Date());
        if (!wardId || !user.wards.has(wardId)) {
          send(session, NOT_YOURS.patient);
          return;
        }
        const note = { noteId: randomUUID(), patientId: frame.patientId, wardId, text: frame.text, by: user.user, at: new Date().toISOString() };
        await bus.publish(Topics.handoverNotes, [{ key: frame.patientId, value: note }]);
        send(session, { type: 'handoverNoteAccepted', noteId: note.noteId, patientId: frame.patientId });
        return;
      }
      case 'cancelReferral': {
        const referral = view.referral(frame.referralId);
        // As for alerts: the ward that shows the referral now (the patient's) may cancel it.
        if (!referral || !user.wards.has(view.wardFor(referral))) {
          send(session, NOT_YOURS.referral);
          return;
        }
        if (TERMINAL_REFERRAL_STATES.has(referral.state)) {
          send(session, { type: 'error', code: 'bad_frame', message: `the referral is already ${referral.state}` });
          return;
        }
        const action: ReferralAction = { action: 'cancel', actionId: randomUUID(), referralId: referral.referralId, patientId: referral.patientId, wardId: referral.wardId, by: user.user, at: new Date().toISOString(), note: frame.note };
        await bus.publish(Topics.referralActions, [{ key: referral.patientId, value: action }]);
        send(session, { type: 'referralAccepted', referralId: referral.referralId, patientId: referral.patientId });
        return;
      }
    }
  }

  /**
   * A clinician's referral: the route must be one the alert offers (or, from the patient, one of the
   * patient routes); the evidence is the alert's readings, or the patient's latest ones.
   */
  async function refer(session: Session, user: ConsoleUser, frame: Extract<ClientFrame, { type: 'refer' }>): Promise<void> {
    const wardId = registry.wardOf(frame.patientId, new Date());
    if (!wardId || !user.wards.has(wardId)) {
      send(session, NOT_YOURS.patient);
      return;
    }
    const alert = frame.alertId ? view.alert(frame.alertId) : undefined;
    if (frame.alertId && (!alert || alert.patientId !== frame.patientId || !user.wards.has(view.wardFor(alert)))) {
      send(session, NOT_YOURS.patientAlert);
      return;
    }
    const offered = alert ? view.routesFor(alert) : deps.routes.patientRoutes().map((r) => r.id);
    const route = deps.routes.route(frame.route);
    if (!route || !offered.includes(route.id)) {
      send(session, { type: 'error', code: 'bad_frame', message: `route ${frame.route} is not offered ${alert ? 'for this alert' : 'for this patient'}` });
      return;
    }
    let evidence: AlertEvidence[] = alert?.evidence ?? [];
    if (!alert) {
      const latest = await store.latest(frame.patientId);
      evidence = Object.values(latest).map((r) => ({ readingId: r.readingId, type: r.type, value: r.value, ts: r.ts, threshold: 'latest reading' }));
    }
    const referralId = randomUUID();
    const action: ReferralAction = {
      action: 'request',
      actionId: referralId,
      referralId,
      patientId: frame.patientId,
      wardId,
      by: user.user,
      at: new Date().toISOString(),
      route: route.id,
      routeTitle: route.title,
      routesVersion: deps.routes.version,
      priority: route.priority,
      urgency: route.urgency,
      alertIds: alert ? [alert.alertId] : [],
      reason: (frame.note || (alert ? alert.explanation : 'Referred from the virtual ward')).slice(0, 1000),
      evidence,
    };
    await bus.publish(Topics.referralActions, [{ key: frame.patientId, value: action }]);
    send(session, { type: 'referralAccepted', referralId, patientId: frame.patientId });
  }

  wss.on('connection', (socket) => {
    const session: Session = { socket, wards: new Set(), buckets: {}, frames: { tokens: FRAME_BURST, at: Date.now() }, refused: { since: 0, count: 0, toldAt: 0 }, pending: 0 };
    sessions.add(session);
    metrics.feedConnections.inc();
    const helloTimer = setTimeout(() => {
      if (!session.user) refuse(session, 'unauthorized', 'no hello received in time');
    }, deps.helloTimeoutMs);
    // Frames are handled one at a time so a subscribe's snapshot precedes later frames' replies.
    let queue = Promise.resolve();
    socket.on('message', (data, isBinary) => {
      if (session.ended || !admitFrame(session)) return;
      session.pending++;
      queue = queue.then(async () => {
        try {
          await handle(data, isBinary);
        } finally {
          session.pending--;
        }
      });
    });
    /** One frame, once it is its turn; nothing for a session already ended (an expired token). */
    async function handle(data: RawData, isBinary: boolean): Promise<void> {
      if (session.ended) return;
      let frame: ClientFrame;
      try {
        const parsed = ClientFrame.safeParse(JSON.parse(isBinary ? '' : data.toString()));
        if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'invalid frame');
        frame = parsed.data;
      } catch (error) {
        if (!session.user) return refuse(session, 'unauthorized', 'send hello with a token first');
        send(session, { type: 'error', code: 'bad_frame', message: (error as Error).message });
        return;
      }
      try {
        await onFrame(session, frame);
      } catch (error) {
        log.error({ err: error, frame: frame.type }, 'feed frame failed');
        send(session, { type: 'error', code: 'unavailable', message: 'could not complete the request; try again' });
      }
    }
    socket.on('close', () => {
      clearTimeout(helloTimer);
      clearTimeout(session.expiryTimer);
      session.ended = true;
      sessions.delete(session);
      metrics.feedConnections.dec();
    });
    socket.on('error', (error) => log.warn({ err: error }, 'console socket error'));
  });

  const subscriptions: Subscription[] = [
    // State first, from the start of the retained streams, so snapshots show alerts raised before this process started.
    await bus.consume({
      groupId: `${group}-state`,
      onGap,
      fromBeginning: true,
      topics: [
        on(Topics.alerts, async ({ value: alert }) => {
          if (!view.applyAlert(alert)) {
            // Not applied: a copy no newer than the one held, or resolved too long ago to be kept.
            if (view.alert(alert.alertId)) metrics.duplicatesAbsorbed.inc({ stage: 'feed-alert' });
            return;
          }
          // To the ward that shows the patient's alerts now: after a transfer, the new one.
          const wardId = view.wardFor(alert);
          if (broadcast(wardId, { type: 'alert', wardId, alert, routes: view.routesFor(alert) }) > 0) {
            metrics.pipelineLatency.observe({ stage: 'alert' }, secondsSince(alert.receivedAt));
          }
        }),
        on(Topics.scores, async ({ value: score }) => {
          if (view.applyScore(score)) broadcast(score.wardId, { type: 'score', wardId: score.wardId, score });
        }),
      ],
    }),
    // Referrals and notifications are keyed by patient too, but kept apart: their histories are long-lived.
    await bus.consume({
      groupId: `${group}-referrals`,
      onGap,
      fromBeginning: true,
      topics: [
        on(Topics.referrals, async ({ value: referral }) => {
          if (!view.applyReferral(referral)) return;
          const wardId = view.wardFor(referral);
          broadcast(wardId, { type: 'referral', wardId, referral });
        }),
        on(Topics.handoverNotes, async ({ value: note }) => {
          if (!view.applyNote(note)) return;
          const wardId = view.wardFor(note);
          broadcast(wardId, { type: 'handoverNote', wardId, note });
        }),
        on(Topics.notifications, async ({ value: notification }) => {
          if (!view.applyNotification(notification)) return;
          const wardId = view.wardFor(notification);
          broadcast(wardId, { type: 'notification', wardId, notification });
        }),
      ],
    }),
    // The whole audit log from the start: the current version per patient is the last one applied.
    await bus.consume({
      groupId: `${group}-settings`,
      onGap,
      fromBeginning: true,
      topics: [
        on(Topics.patientSettings, async (record) => {
          const applied = settingsChanges.onRecord(record);
          if (applied) broadcast(applied.wardId, { type: 'settings', wardId: applied.wardId, settings: applied });
        }),
      ],
    }),
    // Live capacity: a day back from the start, so consoles show the trend at once.
    await bus.consume({
      groupId: `${group}-capacity`,
      onGap,
      fromBeginning: true,
      topics: [
        on(Topics.capacity, async ({ value: snapshot }) => {
          for (const ward of capacity.apply(snapshot)) broadcast(ward.wardId, { type: 'capacity', wardId: ward.wardId, capacity: capacity.forWard(ward.wardId) });
        }),
      ],
    }),
    await bus.consume({
      groupId: `${group}-live`,
      onGap,
      topics: [
        on(Topics.readings, async ({ value: reading }) => {
          if (broadcast(reading.wardId, { type: 'reading', wardId: reading.wardId, reading }) > 0) {
            metrics.pipelineLatency.observe({ stage: 'feed' }, secondsSince(reading.receivedAt));
          }
        }),
      ],
    }),
  ];
  const stopFollowingEnrolments = registry.onEnrolmentChange(pushRosters);
  log.info('feed role consuming');

  return {
    /** Hands an HTTP upgrade on the feed path to the WebSocket server. */
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
    },
    connections: () => sessions.size,
    async stop(): Promise<void> {
      stopping = true;
      stopFollowingEnrolments();
      for (const timer of rosterTimers) clearTimeout(timer);
      rosterTimers.clear();
      clearTimeout(gapTimer);
      for (const session of sessions) clearTimeout(session.expiryTimer);
      await Promise.all(subscriptions.map((s) => s.stop()));
      for (const session of sessions) session.socket.close(1001, 'server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
export type FeedRole = Awaited<ReturnType<typeof startFeedRole>>;
