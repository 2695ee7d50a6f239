import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../../src/bus/memory-bus.ts';
import { on } from '../../../src/bus/bus.ts';
import { Topics } from '../../../src/bus/topics.ts';
import { FlowEvent, RegistryData, type Alert, type Referral } from '../../../src/domain/index.ts';
import { createTokenAuthority } from '../../../src/feed/auth.ts';
import { startFeedRole, type FeedRole } from '../../../src/feed/feed-role.ts';
import { ServerFrame } from '../../../src/feed/protocol.ts';
import { createWardView } from '../../../src/feed/ward-view.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { createRouteCatalogue } from '../../../src/referrals/routes-file.ts';
import { createRegistry, type Registry } from '../../../src/registry/registry.ts';
import { createMemoryStore } from '../../../src/store/memory-store.ts';
import { connectConsole, isType } from '../../support/console-client.ts';

const data = () =>
  RegistryData.parse({
    wards: [
      { wardId: 'w1', name: 'Ward One', organisation: 'RXX', capacity: 10 },
      { wardId: 'w2', name: 'Ward Two', organisation: 'RXX', capacity: 10 },
    ],
    patients: [
      { patientId: 'p1', displayName: 'P One', spo2Scale: 1 },
      { patientId: 'p2', displayName: 'P Two', spo2Scale: 2 },
    ],
    devices: [
      { deviceId: 'd1', kind: 'pulse_oximeter' },
      { deviceId: 'd2', kind: 'pulse_oximeter' },
    ],
    // p1 is on ward one from the seeds; p2 and d2 are registered but on no ward.
    enrolments: [{ deviceId: 'd1', patientId: 'p1', wardId: 'w1', pathway: 'ari', from: '2026-01-01T00:00:00Z' }],
  });

const flow = (event: Record<string, unknown>) => FlowEvent.parse({ by: 'lead.jones', ...event });
const admitP2 = (at: string, eventId = 'adm-p2') => flow({ eventId, kind: 'admit', patientId: 'p2', wardId: 'w1', pathway: 'copd', admission: 'step-up', source: 'gp', at, deviceIds: ['d2'] });

describe('ward roster (ward view)', () => {
  it('lists who is on the ward now, and draws only the changed patients who are on it', async () => {
    const NOW = Date.parse('2026-11-22T12:00:00Z');
    const registry = createRegistry(data());
    const store = createMemoryStore({ retentionHours: 24, maxPointsPerSeries: 10, now: () => NOW });
    const view = createWardView({ registry, store, now: () => NOW });
    registry.applyFlow(admitP2('2026-11-22T11:00:00Z'));
    const ts = new Date(NOW - 60_000).toISOString();
    await store.writeReadings([{ readingId: 'r1', patientId: 'p2', wardId: 'w1', deviceId: 'd2', type: 'spo2', value: 89, unit: '%', ts, receivedAt: ts }]);
    view.applyNote({ noteId: 'n1', patientId: 'p2', wardId: 'w1', text: 'Lives alone', by: 'nurse.a', at: ts });

    const roster = await view.roster('w1', ['p2']);
    expect(ServerFrame.parse(roster)).toEqual(roster);
    expect(roster.patientIds.sort()).toEqual(['p1', 'p2']);
    expect(roster.patients).toHaveLength(1);
    expect(roster.patients[0]).toMatchObject({ patientId: 'p2', displayName: 'P Two', pathways: ['copd'], spo2Scale: 2, lastSeen: ts, latest: { spo2: { value: 89, deviceId: 'd2' } } });
    expect(roster.handoverNotes.map((n) => n.noteId)).toEqual(['n1']);
    // Drawn as the snapshot draws it.
    expect((await view.snapshot('w1')).patients.find((p) => p.patientId === 'p2')).toEqual(roster.patients[0]);

    registry.applyFlow(flow({ eventId: 'tr-p2', kind: 'transfer', patientId: 'p2', fromWardId: 'w1', wardId: 'w2', at: '2026-11-22T11:30:00Z' }));
    expect(await view.roster('w1', ['p2'])).toMatchObject({ patientIds: ['p1'], patients: [], handoverNotes: [] });
    expect(await view.roster('w2', ['p2'])).toMatchObject({ patientIds: ['p2'], patients: [{ patientId: 'p2', pathways: ['copd'] }] });
  });
});

describe('feed role follows admissions, transfers and discharges', () => {
  let feed: FeedRole | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await feed?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  async function start(registry: Registry, bus = createMemoryBus()) {
    const tokens = createTokenAuthority({ secret: 'roster-test-secret-roster-test-secret', issuer: 'vw' });
    feed = await startFeedRole({
      bus,
      store: createMemoryStore({ retentionHours: 24, maxPointsPerSeries: 10 }),
      registry,
      tokens,
      metrics: createMetrics(),
      logger: createLogger({ level: 'silent' }),
      helloTimeoutMs: 5_000,
      capacityStaleSeconds: 1800,
      routes: createRouteCatalogue({ catalogue: 'referral-routes', version: '0.0.0', title: 'none', routes: [], offers: [], patientRoutes: [] }),
      instanceId: 'roster-test',
    });
    const role = feed;
    server = createServer();
    server.on('upgrade', (request, socket, head) => role.handleUpgrade(request, socket, head));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const open = async (wardId: string, roles: string[] = [], wards: string[] = ['w1', 'w2']) => {
      const client = await connectConsole(url);
      client.send({ type: 'hello', token: await tokens.issue({ sub: 'someone', wards, roles }) });
      const welcome = await client.waitFor(isType('welcome'));
      client.send({ type: 'subscribe', wardId });
      await client.waitFor(isType('snapshot'));
      return { client, welcome };
    };
    return { open };
  }

  it('tells the console whether the user is a ward lead', async () => {
    const { open } = await start(createRegistry(data()));
    const lead = await open('w1', ['ward lead', 'virtual ward consultant']);
    const nurse = await open('w1', ['virtual ward consultant']);
    expect(lead.welcome.wardLead).toBe(true);
    expect(nurse.welcome.wardLead).toBe(false);
    lead.client.close();
    nurse.client.close();
  });

  it('sends each changed ward’s consoles a roster: the patient appears, moves and leaves', async () => {
    const registry = createRegistry(data());
    const { open } = await start(registry);
    const one = (await open('w1')).client;
    const two = (await open('w2')).client;
    const rosters = (c: typeof one) => c.frames.filter(isType('roster'));

    registry.applyFlow(admitP2(new Date(Date.now() - 60_000).toISOString()));
    const admitted = await one.waitFor(isType('roster'));
    expect(admitted.wardId).toBe('w1');
    expect(admitted.patientIds.sort()).toEqual(['p1', 'p2']);
    expect(admitted.patients.map((p) => p.patientId)).toEqual(['p2']);
    // The beds in use follow, in a capacity frame.
    await expect.poll(() => one.frames.filter(isType('capacity')).at(-1)?.capacity.beds?.occupied).toBe(2);

    registry.applyFlow(flow({ eventId: 'tr-p2', kind: 'transfer', patientId: 'p2', fromWardId: 'w1', wardId: 'w2', at: new Date(Date.now() - 30_000).toISOString() }));
    await expect.poll(() => rosters(one).length).toBe(2);
    expect(rosters(one)[1]).toMatchObject({ wardId: 'w1', patientIds: ['p1'], patients: [] });
    await expect.poll(() => rosters(two).length).toBe(1);
    expect(rosters(two)[0]).toMatchObject({ wardId: 'w2', patientIds: ['p2'], patients: [{ patientId: 'p2' }] });

    registry.applyFlow(flow({ eventId: 'dis-p2', kind: 'discharge', patientId: 'p2', wardId: 'w2', outcome: 'care-completed', at: new Date().toISOString() }));
    await expect.poll(() => rosters(two).length).toBe(2);
    expect(rosters(two)[1]).toMatchObject({ wardId: 'w2', patientIds: [], patients: [] });
    // Ward one was not changed by the discharge: it hears nothing more.
    expect(rosters(one)).toHaveLength(2);
    one.close();
    two.close();
  });

  it('sends an admission dated a moment ahead once it takes effect', async () => {
    const registry = createRegistry(data());
    const { open } = await start(registry);
    const { client } = await open('w1');
    registry.applyFlow(admitP2(new Date(Date.now() + 400).toISOString()));
    const roster = await client.waitFor(isType('roster'), 5_000);
    expect(roster.patientIds.sort()).toEqual(['p1', 'p2']);
    expect(Date.parse(roster.generatedAt)).toBeGreaterThanOrEqual(Date.now() - 5_000);
    client.close();
  });

  it('moves a transferred patient’s open alert and referral to her new ward: shown, sent and acted on there only', async () => {
    const registry = createRegistry(data());
    const bus = createMemoryBus();
    const at = new Date(Date.now() - 5 * 60_000).toISOString();
    const alert: Alert = {
      alertId: 'a1', patientId: 'p1', wardId: 'w1', cause: 'news2', ruleId: 'news2', ruleVersion: '1.0.0', severity: 'high', state: 'open', revision: 1,
      raisedAt: at, updatedAt: at, eventTs: at, score: 7, partial: false, explanation: 'NEWS2 7', response: 'Review now', evidence: [], history: [], receivedAt: at,
    };
    const referral: Referral = {
      referralId: 'ref-00001', patientId: 'p1', wardId: 'w1', route: 'ucr', routeTitle: 'Urgent community response', routesVersion: '0.0.0', priority: 'urgent',
      urgency: 'within 2 hours', alertIds: ['a1'], reason: 'NEWS2 7', evidence: [], requestedBy: 'nurse.a', requestedAt: at, state: 'sent', revision: 1,
      updatedAt: at, history: [{ state: 'requested', at, by: 'nurse.a' }], delivery: { status: 'delivered', attempts: 1 },
    };
    const actions: string[] = [];
    const seen = await bus.consume({ groupId: 'actions-seen', fromBeginning: true, topics: [
      on(Topics.alertActions, async ({ value }) => void actions.push(`${value.action} ${value.alertId} on ${value.wardId}`)),
      on(Topics.referralActions, async ({ value }) => void actions.push(`${value.action} ${value.referralId} on ${value.wardId}`)),
    ] });
    const { open } = await start(registry, bus);
    const one = (await open('w1', [], ['w1'])).client;
    const two = (await open('w2', [], ['w2'])).client;
    // Raised on ward one: shown there.
    await bus.publish(Topics.alerts, [{ key: 'p1', value: alert }]);
    await bus.publish(Topics.referrals, [{ key: 'p1', value: referral }]);
    expect(await one.waitFor(isType('alert'))).toMatchObject({ wardId: 'w1', alert: { alertId: 'a1' } });
    await one.waitFor(isType('referral'));
    one.frames.length = 0;

    registry.applyFlow(flow({ eventId: 'tr-p1', kind: 'transfer', patientId: 'p1', fromWardId: 'w1', wardId: 'w2', at: new Date(Date.now() - 1000).toISOString() }));
    const arrived = await two.waitFor(isType('roster'));
    expect(arrived).toMatchObject({ wardId: 'w2', patientIds: ['p1'], alerts: [{ alertId: 'a1', wardId: 'w1' }], referrals: [{ referralId: 'ref-00001' }], transferredOut: [] });
    expect(await one.waitFor(isType('roster'))).toMatchObject({ wardId: 'w1', patientIds: [], alerts: [], transferredOut: ['p1'] });

    // The nurse of ward one may no longer act on them; the nurse of ward two may.
    one.send({ type: 'acknowledge', alertId: 'a1' });
    one.send({ type: 'cancelReferral', referralId: 'ref-00001', note: 'no longer needed' });
    await expect.poll(() => one.frames.filter(isType('error')).map((e) => e.code)).toEqual(['not_found', 'not_found']);
    two.send({ type: 'acknowledge', alertId: 'a1' });
    expect(await two.waitFor(isType('accepted'))).toMatchObject({ alertId: 'a1' });
    two.send({ type: 'cancelReferral', referralId: 'ref-00001', note: 'no longer needed' });
    expect(await two.waitFor(isType('referralAccepted'))).toMatchObject({ referralId: 'ref-00001' });
    // The actions keep the ward the records were raised on.
    await expect.poll(() => actions.sort()).toEqual(['acknowledge a1 on w1', 'cancel ref-00001 on w1']);

    // Their next revisions go to ward two's consoles, under ward two; ward one hears nothing of them.
    await bus.publish(Topics.alerts, [{ key: 'p1', value: { ...alert, state: 'acknowledged', revision: 2 } }]);
    await bus.publish(Topics.referrals, [{ key: 'p1', value: { ...referral, state: 'cancelled', revision: 2 } }]);
    expect(await two.waitFor(isType('alert'))).toMatchObject({ wardId: 'w2', alert: { alertId: 'a1', revision: 2, wardId: 'w1' } });
    expect(await two.waitFor(isType('referral'))).toMatchObject({ wardId: 'w2', referral: { referralId: 'ref-00001', revision: 2 } });
    // Whatever the feed sent ward one's console before this round trip has arrived.
    await one.roundTrip();
    expect(one.frames.filter((f) => f.type === 'alert' || f.type === 'referral')).toEqual([]);
    expect(two.frames.filter(isType('alert')).map((f) => f.alert.revision)).toEqual([2]);
    await seen.stop();
    one.close();
    two.close();
  });

  it('stops following the registry when stopped', async () => {
    const registry = createRegistry(data());
    let listeners = 0;
    const counting: Registry = {
      ...registry,
      onEnrolmentChange(listener) {
        listeners++;
        const off = registry.onEnrolmentChange(listener);
        return () => {
          listeners--;
          off();
        };
      },
    };
    await start(counting);
    expect(listeners).toBe(1);
    await feed!.stop();
    feed = undefined;
    expect(listeners).toBe(0);
  });
});
