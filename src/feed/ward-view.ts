import { TERMINAL_REFERRAL_STATES, type HandoverNote, type Notification, type Referral } from '../domain/index.ts';
import { createRouteCatalogue, type RouteCatalogue } from '../referrals/routes-file.ts';
import { applySettings, type Alert, type ApplySettingsResult, type Patient, type PatientSettings, type Reading, type ReadingType, type ScoreEvent } from '../domain/index.ts';
import type { Registry } from '../registry/registry.ts';
import type { TimeSeriesStore } from '../store/store.ts';
import { createCapacityBoard, type CapacityBoard } from '../capacity/board.ts';
import type { ChartBands } from './chart-bands.ts';
import type { LatestValue, PatientView, ServerFrame } from './protocol.ts';

const RESOLVED_KEPT_MS = 24 * 3600_000;
const SNAPSHOT_QUERIES_AT_ONCE = 16;
const NOTES_KEPT = 20;

/**
 * What a console needs to draw a ward from scratch: built from the alert, score and settings streams
 * (kept here: newest alert revision, newest score, settings version applied in order) and the
 * store's latest readings.
 */
export function createWardView(deps: { registry: Registry; store: TimeSeriesStore; capacity?: CapacityBoard; routes?: RouteCatalogue; chartBands?: ChartBands; now?: () => number }) {
  const now = deps.now ?? Date.now;
  const routes = deps.routes ?? createRouteCatalogue({ catalogue: 'referral-routes', version: '0.0.0', title: 'none', routes: [], offers: [], patientRoutes: [] });
  const referrals = new Map<string, Referral>();
  const notifications = new Map<string, Notification>();
  /** Per patient, the newest handover notes (NOTES_KEPT), oldest first; the topic keeps them all. */
  const notes = new Map<string, HandoverNote[]>();
  const capacity = deps.capacity ?? createCapacityBoard({ registry: deps.registry, staleAfterSeconds: 1800, now });
  const alerts = new Map<string, Alert>();
  const scores = new Map<string, ScoreEvent>();
  /** Settings versions applied from the topic, oldest first; the last is current. */
  const settingsSeen = new Map<string, PatientSettings[]>();

  function currentSettings(patientId: string): PatientSettings | undefined {
    return settingsSeen.get(patientId)?.at(-1) ?? deps.registry.settingsAt(patientId, new Date(now()));
  }

  function toLatest(reading: Reading): LatestValue {
    return {
      value: reading.value,
      unit: reading.unit,
      ts: reading.ts,
      deviceId: reading.deviceId,
      ...(reading.flags ? { flags: reading.flags } : {}),
    };
  }

  /** The patients as a console draws them: registry facts, latest readings, score and settings in force. */
  async function patientViews(ward: readonly Patient[], at: Date): Promise<PatientView[]> {
    // The store is asked about several patients at a time: one by one, a large ward on a remote
    // store took minutes to draw.
    const latestOf = new Map<string, Partial<Record<ReadingType, Reading>>>();
    for (let i = 0; i < ward.length; i += SNAPSHOT_QUERIES_AT_ONCE) {
      const slice = ward.slice(i, i + SNAPSHOT_QUERIES_AT_ONCE);
      const found = await Promise.all(slice.map((p) => deps.store.latest(p.patientId)));
      slice.forEach((p, j) => latestOf.set(p.patientId, found[j]!));
    }
    const patients: PatientView[] = [];
    for (const patient of ward) {
      const latestReadings = latestOf.get(patient.patientId)!;
      const settings = currentSettings(patient.patientId);
      const latest: Partial<Record<ReadingType, LatestValue>> = {};
      let lastSeen: string | null = null;
      for (const [type, reading] of Object.entries(latestReadings) as [ReadingType, Reading][]) {
        latest[type] = toLatest(reading);
        if (lastSeen === null || Date.parse(reading.ts) > Date.parse(lastSeen)) lastSeen = reading.ts;
      }
      patients.push({
        patientId: patient.patientId,
        displayName: patient.displayName,
        ...(patient.nhsNumber ? { nhsNumber: patient.nhsNumber } : {}),
        ...(patient.dateOfBirth ? { dateOfBirth: patient.dateOfBirth } : {}),
        ...(patient.contacts ? { contacts: patient.contacts } : {}),
        ...(patient.escalationPlan ? { escalationPlan: patient.escalationPlan } : {}),
        pathways: deps.registry.pathwaysOf(patient.patientId, at),
        spo2Scale: settings?.spo2Scale ?? patient.spo2Scale,
        latest,
        lastSeen,
        score: scores.get(patient.patientId) ?? null,
        settings: settings ?? null,
      });
    }
    return patients;
  }

  /**
   * The ward whose consoles show a patient's alert, referral, notification or handover note, and
   * whose staff may act on it: the patient's ward now, so it follows a transfer; for a patient on no
   * ward (discharged), the ward it was raised on. The record itself keeps the ward it was raised on.
   */
  function wardFor(item: { patientId: string; wardId: string }, at = new Date(now())): string {
    return deps.registry.wardOf(item.patientId, at) ?? item.wardId;
  }

  /**
   * The alerts (unresolved, and resolved in the last 24 hours), referrals (open, and closed in the
   * last 24 hours) and notifications (changed in the last 24 hours) the ward's consoles show, newest
   * change first; only those of `patients`, when given.
   */
  function recordsOfWard(wardId: string, at: Date, patients?: ReadonlySet<string>) {
    const cutoff = at.getTime() - RESOLVED_KEPT_MS;
    const wardOfPatient = new Map<string, string | undefined>();
    const shownHere = (item: { patientId: string; wardId: string }) => {
      if (patients && !patients.has(item.patientId)) return false;
      if (!wardOfPatient.has(item.patientId)) wardOfPatient.set(item.patientId, deps.registry.wardOf(item.patientId, at));
      return (wardOfPatient.get(item.patientId) ?? item.wardId) === wardId;
    };
    const newestFirst = (a: { updatedAt: string }, b: { updatedAt: string }) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt);
    const wardAlerts = [...alerts.values()]
      .filter((a) => (a.state !== 'resolved' || Date.parse(a.updatedAt) >= cutoff) && shownHere(a))
      .sort(newestFirst);
    return {
      alerts: wardAlerts,
      referrals: [...referrals.values()]
        .filter((r) => (!TERMINAL_REFERRAL_STATES.has(r.state) || Date.parse(r.updatedAt) >= cutoff) && shownHere(r))
        .sort(newestFirst),
      notifications: [...notifications.values()].filter((n) => Date.parse(n.updatedAt) >= cutoff && shownHere(n)).sort(newestFirst),
      alertRoutes: Object.fromEntries(wardAlerts.map((a) => [a.alertId, routes.offeredFor(a).map((r) => r.id)] as const).filter(([, ids]) => ids.length)),
    };
  }

  return {
    /**
     * Returns false when the alert is not newer than the one held (a duplicate or stale copy), or was
     * resolved a day ago or more: consoles no longer show it, so it is not kept (the store keeps it).
     */
    applyAlert(alert: Alert): boolean {
      const held = alerts.get(alert.alertId);
      if (held && held.revision >= alert.revision) return false;
      // Not taken in when nothing is held; an older revision held (and perhaps on a console) is
      // replaced and sent, so the console learns it was resolved; snapshots let it go later.
      if (!held && alert.state === 'resolved' && Date.parse(alert.updatedAt) < now() - RESOLVED_KEPT_MS) return false;
      alerts.set(alert.alertId, alert);
      return true;
    },

    applyScore(score: ScoreEvent): boolean {
      const held = scores.get(score.patientId);
      if (held && Date.parse(held.ts) > Date.parse(score.ts)) return false;
      scores.set(score.patientId, score);
      return true;
    },

    alert(alertId: string): Alert | undefined {
      return alerts.get(alertId);
    },

    /** Returns false when the referral revision is not newer than the one held. */
    applyReferral(referral: Referral): boolean {
      const held = referrals.get(referral.referralId);
      if (held && held.revision >= referral.revision) return false;
      // Closed a day ago or more: consoles no longer show it, so it is not taken in (the topic keeps
      // it all); an older revision held is replaced and sent, and snapshots let it go later.
      if (!held && TERMINAL_REFERRAL_STATES.has(referral.state) && Date.parse(referral.updatedAt) < now() - RESOLVED_KEPT_MS) return false;
      referrals.set(referral.referralId, referral);
      return true;
    },

    /** Returns false when the notification revision is not newer than the one held. */
    applyNotification(n: Notification): boolean {
      const held = notifications.get(n.notificationId);
      if (held && held.revision >= n.revision) return false;
      if (!held && Date.parse(n.updatedAt) < now() - RESOLVED_KEPT_MS) return false;
      notifications.set(n.notificationId, n);
      return true;
    },

    /** Returns false for a note already held (a redelivery). */
    applyNote(note: HandoverNote): boolean {
      const list = notes.get(note.patientId) ?? [];
      if (list.some((n) => n.noteId === note.noteId)) return false;
      list.push(note);
      list.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
      if (list.length > NOTES_KEPT) list.splice(0, list.length - NOTES_KEPT);
      notes.set(note.patientId, list);
      return true;
    },

    referral(referralId: string): Referral | undefined {
      return referrals.get(referralId);
    },

    routes,

    /** Route ids an alert offers, most urgent first; none once it is resolved. */
    routesFor(alert: Alert): string[] {
      return alert.state === 'resolved' ? [] : routes.offeredFor(alert).map((r) => r.id);
    },

    /**
     * Applies a version from the settings topic on top of the current one. Refusals are duplicates
     * or the losing side of a race; every feed refuses the same records, so consoles agree.
     */
    applySettings(next: PatientSettings): ApplySettingsResult {
      const result = applySettings(currentSettings(next.patientId), next);
      if (result.ok) settingsSeen.set(next.patientId, [...(settingsSeen.get(next.patientId) ?? []), next]);
      return result;
    },

    /** The version in force now: the newest applied from the topic, else the registry's. */
    settings: currentSettings,

    /** The registry's versions and those applied from the topic, newest first. */
    settingsHistory(patientId: string): PatientSettings[] {
      return [...deps.registry.settingsVersions(patientId), ...(settingsSeen.get(patientId) ?? [])].sort((a, b) => b.version - a.version);
    },

    wardFor,

    /**
     * Who is on the ward now, after an admission, transfer or discharge: every patient's id, and the
     * patients named in `changed` who are on the ward, drawn as in a snapshot (those who left are
     * simply not listed), with their handover notes, alerts, referrals and notifications as the
     * snapshot lists them (they follow the patient: {@link wardFor}). `transferredOut` names the
     * changed patients now on another ward: their alerts, referrals, notifications and notes went with
     * them. Cheaper than a snapshot, and it leaves what consoles hold of the other patients (and any
     * form being filled in) alone.
     */
    async roster(wardId: string, changed: readonly string[]): Promise<Extract<ServerFrame, { type: 'roster' }>> {
      const at = new Date(now());
      const ward = deps.registry.patientsOfWard(wardId, at);
      const joined = ward.filter((p) => changed.includes(p.patientId));
      const records = recordsOfWard(wardId, at, new Set(joined.map((p) => p.patientId)));
      const onWard = new Set(ward.map((p) => p.patientId));
      return {
        type: 'roster',
        wardId,
        generatedAt: at.toISOString(),
        patientIds: ward.map((p) => p.patientId),
        patients: await patientViews(joined, at),
        handoverNotes: joined.flatMap((p) => [...(notes.get(p.patientId) ?? [])].reverse()),
        ...records,
        transferredOut: [...new Set(changed)].filter((id) => {
          const wardNow = deps.registry.wardOf(id, at);
          return !onWard.has(id) && wardNow !== undefined && wardNow !== wardId;
        }),
      };
    },

    /** What the view holds in memory, by kind: served as vw_feed_held. */
    held(): Record<string, number> {
      let noteCount = 0;
      for (const list of notes.values()) noteCount += list.length;
      return { alerts: alerts.size, scores: scores.size, referrals: referrals.size, notifications: notifications.size, handover_notes: noteCount };
    },

    async snapshot(wardId: string): Promise<Extract<ServerFrame, { type: 'snapshot' }>> {
      const at = new Date(now());
      const ward = deps.registry.patientsOfWard(wardId, at);
      const patients = await patientViews(ward, at);
      const cutoff = at.getTime() - RESOLVED_KEPT_MS;
      // What consoles no longer show leaves memory here.
      for (const [id, r] of referrals) if (TERMINAL_REFERRAL_STATES.has(r.state) && Date.parse(r.updatedAt) < cutoff) referrals.delete(id);
      for (const [id, n] of notifications) if (Date.parse(n.updatedAt) < cutoff) notifications.delete(id);
      for (const [id, a] of alerts) if (a.state === 'resolved' && Date.parse(a.updatedAt) < cutoff) alerts.delete(id);
      const records = recordsOfWard(wardId, at);
      return {
        type: 'snapshot',
        wardId,
        wardName: deps.registry.ward(wardId)?.name ?? wardId,
        generatedAt: at.toISOString(),
        patients,
        alerts: records.alerts,
        capacity: capacity.forWard(wardId),
        referrals: records.referrals,
        routes: { version: routes.version, routes: routes.all(), patientRoutes: routes.patientRoutes().map((r) => r.id) },
        chartBands: deps.chartBands ?? { ruleVersion: '', bands: {} },
        handoverNotes: ward.flatMap((p) => [...(notes.get(p.patientId) ?? [])].reverse()),
        notifications: records.notifications,
        alertRoutes: records.alertRoutes,
      };
    },
  };
}
export type WardView = ReturnType<typeof createWardView>;
