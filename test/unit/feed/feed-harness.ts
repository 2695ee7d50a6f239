import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { on, type Bus, type TopicSpec } from '../../../src/bus/bus.ts';
import { createMemoryBus } from '../../../src/bus/memory-bus.ts';
import { Topics } from '../../../src/bus/topics.ts';
import { RegistryData, type Alert, type Reading, type Referral } from '../../../src/domain/index.ts';
import { createTokenAuthority } from '../../../src/feed/auth.ts';
import { startFeedRole, type FeedRole } from '../../../src/feed/feed-role.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { createRouteCatalogue, loadReferralRoutes } from '../../../src/referrals/routes-file.ts';
import { createRegistry } from '../../../src/registry/registry.ts';
import { createMemoryStore } from '../../../src/store/memory-store.ts';
import { connectConsole, isType } from '../../support/console-client.ts';

/**
 * The in-process feed role on a memory bus, for the feed's session and authorisation tests: two wards,
 * p1 on ward one, p2 on ward two, p9 registered but on no ward.
 */
export const registryData = () =>
  RegistryData.parse({
    wards: [
      { wardId: 'w1', name: 'Ward One', organisation: 'RXX', capacity: 10 },
      { wardId: 'w2', name: 'Ward Two', organisation: 'RXX', capacity: 10 },
    ],
    patients: [
      { patientId: 'p1', displayName: 'P One', spo2Scale: 1 },
      { patientId: 'p2', displayName: 'P Two', spo2Scale: 1 },
      { patientId: 'p9', displayName: 'P Nine', spo2Scale: 1 },
    ],
    devices: [
      { deviceId: 'd1', kind: 'pulse_oximeter' },
      { deviceId: 'd2', kind: 'pulse_oximeter' },
    ],
    enrolments: [
      { deviceId: 'd1', patientId: 'p1', wardId: 'w1', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
      { deviceId: 'd2', patientId: 'p2', wardId: 'w2', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
    ],
  });

const WARD_OF: Record<string, string> = { p1: 'w1', p2: 'w2' };
const DEVICE_OF: Record<string, string> = { p1: 'd1', p2: 'd2' };

let readingSeq = 0;
export function reading(patientId: 'p1' | 'p2', value: number, at = new Date()): Reading {
  const ts = at.toISOString();
  return { readingId: `r-${patientId}-${++readingSeq}`, patientId, wardId: WARD_OF[patientId]!, deviceId: DEVICE_OF[patientId]!, type: 'heart_rate', value, unit: '/min', ts, receivedAt: ts };
}

export function alert(alertId: string, patientId: string, wardId: string): Alert {
  const at = new Date(Date.now() - 60_000).toISOString();
  return {
    alertId, patientId, wardId, cause: 'news2', ruleId: 'news2', ruleVersion: '1.0.0', severity: 'high', state: 'open', revision: 1,
    raisedAt: at, updatedAt: at, eventTs: at, score: 7, partial: false, explanation: 'NEWS2 7', response: 'Review now', evidence: [],
    history: [{ state: 'open', at, by: 'rules' }], receivedAt: at,
  };
}

export function referral(referralId: string, patientId: string, wardId: string): Referral {
  const at = new Date(Date.now() - 60_000).toISOString();
  return {
    referralId, patientId, wardId, route: 'urgent-community-response', routeTitle: 'Urgent community response', routesVersion: '1.0.0', priority: 'urgent',
    urgency: 'within 2 hours', alertIds: [], reason: 'Deteriorating', evidence: [], requestedBy: 'nurse.a', requestedAt: at, state: 'sent', revision: 1,
    updatedAt: at, history: [{ state: 'requested', at, by: 'nurse.a' }], delivery: { status: 'delivered', attempts: 1 },
  };
}

export type TestConsole = Awaited<ReturnType<typeof connectConsole>>;

export async function startTestFeed(options: { bus?: Bus; helloTimeoutMs?: number } = {}) {
  const bus = options.bus ?? createMemoryBus({ partitions: 1 });
  const registry = createRegistry(registryData());
  const store = createMemoryStore({ retentionHours: 24, maxPointsPerSeries: 1000 });
  const tokens = createTokenAuthority({ secret: 'feed-harness-secret-feed-harness-secret', issuer: 'vw' });
  const routes = createRouteCatalogue(await loadReferralRoutes('rules/referral-routes.yaml'));
  const feed: FeedRole = await startFeedRole({
    bus,
    store,
    registry,
    tokens,
    metrics: createMetrics(),
    logger: createLogger({ level: 'silent' }),
    helloTimeoutMs: options.helloTimeoutMs ?? 5_000,
    capacityStaleSeconds: 1800,
    routes,
    instanceId: 'feed-harness',
  });
  const server: Server = createServer();
  server.on('upgrade', (request, socket, head) => feed.handleUpgrade(request, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const consoles: TestConsole[] = [];
  const raw: WebSocket[] = [];

  /** A console signed in as `sub` with `wards`, subscribed to `subscribeTo` (each answered with its snapshot). */
  async function open(sub: string, wards: string[], subscribeTo: string[] = [], ttlSeconds?: number) {
    const client = await connectConsole(url);
    consoles.push(client);
    client.send({ type: 'hello', token: await tokens.issue({ sub, wards }, ttlSeconds) });
    const welcome = await client.waitFor(isType('welcome'));
    for (const wardId of subscribeTo) {
      client.send({ type: 'subscribe', wardId });
      await client.waitFor((f): f is Extract<typeof f, { type: 'snapshot' }> => f.type === 'snapshot' && f.wardId === wardId);
    }
    return { client, welcome };
  }

  /** A bare socket, for what the console client does not show (close reasons). */
  async function openRaw() {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/feed`);
    raw.push(socket);
    const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return { socket, closed };
  }

  /** Every record a topic receives from now on (and before: from the beginning), in topic order. */
  async function record<T>(topic: TopicSpec<T>): Promise<T[]> {
    const got: T[] = [];
    await bus.consume({ groupId: `test-recorder-${topic.name}`, fromBeginning: true, topics: [on(topic, async ({ value }) => void got.push(value))] });
    return got;
  }

  /** Alerts a1 (p1, ward one) and a2 (p2, ward two), and a referral of each, known to the feed. */
  async function seedRecords() {
    const { client } = await open('seeder', ['w1', 'w2'], ['w1', 'w2']);
    await bus.publish(Topics.alerts, [
      { key: 'p1', value: alert('a1', 'p1', 'w1') },
      { key: 'p2', value: alert('a2', 'p2', 'w2') },
    ]);
    await bus.publish(Topics.referrals, [
      { key: 'p1', value: referral('ref-w1-0001', 'p1', 'w1') },
      { key: 'p2', value: referral('ref-w2-0002', 'p2', 'w2') },
    ]);
    await client.waitFor((f): f is Extract<typeof f, { type: 'referral' }> => f.type === 'referral' && f.referral.referralId === 'ref-w2-0002');
    await client.waitFor((f): f is Extract<typeof f, { type: 'alert' }> => f.type === 'alert' && f.alert.alertId === 'a2');
    client.close();
  }

  return {
    bus,
    store,
    registry,
    tokens,
    feed,
    url,
    open,
    openRaw,
    record,
    seedRecords,
    async stop() {
      for (const c of consoles) c.close();
      for (const s of raw) s.terminate();
      await feed.stop();
      await new Promise((resolve) => server.close(resolve));
      await bus.close();
    },
  };
}
export type TestFeed = Awaited<ReturnType<typeof startTestFeed>>;

/** Sends a frame and resolves with the first frame received after it (the console's answer, when nothing else is sent to it). */
export async function answerTo(client: TestConsole, frame: unknown) {
  const before = client.frames.length;
  client.send(frame);
  await client.waitFor((f): f is typeof f => client.frames.indexOf(f) >= before);
  return client.frames[before]!;
}
