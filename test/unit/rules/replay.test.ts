import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Alert, RegistryData, type Reading } from '../../../src/domain/index.ts';
import { loadRegistryFile } from '../../../src/registry/load.ts';
import { createRegistry, type Registry } from '../../../src/registry/registry.ts';
import { parseRulePack, type RulePack } from '../../../src/rules/engine/pack-file.ts';
import { loadNews2Rule, type News2Rule } from '../../../src/rules/news2/rule-file.ts';
import { compareReplays, loadRuleSet, replay, replayAll, type ReplaySummary } from '../../../src/rules/replay.ts';
import { loadTraceScenario } from '../../../simulators/scenario.ts';
import { generateTrace } from '../../../simulators/trace.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const RULES = join(ROOT, 'rules');

let news2: News2Rule;
let heartFailure: RulePack;

const NO_SPO2 = parseRulePack(
  'test.yaml',
  `
pack: test
version: 1.0.0
title: Test pack
rules:
  - id: no-spo2
    version: 1.0.0
    title: No SpO2
    pathways: all
    description: No SpO2 for more than 10 minutes.
    source: test
    condition: { kind: missing, type: spo2, expectedEvery: 10m }
    severity: low-medium
    response: Call the patient.
`,
);

const ward = { wardId: 'w1', name: 'Ward', organisation: 'RXX', capacity: 10 };
const enrol = (deviceId: string, patientId: string, pathway: string) => ({ deviceId, patientId, wardId: 'w1', pathway, from: '2026-01-01T00:00:00Z' });
const smallRegistry: Registry = createRegistry(
  RegistryData.parse({
    wards: [ward],
    patients: [
      { patientId: 'p1', displayName: 'P One', spo2Scale: 1 },
      { patientId: 'p2', displayName: 'P Two', spo2Scale: 1 },
      {
        patientId: 'hf',
        displayName: 'H F',
        settings: { baselineWeight: 82 },
        settingsHistory: [
          { version: 1, effectiveFrom: '2026-01-02T00:00:00Z', setBy: 'dr.a', reason: 'admitted overloaded', values: { baselineWeight: 86.5 } },
          { version: 2, effectiveFrom: '2026-01-09T00:00:00Z', setBy: 'dr.a', reason: 'dry weight after diuresis', values: { baselineWeight: 82 } },
        ],
      },
    ],
    devices: [
      { deviceId: 'oxi-1', kind: 'pulse_oximeter' },
      { deviceId: 'oxi-2', kind: 'pulse_oximeter' },
      { deviceId: 'scale-hf', kind: 'scale' },
    ],
    enrolments: [enrol('oxi-1', 'p1', 'ari'), enrol('oxi-2', 'p2', 'ari'), enrol('scale-hf', 'hf', 'heart-failure')],
  }),
);

let n = 0;
function reading(patientId: string, type: 'spo2' | 'weight' | 'temperature', value: number, ts: string): Reading {
  const unit = { spo2: '%', weight: 'kg', temperature: 'Cel' }[type];
  return { readingId: `r${++n}`, patientId, deviceId: `dev-${patientId}`, wardId: 'w1', type, value, unit, ts, receivedAt: ts };
}
const at = (hhmmss: string) => `2026-03-02T${hhmmss}.000Z`;

beforeAll(async () => {
  news2 = await loadNews2Rule(join(RULES, 'news2.yaml'));
  heartFailure = parseRulePack('heart-failure.yaml', readFileSync(join(RULES, 'heart-failure.yaml'), 'utf8'));
});

describe('replay: time', () => {
  const run = (readings: Reading[], tickMs?: number) => replayAll({ news2, packs: [NO_SPO2], readings, registry: smallRegistry, ...(tickMs ? { tickMs } : {}) });

  it('ticks at every multiple of the tick crossed by the newest event time, so a timer fires at the first tick after it is due', async () => {
    const readings = [reading('p1', 'spo2', 97, at('00:00:30')), reading('p2', 'spo2', 97, at('00:30:00'))];
    const minute = await run(readings);
    expect(minute.alerts.map((a) => [a.patientId, a.ruleId, a.raisedAt])).toEqual([['p1', 'no-spo2', at('00:11:00')]]);
    const fiveMinutes = await run(readings, 300_000);
    expect(fiveMinutes.alerts.map((a) => a.raisedAt)).toEqual([at('00:15:00')]);
  });

  it('applies a reading at exactly a tick before that tick', async () => {
    // Ticked first, 00:11:00 would find SpO2 11 minutes old and open an alert the reading then resolves.
    const { alerts } = await run([reading('p1', 'spo2', 97, at('00:00:00')), reading('p1', 'spo2', 97, at('00:11:00')), reading('p2', 'spo2', 97, at('00:11:30'))]);
    expect(alerts).toEqual([]);
  });

  it('ends with a tick at the newest event time, which a late reading does not move back', async () => {
    const { alerts, summary } = await run([reading('p1', 'spo2', 97, at('00:00:00')), reading('p2', 'spo2', 97, at('00:10:45')), reading('p2', 'spo2', 97, at('00:00:10'))]);
    expect(alerts.map((a) => [a.patientId, a.raisedAt])).toEqual([['p1', at('00:10:45')]]);
    expect(summary.lastEventTs).toBe(at('00:10:45'));
    expect(summary.firstEventTs).toBe(at('00:00:00'));
  });

  it('skips and counts readings of patients the registry does not know, without moving the clock', async () => {
    const skipped: string[] = [];
    const stray = { ...reading('p1', 'spo2', 97, at('05:00:00')), patientId: 'nobody' };
    const { alerts, summary } = await replayAll({
      news2,
      packs: [NO_SPO2],
      registry: smallRegistry,
      readings: [reading('p1', 'spo2', 97, at('00:00:00')), stray, reading('p1', 'spo2', 97, at('00:05:00'))],
      onSkip: (r) => skipped.push(r.readingId),
    });
    expect(alerts).toEqual([]);
    expect(skipped).toEqual([stray.readingId]);
    expect(summary).toMatchObject({ readingsIn: 3, readingsSkipped: 1, unknownPatients: ['nobody'], patientDays: 1 });
  });

  it('accepts an async iterable, and has its summary only once the alerts are read', async () => {
    async function* readings() {
      yield reading('p1', 'spo2', 97, at('00:00:00'));
      yield reading('p1', 'spo2', 97, at('00:30:00'));
    }
    const r = replay({ news2, packs: [NO_SPO2], readings: readings(), registry: smallRegistry });
    expect(() => r.summary()).toThrow(/once every alert has been read/);
    const alerts: Alert[] = [];
    for await (const alert of r.alerts) alerts.push(alert);
    expect(alerts.map((a) => [a.state, a.raisedAt, a.updatedAt])).toEqual([
      ['open', at('00:11:00'), at('00:11:00')],
      ['resolved', at('00:11:00'), at('00:30:00')],
    ]);
    expect(r.summary().rules['no-spo2']).toEqual({ pack: 'test', version: '1.0.0', opened: 1, burden: 1 });
    expect(() => replay({ news2, packs: [], readings: [], registry: smallRegistry, tickMs: 0 })).toThrow(/positive/);
  });
});

describe('replay: patient context and summary', () => {
  it("uses the registry's settings version in force at each reading's event time", async () => {
    // Day 5: v1's provisional baseline (86.5 kg) is in force, so 86 kg is not above it; day 10: v2 (82 kg) is.
    const readings = [reading('hf', 'weight', 86, '2026-01-05T07:00:00.000Z'), reading('hf', 'weight', 85.5, '2026-01-10T07:00:00.000Z')];
    const { alerts } = await replayAll({ news2, packs: [heartFailure], readings, registry: smallRegistry, tickMs: 3_600_000 });
    expect(alerts.map((a) => [a.ruleId, a.raisedAt, a.revision])).toEqual([['hf-weight-above-dry', '2026-01-10T07:00:00.000Z', 0]]);
    expect(alerts[0]!.explanation).toMatch(/82/);

  });

  it('counts patient-days on UK calendar days, and burden as alerts opened per patient-day', async () => {
    const summer = [reading('p1', 'temperature', 36.8, '2026-06-01T23:30:00.000Z'), reading('p1', 'temperature', 36.8, '2026-06-02T00:30:00.000Z')];
    const winter = [reading('p2', 'temperature', 36.8, '2026-01-01T23:30:00.000Z'), reading('p2', 'temperature', 36.8, '2026-01-02T00:30:00.000Z')];
    // 00:30 and 01:30 BST on 2 June: one UK day. 23:30 and 00:30 GMT: two.
    expect((await replayAll({ news2, packs: [NO_SPO2], readings: summer, registry: smallRegistry })).summary.patientDays).toBe(1);
    const { summary, alerts } = await replayAll({ news2, packs: [NO_SPO2], readings: winter, registry: smallRegistry });
    expect(summary.patientDays).toBe(2);
    expect(alerts.filter((a) => a.revision === 0)).toHaveLength(1);
    expect(summary.rules['no-spo2']).toMatchObject({ opened: 1, burden: 0.5 });
    expect(summary.rules.news2).toMatchObject({ pack: 'news2', version: news2.version, opened: 0, burden: 0 });
  });

  it('loads a rule folder the same as rules passed in', async () => {
    const readings = [reading('p1', 'spo2', 91, at('08:00:00')), reading('p1', 'spo2', 90, at('08:05:00')), reading('p1', 'spo2', 97, at('20:00:00'))];
    const fromDir = await replayAll({ rulesDir: RULES, readings, registry: smallRegistry });
    const given = await replayAll({ ...(await loadRuleSet(RULES)), readings, registry: smallRegistry });
    expect(JSON.stringify(fromDir)).toBe(JSON.stringify(given));
    expect(fromDir.alerts.some((a) => a.ruleId === 'spo2-emergency')).toBe(true);
  });

  it('explains a missing-data alert with no reading at all by saying none arrived', async () => {
    const { alerts } = await replayAll({ rulesDir: RULES, readings: [reading('p1', 'temperature', 36.8, at('08:00:00')), reading('p1', 'temperature', 36.8, at('23:00:00'))], registry: smallRegistry });
    const missing = alerts.find((a) => a.ruleId === 'no-spo2-data')!;
    expect(missing.evidence).toEqual([]);
    expect(missing.explanation).toMatch(/none/);
  });
});

describe('replay: compare', () => {
  const alert = (patientId: string, ruleId: string, raisedAt: string, revision = 0): Alert =>
    Alert.parse({
      alertId: `${patientId}-${ruleId}-${raisedAt}`,
      patientId,
      wardId: 'w1',
      cause: ruleId,
      ruleId,
      ruleVersion: '1.0.0',
      severity: 'medium',
      state: 'open',
      revision,
      raisedAt,
      updatedAt: raisedAt,
      eventTs: raisedAt,
      explanation: 'x',
      response: 'y',
      evidence: [],
      history: [],
      receivedAt: raisedAt,
    });
  const summary = (rules: Record<string, { version: string; opened: number }>, patientDays = 4): ReplaySummary => ({
    readingsIn: 10,
    readingsSkipped: 0,
    unknownPatients: [],
    patientDays,
    revisions: 0,
    rules: Object.fromEntries(Object.entries(rules).map(([id, r]) => [id, { pack: 'p', version: r.version, opened: r.opened, burden: r.opened / patientDays }])),
  });

  it('matches openings by patient, rule and raisedAt, counting repeats, and ignores later revisions', () => {
    const t1 = '2026-03-02T08:00:00.000Z';
    const t2 = '2026-03-02T09:00:00.000Z';
    const a = { alerts: [alert('p1', 'r', t1), alert('p1', 'r', t1, 1), alert('p2', 'r', t1), alert('p1', 'gone', t1)], summary: summary({ r: { version: '1.0.0', opened: 2 }, gone: { version: '1.0.0', opened: 1 } }) };
    const b = { alerts: [alert('p1', 'r', t1), alert('p2', 'r', t2), alert('p3', 'r', t2), alert('p1', 'new', t2)], summary: summary({ r: { version: '1.1.0', opened: 3 }, new: { version: '1.0.0', opened: 1 } }) };
    const c = compareReplays(a, b);
    expect(c.rules).toEqual([
      { ruleId: 'r', openedA: 2, openedB: 3, added: 2, removed: 1, burdenA: 0.5, burdenB: 0.75, versionA: '1.0.0', versionB: '1.1.0' },
      { ruleId: 'gone', openedA: 1, openedB: 0, added: 0, removed: 1, burdenA: 0.25, burdenB: 0, versionA: '1.0.0' },
      { ruleId: 'new', openedA: 0, openedB: 1, added: 1, removed: 0, burdenA: 0, burdenB: 0.25, versionB: '1.0.0' },
    ]);
    expect(c.totals).toEqual({ openedA: 3, openedB: 4, added: 3, removed: 2, burdenA: 0.75, burdenB: 1 });
  });
});

describe('replay: the ward-week trace', () => {
  let trace: Reading[];
  let registry: Registry;
  let week: { alerts: Alert[]; summary: ReplaySummary };

  beforeAll(async () => {
    const { data } = await loadRegistryFile(join(ROOT, 'seeds/trace-ward.yaml'));
    registry = createRegistry(data);
    trace = generateTrace(data, await loadTraceScenario(join(ROOT, 'simulators/scenarios/ward-week.yaml')));
    week = await replayAll({ rulesDir: RULES, readings: trace, registry });
  }, 120_000);

  const jsonl = (alerts: Alert[]) => alerts.map((a) => JSON.stringify(a)).join('\n');

  it('replays byte for byte the same twice', async () => {
    const again = await replayAll({ rulesDir: RULES, readings: trace, registry });
    expect(jsonl(again.alerts)).toBe(jsonl(week.alerts));
    expect(again.summary).toEqual(week.summary);
    expect(week.alerts.length).toBeGreaterThan(50);
  }, 60_000);

  it('names the rule, its version, evidence with thresholds and an explanation in every alert', () => {
    for (const a of week.alerts) {
      expect(Alert.safeParse(a).success).toBe(true);
      const rule = week.summary.rules[a.ruleId];
      expect(rule, a.ruleId).toBeDefined();
      expect(a.ruleVersion).toBe(rule!.version);
      expect(a.explanation.trim()).not.toBe('');
      if (a.evidence.length === 0) {
        // Only a missing-data alert may cite no reading, and then it must say none arrived.
        expect(a.explanation).toMatch(/none/);
        expect(a.ruleId).toMatch(/^no-/);
      }
      for (const e of a.evidence) {
        expect(e.readingId).not.toBe('');
        expect(e.threshold.trim()).not.toBe('');
      }
    }
  });

  it('never holds two unresolved alerts for one patient and rule, and gives each opening its own id', () => {
    const unresolved = new Map<string, Alert>();
    const openedIds = new Set<string>();
    const latest = new Map<string, number>();
    for (const a of week.alerts) {
      const key = `${a.patientId}/${a.ruleId}`;
      const held = unresolved.get(key);
      if (a.revision === 0) {
        expect(held, `second unresolved ${key} at ${a.raisedAt}`).toBeUndefined();
        expect(openedIds.has(a.alertId)).toBe(false);
        openedIds.add(a.alertId);
      } else {
        expect(held?.alertId).toBe(a.alertId);
        expect(a.revision).toBe(latest.get(a.alertId)! + 1);
      }
      latest.set(a.alertId, a.revision);
      if (a.state === 'resolved') unresolved.delete(key);
      else unresolved.set(key, a);
    }
    expect(openedIds.size).toBe(Object.values(week.summary.rules).reduce((sum, r) => sum + r.opened, 0));
  });

  it('raises alerts from NEWS2 and every clinical pack', () => {
    const packs = new Set(week.alerts.map((a) => week.summary.rules[a.ruleId]!.pack));
    expect(packs.has('news2')).toBe(true);
    expect(packs.has('oximetry') || packs.has('post-acute')).toBe(true);
    expect(packs.has('heart-failure')).toBe(true);
    expect(packs.has('atrial-fibrillation')).toBe(true);
    const loaded = new Set(Object.values(week.summary.rules).map((r) => r.pack));
    if (loaded.has('hypertension')) expect(packs.has('hypertension')).toBe(true);
    // The right patients: fluid retention in the decompensating patient only, AF in the AF patient only.
    const opened = (ruleId: string) => new Set(week.alerts.filter((a) => a.ruleId === ruleId && a.revision === 0).map((a) => a.patientId));
    expect(opened('hf-weight-gain')).toEqual(new Set(['tw-07']));
    expect(opened('af-irregular-rhythm')).toEqual(new Set(['tw-12']));
    expect(opened('post-op-fever')).toEqual(new Set(['tw-10']));
  });

  it('summarises readings, patient-days and burden', () => {
    const s = week.summary;
    expect(s.readingsIn).toBe(trace.length);
    expect(s.readingsSkipped).toBe(0);
    // 13 patients for 7 days, less any day a non-adherent patient sent nothing at all.
    expect(s.patientDays).toBeGreaterThanOrEqual(88);
    expect(s.patientDays).toBeLessThanOrEqual(91);
    expect(s.revisions).toBe(week.alerts.length);
    for (const [id, r] of Object.entries(s.rules)) {
      expect(r.opened, id).toBe(week.alerts.filter((a) => a.ruleId === id && a.revision === 0).length);
      expect(r.burden).toBeCloseTo(r.opened / s.patientDays, 12);
    }
  });

  describe('comparing rule folders', () => {
    function changedRules(file: string, edit: (text: string) => string): string {
      const dir = join(mkdtempSync(join(tmpdir(), 'vw-rules-')), 'rules');
      cpSync(RULES, dir, { recursive: true });
      const path = join(dir, file);
      const before = readFileSync(path, 'utf8');
      const after = edit(before);
      expect(after).not.toBe(before);
      writeFileSync(path, after);
      return dir;
    }

    it('reports the alerts a tightened threshold removes, and nothing else changed', async () => {
      // hf-weight-gain: more than 5 kg in 72 h instead of 2 kg, as version 1.1.0.
      const dir = changedRules('heart-failure.yaml', (t) =>
        t.replace(/(- id: hf-weight-gain\n\s+version: )1\.0\.0/, '$11.1.0').replace(/(from: window-min\n\s+op: '>'\n\s+value: )2\n/, '$15\n'),
      );
      const b = await replayAll({ rulesDir: dir, readings: trace, registry });
      const c = compareReplays(week, b);
      const hf = c.rules.find((r) => r.ruleId === 'hf-weight-gain')!;
      expect(hf.openedA).toBeGreaterThanOrEqual(1);
      expect(hf).toMatchObject({ openedB: 0, added: 0, removed: hf.openedA, versionA: '1.0.0', versionB: '1.1.0', burdenB: 0 });
      for (const r of c.rules.filter((r) => r.ruleId !== 'hf-weight-gain')) {
        expect(r, r.ruleId).toMatchObject({ added: 0, removed: 0, openedB: r.openedA, versionB: r.versionA });
      }
      expect(c.totals).toMatchObject({ added: 0, removed: hf.openedA, openedB: c.totals.openedA - hf.openedA });
    }, 60_000);

    it('reports an earlier opening under a loosened threshold as one added and one removed', async () => {
      // spo2-urgent-review: raised at 95% or less instead of 94%.
      const dir = changedRules('oximetry.yaml', (t) => t.replace("raise: { op: '<=', value: 94 }", "raise: { op: '<=', value: 95 }"));
      const b = await replayAll({ rulesDir: dir, readings: trace, registry });
      const c = compareReplays(week, b);
      const changed = c.rules.find((r) => r.ruleId === 'spo2-urgent-review')!;
      expect(changed.added).toBeGreaterThanOrEqual(1);
      expect(changed.removed).toBeGreaterThanOrEqual(1);
      // The deteriorating patient's alert opens earlier: what B added for that patient comes before what it removed.
      const openings = (alerts: Alert[]) => alerts.filter((a) => a.ruleId === 'spo2-urgent-review' && a.revision === 0 && a.patientId === 'tw-02').map((a) => a.raisedAt);
      expect(openings(b.alerts)[0]! < openings(week.alerts)[0]!).toBe(true);
      for (const r of c.rules) {
        expect(r.openedB - r.openedA, r.ruleId).toBe(r.added - r.removed);
        if (r.ruleId !== 'spo2-urgent-review') expect(r, r.ruleId).toMatchObject({ added: 0, removed: 0 });
      }
    }, 60_000);
  });
});
