import { randomUUID } from 'node:crypto';
import type { Bus, Subscription } from '../bus/bus.ts';
import { on, onBatch } from '../bus/bus.ts';
import { partitionFor } from '../bus/partitioner.ts';
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

/**
 * The rules role: readings in, scores and alerts out, plus nurses' actions on alerts. Readings and
 * actions are consumed as one co-partitioned subscription, so one process holds all of a patient's
 * rule state. Outputs, then the patient's new rule state (the changelog), are published before the
 * input's offset is committed.
 *
 * Taking a patient over (first reading after a start, a crash or a rebalance): the process first
 * catches up with the alerts topic and the changelog, restores the patient's newest rule state, and
 * skips readings that state already includes. Alerts keep their ids, so nothing is raised twice.
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

  // Views of the alerts topic and the changelog, kept by every rules process, so that whichever
  // process owns a patient next continues that patient's alerts and rule state.
  const viewed = new Map<string, Map<number, number>>();
  const latestState = new Map<string, RulesStateRecord>();
  const track = (topic: string, partition: number, offset: string) => {
    let parts = viewed.get(topic);
    if (!parts) viewed.set(topic, (parts = new Map()));
    parts.set(partition, Number(offset) + 1);
  };
  const views = await bus.consume({
    groupId: `${RULES_GROUP}-view-${deps.instanceId ?? randomUUID()}`,
    fromBeginning: true,
    topics: [
      on(Topics.alerts, async ({ value, partition, offset }) => {
        processor.seed(value, contextOf(value.patientId, value.wardId));
        track(Topics.alerts.name, partition, offset);
      }),
      on(Topics.patientSettings, async ({ value, partition, offset }) => {
        const outcome = contexts.apply(value);
        if (!outcome.ok) log.warn({ version: value.version, reason: outcome.reason }, 'settings version not applied');
        track(Topics.patientSettings.name, partition, offset);
      }),
      on(RulesStateTopic, async ({ value, partition, offset }) => {
        const held = latestState.get(value.patientId);
        if (!held || held.partition !== value.partition || held.offset <= value.offset) latestState.set(value.patientId, value);
        track(RulesStateTopic.name, partition, offset);
      }),
    ],
  });
  /** Resolves once the views hold every record published before the call. */
  let catchingUp: Promise<void> | undefined;
  const catchUp = () =>
    (catchingUp ??= (async () => {
      const ends = await Promise.all([Topics.alerts, Topics.patientSettings, RulesStateTopic].map(async (t) => ({ name: t.name, offsets: await bus.offsets(t) })));
      const behind = () => ends.some(({ name, offsets }) => offsets.some((o) => o.high > o.low && (viewed.get(name)?.get(o.partition) ?? o.low) < o.high));
      while (behind()) await new Promise((resolve) => setTimeout(resolve, 5));
    })().finally(() => {
      catchingUp = undefined;
    }));

  // Which readings this process has applied: per patient the last offset, per partition the last
  // offset seen. A gap in a partition's offsets means another process may have handled some of its
  // patients meanwhile, so they are restored again before their next reading.
  const appliedOffset = new Map<string, { partition: number; offset: number }>();
  const lastOffset = new Map<number, number>();
  const epoch = new Map<number, number>();
  const restoredIn = new Map<string, number>();

  /**
   * Per partition, the epoch the views were last caught up in. Once per epoch is enough: whatever a
   * previous owner published was on its topics before this process read the partition's first reading
   * of the epoch, and within an epoch no other process writes this partition's patients.
   */
  const caughtUpIn = new Map<number, number>();

  async function ensureRestored(patientId: string, wardId: string, partition: number): Promise<void> {
    const current = epoch.get(partition) ?? 0;
    if (restoredIn.get(patientId) === current) return;
    if (caughtUpIn.get(partition) !== current) {
      await catchUp();
      caughtUpIn.set(partition, current);
    }
    const record = latestState.get(patientId);
    const applied = appliedOffset.get(patientId);
    if (record && (!applied || applied.partition !== record.partition || applied.offset < record.offset)) {
      processor.importPatient(patientId, record.state, contextOf(patientId, wardId));
      appliedOffset.set(patientId, { partition: record.partition, offset: record.offset });
      log.info({ partition: record.partition, offset: record.offset }, 'patient rule state restored from the changelog');
    }
    restoredIn.set(patientId, epoch.get(partition) ?? 0);
  }

  function notePartitionOffset(partition: number, offset: number): void {
    const last = lastOffset.get(partition);
    if (last === undefined || offset > last + 1 || offset <= last) epoch.set(partition, (epoch.get(partition) ?? 0) + 1);
    lastOffset.set(partition, offset);
  }

  const changelog = deps.changelog ?? true;
  async function publishStates(patientIds: readonly string[]): Promise<void> {
    if (!changelog) return;
    const records = patientIds.flatMap((patientId) => {
      const applied = appliedOffset.get(patientId);
      return applied ? [{ key: patientId, value: { patientId, partition: applied.partition, offset: applied.offset, state: processor.exportPatient(patientId) } }] : [];
    });
    if (records.length) await bus.publish(RulesStateTopic, records);
  }

  // What a record produced but could not yet publish, by record: a failed publish leaves the record
  // uncommitted, and its retry publishes these instead of applying the record a second time.
  type Produced = { patientId: string; alerts: Alert[]; score?: ScoreEvent };
  const unpublished = new Map<string, Produced>();
  let newestEventTime = 0;
  const timersAt = deps.clock === 'readings' ? () => newestEventTime : () => Date.now();

  const subscription: Subscription = await bus.consume({
    groupId: RULES_GROUP,
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
              notePartitionOffset(partition, at);
              await ensureRestored(reading.patientId, reading.wardId, partition);
              const applied = appliedOffset.get(reading.patientId);
              if (applied && applied.partition === partition && applied.offset >= at) {
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
              // Recorded at once, so a restore running meanwhile (timers) never installs older state over it.
              appliedOffset.set(reading.patientId, { partition, offset: at });
              out = { patientId: reading.patientId, alerts: result.alerts, ...(result.score ? { score: result.score } : {}) };
              unpublished.set(key, out);
              if (out.score) metrics.scoresComputed.inc({ rule: out.score.ruleId, partial: String(out.score.partial) });
            }
            outputs.push({ key, out });
          }
          if (!outputs.length) return;
          const scores = outputs.flatMap(({ out }) => (out.score ? [{ key: out.score.patientId, value: out.score }] : []));
          if (scores.length) await bus.publish(Topics.scores, scores);
          await publishAlerts(outputs.flatMap(({ out }) => out.alerts));
          await publishStates([...new Set(outputs.map(({ out }) => out.patientId))]);
          for (const { key } of outputs) unpublished.delete(key);
        },
        500,
      ),
      on(Topics.alertActions, async ({ value: action, partition, offset }) => {
        const key = `a${partition}:${offset}`;
        let alert = unpublished.get(key)?.alerts[0];
        if (!alert) {
          await ensureRestored(action.patientId, action.wardId, partition);
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
          unpublished.set(key, { patientId: action.patientId, alerts: [alert] });
          metrics.alertActions.inc({ action: action.action });
          log.info({ alertId: action.alertId, action: action.action, state: alert.state }, 'alert action applied');
        }
        await bus.publish(Topics.alerts, [{ key: alert.patientId, value: alert }]);
        // A resolution re-arms the rule only after its condition clears: that mark is rule state.
        await publishStates([action.patientId]);
        unpublished.delete(key);
      }),
    ],
  });
  // Partitions this process held at the last tick. Patients of a partition newly taken over are
  // restored before timers run, so a patient who has gone quiet still gets its missing-data alert.
  let held = new Set<number>();
  async function restoreTakenOver(assigned: ReadonlySet<number>): Promise<void> {
    const taken = [...assigned].filter((p) => !held.has(p));
    held = new Set(assigned);
    if (!taken.length) return;
    for (const p of taken) epoch.set(p, (epoch.get(p) ?? 0) + 1);
    await catchUp();
    for (const [patientId, record] of latestState) {
      if (!taken.includes(record.partition) || !assigned.has(partitionFor(patientId, deps.partitions))) continue;
      const wardId = registry.wardOf(patientId, new Date());
      if (wardId) await ensureRestored(patientId, wardId, record.partition);
    }
  }
  // Timers (missing data, windows, escalation) fire on the clock even when no reading arrives. What a
  // tick produced but could not publish is published again on the next one.
  let timerBacklog: Alert[] = [];
  const timer = setInterval(() => {
    void (async () => {
      await catchUp();
      const assigned = subscription.assigned();
      await restoreTakenOver(assigned);
      // On the readings clock nothing is due before the first reading.
      const at = timersAt();
      if (!at) return;
      timerBacklog = [...timerBacklog, ...processor.tick(at, (patientId) => assigned.has(partitionFor(patientId, deps.partitions)))];
      await publishAlerts(timerBacklog);
      timerBacklog = [];
    })().catch((error: unknown) => log.error({ err: error }, 'rule timers failed; retrying on the next tick'));
  }, deps.tickMs ?? 15_000);
  log.info({ rules: processor.rules.length + 1 }, 'rules role consuming');
  return {
    async stop() {
      clearInterval(timer);
      await subscription.stop();
      await views.stop();
    },
  };
}
