import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Alert, Pathway, Reading } from '../../../src/domain/index.ts';
import { loadRulePacks, type RulePack } from '../../../src/rules/engine/pack-file.ts';
import { loadNews2Rule, type News2Rule } from '../../../src/rules/news2/rule-file.ts';
import { createRulesProcessor, type PatientRuleContext } from '../../../src/rules/processor.ts';

/**
 * Invariants of the alert lifecycle over random streams of readings, ticks and nurses' actions, with
 * every pack loaded: whatever arrives, in whatever order, the engine never holds two unresolved alerts
 * for one patient and rule, revisions only grow, and the same stream gives the same alerts.
 */
let packs: RulePack[];
let news2: News2Rule;
beforeAll(async () => {
  packs = await loadRulePacks('rules');
  news2 = await loadNews2Rule('rules/news2.yaml');
});

const T0 = Date.parse('2026-11-02T06:00:00Z');
const UNITS: Record<string, string> = { respiratory_rate: '/min', spo2: '%', heart_rate: '/min', systolic_bp: 'mm[Hg]', diastolic_bp: 'mm[Hg]', temperature: 'Cel', weight: 'kg', consciousness: '{ACVPU}', supplemental_oxygen: '{boolean}', irregular_rhythm: '{boolean}' };
const PATHWAYS: Pathway[][] = [['ari'], ['heart-failure'], ['hypertension'], ['post-op'], ['copd'], ['general']];

const value = fc.oneof(
  fc.record({ type: fc.constant('spo2' as const), value: fc.integer({ min: 80, max: 100 }) }),
  fc.record({ type: fc.constant('heart_rate' as const), value: fc.integer({ min: 40, max: 160 }) }),
  fc.record({ type: fc.constant('respiratory_rate' as const), value: fc.integer({ min: 8, max: 30 }) }),
  fc.record({ type: fc.constant('systolic_bp' as const), value: fc.integer({ min: 85, max: 200 }) }),
  fc.record({ type: fc.constant('diastolic_bp' as const), value: fc.integer({ min: 50, max: 125 }) }),
  fc.record({ type: fc.constant('temperature' as const), value: fc.integer({ min: 355, max: 400 }).map((v) => v / 10) }),
  fc.record({ type: fc.constant('weight' as const), value: fc.integer({ min: 780, max: 860 }).map((v) => v / 10) }),
  fc.record({ type: fc.constant('irregular_rhythm' as const), value: fc.boolean() }),
  fc.record({ type: fc.constant('consciousness' as const), value: fc.constantFrom('A', 'C', 'V') }),
  fc.record({ type: fc.constant('supplemental_oxygen' as const), value: fc.boolean() }),
);
const event = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('reading' as const), patient: fc.integer({ min: 0, max: 5 }), minutes: fc.integer({ min: 0, max: 30 }), late: fc.integer({ min: 0, max: 120 }), v: value, position: fc.constantFrom(undefined, 'sitting', 'standing'), flagged: fc.boolean(), dup: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), minutes: fc.integer({ min: 0, max: 120 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('action' as const), pick: fc.nat(), resolve: fc.boolean() }) },
);

type Event = typeof event extends fc.Arbitrary<infer E> ? E : never;

function run(events: Event[]): Alert[] {
  const processor = createRulesProcessor({ news2, packs });
  const out: Alert[] = [];
  let clock = T0;
  let id = 0;
  let last: Reading | undefined;
  for (const e of events) {
    if (e.kind === 'tick') {
      clock += e.minutes * 60_000;
      out.push(...processor.tick(clock));
    } else if (e.kind === 'action') {
      const open = out.filter((a) => a.state !== 'resolved');
      const target = open[e.pick % Math.max(1, open.length)];
      if (!target) continue;
      const outcome = processor.applyAction({ actionId: `a${out.length}`, alertId: target.alertId, patientId: target.patientId, wardId: 'w1', action: e.resolve ? 'resolve' : 'acknowledge', by: 'nurse.p', at: new Date(clock).toISOString() });
      if ('alert' in outcome && outcome.changed) out.push(outcome.alert);
    } else {
      clock += e.minutes * 60_000;
      const patient = `p${e.patient}`;
      const c: PatientRuleContext = { wardId: 'w1', pathways: PATHWAYS[e.patient]!, settings: e.patient === 1 ? { baselineWeight: 80 } : {}, spo2Scale: e.patient === 4 ? 2 : 1 };
      const ts = new Date(clock - e.late * 60_000).toISOString();
      const r = (e.dup && last?.patientId === patient ? last : { readingId: `r${++id}`, patientId: patient, wardId: 'w1', deviceId: 'd', type: e.v.type, value: e.v.value, unit: UNITS[e.v.type], ts, receivedAt: ts, ...(e.position && e.v.type === 'systolic_bp' ? { position: e.position } : {}), ...(e.flagged && e.v.type === 'systolic_bp' ? { flags: ['irregular_pulse_during_measurement'] } : {}) }) as Reading;
      last = r;
      out.push(...processor.onReading(r, c).alerts);
    }
  }
  return out;
}

describe('alert lifecycle invariants (property-based, all packs)', () => {
  it('one unresolved alert per patient and rule; revisions grow; resolved alerts stay resolved; evidence and explanation always present', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 100, maxLength: 300 }), (events) => {
        const alerts = run(events);
        const latest = new Map<string, Alert>();
        const openByCause = new Map<string, string>();
        for (const a of alerts) {
          const previous = latest.get(a.alertId);
          if (previous) {
            expect(a.revision).toBeGreaterThan(previous.revision);
            expect(previous.state).not.toBe('resolved');
          } else {
            expect(a.revision).toBe(0);
          }
          latest.set(a.alertId, a);
          const cause = `${a.patientId}\u0000${a.ruleId}`;
          const holder = openByCause.get(cause);
          if (a.state === 'resolved') {
            if (holder === a.alertId) openByCause.delete(cause);
          } else {
            expect(holder === undefined || holder === a.alertId).toBe(true);
            openByCause.set(cause, a.alertId);
          }
          expect(a.explanation.length).toBeGreaterThan(a.ruleId.length);
          expect(a.ruleVersion).toMatch(/^\d+\.\d+\.\d+$/);
          if (a.ruleId === 'news2' || !/^no-/.test(a.ruleId)) expect(a.evidence.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('the same stream gives the same alerts, byte for byte', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 50, maxLength: 200 }), (events) => {
        expect(JSON.stringify(run(events))).toBe(JSON.stringify(run(events)));
      }),
      { numRuns: 40 },
    );
  });
});
