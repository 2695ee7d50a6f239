import { randomUUID } from 'node:crypto';
import type { Bus, Subscription } from '../bus/bus.ts';
import { on } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Registry } from '../registry/registry.ts';
import type { Alert } from '../domain/index.ts';
import { createAlertBook } from './alerts/alert-book.ts';
import { createRuleEngine, type PatientContext } from './engine/engine.ts';
import type { RulePack } from './engine/pack-file.ts';
import { createNews2Explainer } from './news2/explain.ts';
import type { News2Rule } from './news2/rule-file.ts';
import { createNews2Scorer } from './news2/scorer.ts';

export const RULES_GROUP = 'vw-rules';

/**
 * The rules role: readings in, scores and alerts out, plus nurses' actions on alerts. Readings and
 * actions are consumed as one co-partitioned subscription, so one process holds all of a patient's
 * scoring and alert state. Outputs are published before the input's offset is committed.
 */
export async function startRulesRole(deps: {
  bus: Bus;
  registry: Registry;
  news2: News2Rule;
  packs: RulePack[];
  metrics: Metrics;
  logger: Logger;
  instanceId?: string;
  /** How often timers are checked; they fire at their due time, within this. */
  tickMs?: number;
}): Promise<{ stop(): Promise<void> }> {
  const { bus, registry, metrics } = deps;
  const log = deps.logger.child({ role: 'rules' });
  const scorer = createNews2Scorer(deps.news2);
  const book = createAlertBook(createNews2Explainer(deps.news2));
  const engine = createRuleEngine(deps.packs);
  const contextOf = (patientId: string, wardId: string): PatientContext => {
    const patient = registry.patient(patientId);
    return { wardId, pathways: registry.pathwaysOf(patientId, new Date()), settings: patient?.settings ?? {} };
  };

  async function publishAlerts(alerts: Alert[], previous: Map<string, Alert['state']> = new Map()): Promise<void> {
    if (!alerts.length) return;
    for (const alert of alerts) {
      if (alert.revision === 0) metrics.alertsRaised.inc({ rule: alert.ruleId, severity: alert.severity });
      log.info({ alertId: alert.alertId, rule: alert.ruleId, severity: alert.severity, state: alert.state, revision: alert.revision, wardId: alert.wardId, was: previous.get(alert.alertId) }, 'alert changed');
    }
    await bus.publish(Topics.alerts, alerts.map((a) => ({ key: a.patientId, value: a })));
  }

  // Every alert any rules process has published, so a process that takes over a patient (after a
  // rebalance, a crash or a restart) continues that patient's alert rather than opening another.
  const viewed = new Map<number, number>();
  const view = await bus.consume({
    groupId: `${RULES_GROUP}-view-${deps.instanceId ?? randomUUID()}`,
    fromBeginning: true,
    topics: [
      on(Topics.alerts, async ({ value, partition, offset }) => {
        if (value.ruleId === deps.news2.id) book.seed(value);
        else engine.seed(value, contextOf(value.patientId, value.wardId));
        viewed.set(partition, Number(offset) + 1);
      }),
    ],
  });
  /** Resolves once the view holds every alert published before the call. */
  let catchingUp: Promise<void> | undefined;
  const catchUp = () =>
    (catchingUp ??= (async () => {
      const ends = await bus.offsets(Topics.alerts);
      const behind = () => ends.some((o) => o.high > o.low && (viewed.get(o.partition) ?? o.low) < o.high);
      while (behind()) await new Promise((resolve) => setTimeout(resolve, 10));
    })().finally(() => {
      catchingUp = undefined;
    }));
  const restored = new Set<string>();
  const ensureRestored = async (patientId: string) => {
    if (restored.has(patientId)) return;
    await catchUp();
    restored.add(patientId);
  };

  const subscription: Subscription = await bus.consume({
    groupId: RULES_GROUP,
    topics: [
      on(Topics.readings, async ({ value: reading }) => {
        await ensureRestored(reading.patientId);
        const patient = registry.patient(reading.patientId);
        if (!patient) {
          log.warn({ readingId: reading.readingId }, 'reading for a patient missing from the registry; not scored');
          return;
        }
        await publishAlerts(engine.onReading(reading, contextOf(reading.patientId, reading.wardId)));
        const score = scorer.onReading(reading, patient);
        if (!score) return;
        metrics.scoresComputed.inc({ rule: score.ruleId, partial: String(score.partial) });
        await bus.publish(Topics.scores, [{ key: score.patientId, value: score }]);
        const before = book.unresolved(score.patientId).find((a) => a.cause === score.ruleId);
        const alert = book.applyScore(score);
        if (!alert) return;
        if (!before) metrics.alertsRaised.inc({ rule: alert.ruleId, severity: alert.severity });
        else if (alert.severity !== before.severity) metrics.alertsEscalated.inc({ rule: alert.ruleId, severity: alert.severity });
        log.info(
          { alertId: alert.alertId, rule: alert.ruleId, severity: alert.severity, revision: alert.revision, wardId: alert.wardId },
          before ? 'alert updated' : 'alert raised',
        );
        await bus.publish(Topics.alerts, [{ key: alert.patientId, value: alert }]);
      }),
      on(Topics.alertActions, async ({ value: action }) => {
        await ensureRestored(action.patientId);
        const outcome = engine.owns(action.alertId) ? engine.applyAction(action) : book.applyAction(action);
        if ('error' in outcome) {
          log.warn({ alertId: action.alertId, actionId: action.actionId, error: outcome.error }, 'alert action not applied');
          return;
        }
        if (!outcome.changed) {
          metrics.duplicatesAbsorbed.inc({ stage: 'alert-action' });
          return;
        }
        metrics.alertActions.inc({ action: action.action });
        log.info({ alertId: action.alertId, action: action.action, state: outcome.alert.state }, 'alert action applied');
        await bus.publish(Topics.alerts, [{ key: outcome.alert.patientId, value: outcome.alert }]);
      }),
    ],
  });
  // Timers (missing data, escalation) fire on the clock even when no reading arrives.
  const timer = setInterval(() => {
    void (async () => {
      await catchUp();
      await publishAlerts(engine.tick(Date.now()));
    })().catch((error: unknown) => log.error({ err: error }, 'rule timers failed; retrying on the next tick'));
  }, deps.tickMs ?? 15_000);
  log.info({ rules: engine.rules.length + 1 }, 'rules role consuming');
  return {
    async stop() {
      clearInterval(timer);
      await subscription.stop();
      await view.stop();
    },
  };
}
