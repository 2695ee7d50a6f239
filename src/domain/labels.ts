import { SEVERITY_RANK } from './alert.ts';
import type { News2Band, News2Parameter } from './score.ts';

/**
 * The words vw and its consoles use for NEWS2's parameters and bands: one table, so a label reads the
 * same in an alert's explanation, on the console and in a report. The console's copy,
 * dashboards/console/generated/labels.js, is generated from this file (`npm run generate:console`),
 * and a unit test fails when the two differ.
 */

/** NEWS2's parameters as clinicians abbreviate them on an observation chart, subscripts as printed. */
export const PARAM_LABEL: Readonly<Record<News2Parameter, string>> = {
  respiratory_rate: 'RR',
  spo2: 'SpO₂',
  supplemental_oxygen: 'O₂',
  systolic_bp: 'SBP',
  heart_rate: 'HR',
  consciousness: 'ACVPU',
  temperature: 'Temp',
};

const SUBSCRIPT_DIGITS = '₀₁₂₃₄₅₆₇₈₉';

/** A label in ASCII (SpO₂ → SpO2), for text that travels in records, logs and FHIR messages. */
export function asciiLabel(label: string): string {
  return label.replace(/[₀-₉]/g, (digit) => String(SUBSCRIPT_DIGITS.indexOf(digit)));
}

/** The same labels in ASCII: what alert explanations are written with (e.g. "SpO2 88 (+3)"). */
export const PARAM_LABEL_ASCII: Readonly<Record<News2Parameter, string>> = Object.fromEntries(
  Object.entries(PARAM_LABEL).map(([parameter, label]) => [parameter, asciiLabel(label)]),
) as Record<News2Parameter, string>;

/** NEWS2 bands, and the alert severities named after them, as words on a screen. */
export const BAND_LABEL: Readonly<Record<News2Band, string>> = {
  low: 'Low',
  'low-medium': 'Low–medium',
  medium: 'Medium',
  high: 'High',
};

/** How alert severities order, highest last: the consoles sort patients and alerts by it. */
export { SEVERITY_RANK };
