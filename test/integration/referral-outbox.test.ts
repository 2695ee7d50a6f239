import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { on, type Bus, type TopicSpec } from '../../src/bus/bus.ts';
import { createKafkaBus } from '../../src/bus/kafka-bus.ts';
import { Topics } from '../../src/bus/topics.ts';
import { VW_TOPICS } from '../../src/app/adapters.ts';
import type { Referral, ReferralAction } from '../../src/domain/index.ts';
import { startReferralReceiver } from '../../simulators/referral-receiver.ts';
import { startRole, type RoleProcess } from '../support/processes.ts';
import { describeWith, runPrefix, services } from '../support/services.ts';

/**
 * The referrals outbox on Kafka, as its own process, sending to a receiving service that takes 1.5 s
 * to answer. The process is killed with SIGKILL while messages are in flight and a new one takes over
 * (same consumer group): every referral must end accepted, the receiver must hold each referral
 * exactly once (a retry of one message under its idempotency key is allowed; a second referral is
 * not), and no revision of a referral may be published twice with different content.
 */
describeWith(['KAFKA_BROKERS'], 'referrals outbox on Kafka, one process killed mid-delivery', () => {
  const prefix = runPrefix();
  const N = 30;
  /** Patients of test/fixtures/integration-ward.yaml (it-p001 … it-p040, ward-it). */
  const patients = Array.from({ length: 10 }, (_, i) => `it-p${String(i + 1).padStart(3, '0')}`);
  const routes = {
    'urgent-community-response': 'Urgent community response (2-hour)',
    'virtual-ward-home-visit': 'Virtual-ward home visit',
  } as const;
  const processes: RoleProcess[] = [];
  const seen: Referral[] = [];
  let receiver: Awaited<ReturnType<typeof startReferralReceiver>>;
  let observer: Bus;
  let env: Record<string, string>;

  beforeAll(async () => {
    receiver = await startReferralReceiver({ name: 'Integration receiving service', delayMs: 1_500 });
    env = {
      VW_SEEDS: 'test/fixtures/integration-ward.yaml',
      VW_BUS: 'kafka',
      VW_KAFKA_BROKERS: services.kafkaBrokers!,
      VW_KAFKA_PREFIX: prefix,
      VW_BUS_PARTITIONS: '8',
      VW_REFERRAL_ENDPOINTS: `urgent-community-response=${receiver.url}/ucr;virtual-ward-home-visit=${receiver.url}/home-visit`,
      VW_REFERRAL_TIMEOUT_SECONDS: '10',
      VW_LOG_LEVEL: 'info',
    };
    // The observer creates the topics first, so two processes never race to create them.
    observer = await createKafkaBus({
      brokers: services.kafkaBrokers!.split(','),
      clientId: 'vw-observer',
      prefix,
      partitions: 8,
      replicationFactor: 1,
      topics: VW_TOPICS,
    });
    await observer.consume({ groupId: `observer-referrals-${randomUUID()}`, fromBeginning: true, topics: [on(Topics.referrals, async ({ value }) => void seen.push(value))] });
    processes.push(await startRole('referrals', env));
  }, 120_000);

  afterAll(async () => {
    mkdirSync('test-results', { recursive: true });
    processes.forEach((p, i) => writeFileSync(`test-results/referrals-${i + 1}.log`, p.output()));
    await observer?.close();
    await Promise.all(processes.map((p) => p.kill('SIGTERM')));
    await receiver?.close();
  }, 60_000);

  const newest = () => {
    const byId = new Map<string, Referral>();
    for (const r of seen) if ((byId.get(r.referralId)?.revision ?? -1) < r.revision) byId.set(r.referralId, r);
    return byId;
  };
  const until = async (what: () => string, predicate: () => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('delivers every referral exactly once to the receiver and ends each accepted', async () => {
    const at = new Date().toISOString();
    const actions: ReferralAction[] = Array.from({ length: N }, (_, i) => {
      const referralId = randomUUID();
      const route = i % 3 === 2 ? 'virtual-ward-home-visit' : 'urgent-community-response';
      const patientId = patients[i % patients.length]!;
      return {
        action: 'request',
        actionId: referralId,
        referralId,
        patientId,
        wardId: 'ward-it',
        by: 'nurse.it',
        at,
        route,
        routeTitle: routes[route],
        routesVersion: '1.0.0',
        priority: 'asap',
        urgency: 'within 2 hours',
        alertIds: [],
        reason: `Integration referral ${i + 1}`,
        evidence: [{ readingId: `it-reading-${i}`, type: 'respiratory_rate', value: 26, ts: at, threshold: 'latest reading' }],
      };
    });
    const ids = new Set(actions.map((a) => a.referralId));
    // One publish per action, as consoles make them, each keyed by patient.
    const publish = (wave: ReferralAction[]) => Promise.all(wave.map((a) => observer.publish(Topics.referralActions, [{ key: a.patientId, value: a }])));
    const third = N / 3;
    const [first, second, last] = [actions.slice(0, third), actions.slice(third, 2 * third), actions.slice(2 * third)];

    // The first third is sent and accepted before the crash.
    await publish(first);
    await until(() => `the first third accepted (${[...newest().values()].filter((r) => r.state === 'accepted').length})`, () => first.every((a) => newest().get(a.referralId)?.state === 'accepted'), 30_000);
    // The second is in flight: at the receiver, which is still holding its answers, when the process is killed.
    await publish(second);
    await until(() => `the second third at the receiver (${receiver.received().length})`, () => receiver.received().length >= 2 * third, 30_000);
    await processes[0]!.kill('SIGKILL');
    const killedAt = Date.now();
    const atKill = receiver.received().map((r) => ({ key: r.idempotencyKey, receivedAt: Date.parse(r.receivedAt) }));
    const acceptedAtKill = [...newest().values()].filter((r) => r.state === 'accepted').length;
    // Received less than the receiver's 1.5 s delay before the kill: the killed process never had the answer.
    const unanswered = atKill.filter((r) => killedAt - r.receivedAt < 1_000).map((r) => r.key);
    expect(unanswered.length).toBeGreaterThan(0);
    // The last third is requested while no referrals process runs.
    await publish(last);

    processes.push(await startRole('referrals', env));
    await until(
      () => {
        const states = [...newest().values()].reduce<Record<string, number>>((n, r) => ({ ...n, [r.state]: (n[r.state] ?? 0) + 1 }), {});
        return `every referral accepted (${JSON.stringify(states)} of ${N})`;
      },
      () => newest().size === N && [...newest().values()].every((r) => r.state === 'accepted'),
      45_000,
    );

    const latest = newest();
    expect(new Set(latest.keys())).toEqual(ids);
    for (const r of latest.values()) {
      expect({ id: r.referralId, states: r.history.map((h) => h.state), delivery: r.delivery.status }).toEqual({ id: r.referralId, states: ['requested', 'sent', 'accepted'], delivery: 'delivered' });
    }
    // Nothing lost and nothing referred twice: one key per referral, the referral's id.
    const received = receiver.received();
    expect(new Set(received.map((r) => r.idempotencyKey))).toEqual(ids);
    expect(received).toHaveLength(N);
    // The messages in flight at the kill were sent again, under the same key.
    const repeated = received.filter((r) => r.deliveries > 1);
    expect(unanswered.filter((key) => received.find((r) => r.idempotencyKey === key)!.deliveries < 2)).toEqual([]);
    // No revision of a referral was published twice with different content.
    const revisions = new Map<string, string>();
    const conflicts: string[] = [];
    for (const r of seen) {
      const key = `${r.referralId}#${r.revision}`;
      const json = JSON.stringify(r);
      if (revisions.has(key) && revisions.get(key) !== json) conflicts.push(key);
      revisions.set(key, json);
    }
    expect(conflicts).toEqual([]);
    expect(processes[1]!.child.exitCode).toBeNull();
    console.info(
      `referral outbox: ${N} referrals, ${atKill.length} at the receiver and ${acceptedAtKill} accepted when the process was killed, ` +
        `${unanswered.length} unanswered then; ${repeated.length} keys delivered more than once (${repeated.map((r) => r.deliveries).join(',') || 'none'}); ` +
        `${seen.length} referral records on the topic`,
    );
  }, 90_000);
});
