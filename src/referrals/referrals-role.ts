import { randomUUID } from 'node:crypto';
import type { Bus } from '../bus/bus.ts';
import { on } from '../bus/bus.ts';
import { startDeliveries, watchRevisions } from '../outbox/revision-view.ts';
import { partitionFor } from '../bus/partitioner.ts';
import { Topics } from '../bus/topics.ts';
import { TERMINAL_REFERRAL_STATES, type Referral, type ReferralAction } from '../domain/index.ts';
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
        await view.serially(action.referralId, () => applyAction(action));
      }),
    ],
  });

  /** One action on the newest revision of its referral; run serially per referral. */
  async function applyAction(action: ReferralAction): Promise<void> {
    const current = latest.get(action.referralId);
    const outcome = applyReferralAction(current, action, Boolean(deps.endpoints[action.action === 'request' ? action.route : (current?.route ?? '')]));
    if (!outcome.changed) {
      if (outcome.reason.startsWith('duplicate')) metrics.duplicatesAbsorbed.inc({ stage: 'referral-action' });
      else log.warn({ referralId: action.referralId, action: action.action, reason: outcome.reason }, 'referral action not applied');
      return;
    }
    await publish(outcome.referral);
    if (action.action === 'request') metrics.referralsRequested.inc({ route: action.route });
  }

  async function deliver(referral: Referral): Promise<void> {
    const endpoint = deps.endpoints[referral.route];
    const route = deps.routes.route(referral.route);
    const patient = registry.patient(referral.patientId);
    const ward = registry.ward(referral.wardId);
    const sent = referral;
    /** Records on the newest revision, unless something changed it since `sent` was read. */
    const record = (change: (current: Referral) => Referral | undefined) =>
      view.serially(sent.referralId, async () => {
        const current = latest.get(sent.referralId) ?? sent;
        const next = change(current);
        if (next) await publish(next);
      });
    const now = new Date().toISOString();
    if (!endpoint) {
      await record((c) => (c.revision === sent.revision ? { ...c, revision: c.revision + 1, updatedAt: now, delivery: { ...c.delivery, status: 'no_endpoint', lastError: `no receiver is configured for ${c.routeTitle}: the referral is kept, not sent` } } : undefined));
      return;
    }
    if (!route || !patient || !ward) {
      // Not retried: nothing here will change until the registry or the routes file does.
      await record((c) => (c.revision === sent.revision ? { ...c, revision: c.revision + 1, updatedAt: now, delivery: { ...c.delivery, status: 'failed', lastError: 'the route, patient or ward is no longer known here: not sent' } } : undefined));
      return;
    }
    const cancelling = sent.state === 'cancelled';
    const bundle = referralMessage({ referral: sent, patient, ward, route, destination: endpoint.url, sourceEndpoint: deps.sourceEndpoint });
    const result: DeliveryResult = await deliverMessage(endpoint, bundle, `${sent.referralId}${cancelling ? ':cancel' : ''}`, deps.timeoutMs ?? 10_000);
    metrics.referralDeliveries.inc({ route: sent.route, result: result.kind });
    const done = new Date().toISOString();
    await record((current) => {
      const attempts = current.delivery.attempts + 1;
      const reference = result.kind === 'delivered' ? (result.receiverReference ?? current.delivery.receiverReference) : current.delivery.receiverReference;
      const delivered: Referral['delivery'] = { status: 'delivered', attempts, lastAttemptAt: done, ...(reference ? { receiverReference: reference } : {}) };
      if (current.revision !== sent.revision) {
        // Something happened while this was on its way. A cancellation made meanwhile is sent next
        // (the request may have reached the receiver whatever this attempt's answer); an answer the
        // receiver posted meanwhile says it has the referral; otherwise nothing to add.
        if (current.state === 'cancelled' && !cancelling && current.delivery.status !== 'pending') {
          return { ...current, revision: current.revision + 1, updatedAt: done, delivery: { ...current.delivery, status: 'pending', attempts: 0 } };
        }
        if (result.kind === 'delivered' && current.delivery.status !== 'delivered' && current.state !== 'cancelled') {
          return { ...current, revision: current.revision + 1, updatedAt: done, delivery: delivered };
        }
        return undefined;
      }
      if (result.kind === 'retry' || result.kind === 'failed') {
        const delivery: Referral['delivery'] = {
          ...current.delivery,
          status: result.kind === 'retry' ? 'retrying' : 'failed',
          attempts,
          lastAttemptAt: done,
          lastError: result.error.slice(0, 500),
        };
        if (result.kind === 'retry') delivery.nextAttemptAt = new Date(Date.now() + backoffMs(attempts)).toISOString();
        else delete delivery.nextAttemptAt;
        return { ...current, revision: current.revision + 1, updatedAt: done, delivery };
      }
      if (cancelling || current.state !== 'requested') return { ...current, revision: current.revision + 1, updatedAt: done, delivery: delivered };
      let next = step(current, { state: 'sent', at: done, by: OUTBOX_BY, note: `sent to ${route.title}` }, delivered);
      if (result.outcome) next = step(next, { state: result.outcome, at: done, by: route.title, ...(result.note ? { note: result.note } : {}) }, delivered);
      return next;
    });
  }

  // Closed referrals leave memory once no action about them can still arrive (the actions topic keeps
  // a week by default); the referrals topic keeps every revision.
  const prune = setInterval(() => {
    const cutoff = Date.now() - 8 * 24 * 3600_000;
    for (const [id, r] of latest) if (TERMINAL_REFERRAL_STATES.has(r.state) && r.delivery.status !== 'pending' && r.delivery.status !== 'retrying' && Date.parse(r.updatedAt) < cutoff) latest.delete(id);
  }, 3600_000);
  const deliveries = startDeliveries<Referral>({
    view,
    assigned: () => actions.assigned(),
    partitionOf: (r) => partitionFor(r.patientId, deps.partitions),
    isDue: ({ state, route, delivery: { status, nextAttemptAt } }, now) =>
      status === 'pending' || (status === 'retrying' && (!nextAttemptAt || Date.parse(nextAttemptAt) <= now)) || (status === 'no_endpoint' && state === 'requested' && Boolean(deps.endpoints[route])),
    deliver,
    onError: (error, r) =>
      r ? log.error({ err: error, referralId: r.referralId }, 'referral delivery could not be recorded; trying again') : log.warn({ err: error }, 'could not read the referrals topic to its end; trying again'),
    tickMs: deps.tickMs ?? 500,
  });

  log.info({ routes: Object.keys(deps.endpoints) }, 'referrals role consuming');
  return {
    referral: (id) => latest.get(id),
    async stop() {
      deliveries.stop();
      clearInterval(prune);
      await actions.stop();
      await view.stop();
    },
  };
}
