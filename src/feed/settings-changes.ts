import { randomUUID } from 'node:crypto';
import type { Bus, ConsumedRecord } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import { PatientSettings } from '../domain/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Registry } from '../registry/registry.ts';
import type { ConsoleUser } from './auth.ts';
import type { ClientFrame, ServerFrame } from './protocol.ts';
import type { WardView } from './ward-view.ts';

/** Links a published version to the moment this feed's own consumer applies or refuses it. */
export const CHANGE_ID_HEADER = 'vw-change-id';
const DEFAULT_CONFIRM_TIMEOUT_MS = 10_000;

type SettingsFrame = Extract<ClientFrame, { type: 'settings' }>;
type ErrorFrame = Extract<ServerFrame, { type: 'error' }>;

/**
 * Clinicians' changes to a patient's settings, from a console frame to the settings topic and back.
 * The feed answers only once its own consumer has applied the change in partition order, so a console
 * that lost a race with another console (on this or another feed process) hears `conflict`, not
 * `settingsAccepted`.
 */
export function createSettingsChanges(deps: {
  bus: Bus;
  registry: Registry;
  view: WardView;
  metrics: Metrics;
  logger: Logger;
  now?: () => number;
  confirmTimeoutMs?: number;
}) {
  const { bus, registry, view, metrics, logger: log } = deps;
  const now = deps.now ?? Date.now;
  const confirmTimeoutMs = deps.confirmTimeoutMs ?? DEFAULT_CONFIRM_TIMEOUT_MS;
  /** Changes this process has published and not yet seen back, by change id. */
  const waiting = new Map<string, (applied: boolean) => void>();
  /** Patients with a change in flight here: a second one from the same base is bound to lose. */
  const inFlight = new Set<string>();

  const error = (code: ErrorFrame['code'], message: string): ErrorFrame => ({ type: 'error', code, message });

  /**
   * The patient's ward now, if the user may see it; otherwise the error to send: the same one whether
   * the patient is unknown, on no ward, or on a ward not in the token, so it reveals nothing of other wards.
   */
  function wardFor(user: ConsoleUser, patientId: string): { wardId: string } | ErrorFrame {
    const wardId = registry.patient(patientId) ? registry.wardOf(patientId, new Date(now())) : undefined;
    if (!wardId || !user.wards.has(wardId)) {
      if (wardId) metrics.feedAuthFailures.inc({ reason: 'forbidden' });
      return error('not_found', 'no such patient on your wards');
    }
    return { wardId };
  }

  function confirmation(changeId: string): Promise<boolean | 'timeout'> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(changeId);
        resolve('timeout');
      }, confirmTimeoutMs);
      waiting.set(changeId, (applied) => {
        clearTimeout(timer);
        waiting.delete(changeId);
        resolve(applied);
      });
    });
  }

  return {
    async change(user: ConsoleUser, frame: SettingsFrame): Promise<ServerFrame> {
      const access = wardFor(user, frame.patientId);
      if ('type' in access) return access;
      const current = view.settings(frame.patientId);
      if (!current) return error('not_found', 'no such patient on your wards');
      if (frame.baseVersion !== current.version || inFlight.has(frame.patientId)) {
        return error('conflict', `these settings changed since you read them (now version ${current.version}): reload them and decide again`);
      }
      const pathways = frame.pathways === undefined ? current.pathways : (frame.pathways ?? undefined);
      const next = PatientSettings.safeParse({
        patientId: frame.patientId,
        wardId: access.wardId,
        version: current.version + 1,
        effectiveFrom: new Date(now()).toISOString(),
        setBy: user.user,
        reason: frame.reason,
        spo2Scale: frame.spo2Scale ?? current.spo2Scale,
        ...(pathways ? { pathways } : {}),
        values: frame.values,
      });
      if (!next.success) return error('bad_frame', next.error.issues[0]?.message ?? 'invalid settings');

      const changeId = randomUUID();
      const confirmed = confirmation(changeId);
      inFlight.add(frame.patientId);
      try {
        await bus.publish(Topics.patientSettings, [{ key: frame.patientId, value: next.data, headers: { [CHANGE_ID_HEADER]: changeId } }]);
        const outcome = await confirmed;
        if (outcome === 'timeout') {
          return error('unavailable', 'the change was sent but is not confirmed yet: reload the settings to see whether it applied');
        }
        if (!outcome) return error('conflict', 'someone else changed these settings at the same moment: reload them and decide again');
        return { type: 'settingsAccepted', patientId: frame.patientId, version: next.data.version };
      } catch (failure) {
        waiting.get(changeId)?.(false);
        throw failure;
      } finally {
        inFlight.delete(frame.patientId);
      }
    },

    history(user: ConsoleUser, patientId: string): ServerFrame {
      const access = wardFor(user, patientId);
      if ('type' in access) return access;
      return { type: 'settingsHistory', patientId, versions: view.settingsHistory(patientId) };
    },

    /** A record from the settings topic: the version it makes current, or undefined when refused. */
    onRecord(record: ConsumedRecord<PatientSettings>): PatientSettings | undefined {
      const settings = record.value;
      const result = view.applySettings(settings);
      const changeId = record.headers[CHANGE_ID_HEADER];
      if (changeId) waiting.get(changeId)?.(result.ok);
      // Ids, versions and reason codes only: values and the clinician's free-text reason stay out of logs.
      const fields = { patientId: settings.patientId, wardId: settings.wardId, version: settings.version };
      if (!result.ok) {
        metrics.duplicatesAbsorbed.inc({ stage: 'feed-settings' });
        log.info({ ...fields, refused: result.reason }, 'patient settings version refused');
        return undefined;
      }
      log.info(fields, 'patient settings version applied');
      return settings;
    },
  };
}
export type SettingsChanges = ReturnType<typeof createSettingsChanges>;
