import { z } from 'zod';
import { defineTopic } from '../bus/bus.ts';
import { PatientRulesState } from './processor.ts';

/**
 * A record of the rules changelog (vw.rules-state.v1, compacted, keyed by patient): the patient's whole
 * rule state after the reading at `offset` of readings partition `partition` was applied. A process
 * taking the patient over restores it and skips readings at or below that offset, so a crash or a
 * rebalance neither repeats nor loses an alert.
 */
export const RulesStateRecord = z.object({
  patientId: z.string(),
  partition: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  state: PatientRulesState,
});
export type RulesStateRecord = z.infer<typeof RulesStateRecord>;

/** The rules role's changelog: each patient's rule state, newest per patient kept. */
export const RulesStateTopic = defineTopic('vw.rules-state.v1', RulesStateRecord, { compacted: true });
