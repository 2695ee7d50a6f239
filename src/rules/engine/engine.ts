import { createHash } from 'node:crypto';
import type { Alert, AlertAction, Pathway, Reading, ReadingType } from '../../domain/index.ts';
import { SEVERITY_RANK } from '../../domain/index.ts';
import { evaluate, type Evidence, type NodeState, type Point, type Settings } from './evaluate.ts';
import type { Condition, RuleDefinition, RulePack } from './pack-file.ts';

/**
 * The rule engine: every loaded rule, for every patient on its pathways, with the alert lifecycle
 * (open → escalated → acknowledged → resolved). Time is event time only: readings move it forward for
 * their patient, `tick(now)` moves it for timers (missing data, escalation). The same readings and
 * ticks in the same order give the same alerts, byte for byte.
 */
export interface PatientContext {
  wardId: string;
  pathways: readonly Pathway[];
  settings: Settings;
}

interface LoadedRule extends RuleDefinition {
  pack: string;
  timeDriven: boolean;
}

interface OpenAlert {
  alert: Alert;
  step: number;
  due?: number;
}

interface PatientState {
  ctx: PatientContext;
  firstSeen: number;
  history: Map<ReadingType, Point[]>;
  nodes: Map<string, Map<string, NodeState>>;
  alerts: Map<string, OpenAlert>;
}

export type EngineActionOutcome = { alert: Alert; changed: boolean } | { error: 'not_found' | 'already_resolved' };

const iso = (t: number) => new Date(t).toISOString();

function walk(condition: Condition, visit: (c: Condition) => void): void {
  visit(condition);
  if (condition.kind === 'all' || condition.kind === 'any') condition.of.forEach((c) => walk(c, visit));
}

export function createRuleEngine(packs: readonly RulePack[]) {
  const rules: LoadedRule[] = packs.flatMap((pack) =>
    pack.rules.map((rule) => {
      let timeDriven = false;
      walk(rule.condition, (c) => (timeDriven ||= c.kind === 'missing'));
      return { ...rule, pack: pack.pack, timeDriven };
    }),
  );
  // How much history each type needs: the longest window any rule looks back over, and enough
  // readings for the longest `sustained.readings`.
  const keepMs = new Map<ReadingType, number>();
  const keepCount = new Map<ReadingType, number>();
  for (const rule of rules) {
    walk(rule.condition, (c) => {
      if (c.kind === 'all' || c.kind === 'any') return;
      const window = c.kind === 'delta' || c.kind === 'average' ? c.window : 'sustained' in c && c.sustained?.for !== undefined ? c.sustained.for : 0;
      keepMs.set(c.type, Math.max(keepMs.get(c.type) ?? 0, window));
      const count = 'sustained' in c && c.sustained?.readings !== undefined ? c.sustained.readings : 1;
      keepCount.set(c.type, Math.max(keepCount.get(c.type) ?? 1, count));
    });
  }
  const patients = new Map<string, PatientState>();
  const byId = new Map<string, { patientId: string; ruleId: string }>();

  const applies = (rule: LoadedRule, ctx: PatientContext) => rule.pathways === 'all' || rule.pathways.some((p) => ctx.pathways.includes(p));

  function historyOf(state: PatientState) {
    return { points: (type: ReadingType) => state.history.get(type) ?? [], firstSeen: state.firstSeen };
  }

  function record(state: PatientState, reading: Reading, t: number): boolean {
    if (!keepMs.has(reading.type)) return true;
    let points = state.history.get(reading.type);
    if (!points) state.history.set(reading.type, (points = []));
    if (points.some((p) => p.readingId === reading.readingId)) return false;
    const point: Point = { t, readingId: reading.readingId, value: reading.value, ...(reading.flags ? { flags: reading.flags } : {}) };
    let i = points.length;
    while (i > 0 && points[i - 1]!.t > t) i--;
    points.splice(i, 0, point);
    const newest = points.at(-1)!.t;
    const keep = keepMs.get(reading.type)!;
    const count = keepCount.get(reading.type)!;
    let drop = 0;
    while (drop < points.length - count && points[drop]!.t < newest - keep) drop++;
    if (drop) points.splice(0, drop);
    return true;
  }

  function explain(rule: LoadedRule, evidence: Evidence[]): string {
    const parts = [...new Set(evidence.filter((e) => e.threshold !== 'baseline for the change').map((e) => `${e.threshold} (${String(e.value)})`))];
    return `${rule.title}: ${parts.join('; ') || 'condition met'}`;
  }

  function toAlertEvidence(evidence: Evidence[]): Alert['evidence'] {
    return evidence.map((e) => ({ readingId: e.readingId, type: e.type, value: e.value, ts: iso(e.t), threshold: e.threshold }));
  }

  /** Evaluates one rule for one patient at `now`; returns the alert if it changed. */
  function run(rule: LoadedRule, patientId: string, state: PatientState, now: number, reading?: Reading): Alert | undefined {
    let nodes = state.nodes.get(rule.id);
    if (!nodes) state.nodes.set(rule.id, (nodes = new Map()));
    const outcome = evaluate(rule.condition, 'c', { history: historyOf(state), settings: state.ctx.settings, now, ...(reading ? { reading } : {}), state: nodes });
    const current = state.alerts.get(rule.id);
    const receivedAt = reading?.receivedAt ?? iso(now);
    if (outcome.holds && !current) {
      const alertId = 'al_' + createHash('sha1').update(`${patientId}\u0000${rule.id}\u0000${now}`).digest('base64url').slice(0, 20);
      const alert: Alert = {
        alertId,
        patientId,
        wardId: state.ctx.wardId,
        cause: rule.id,
        ruleId: rule.id,
        ruleVersion: rule.version,
        severity: rule.severity,
        state: 'open',
        revision: 0,
        raisedAt: iso(now),
        updatedAt: iso(now),
        eventTs: iso(now),
        partial: false,
        explanation: explain(rule, outcome.evidence),
        response: rule.response,
        evidence: toAlertEvidence(outcome.evidence),
        history: [{ state: 'open', at: iso(now), by: 'vw' }],
        receivedAt,
      };
      const first = rule.escalation[0];
      state.alerts.set(rule.id, { alert, step: 0, ...(first ? { due: now + first.afterUnacknowledged } : {}) });
      byId.set(alertId, { patientId, ruleId: rule.id });
      return alert;
    }
    if (!current) return undefined;
    const alert = current.alert;
    if (!outcome.holds) {
      if (!rule.autoResolve) return undefined;
      state.alerts.delete(rule.id);
      return {
        ...alert,
        state: 'resolved',
        revision: alert.revision + 1,
        updatedAt: iso(now),
        eventTs: iso(now),
        history: [...alert.history, { state: 'resolved', at: iso(now), by: 'vw', note: 'condition cleared' }],
        receivedAt,
      };
    }
    const evidence = toAlertEvidence(outcome.evidence);
    if (evidence.map((e) => e.readingId).join() === alert.evidence.map((e) => e.readingId).join()) return undefined;
    current.alert = { ...alert, revision: alert.revision + 1, updatedAt: iso(now), eventTs: iso(now), evidence, explanation: explain(rule, outcome.evidence), receivedAt };
    return current.alert;
  }

  function escalate(rule: LoadedRule, open: OpenAlert, now: number): Alert | undefined {
    let changed: Alert | undefined;
    while (open.due !== undefined && open.due <= now && (open.alert.state === 'open' || open.alert.state === 'escalated')) {
      const step = rule.escalation[open.step]!;
      const severity = SEVERITY_RANK[step.to] > SEVERITY_RANK[open.alert.severity] ? step.to : open.alert.severity;
      const at = iso(open.due);
      open.alert = {
        ...open.alert,
        severity,
        state: 'escalated',
        revision: open.alert.revision + 1,
        updatedAt: at,
        history: [...open.alert.history, { state: 'escalated', at, by: 'vw', note: `not acknowledged in time: ${step.notify}` }],
      };
      changed = open.alert;
      open.step++;
      const next = rule.escalation[open.step];
      open.due = next ? open.due + next.afterUnacknowledged : undefined;
    }
    return changed;
  }

  return {
    rules: rules as readonly RuleDefinition[],

    /** Applies a reading; returns the alerts it opened, changed or resolved, in rule order. */
    onReading(reading: Reading, ctx: PatientContext): Alert[] {
      const t = Date.parse(reading.ts);
      let state = patients.get(reading.patientId);
      if (!state) patients.set(reading.patientId, (state = { ctx, firstSeen: t, history: new Map(), nodes: new Map(), alerts: new Map() }));
      state.ctx = ctx;
      if (!record(state, reading, t)) return [];
      const out: Alert[] = [];
      for (const rule of rules) {
        if (!applies(rule, ctx)) continue;
        const changed = run(rule, reading.patientId, state, t, reading);
        if (changed) out.push(changed);
      }
      return out;
    },

    /** Moves the clock: fires missing-data conditions and escalation timers due by `now`. */
    tick(now: number): Alert[] {
      const out: Alert[] = [];
      for (const [patientId, state] of patients) {
        for (const rule of rules) {
          if (!applies(rule, state.ctx)) continue;
          if (rule.timeDriven) {
            const changed = run(rule, patientId, state, now);
            if (changed) out.push(changed);
          }
          const open = state.alerts.get(rule.id);
          if (open) {
            const escalated = escalate(rule, open, now);
            if (escalated) out.push(escalated);
          }
        }
      }
      return out;
    },

    applyAction(action: AlertAction): EngineActionOutcome {
      const ref = byId.get(action.alertId);
      const open = ref ? patients.get(ref.patientId)?.alerts.get(ref.ruleId) : undefined;
      if (!ref) return { error: 'not_found' };
      if (!open || open.alert.alertId !== action.alertId) return { error: 'already_resolved' };
      const state = action.action === 'acknowledge' ? 'acknowledged' : 'resolved';
      if (open.alert.state === state) return { alert: open.alert, changed: false };
      const alert: Alert = {
        ...open.alert,
        state,
        revision: open.alert.revision + 1,
        updatedAt: action.at,
        history: [...open.alert.history, { state, at: action.at, by: action.by, ...(action.note ? { note: action.note } : {}) }],
      };
      if (state === 'resolved') patients.get(ref.patientId)!.alerts.delete(ref.ruleId);
      else {
        open.alert = alert;
        open.due = undefined;
      }
      return { alert, changed: true };
    },

    /**
     * Installs an unresolved alert published by another process (or before a restart), so the process
     * now owning the patient continues it: same id, its escalation timer resumed.
     */
    seed(alert: Alert, ctx: PatientContext): void {
      const rule = rules.find((r) => r.id === alert.ruleId);
      if (!rule) return;
      let state = patients.get(alert.patientId);
      const t = Date.parse(alert.eventTs);
      if (!state) patients.set(alert.patientId, (state = { ctx, firstSeen: t, history: new Map(), nodes: new Map(), alerts: new Map() }));
      const held = state.alerts.get(rule.id);
      if (held && held.alert.alertId === alert.alertId && held.alert.revision >= alert.revision) return;
      if (alert.state === 'resolved') {
        if (held?.alert.alertId === alert.alertId) state.alerts.delete(rule.id);
        return;
      }
      const step = alert.history.filter((h) => h.state === 'escalated').length;
      const next = rule.escalation[step];
      const waiting = alert.state === 'open' || alert.state === 'escalated';
      state.alerts.set(rule.id, { alert, step, ...(waiting && next ? { due: Date.parse(alert.updatedAt) + next.afterUnacknowledged } : {}) });
      byId.set(alert.alertId, { patientId: alert.patientId, ruleId: rule.id });
    },

    owns: (alertId: string) => byId.has(alertId),

    patientCount: () => patients.size,
  };
}
export type RuleEngine = ReturnType<typeof createRuleEngine>;
