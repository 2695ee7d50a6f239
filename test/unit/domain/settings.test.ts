import { describe, expect, it } from 'vitest';
import { applySettings, PatientSettings, type PatientSettings as Settings } from '../../../src/domain/index.ts';

function version(v: number, values: Settings['values'] = { baselineWeight: 82 }, overrides: Partial<Settings> = {}): Settings {
  return {
    patientId: 'pt-1',
    wardId: 'ward-hf',
    version: v,
    effectiveFrom: `2026-03-0${Math.min(v + 1, 9)}T10:00:00Z`,
    setBy: 'hf.nurse',
    reason: 'dry weight after diuresis',
    spo2Scale: 1,
    values,
    ...overrides,
  };
}

describe('PatientSettings schema', () => {
  it('accepts a complete version with an optional pathways override', () => {
    const parsed = PatientSettings.parse(version(1, { baselineWeight: 82, onDiuretics: true, plan: 'A' }, { pathways: ['heart-failure'] }));
    expect(parsed.values).toEqual({ baselineWeight: 82, onDiuretics: true, plan: 'A' });
    expect(parsed.pathways).toEqual(['heart-failure']);
  });

  it.each([
    ['a name starting with a digit', { values: { '1weight': 82 } }],
    ['a name with a space', { values: { 'baseline weight': 82 } }],
    ['a name longer than 64 characters', { values: { [`a${'b'.repeat(64)}`]: 1 } }],
    ['a nested value', { values: { baselineWeight: { kg: 82 } } }],
    ['a null value', { values: { baselineWeight: null } }],
    ['a reason shorter than 3 characters', { reason: 'ok' }],
    ['a reason longer than 500 characters', { reason: 'x'.repeat(501) }],
    ['an empty setBy', { setBy: '' }],
    ['SpO2 scale 3', { spo2Scale: 3 }],
    ['an empty pathways override', { pathways: [] }],
    ['an unknown pathway', { pathways: ['cardiology'] }],
    ['a negative version', { version: -1 }],
    ['a fractional version', { version: 1.5 }],
    ['a time without offset', { effectiveFrom: '2026-03-01T10:00:00' }],
    ['a patient id outside the id alphabet', { patientId: 'pt 1' }],
  ])('refuses %s', (_, change) => {
    expect(PatientSettings.safeParse({ ...version(1), ...change }).success).toBe(false);
  });

  it('accepts the longest allowed name and reason', () => {
    expect(PatientSettings.safeParse(version(1, { [`a${'b'.repeat(63)}`]: 1 }, { reason: 'x'.repeat(500) })).success).toBe(true);
  });
});

describe('applySettings', () => {
  it('accepts version 1 over nothing, and each next version over the one held', () => {
    const v1 = applySettings(undefined, version(1));
    expect(v1).toEqual({ ok: true, settings: version(1) });
    expect(applySettings(version(0), version(1)).ok).toBe(true);
    expect(applySettings(version(1), version(2, { baselineWeight: 80 }))).toEqual({ ok: true, settings: version(2, { baselineWeight: 80 }) });
  });

  it('refuses a stale, repeated or skipped version', () => {
    expect(applySettings(version(2), version(2))).toEqual({ ok: false, reason: 'stale_version' });
    expect(applySettings(version(2), version(1))).toEqual({ ok: false, reason: 'stale_version' });
    expect(applySettings(version(1), version(3))).toEqual({ ok: false, reason: 'stale_version' });
    expect(applySettings(undefined, version(0))).toEqual({ ok: false, reason: 'stale_version' });
    expect(applySettings(undefined, version(2))).toEqual({ ok: false, reason: 'stale_version' });
  });

  it('refuses another patient’s version', () => {
    expect(applySettings(version(1), version(2, {}, { patientId: 'pt-2' }))).toEqual({ ok: false, reason: 'wrong_patient' });
  });

  it('resolves a race by order: every consumer keeps the first of two same-numbered versions', () => {
    const mine = version(2, { baselineWeight: 80 }, { setBy: 'nurse.a' });
    const theirs = version(2, { baselineWeight: 84 }, { setBy: 'nurse.b' });
    // Two consumers reading the same partition order, each fold the records from the same start.
    const fold = (records: Settings[]) =>
      records.reduce<Settings>((held, next) => {
        const result = applySettings(held, next);
        return result.ok ? result.settings : held;
      }, version(1));
    expect(fold([mine, theirs])).toBe(mine);
    expect(fold([mine, theirs])).toEqual(fold([mine, theirs, mine]));
    expect(fold([theirs, mine])).toBe(theirs);
  });
});
