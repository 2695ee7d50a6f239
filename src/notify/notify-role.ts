import { randomUUID } from 'node:crypto';
import type { Bus } from '../bus/bus.ts';
import { on } from '../bus/bus.ts';
import { startDeliveries, watchRevisions } from '../outbox/revision-view.ts';
import { partitionFor } from '../bus/partitioner.ts';
import { Topics } from '../bus/topics.ts';
import type { Notification } from '../domain/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Registry } from '../registry/registry.ts';
import { backoffMs } from '../outbox/backoff.ts';
import { sendWebhook } from './webhook.ts';

export const NOTIFY_GROUP = 'vw-notify';
/** Escalations older than this when first read (e.g. a new deployment reading a week of alerts) are not sent. */
const TOO_OLD_MS = 24 * 3600_000;
const MAX_MESSAGE = 1000;

/**
 * The notify role: each escalation step of an alert (who the rule's ladder says to tell) becomes a
 * notification, sent as a signed webhook where one is configured for that person or role and shown on
 * the ward's consoles in every case. Notifications are an outbox on their own topic: every process
 * keeps a view of it, so whichever holds a partition carries on sending. One that cannot be delivered
 * within the give-up time (or is refused) is marked failed and escalated to the fallback.
 */
export async function startNotifyRole(deps: {
  bus: Bus;
  registry: Registry;
  webhooks: Readonly<Record<string, string>>;
  secret?: string;
  fallback: string;
  giveUpMs: number;
  metrics: Metrics;
  logger: Logger;
  partitions: number;
  instanceId?: string;
  tickMs?: number;
  timeoutMs?: number;
}): Promise<{ stop(): Promise<void> }> {
  const { bus, metrics } = deps;
  const log = deps.logger.child({ role: 'notify' });
  const view = await watchRevisions({ bus, topic: Topics.notifications, groupId: `${NOTIFY_GROUP}-view-${deps.instanceId ?? randomUUID()}`, idOf: (r) => r.notificationId, keyOf: (r) => r.patientId });
  const { latest, catchUp } = view;
  async function publish(n: Notification): Promise<void> {
    await view.publish(n);
    log.info({ notificationId: n.notificationId, status: n.status, attempts: n.attempts, target: n.target }, 'notification changed');
  }

  type Subject = Pick<Notification, 'alertId' | 'patientId' | 'wardId' | 'severity'>;
  const fresh = (about: Subject, id: string, target: string, message: string, at: string, escalatedFrom?: string): Notification => ({
    notificationId: id,
    alertId: about.alertId,
    patientId: about.patientId,
    wardId: about.wardId,
    target,
    message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message,
    severity: about.severity,
    createdAt: at,
    revision: 0,
    updatedAt: at,
    status: deps.webhooks[target] ? 'pending' : 'console_only',
    attempts: 0,
    ...(escalatedFrom ? { escalatedFrom } : {}),
  });

  /** Creates a notification unless it exists: safe to repeat when the bus redelivers its alert. */
  async function raise(n: Notification): Promise<void> {
    await view.serially(n.notificationId, async () => {
      if (latest.has(n.notificationId)) return;
      await publish(n);
      metrics.notifications.inc({ status: n.status });
    });
  }

  // Every revision of an alert is judged on its own, against what the notifications topic already
  // holds: redelivered after a failed publish, it does what is still missing and nothing twice.
  const subscription = await bus.consume({
    groupId: NOTIFY_GROUP,
    fromBeginning: true,
    topics: [
      on(Topics.alerts, async ({ value: alert }) => {
        const steps = alert.history.flatMap((h, index) => (h.state === 'escalated' && h.notify ? [{ h, index }] : []));
        if (!steps.length) return;
        await catchUp();
        if (alert.state === 'acknowledged' || alert.state === 'resolved') {
          // Someone has the alert in hand: what was still waiting to be sent is withdrawn.
          for (const id of [...latest.keys()]) {
            await view.serially(id, async () => {
              const n = latest.get(id);
              if (!n || n.alertId !== alert.alertId || (n.status !== 'pending' && n.status !== 'retrying')) return;
              const withdrawn: Notification = { ...n, revision: n.revision + 1, updatedAt: new Date().toISOString(), status: 'withdrawn', lastError: `the alert was ${alert.state} before it was delivered` };
              delete withdrawn.nextAttemptAt;
              await publish(withdrawn);
            });
          }
          return;
        }
        for (const { h, index } of steps) {
          if (Date.now() - Date.parse(h.at) > TOO_OLD_MS) continue;
          const ward = deps.registry.ward(alert.wardId)?.name ?? alert.wardId;
          await raise(fresh(alert, `${alert.alertId}:${index}`, h.notify!, `${ward}: ${alert.severity} alert not acknowledged in time. ${alert.explanation}. ${alert.response}`, h.at));
        }
      }),
    ],
  });

  async function deliver(n: Notification): Promise<void> {
    const url = deps.webhooks[n.target];
    const now = Date.now();
    if (!url || !deps.secret) {
      await view.serially(n.notificationId, async () => {
        const current = latest.get(n.notificationId) ?? n;
        if (current.status === 'pending' || current.status === 'retrying') await publish({ ...current, revision: current.revision + 1, updatedAt: new Date(now).toISOString(), status: 'console_only' });
      });
      return;
    }
    const payload = { notificationId: n.notificationId, target: n.target, message: n.message, severity: n.severity, alertId: n.alertId, patientId: n.patientId, wardId: n.wardId, raisedAt: n.createdAt, ...(n.escalatedFrom ? { escalatedFrom: n.escalatedFrom } : {}) };
    const result = await sendWebhook(url, deps.secret, payload, n.notificationId, deps.timeoutMs ?? 10_000);
    metrics.notificationDeliveries.inc({ result: result.kind });
    const at = new Date().toISOString();
    const firstAttemptAt = n.firstAttemptAt ?? new Date(now).toISOString();
    const giveUp = result.kind === 'failed' || Date.now() - Date.parse(firstAttemptAt) + backoffMs(n.attempts + 1) > deps.giveUpMs;
    const fallbackId = `${n.notificationId}:fallback`;
    // Undelivered: the failure is itself escalated (once: a failed fallback is shown, not escalated
    // again). The fallback is raised first, so a crash between the two cannot lose it.
    if (result.kind !== 'delivered' && giveUp && !n.escalatedFrom) {
      await raise(fresh(n, fallbackId, deps.fallback, `Could not tell ${n.target} (${result.error}). ${n.message}`, at, n.notificationId));
    }
    await view.serially(n.notificationId, async () => {
      // Someone may have acknowledged the alert while this was on its way: the newest revision decides.
      const current = latest.get(n.notificationId) ?? n;
      if (current.status === 'withdrawn') return;
      const attempts = current.attempts + 1;
      if (result.kind === 'delivered') {
        await publish({ ...current, revision: current.revision + 1, updatedAt: at, status: 'delivered', attempts, firstAttemptAt, lastAttemptAt: at });
        return;
      }
      if (!giveUp) {
        await publish({ ...current, revision: current.revision + 1, updatedAt: at, status: 'retrying', attempts, firstAttemptAt, lastAttemptAt: at, lastError: result.error, nextAttemptAt: new Date(Date.now() + backoffMs(attempts)).toISOString() });
        return;
      }
      const failed: Notification = { ...current, revision: current.revision + 1, updatedAt: at, status: 'failed', attempts, firstAttemptAt, lastAttemptAt: at, lastError: result.error, ...(n.escalatedFrom ? {} : { escalatedTo: fallbackId }) };
      delete failed.nextAttemptAt;
      await publish(failed);
      metrics.notifications.inc({ status: 'failed' });
    });
  }

  // Settled notifications leave memory after a couple of days; the topic keeps them, and an escalation
  // that old is never notified again (TOO_OLD_MS), so forgetting them cannot resend them.
  const SETTLED = new Set(['delivered', 'failed', 'console_only', 'withdrawn']);
  const prune = setInterval(() => {
    const cutoff = Date.now() - 2 * TOO_OLD_MS;
    for (const [id, n] of latest) if (SETTLED.has(n.status) && Date.parse(n.updatedAt) < cutoff) latest.delete(id);
  }, 3600_000);
  const deliveries = startDeliveries<Notification>({
    view,
    assigned: () => subscription.assigned(),
    partitionOf: (n) => partitionFor(n.patientId, deps.partitions),
    isDue: (n, now) => n.status === 'pending' || (n.status === 'retrying' && (!n.nextAttemptAt || Date.parse(n.nextAttemptAt) <= now)),
    deliver,
    onError: (error, n) =>
      n ? log.error({ err: error, notificationId: n.notificationId }, 'notification could not be recorded; trying again') : log.warn({ err: error }, 'could not read the notifications topic to its end; trying again'),
    tickMs: deps.tickMs ?? 500,
  });

  log.info({ targets: Object.keys(deps.webhooks) }, 'notify role consuming');
  return {
    async stop() {
      deliveries.stop();
      clearInterval(prune);
      await subscription.stop();
      await view.stop();
    },
  };
}
