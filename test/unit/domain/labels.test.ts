import { describe, expect, it } from 'vitest';
import { News2Parameter, type ScoreEvent } from '../../../src/domain/index.ts';
import { BAND_LABEL, PARAM_LABEL, PARAM_LABEL_ASCII, SEVERITY_RANK, asciiLabel } from '../../../src/domain/labels.ts';
import { createAlertBook } from '../../../src/rules/alerts/alert-book.ts';

/** vw's labels for NEWS2 (src/domain/labels.ts), shared with the console through its generated copy. */
describe('NEWS2 labels', () => {
  it('label every parameter and band, and rank every alert severity', () => {
    expect(Object.keys(PARAM_LABEL).sort()).toEqual([...News2Parameter.options].sort());
    expect(Object.keys(BAND_LABEL).sort()).toEqual(['high', 'low', 'low-medium', 'medium']);
    expect(Object.entries(SEVERITY_RANK).sort(([, a], [, b]) => a - b).map(([severity]) => severity)).toEqual(['low-medium', 'medium', 'high']);
  });

  it('have ASCII forms for text kept in records: subscript digits become digits', () => {
    expect(asciiLabel('SpO₂')).toBe('SpO2');
    expect(asciiLabel('H₂O₀₉')).toBe('H2O09');
    expect(PARAM_LABEL_ASCII).toEqual({ ...PARAM_LABEL, spo2: 'SpO2', supplemental_oxygen: 'O2' });
    for (const label of Object.values(PARAM_LABEL_ASCII)) expect(label).toMatch(/^[\x20-\x7e]+$/);
  });

  it('are the words alert explanations name parameters with', () => {
    const ts = '2026-11-22T10:00:00.000Z';
    const parameters = News2Parameter.options;
    const score: ScoreEvent = {
      scoreId: 's1', patientId: 'pt-1', wardId: 'ward-a', ruleId: 'news2', ruleVersion: '1.0.0', ts, total: 7, band: 'high', spo2Scale: 1,
      partial: true, missing: [...parameters], receivedAt: ts,
      inputs: Object.fromEntries(parameters.map((p, i) => [p, { readingId: `r${i}`, value: i, ts, subscore: 1 }])),
    };
    const book = createAlertBook({ threshold: () => 'scores 1', response: () => 'respond' });
    const explanation = book.applyScore(score)!.explanation;
    expect(explanation).toContain(parameters.map((p, i) => `${PARAM_LABEL_ASCII[p]} ${i} (+1)`).join(', '));
    expect(explanation).toContain(`no fresh ${parameters.map((p) => PARAM_LABEL_ASCII[p]).join(', ')}`);
  });
});
