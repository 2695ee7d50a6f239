import type { Bus, Subscription } from '../bus/bus.ts';
import { on } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Registry } from '../registry/registry.ts';
import { createAlertBook } from './alerts/alert-book.ts';
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
  metrics: Metrics;
  logger: Logger;
}): Promise<{ stop(): Promise<void> }> {
  const { bus, registry, metrics } = deps;
  const log = deps.logger.child({ role: 'rules' });
  const scorer = createNews2Scorer(deps.news2);
  const book = createAlertBook(createNews2Explainer(deps.news2));

  const subscription: Subscription = await bus.consume({
    groupId: RULES_GROUP,
    topics: [
      on(Topics.readings, async ({ value: reading }) => {
        const patient = registry.patient(reading.patientId);
        if (!patient) {
          log.warn({ readingId: reading.readingId }, 'reading for a patient missing from the registry; not scored');
          return;
        }
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
        const outcome = book.applyAction(action);
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
  log.info('rules role consuming');
  return { stop: () => subscription.stop() };
}
