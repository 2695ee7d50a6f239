import { randomUUID } from 'node:crypto';
import type { Bus, Subscription } from '../bus/bus.ts';
import { on, onBatch } from '../bus/bus.ts';
import { partitionFor } from '../bus/partitioner.ts';
import { createStateStore } from '../bus/state-store.ts';
import { Topics } from '../bus/topics.ts';
import type { Alert, ScoreEvent } from '../domain/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Registry } from '../registry/registry.ts';
import type { RulePack } from './engine/pack-file.ts';
import type { News2Rule } from './news2/rule-file.ts';
import { createPatientContexts } from './patient-context.ts';
import { createRulesProcessor, type PatientRuleContext } from './processor.ts';
import { RulesStateTopic, type RulesStateRecord } from './state-record.ts';

export const RULES_GROUP = 'vw-rules';
/** How long a takeover waits for settings versions that stop arriving before it goes on without them. */
const SETTINGS_STALL_MS = 10_000;

/**
 * The rules role: readings in, scores and alerts out, plus nurses' actions on alerts. Readings and
 * actions are consumed as one co-partitioned subscription, so one process holds all of a patient's
 * rule state. Outputs, then the patient's new rule state (the `rules-state` store's changelog), are
 * published before the input's offset is committed.
 *
 * Taking partitions over (at start, after a crash or a rebalance; onAssigned, before any of their
 * records): the process seeds their patients' alerts from the alerts topic and restores their rule
 * state from the changelog, those partitions only, and skips readings that state already includes.
 * Alerts keep their ids, so nothing is raised twice. Giving partitions up (onRevoked) lets go of
 * their patients.
 */
export async function startRulesRole(deps: {
  bus: Bus;
  registry: Registry;
  news2: News2Rule;
  packs: RulePack[];
  metrics: Metrics;
  logger: Logger;
  instanceId?: string;
  /** Partitions of the readings topic: a patient's timers run only in the process holding its partition. */
  partitions: number;
  /** How often timers are checked; they fire at their due time, within this. */
  tickMs?: number;
  /**
   * Write each patient's rule state to the changelog topic, so another process can take the patient
   * over, or a restarted one resume it. On by default; off only for an in-process bus kept in memory
   * alone (VW_DURABLE=false), which ends with the process.
   */
  changelog?: boolean;
  /**
   * What time the timers (missing data, windows, escalation) run at: the wall clock, as on a ward; or
   * the newest reading's event time this process has handled, for a rehearsal whose simulated
   * readings run days behind the wall clock at many times real speed (on the wall clock every patient
   * would look days overdue for a reading from the first tick).
   */
  clock?: 'wall' | 'readings';
}): Promise<{ stop(): Promise<void> }> {
  const { bus, registry, metrics } = deps;
  const log = deps.logger.child({ role: 'rules' });
  const processor = createRulesProcessor({ news2: deps.news2, packs: deps.packs });
  const contexts = createPatientContexts(registry);
  const contextOf = (patientId: string, wardId: string, at = Date.now()): PatientRuleContext => contexts.contextOf(patientId, wardId, at);
  const partitionOf = (patientId: string) => partitionFor(patientId, deps.partitions);

  /**
   * Each patient's rule state as of the last reading applied (that reading's partition and offset
   * beside it). The processor holds the live state; this is what was, or will be, on the changelog.
   */
  const states = createStateStore<RulesStateRecord>({
    name: 'rules-state',
    bus,
    changelog: RulesStateTopic,
    partitions: deps.partitions,
    logged: deps.changelog ?? true,
    // A process that lost a patient may still publish once more: its state is older than the new owner's.
    supersedes: (held, incoming) => held.partition !== incoming.partition || incoming.offset >= held.offset,
  });
  /** Partitions restored and not yet given up: only their patients' timers run here. */
  const owned = new Set<number>();
  /** Restored patients with no ward today (discharged): their state is installed at their next reading or action. */
  const notInstalled = new Set<string>();
  const settings = await followSettings();

  async function takeOver(partitions: number[]): Promise<void> {
    await settings.caughtUp();
    let alerts = 0;
    await bus.readPartitions(Topics.alerts, partitions, ({ value }) => {
      alerts++;
      processor.seed(value, contextOf(value.patientId, value.wardId));
    });
    const restored = await states.restore(partitions);
    const now = new Date();
    for (const p of partitions) {
      for (const patientId of states.keys(p)) {
        const wardId = registry.wardOf(patientId, now);
        if (wardId) processor.importPatient(patientId, states.get(patientId)!.state, contextOf(patientId, wardId));
        else notInstalled.add(patientId);
      }
      owned.add(p);
    }
    metrics.stateRestoreSeconds.observe({ store: restored.store }, restored.ms / 1000);
    metrics.rulesPatientsHeld.set(processor.patientCount());
    log.info({ partitions, alerts, stateRecords: restored.records, patients: restored.keys, ms: Math.round(restored.ms) }, 'partitions taken over: alerts seeded, rule state restored');
  }

  async function giveUp(partitions: number[]): Promise<void> {
    for (const p of partitions) owned.delete(p);
    const leaving = new Set(partitions);
    processor.releasePatients((patientId) => leaving.has(partitionOf(patientId)));
    for (const patientId of notInstalled) if (leaving.has(partitionOf(patientId))) notInstalled.delete(patientId);
    // What they produced and could not publish is the next owner's to produce again.
    for (const [key, out] of unpublished) if (leaving.has(partitionOf(out.patientId))) unpublished.delete(key);
    timerBacklog = timerBacklog.filter((alert) => !leaving.has(partitionOf(alert.patientId)));
    states.release(partitions);
    metrics.rulesPatientsHeld.set(processor.patientCount());
    log.info({ partitions }, 'partitions given up');
  }

  function installIfRestored(patientId: string, wardId: string): void {
    if (!notInstalled.delete(patientId)) return;
    const record = states.get(patientId);
    if (record) processor.importPatient(patientId, record.state, contextOf(patientId, wardId));
  }

  /** Records the patient's rule state as of the reading at `offset`, for the next flush. */
  function recordState(patientId: string, partition: number, offset: number): void {
    states.put(patientId, { patientId, partition, offset, state: processor.exportPatient(patientId) });
  }

  async function publishAlerts(alerts: Alert[]): Promise<void> {
    if (!alerts.length) return;
    await bus.publish(Topics.alerts, alerts.map((a) => ({ key: a.patientId, value: a })));
    // Counted once published, so a retried publish is not counted twice.
    for (const alert of alerts) {
      if (alert.revision === 0) metrics.alertsRaised.inc({ rule: alert.ruleId, severity: alert.severity });
      else if (alert.history.at(-1)?.note?.startsWith('severity rose') || alert.state === 'escalated') metrics.alertsEscalated.inc({ rule: alert.ruleId, severity: alert.severity });
      log.info({ alertId: alert.alertId, rule: alert.ruleId, severity: alert.severity, state: alert.state, revision: alert.revision, wardId: alert.wardId }, 'alert changed');
    }
  }

  // What a record produced but could not yet publish, by record: a failed publish leaves the record
  // uncommitted, and its retry publishes these instead of applying the record a second time.
  type Produced = { patientId: string; offset: number; alerts: Alert[]; score?: ScoreEvent };
  const unpublished = new Map<string, Produced>();
  /** What a timer tick produced but could not publish: published again on the next one. */
  let timerBacklog: Alert[] = [];
  let newestEventTime = 0;
  const timersAt = deps.clock === 'readings' ? () => newestEventTime : () => Date.now();

  const subscription: Subscription = await bus.consume({
    groupId: RULES_GROUP,
    onAssigned: takeOver,
    onRevoked: giveUp,
    topics: [
      // Readings in batches of one partition (as many as are waiting): each output topic is written
      // once per batch and each patient's changelog record once, then the batch is committed.
      onBatch(
        Topics.readings,
        async (records) => {
          const outputs: Array<{ key: string; out: Produced }> = [];
          for (const { value: reading, partition, offset } of records) {
            const at = Number(offset);
            const key = `r${partition}:${at}`;
            // A retry after a failed publish: the reading is already in the rule state, so publish what
            // it produced again rather than applying it again (which would produce nothing).
            let out = unpublished.get(key);
            if (!out) {
              installIfRestored(reading.patientId, reading.wardId);
              const recorded = states.get(reading.patientId);
              if (recorded && recorded.partition === partition && recorded.offset >= at) {
                // Already in the restored state, and its effects were published before it was recorded.
                metrics.duplicatesAbsorbed.inc({ stage: 'rules' });
                continue;
              }
              if (!registry.patient(reading.patientId)) {
                log.warn({ readingId: reading.readingId }, 'reading for a patient missing from the registry; not scored');
                continue;
              }
              const eventTime = Date.parse(reading.ts);
              if (eventTime > newestEventTime) newestEventTime = eventTime;
              const result = processor.onReading(reading, contextOf(reading.patientId, reading.wardId, eventTime));
              out = { patientId: reading.patientId, offset: at, alerts: result.alerts, ...(result.score ? { score: result.score } : {}) };
              unpublished.set(key, out);
              if (out.score) metrics.scoresComputed.inc({ rule: out.score.ruleId, partial: String(out.score.partial) });
            }
            outputs.push({ key, out });
          }
          if (!outputs.length) return;
          const scores = outputs.flatMap(({ out }) => (out.score ? [{ key: out.score.patientId, value: out.score }] : []));
          if (scores.length) await bus.publish(Topics.scores, scores);
          await publishAlerts(outputs.flatMap(({ out }) => out.alerts));
          // Each patient's state once, as of its last reading in the batch.
          const last = new Map(outputs.map(({ out }) => [out.patientId, out.offset]));
          for (const [patientId, offset] of last) recordState(patientId, records[0]!.partition, offset);
          await states.flush([records[0]!.partition]);
          for (const { key } of outputs) unpublished.delete(key);
        },
        500,
      ),
      on(Topics.alertActions, async ({ value: action, partition, offset }) => {
        const key = `a${partition}:${offset}`;
        let alert = unpublished.get(key)?.alerts[0];
        if (!alert) {
          installIfRestored(action.patientId, action.wardId);
          const outcome = processor.applyAction(action);
          if ('error' in outcome) {
            log.warn({ alertId: action.alertId, actionId: action.actionId, error: outcome.error }, 'alert action not applied');
            return;
          }
          if (!outcome.changed) {
            metrics.duplicatesAbsorbed.inc({ stage: 'alert-action' });
            return;
          }
          alert = outcome.alert;
          unpublished.set(key, { patientId: action.patientId, offset: Number(offset), alerts: [alert] });
          metrics.alertActions.inc({ action: action.action });
          log.info({ alertId: action.alertId, action: action.action, state: alert.state }, 'alert action applied');
        }
        await bus.publish(Topics.alerts, [{ key: alert.patientId, value: alert }]);
        // A resolution re-arms the rule only after its condition clears: that mark is rule state. The
        // state stays as of the patient's last reading (actions are another topic's offsets).
        const recorded = states.get(action.patientId);
        if (recorded) recordState(action.patientId, recorded.partition, recorded.offset);
        await states.flush([partition]);
        unpublished.delete(key);
      }),
    ],
  });

  // Timers (missing data, windows, escalation) fire on the clock even when no reading arrives.
  const timer = setInterval(() => {
    void (async () => {
      metrics.rulesPatientsHeld.set(processor.patientCount());
      // On the readings clock nothing is due before the first reading.
      const at = timersAt();
      if (!at) return;
      // Restored here and still assigned: on Kafka a partition may be another's a moment before onRevoked says so.
      const assigned = subscription.assigned();
      timerBacklog = [...timerBacklog, ...processor.tick(at, (patientId) => {
        const p = partitionOf(patientId);
        return owned.has(p) && assigned.has(p);
      })];
      await publishAlerts(timerBacklog);
      timerBacklog = [];
    })().catch((error: unknown) => log.error({ err: error }, 'rule timers failed; retrying on the next tick'));
  }, deps.tickMs ?? 15_000);
  log.info({ rules: processor.rules.length + 1 }, 'rules role consuming');
  return {
    async stop() {
      clearInterval(timer);
      await subscription.stop();
      await settings.stop();
    },
  };

  /**
   * Patients' settings versions, every partition (a setting is configuration, not state): a process
   * takes partitions over only once it holds every version published before.
   */
  async function followSettings() {
    const seen = new Map<number, number>();
    const waiting = new Set<() => void>();
    let progressAt = Date.now();
    const view = await bus.consume({
      groupId: `${RULES_GROUP}-settings-${deps.instanceId ?? randomUUID()}`,
      fromBeginning: true,
      topics: [
        on(Topics.patientSettings, async ({ value, partition, offset }) => {
          const outcome = contexts.apply(value);
          if (!outcome.ok) log.warn({ version: value.version, reason: outcome.reason }, 'settings version not applied');
          seen.set(partition, Number(offset) + 1);
          progressAt = Date.now();
          for (const check of waiting) check();
        }),
      ],
    });
    return {
      stop: () => view.stop(),
      /**
       * Resolves once every version published before the call is applied, or once none has arrived for
       * SETTINGS_STALL_MS while some are missing: the last records of a partition may be ones the bus
       * skipped (not matching the schema), which no handler ever sees.
       */
      async caughtUp(): Promise<void> {
        const ends = await bus.offsets(Topics.patientSettings);
        const behind = () => ends.filter((o) => o.high > o.low && (seen.get(o.partition) ?? o.low) < o.high);
        await new Promise<void>((resolve) => {
          const stalled = setInterval(() => {
            if (Date.now() - progressAt < SETTINGS_STALL_MS) return;
            log.warn({ partitions: behind().map((o) => o.partition) }, 'settings versions still missing; taking partitions over without them');
            done();
          }, 1_000);
          const done = () => {
            clearInterval(stalled);
            waiting.delete(check);
            resolve();
          };
          const check = () => {
            if (!behind().length) done();
          };
          waiting.add(check);
          check();
        });
      },
    };
  }
}
