import { afterEach, describe, expect, it } from 'vitest';
import { on, type Bus } from '../../../src/bus/bus.ts';
import { createMemoryBus } from '../../../src/bus/memory-bus.ts';
import { Topics } from '../../../src/bus/topics.ts';
import type { Referral, ReferralAction } from '../../../src/domain/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { startReferralsRole } from '../../../src/referrals/referrals-role.ts';
import { createRouteCatalogue, loadReferralRoutes } from '../../../src/referrals/routes-file.ts';
import { createRegistry } from '../../../src/registry/registry.ts';
import { startReferralReceiver } from '../../../simulators/referral-receiver.ts';

/**
 * The referrals role against actions that race its deliveries: a clinician cancelling while the
 * request is on its way, with publishes as slow as a real broker's.
 */
const registry = createRegistry({
  wards: [{ wardId: 'w1', name: 'Ward One', organisation: 'RXX', capacity: 10 }],
  patients: [{ patientId: 'p1', displayName: 'Pat One', nhsNumber: '9990000018', spo2Scale: 1 }],
  devices: [{ deviceId: 'd1', kind: 'pulse_oximeter', medicalGrade: true }],
  enrolments: [{ deviceId: 'd1', patientId: 'p1', wardId: 'w1', pathway: 'ari', from: '2026-01-01T00:00:00Z' }],
});

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** Every publish to the referrals topic takes this long, as a round trip to Kafka with acks=all may. */
function slowBus(ms: number): Bus {
  const bus = createMemoryBus({ partitions: 2 });
  return {
    ...bus,
    async publish(topic, records) {
      if (topic.name === Topics.referrals.name) await new Promise((resolve) => setTimeout(resolve, ms));
      return bus.publish(topic, records);
    },
  };
}

const at = () => new Date().toISOString();
const base = { referralId: 'aaaaaaaa-0000-4000-8000-000000000001', patientId: 'p1', wardId: 'w1' };

describe('referrals role', () => {
  it('sends the cancellation of a referral cancelled while its request was on its way, with no revision number used twice', async () => {
    const receiver = await startReferralReceiver({ delayMs: 300 });
    stops.push(() => receiver.close());
    const bus = slowBus(200);
    const revisions: Referral[] = [];
    const watch = await bus.consume({ groupId: 'watch', fromBeginning: true, topics: [on(Topics.referrals, async ({ value }) => void revisions.push(value))] });
    const routes = createRouteCatalogue(await loadReferralRoutes('rules/referral-routes.yaml'));
    const role = await startReferralsRole({
      bus, registry, routes, endpoints: { 'urgent-community-response': { url: `${receiver.url}/ucr` } }, sourceEndpoint: 'http://vw.test',
      metrics: createMetrics(), logger: createLogger({ level: 'silent' }), partitions: 2, tickMs: 20,
    });
    stops.push(() => bus.close(), () => watch.stop(), () => role.stop());
    const request: ReferralAction = {
      ...base, action: 'request', actionId: 'act-1', by: 'nurse.a', at: at(), route: 'urgent-community-response', routeTitle: 'Urgent community response (2-hour)',
      routesVersion: routes.version, priority: 'asap', urgency: 'within 2 hours', alertIds: [], reason: 'NEWS2 7', evidence: [],
    };
    await bus.publish(Topics.referralActions, [{ key: 'p1', value: request }]);
    // The request reaches the receiver, which answers after 300 ms; the role then takes 200 ms to record
    // it. The cancellation comes in while that record is on its way (whatever the timing, the outcome
    // below must hold; this timing is the one that once lost the cancellation).
    await expect.poll(() => receiver.received().length, { timeout: 5_000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await bus.publish(Topics.referralActions, [{ key: 'p1', value: { ...base, action: 'cancel', actionId: 'act-2', by: 'nurse.a', at: at(), note: 'Seen by the GP' } }]);

    await expect.poll(() => receiver.received().map((r) => r.idempotencyKey).sort(), { timeout: 10_000 }).toEqual([base.referralId, `${base.referralId}:cancel`]);
    await expect.poll(() => role.referral(base.referralId)?.delivery.status, { timeout: 5_000 }).toBe('delivered');
    expect(role.referral(base.referralId)?.state).toBe('cancelled');
    const byRevision = new Map<number, string>();
    for (const r of revisions) {
      const held = byRevision.get(r.revision);
      expect(held === undefined || held === JSON.stringify(r), `revision ${r.revision} published twice with different content`).toBe(true);
      byRevision.set(r.revision, JSON.stringify(r));
    }
    const cancellation = receiver.received().find((r) => r.idempotencyKey.endsWith(':cancel'))!;
    expect(JSON.stringify(cancellation.bundle)).toContain('"status":"revoked"');
  });
});
