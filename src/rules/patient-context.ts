import { applySettings, type PatientSettings } from '../domain/index.ts';
import type { Registry } from '../registry/registry.ts';
import type { PatientRuleContext } from './processor.ts';

/**
 * What rules know of a patient at an event time: pathways, SpO2 scale and the settings a clinician
 * set. Settings are versions (registry history, then changes from the settings topic); a reading uses
 * the newest version in force at its event time, so a replay of the same stream uses the same values.
 */
export function createPatientContexts(registry: Registry) {
  /** Versions from the settings topic, per patient, in version order. */
  const changes = new Map<string, PatientSettings[]>();

  return {
    /** Applies a version from the settings topic; refused unless it follows the newest one held. */
    apply(next: PatientSettings): { ok: boolean; reason?: string } {
      const held = changes.get(next.patientId);
      const current = held?.at(-1) ?? registry.settingsVersions(next.patientId).at(-1);
      const outcome = applySettings(current, next);
      if (!outcome.ok) return { ok: false, reason: outcome.reason };
      if (held) held.push(next);
      else changes.set(next.patientId, [next]);
      return { ok: true };
    },

    contextOf(patientId: string, wardId: string, at: number): PatientRuleContext & { settingsVersion?: number } {
      const when = new Date(at);
      let settings = registry.settingsAt(patientId, when);
      for (const v of changes.get(patientId) ?? []) if (Date.parse(v.effectiveFrom) <= at) settings = v;
      const pathways = settings?.pathways ?? registry.pathwaysOf(patientId, when);
      return {
        wardId,
        pathways,
        settings: settings?.values ?? {},
        spo2Scale: settings?.spo2Scale ?? registry.patient(patientId)?.spo2Scale ?? 1,
        ...(settings ? { settingsVersion: settings.version } : {}),
      };
    },
  };
}
export type PatientContexts = ReturnType<typeof createPatientContexts>;
