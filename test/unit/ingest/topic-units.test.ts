import { describe, expect, it } from 'vitest';
import { deviceTopic, parseDeviceTopic } from '../../../src/ingest/topic.ts';
import { toCanonicalUnit } from '../../../src/ingest/units.ts';
import { implausibility } from '../../../src/ingest/plausibility.ts';

describe('device topics', () => {
  it('round-trips a device id', () => {
    expect(parseDeviceTopic(deviceTopic('oxi-0001'))).toBe('oxi-0001');
  });
  it.each([
    'vw/v1/devices/oxi-0001/status',
    'vw/v1/devices//readings',
    'vw/v2/devices/oxi-0001/readings',
    'vw/v1/devices/a/b/readings',
    'vw/v1/devices/has space/readings',
    `vw/v1/devices/${'x'.repeat(65)}/readings`,
  ])('refuses %s', (topic) => {
    expect(parseDeviceTopic(topic)).toBeUndefined();
  });
});

describe('unit conversion to UCUM canonical units', () => {
  it.each([
    ['temperature', 98.6, '[degF]', 37, 'Cel'],
    ['temperature', 104, 'F', 40, 'Cel'],
    ['temperature', 37.2, 'Cel', 37.2, 'Cel'],
    ['weight', 180, '[lb_av]', 81.65, 'kg'],
    ['weight', 82500, 'g', 82.5, 'kg'],
    ['systolic_bp', 16, 'kPa', 120, 'mm[Hg]'],
    ['diastolic_bp', 80, 'mmHg', 80, 'mm[Hg]'],
    ['heart_rate', 72, '{beats}/min', 72, '/min'],
    ['respiratory_rate', 16, '{breaths}/min', 16, '/min'],
  ] as const)('%s %d %s → %d %s', (type, value, unit, expected, canonical) => {
    expect(toCanonicalUnit(type, value, unit)).toEqual({ value: expected, unit: canonical });
  });
  it('refuses units it cannot convert', () => {
    expect(toCanonicalUnit('spo2', 0.97, '1')).toBeUndefined();
    expect(toCanonicalUnit('temperature', 310, 'K')).toBeUndefined();
  });
});

describe('physiological limits', () => {
  it('accepts the extremes a patient can have and refuses the impossible', () => {
    expect(implausibility('heart_rate', 300)).toBeUndefined();
    expect(implausibility('heart_rate', 900)).toBe('900 /min outside 20-300');
    expect(implausibility('spo2', 101)).toBeDefined();
    expect(implausibility('respiratory_rate', 0)).toBeDefined();
  });
});
