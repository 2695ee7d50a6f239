import { describe, expect, it } from 'vitest';
import { RegistryData, type SettingsHistoryEntry } from '../../../src/domain/index.ts';
import { loadRegistryFile } from '../../../src/registry/load.ts';
import { createRegistry } from '../../../src/registry/registry.ts';

type PatientInput = RegistryData['patients'][number];

function data(patient: Partial<PatientInput>, enrolments: Array<{ wardId: string; from: string; until?: string }> = [{ wardId: 'w1', from: '2026-01-01T00:00:00Z' }]) {
  return RegistryData.parse({
    wards: [
      { wardId: 'w1', name: 'Ward One', organisation: 'RXX', capacity: 10 },
      { wardId: 'w2', name: 'Ward Two', organisation: 'RXX', capacity: 10 },
    ],
    patients: [{ patientId: 'p1', displayName: 'P One', ...patient }, { patientId: 'p2', displayName: 'Never enrolled' }],
    devices: enrolments.map((_, i) => ({ deviceId: `d${i}`, kind: 'scale' })),
    enrolments: enrolments.map((e, i) => ({ deviceId: `d${i}`, patientId: 'p1', pathway: 'heart-failure', ...e })),
  });
}

const history: SettingsHistoryEntry[] = [
  { version: 1, effectiveFrom: '2026-01-02T09:00:00Z', setBy: 'dr.a', reason: 'provisional on admission', values: { baselineWeight: 86 } },
  { version: 2, effectiveFrom: '2026-01-09T09:00:00Z', setBy: 'nurse.b', reason: 'dry weight after diuresis', spo2Scale: 2, pathways: ['heart-failure', 'copd'], values: { baselineWeight: 82 } },
  { version: 3, effectiveFrom: '2026-01-09T09:00:00Z', setBy: 'nurse.b', reason: 'added BP target', values: { baselineWeight: 82, homeBpTargetSystolic: 130 } },
];

describe('registry settings', () => {
  it('gives version 0 from the legacy fields, as registered, on the patient’s ward', () => {
    const registry = createRegistry(data({ spo2Scale: 2, settings: { baselineWeight: 80 } }));
    expect(registry.settingsAt('p1', new Date('2026-02-01T00:00:00Z'))).toEqual({
      patientId: 'p1', wardId: 'w1', version: 0, effectiveFrom: '2026-01-01T00:00:00Z', setBy: 'registry', reason: 'as registered', spo2Scale: 2, values: { baselineWeight: 80 },
    });
    // A patient registered with neither still has a version 0 to build on.
    expect(createRegistry(data({})).settingsAt('p1', new Date('2026-02-01T00:00:00Z'))).toMatchObject({ version: 0, spo2Scale: 1, values: {} });
  });

  it('gives the newest history version in force at the time asked, before and after each effectiveFrom', () => {
    const registry = createRegistry(data({ settings: { baselineWeight: 80 }, settingsHistory: history }));
    const at = (iso: string) => registry.settingsAt('p1', new Date(iso));
    expect(at('2026-01-02T08:59:59Z')).toMatchObject({ version: 0, values: { baselineWeight: 80 } });
    expect(at('2026-01-02T09:00:00Z')).toMatchObject({ version: 1, setBy: 'dr.a', reason: 'provisional on admission', spo2Scale: 1, values: { baselineWeight: 86 } });
    expect(at('2026-01-02T09:00:00Z')?.pathways).toBeUndefined();
    expect(at('2026-01-08T23:00:00Z')?.version).toBe(1);
    // Two versions effective at the same instant: the later version wins.
    expect(at('2026-01-09T09:00:00Z')).toMatchObject({ version: 3, values: { baselineWeight: 82, homeBpTargetSystolic: 130 } });
    // Version 3 names no scale, so it keeps version 2's; pathways are not carried over.
    expect(at('2026-06-01T00:00:00Z')).toMatchObject({ version: 3, spo2Scale: 2 });
    expect(at('2026-06-01T00:00:00Z')?.pathways).toBeUndefined();
    expect(registry.settingsVersions('p1').map((v) => [v.version, v.pathways ?? null])).toEqual([[0, null], [1, null], [2, ['heart-failure', 'copd']], [3, null]]);
  });

  it('names the ward the patient is on at that time, or the first ward when not enrolled then', () => {
    const registry = createRegistry(
      data({ settingsHistory: history.slice(0, 1) }, [
        { wardId: 'w1', from: '2026-01-01T00:00:00Z', until: '2026-03-01T00:00:00Z' },
        { wardId: 'w2', from: '2026-03-01T00:00:00Z', until: '2026-04-01T00:00:00Z' },
      ]),
    );
    expect(registry.settingsAt('p1', new Date('2026-02-01T00:00:00Z'))?.wardId).toBe('w1');
    expect(registry.settingsAt('p1', new Date('2026-03-15T00:00:00Z'))).toMatchObject({ version: 1, wardId: 'w2' });
    expect(registry.settingsAt('p1', new Date('2026-05-01T00:00:00Z'))?.wardId).toBe('w1');
  });

  it('has no settings for an unknown patient or one never enrolled', () => {
    const registry = createRegistry(data({}));
    expect(registry.settingsAt('nobody', new Date())).toBeUndefined();
    expect(registry.settingsAt('p2', new Date())).toBeUndefined();
    expect(registry.settingsVersions('p2')).toEqual([]);
  });

  it.each([
    ['a history not starting at version 1', [{ ...history[1]!, version: 2 }], /patient p1: settingsHistory version 2 out of order \(expected version 1/],
    ['a repeated version', [history[0]!, { ...history[1]!, version: 1 }], /patient p1: settingsHistory version 1 out of order \(expected version 2/],
    ['a skipped version', [history[0]!, { ...history[1]!, version: 3 }], /patient p1: settingsHistory version 3 out of order/],
    ['versions newest first', [history[1]!, history[0]!], /patient p1: settingsHistory version 2 out of order/],
    ['a version taking effect before the one before it', [history[0]!, { ...history[1]!, effectiveFrom: '2026-01-01T12:00:00Z' }], /patient p1: settingsHistory version 2 takes effect before version 1/],
  ])('refuses %s, naming the patient and the version', (_, settingsHistory, message) => {
    expect(() => createRegistry(data({ settingsHistory }))).toThrow(message);
  });

  it('refuses a history entry without a reason or with a bad setting name at load', () => {
    expect(RegistryData.safeParse({ ...data({}), patients: [{ patientId: 'p1', displayName: 'x', settingsHistory: [history[0]], settings: { good_name: 1 } }] }).success).toBe(true);
    expect(RegistryData.safeParse({ ...data({}), patients: [{ patientId: 'p1', displayName: 'x', settingsHistory: [{ ...history[0], reason: '' }] }] }).success).toBe(false);
    expect(RegistryData.safeParse({ ...data({}), patients: [{ patientId: 'p1', displayName: 'x', settings: { 'bad name': 1 } }] }).success).toBe(false);
  });

  it('loads the demo seeds: the heart-failure patient’s dry weight revised after diuresis', async () => {
    const { registry } = await loadRegistryFile(new URL('../../../seeds/demo-ward.yaml', import.meta.url).pathname);
    const versions = registry.settingsVersions('pt-0004');
    expect(versions.map((v) => v.version)).toEqual([0, 1, 2]);
    expect(versions.slice(1).every((v) => v.setBy !== 'registry' && v.reason.length >= 3 && v.wardId === 'ward-hf')).toBe(true);
    expect(registry.settingsAt('pt-0004', new Date())).toMatchObject({ version: 2, values: { baselineWeight: 82 } });
    expect(registry.settingsAt('pt-0003', new Date())).toMatchObject({ version: 0, spo2Scale: 2 });
  });
});
