import { randomUUID } from 'node:crypto';
import type { Bus } from '../bus/bus.ts';
import { on } from '../bus/bus.ts';
import { watchRevisions } from '../outbox/revision-view.ts';
import { partitionFor } from '../bus/partitioner.ts';
import { Topics } from '../bus/topics.ts';
import { TERMINAL_REFERRAL_STATES, type Referral } from '../domain/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Registry } from '../registry/registry.ts';
import { referralMessage } from './fhir-message.ts';
import { applyReferralAction, step } from './lifecycle.ts';
import { backoffMs, deliverMessage, type DeliveryResult, type ReferralEndpoint } from './outbox.ts';
import type { RouteCatalogue } from './routes-file.ts';

export const REFERRALS_GROUP = 'vw-referrals';
const OUTBOX_BY = 'vw outbox';

/**
 * The referrals role: owns referral state and is the outbox that sends each referral to its route's
 * receiver. Actions (requests, cancellations, receivers' answers) are consumed as a group, so one
 * process holds a patient's referrals; every process keeps a view of the referrals topic, so whichever
 * holds a partition next carries on with its undelivered referrals. A referral is sent with an
 * idempotency key until the receiver has it; a crash between sending and recording it sends it again
 * under the same key, which the receiver recognises, so nothing is lost and nothing is referred twice.
 */
export async function startReferralsRole(deps: {
  bus: Bus;
  registry: Registry;
  routes: RouteCatalogue;
  endpoints: Readonly<Record<string, ReferralEndpoint>>;
  /** This deployment's base URL, named as the message source. */
  sourceEndpoint: string;
  metrics: Metrics;
  logger: Logger;
  partitions: number;
  instanceId?: string;
  tickMs?: number;
  timeoutMs?: number;
}): Promise<{ stop(): Promise<void>; referral(id: string): Referral | undefined }> {
  const { bus, registry, metrics } = deps;
  const log = deps.logger.child({ role: 'referrals' });
  const view = await watchRevisions({ bus, topic: Topics.referrals, groupId: `${REFERRALS_GROUP}-view-${deps.instanceId ?? randomUUID()}`, idOf: (r) => r.referralId, keyOf: (r) => r.patientId });
  const { latest, catchUp } = view;
  async function publish(referral: Referral): Promise<void> {
    await view.publish(referral);
    log.info({ referralId: referral.referralId, route: referral.route, state: referral.state, delivery: referral.delivery.status, revision: referral.revision }, 'referral changed');
  }

  const actions = await bus.consume({
    groupId: REFERRALS_GROUP,
    topics: [
      on(Topics.referralActions, async ({ value: action }) => {
        await catchUp();
        const current = latest.get(action.referralId);
        const outcome = applyReferralAction(current, action, Boolean(deps.endpoints[action.action === 'request' ? action.route : (current?.route ?? '')]));
        if (!outcome.changed) {
          if (outcome.reason.startsWith('duplicate')) metrics.duplicatesAbsorbed.inc({ stage: 'referral-action' });
          else log.warn({ referralId: action.referralId, action: action.action, reason: outcome.reason }, 'referral action not applied');
          return;
        }
        await publish(outcome.referral);
        if (action.action === 'request') metrics.referralsRequested.inc({ route: action.route });
      }),
    ],
  });

  const inFlight = new Set<string>();
  async function deliver(referral: Referral): Promise<void> {
    const endpoint = deps.endpoints[referral.route];
    const route = deps.routes.route(referral.route);
    const patient = registry.patient(referral.patientId);
    const ward = registry.ward(referral.wardId);
    const now = new Date().toISOString();
    if (!endpoint) {
      await publish({ ...referral, revision: referral.revision + 1, updatedAt: now, delivery: { ...referral.delivery, status: 'no_endpoint', lastError: `no receiver is configured for ${referral.routeTitle}: the referral is kept, not sent` } });
      return;
    }
    if (!route || !patient || !ward) {
      // Not retried: nothing here will change until the registry or the routes file does.
      await publish({ ...referral, revision: referral.revision + 1, updatedAt: now, delivery: { ...referral.delivery, status: 'failed', lastError: 'the route, patient or ward is no longer known here: not sent' } });
      return;
    }
    const cancelling = referral.state === 'cancelled';
    const bundle = referralMessage({ referral, patient, ward, route, destination: endpoint.url, sourceEndpoint: deps.sourceEndpoint });
    const result: DeliveryResult = await deliverMessage(endpoint, bundle, `${referral.referralId}${cancelling ? ':cancel' : ''}`, deps.timeoutMs ?? 10_000);
    metrics.referralDeliveries.inc({ route: referral.route, result: result.kind });
    // A clinician may have acted meanwhile (e.g. cancelled): the outcome is recorded on the newest revision.
    const sentRevision = referral;
    referral = latest.get(referral.referralId) ?? referral;
    const attempts = referral.delivery.attempts + 1;
    const done = new Date().toISOString();
    if (result.kind === 'retry' || result.kind === 'failed') {
      const delivery: Referral['delivery'] = {
        ...referral.delivery,
        status: result.kind === 'retry' ? 'retrying' : 'failed',
        attempts,
        lastAttemptAt: done,
        lastError: result.error.slice(0, 500),
        ...(result.kind === 'retry' ? { nextAttemptAt: new Date(Date.now() + backoffMs(attempts)).toISOString() } : {}),
      };
      if (result.kind === 'failed') delete delivery.nextAttemptAt;
      await publish({ ...referral, revision: referral.revision + 1, updatedAt: done, delivery });
      return;
    }
    const delivery: Referral['delivery'] = {
      status: 'delivered',
      attempts,
      lastAttemptAt: done,
      ...(result.receiverReference ?? referral.delivery.receiverReference ? { receiverReference: result.receiverReference ?? referral.delivery.receiverReference } : {}),
    };
    if (!cancelling && referral.state === 'cancelled') {
      // Cancelled while the request was on its way: the receiver has it after all, so it is told of the cancellation.
      await publish({ ...referral, revision: referral.revision + 1, updatedAt: done, delivery: { ...delivery, status: 'pending', attempts: 0 } });
      return;
    }
    if (cancelling || referral.state !== 'requested' || sentRevision.state !== referral.state) {
      await publish({ ...referral, revision: referral.revision + 1, updatedAt: done, delivery });
      return;
    }
    let next = step(referral, { state: 'sent', at: done, by: OUTBOX_BY, note: `sent to ${route.title}` }, delivery);
    if (result.outcome) next = step(next, { state: result.outcome, at: done, by: route.title, ...(result.note ? { note: result.note } : {}) }, delivery);
    await publish(next);
  }

  // Closed referrals leave memory once no action about them can still arrive (the actions topic keeps
  // a week by default); the referrals topic keeps every revision.
  const prune = setInterval(() => {
    const cutoff = Date.now() - 8 * 24 * 3600_000;
    for (const [id, r] of latest) if (TERMINAL_REFERRAL_STATES.has(r.state) && r.delivery.status !== 'pending' && r.delivery.status !== 'retrying' && Date.parse(r.updatedAt) < cutoff) latest.delete(id);
  }, 3600_000);
  let stopped = false;
  const timer = setInterval(() => {
    if (stopped) return;
    const assigned = actions.assigned();
    if (!view.readyFor(assigned, (error) => log.warn({ err: error }, 'could not read the referrals topic to its end; trying again'))) return;
    const now = Date.now();
    for (const referral of latest.values()) {
      const { status, nextAttemptAt } = referral.delivery;
      const due = status === 'pending' || (status === 'retrying' && (!nextAttemptAt || Date.parse(nextAttemptAt) <= now)) || (status === 'no_endpoint' && referral.state === 'requested' && deps.endpoints[referral.route]);
      if (!due || inFlight.has(referral.referralId) || !assigned.has(partitionFor(referral.patientId, deps.partitions))) continue;
      inFlight.add(referral.referralId);
      deliver(referral)
        .catch((error: unknown) => log.error({ err: error, referralId: referral.referralId }, 'referral delivery could not be recorded; trying again'))
        .finally(() => inFlight.delete(referral.referralId));
    }
  }, deps.tickMs ?? 500);

  log.info({ routes: Object.keys(deps.endpoints) }, 'referrals role consuming');
  return {
    referral: (id) => latest.get(id),
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearInterval(prune);
      await actions.stop();
      await view.stop();
    },
  };
}
