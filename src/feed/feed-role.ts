import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Bus, Subscription } from '../bus/bus.ts';
import { on } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import { TERMINAL_REFERRAL_STATES, type AlertAction, type AlertEvidence, type ReferralAction } from '../domain/index.ts';
import type { RouteCatalogue } from '../referrals/routes-file.ts';
import type { ChartBands } from './chart-bands.ts';
import type { Logger } from '../observability/logger.ts';
import { secondsSince, type Metrics } from '../observability/metrics.ts';
import type { EnrolmentChange, Registry } from '../registry/registry.ts';
import { WARD_LEAD_ROLE } from '../flow/http-api.ts';
import type { TimeSeriesStore } from '../store/store.ts';
import type { ConsoleUser, TokenAuthority } from './auth.ts';
import { ClientFrame, type ServerFrame } from './protocol.ts';
import { createSettingsChanges } from './settings-changes.ts';
import { createWardView } from './ward-view.ts';
import { createCapacityBoard } from '../capacity/board.ts';

const MAX_FRAME_BYTES = 64 * 1024;
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
  const settingsChanges = createSettingsChanges({ bus, registry, view, metrics, logger: log });
  const sessions = new Set<Session>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const group = `vw-feed-${deps.instanceId ?? randomUUID()}`;

  function send(session: Session, frame: ServerFrame): boolean {
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
    const now = Date.now();
    for (const session of sessions) {
      if (!session.wards.has(wardId)) continue;
      // A console whose token has expired gets nothing more: it is told, and closed.
      if (session.user && session.user.expiresAt <= now) {
        refuse(session, 'unauthorized', 'token expired');
        session.wards.clear();
        continue;
      }
      if (send(session, frame)) delivered++;
    }
    return delivered;
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
    session.socket.close(4401, code);
  }

  async function onFrame(session: Session, frame: ClientFrame): Promise<void> {
    if (frame.type === 'hello') {
      const user = await tokens.verify(frame.token);
      if (!user) return refuse(session, 'unauthorized', 'token missing, invalid or expired');
      // A new token starts afresh: wards the previous one granted are not carried over.
      session.user = user;
      session.wards.clear();
      const wards = [...user.wards].flatMap((id) => {
        const ward = registry.ward(id);
        return ward ? [{ wardId: id, name: ward.name }] : [];
      });
      send(session, { type: 'welcome', user: user.user, roles: [...user.roles], wardLead: user.roles.has(WARD_LEAD_ROLE), wards });
      return;
    }
    const user = session.user;
    if (!user) return refuse(session, 'unauthorized', 'send hello with a token first');
    if (user.expiresAt <= Date.now()) return refuse(session, 'unauthorized', 'token expired');

    switch (frame.type) {
      case 'subscribe': {
        if (!user.wards.has(frame.wardId) || !registry.ward(frame.wardId)) {
          metrics.feedAuthFailures.inc({ reason: 'forbidden' });
          send(session, { type: 'error', code: 'forbidden', message: 'this ward is not in your token' });
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
          send(session, { type: 'error', code: 'not_found', message: 'no such alert on your wards' });
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
          send(session, { type: 'error', code: 'not_found', message: 'no such patient on your wards' });
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
          send(session, { type: 'error', code: 'not_found', message: 'no such patient on your wards' });
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
          send(session, { type: 'error', code: 'not_found', message: 'no such referral on your wards' });
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
      send(session, { type: 'error', code: 'not_found', message: 'no such patient on your wards' });
      return;
    }
    const alert = frame.alertId ? view.alert(frame.alertId) : undefined;
    if (frame.alertId && (!alert || alert.patientId !== frame.patientId || !user.wards.has(view.wardFor(alert)))) {
      send(session, { type: 'error', code: 'not_found', message: 'no such alert for this patient on your wards' });
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
    const session: Session = { socket, wards: new Set(), buckets: {} };
    sessions.add(session);
    metrics.feedConnections.inc();
    const helloTimer = setTimeout(() => {
      if (!session.user) refuse(session, 'unauthorized', 'no hello received in time');
    }, deps.helloTimeoutMs);
    // Frames are handled one at a time so a subscribe's snapshot precedes later frames' replies.
    let queue = Promise.resolve();
    socket.on('message', (data, isBinary) => {
      queue = queue.then(async () => {
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
      });
    });
    socket.on('close', () => {
      clearTimeout(helloTimer);
      sessions.delete(session);
      metrics.feedConnections.dec();
    });
    socket.on('error', (error) => log.warn({ err: error }, 'console socket error'));
  });

  const subscriptions: Subscription[] = [
    // State first, from the start of the retained streams, so snapshots show alerts raised before this process started.
    await bus.consume({
      groupId: `${group}-state`,
      fromBeginning: true,
      topics: [
        on(Topics.alerts, async ({ value: alert }) => {
          if (!view.applyAlert(alert)) {
            metrics.duplicatesAbsorbed.inc({ stage: 'feed-alert' });
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
      fromBeginning: true,
      topics: [
        on(Topics.capacity, async ({ value: snapshot }) => {
          for (const ward of capacity.apply(snapshot)) broadcast(ward.wardId, { type: 'capacity', wardId: ward.wardId, capacity: capacity.forWard(ward.wardId) });
        }),
      ],
    }),
    await bus.consume({
      groupId: `${group}-live`,
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
      await Promise.all(subscriptions.map((s) => s.stop()));
      for (const session of sessions) session.socket.close(1001, 'server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
export type FeedRole = Awaited<ReturnType<typeof startFeedRole>>;
