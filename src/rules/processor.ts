import { z } from 'zod';
import { News2Band, type Alert, type AlertAction, type Reading, type ScoreEvent } from '../domain/index.ts';
import { createAlertBook } from './alerts/alert-book.ts';
import { createRuleEngine, type PatientContext } from './engine/engine.ts';
import type { RulePack } from './engine/pack-file.ts';
import { EngineSnapshot } from './engine/snapshot.ts';
import { createNews2Explainer } from './news2/explain.ts';
import type { News2Rule } from './news2/rule-file.ts';
import { freshnessMs, scoreFromHeld } from './news2/scorer.ts';

/**
 * Everything the rules role decides, without the bus: NEWS2 scoring and its alerts, and every rule
 * pack with the alert lifecycle. The rules role, `vw replay` and the benchmark all drive this one
 * object, so what a replay shows is what runs.
 */
export interface PatientRuleContext extends PatientContext {
  spo2Scale: 1 | 2;
}

export type ActionResult = { alert: Alert; changed: boolean } | { error: string };

/** A patient's whole rule state, as a rules process writes it to its changelog. */
export const PatientRulesState = z.object({
  band: z.object({ band: News2Band, t: z.number() }).optional(),
  engine: EngineSnapshot.optional(),
});
export type PatientRulesState = z.infer<typeof PatientRulesState>;

export function createRulesProcessor(deps: { news2: News2Rule; packs: readonly RulePack[] }) {
  const book = createAlertBook(createNews2Explainer(deps.news2), deps.news2.localPolicy?.escalation ?? {});
  const windowMs = freshnessMs(deps.news2);
  // The engine holds each parameter's latest reading for its rules anyway: NEWS2 is scored from those.
  const engine = createRuleEngine(deps.packs, { score: (held, spo2Scale, trigger) => scoreFromHeld(deps.news2, windowMs, held, spo2Scale, trigger) });
  const news2Id = deps.news2.id;

  return {
    news2: deps.news2,
    rules: engine.rules,

    /** Applies one reading: the NEWS2 score it produced (if any) and every alert it opened or changed. */
    onReading(reading: Reading, patient: PatientRuleContext): { score?: ScoreEvent; alerts: Alert[] } {
      const { score, alerts } = engine.apply(reading, patient);
      if (score) {
        const alert = book.applyScore(score);
        if (alert) alerts.push(alert);
      }
      return { ...(score ? { score } : {}), alerts };
    },

    /** Moves time: missing data, windows and escalation timers due by `now`. */
    tick(now: number, owns?: (patientId: string) => boolean): Alert[] {
      return [...engine.tick(now, owns), ...book.tick(now, owns)];
    },

    applyAction(action: AlertAction): ActionResult {
      return engine.owns(action.alertId) ? engine.applyAction(action) : book.applyAction(action);
    },

    /** Installs an alert published earlier (by this process or another) so it is continued, not repeated. */
    seed(alert: Alert, ctx: PatientContext): void {
      if (alert.ruleId === news2Id) book.seed(alert);
      else engine.seed(alert, ctx);
    },

    exportPatient(patientId: string): PatientRulesState {
      const band = book.exportBand(patientId, news2Id);
      const snapshot = engine.exportPatient(patientId);
      return { ...(band ? { band } : {}), ...(snapshot ? { engine: snapshot } : {}) };
    },

    importPatient(patientId: string, state: PatientRulesState, ctx: PatientContext): void {
      // Records arrive validated (the changelog topic's schema is RulesStateRecord).
      if (state.band) book.importBand(patientId, news2Id, state.band);
      if (state.engine) engine.importPatient(patientId, state.engine, ctx);
    },

    /** Lets go of the patients `which` names, once another process owns them: nothing is published. */
    releasePatients(which: (patientId: string) => boolean): void {
      engine.releasePatients(which);
      book.releasePatients(which);
    },

    unresolvedNews2: (patientId: string) => book.unresolved(patientId),
    patientCount: () => engine.patientCount(),
  };
}
export type RulesProcessor = ReturnType<typeof createRulesProcessor>;
