import { describe, expect, it } from 'vitest';
import { FlowEvent, RegistryData } from '../../../src/domain/index.ts';
import { createRegistry, type EnrolmentChange } from '../../../src/registry/registry.ts';

const data = () =>
  RegistryData.parse({
    wards: [
      { wardId: 'w1', name: 'Ward One', organisation: 'RXX', capacity: 10 },
      { wardId: 'w2', name: 'Ward Two', organisation: 'RXX', capacity: 10 },
    ],
    patients: [{ patientId: 'p1', displayName: 'P One', settings: { baselineWeight: 80 } }, { patientId: 'p2', displayName: 'P Two' }, { patientId: 'p3', displayName: 'P Three' }],
    devices: [{ deviceId: 'ox1', kind: 'pulse_oximeter' }, { deviceId: 'sc1', kind: 'scale' }, { deviceId: 'bp9', kind: 'bp_cuff' }],
    // p3 has had bp9 since January, from the seeds.
    enrolments: [{ deviceId: 'bp9', patientId: 'p3', wardId: 'w1', pathway: 'hypertension', from: '2026-01-01T00:00:00Z' }],
  });

const admit = (over: Partial<Extract<FlowEvent, { kind: 'admit' }>> = {}): FlowEvent =>
  FlowEvent.parse({ eventId: 'e-admit', kind: 'admit', patientId: 'p1', wardId: 'w1', pathway: 'heart-failure', admission: 'step-down', source: 'acute-discharge', at: '2026-03-01T10:00:00Z', by: 'lead', deviceIds: ['ox1', 'sc1'], ...over });
const at = (iso: string) => new Date(iso);

describe('enrolments follow the patient flow', () => {
  it('lends an admission’s devices from its time: readings before it map to nobody, after it to the patient', () => {
    const registry = createRegistry(data());
    expect(registry.applyFlow(admit())).toEqual({ patientId: 'p1', wardIds: ['w1'], at: '2026-03-01T10:00:00Z' });
    expect(registry.enrolmentAt('ox1', at('2026-03-01T09:59:59Z'))).toBeUndefined();
    expect(registry.enrolmentAt('ox1', at('2026-03-01T10:00:00Z'))).toMatchObject({ patientId: 'p1', wardId: 'w1', pathway: 'heart-failure' });
    expect(registry.devicesOf('p1', at('2026-03-02T00:00:00Z')).sort()).toEqual(['ox1', 'sc1']);
    expect(registry.patientsOfWard('w1', at('2026-03-02T00:00:00Z')).map((p) => p.patientId).sort()).toEqual(['p1', 'p3']);
    expect(registry.wardOf('p1', at('2026-03-02T00:00:00Z'))).toBe('w1');
    // Settings version 0 now has a ward to name.
    expect(registry.settingsAt('p1', at('2026-03-02T00:00:00Z'))).toMatchObject({ version: 0, wardId: 'w1', values: { baselineWeight: 80 } });
  });

  it('moves the enrolments on a transfer and ends them on discharge', () => {
    const registry = createRegistry(data());
    registry.applyFlow(admit());
    registry.applyFlow(FlowEvent.parse({ eventId: 'e-t', kind: 'transfer', patientId: 'p1', fromWardId: 'w1', wardId: 'w2', pathway: 'copd', at: '2026-03-05T12:00:00Z', by: 'lead' }));
    expect(registry.enrolmentAt('sc1', at('2026-03-05T11:59:59Z'))).toMatchObject({ wardId: 'w1', pathway: 'heart-failure' });
    expect(registry.enrolmentAt('sc1', at('2026-03-05T12:00:00Z'))).toMatchObject({ wardId: 'w2', pathway: 'copd' });
    expect(registry.patientsOfWard('w1', at('2026-03-06T00:00:00Z')).map((p) => p.patientId)).toEqual(['p3']);
    expect(registry.settingsAt('p1', at('2026-03-06T00:00:00Z'))?.wardId).toBe('w2');

    const change = registry.applyFlow(FlowEvent.parse({ eventId: 'e-d', kind: 'discharge', patientId: 'p1', wardId: 'w2', outcome: 'care-completed', at: '2026-03-09T08:00:00Z', by: 'lead' }));
    expect(change).toEqual({ patientId: 'p1', wardIds: ['w2'], at: '2026-03-09T08:00:00Z' });
    expect(registry.enrolmentAt('ox1', at('2026-03-09T07:59:59Z'))).toMatchObject({ patientId: 'p1', wardId: 'w2' });
    expect(registry.enrolmentAt('ox1', at('2026-03-09T08:00:00Z'))).toBeUndefined();
    // A device once lent is still known as enrolled before: its late readings are "not enrolled now", not "unknown".
    expect(registry.everEnrolled('ox1')).toBe(true);
    expect(registry.devicesOf('p1', at('2026-03-10T00:00:00Z'))).toEqual([]);
  });

  it('ends a seeded enrolment on discharge, and lends the device again afterwards', () => {
    const registry = createRegistry(data());
    registry.applyFlow(FlowEvent.parse({ eventId: 'e-d3', kind: 'discharge', patientId: 'p3', wardId: 'w1', outcome: 'care-completed', at: '2026-02-01T00:00:00Z', by: 'lead' }));
    expect(registry.enrolmentAt('bp9', at('2026-02-01T00:00:00Z'))).toBeUndefined();
    expect(registry.lendingProblem('p2', ['bp9'], at('2026-02-02T00:00:00Z'))).toBeUndefined();
    registry.applyFlow(admit({ eventId: 'e-a2', patientId: 'p2', deviceIds: ['bp9'], at: '2026-02-02T00:00:00Z' }));
    expect(registry.enrolmentAt('bp9', at('2026-02-03T00:00:00Z'))?.patientId).toBe('p2');
    expect(registry.enrolmentAt('bp9', at('2026-01-15T00:00:00Z'))?.patientId).toBe('p3');
  });

  it('says why devices cannot be lent: unregistered patient or device, or lent to someone else', () => {
    const registry = createRegistry(data());
    expect(registry.lendingProblem('p9', ['ox1'], at('2026-03-01T00:00:00Z'))).toMatchObject({ field: 'patientId', conflict: false });
    expect(registry.lendingProblem('p1', ['ox1', 'nope'], at('2026-03-01T00:00:00Z'))).toMatchObject({ field: 'deviceIds.1', conflict: false });
    expect(registry.lendingProblem('p1', ['bp9'], at('2026-03-01T00:00:00Z'))).toMatchObject({ field: 'deviceIds.0', conflict: true, message: 'device bp9 is lent to another patient' });
    // A patient without devices needs no registration: flow alone is enough for reports.
    expect(registry.lendingProblem('p9', [], at('2026-03-01T00:00:00Z'))).toBeUndefined();
  });

  it('lists a registered patient admitted without devices on the ward, until discharge', () => {
    const registry = createRegistry(data());
    expect(registry.applyFlow(admit({ eventId: 'e-p2', patientId: 'p2', deviceIds: undefined, pathway: 'copd' }))).toEqual({ patientId: 'p2', wardIds: ['w1'], at: '2026-03-01T10:00:00Z' });
    const on = (iso: string, ward = 'w1') => registry.patientsOfWard(ward, at(iso)).map((p) => p.patientId).sort();
    expect(on('2026-03-01T09:59:00Z')).toEqual(['p3']);
    expect(on('2026-03-01T10:00:00Z')).toEqual(['p2', 'p3']);
    expect(registry.wardOf('p2', at('2026-03-02T00:00:00Z'))).toBe('w1');
    expect(registry.pathwaysOf('p2', at('2026-03-02T00:00:00Z'))).toEqual(['copd']);
    expect(registry.devicesOf('p2', at('2026-03-02T00:00:00Z'))).toEqual([]);
    registry.applyFlow(FlowEvent.parse({ eventId: 'e-p2-t', kind: 'transfer', patientId: 'p2', fromWardId: 'w1', wardId: 'w2', at: '2026-03-03T00:00:00Z', by: 'lead' }));
    expect(on('2026-03-04T00:00:00Z')).toEqual(['p3']);
    expect(on('2026-03-04T00:00:00Z', 'w2')).toEqual(['p2']);
    expect(registry.pathwaysOf('p2', at('2026-03-04T00:00:00Z'))).toEqual(['copd']);
    expect(registry.applyFlow(FlowEvent.parse({ eventId: 'e-p2-d', kind: 'discharge', patientId: 'p2', wardId: 'w2', outcome: 'ed', at: '2026-03-05T00:00:00Z', by: 'lead' }))).toEqual({ patientId: 'p2', wardIds: ['w2'], at: '2026-03-05T00:00:00Z' });
    expect(on('2026-03-06T00:00:00Z', 'w2')).toEqual([]);
    expect(registry.wardOf('p2', at('2026-03-06T00:00:00Z'))).toBeUndefined();
  });

  it('absorbs a redelivered event and tells listeners once per change', () => {
    const registry = createRegistry(data());
    const seen: EnrolmentChange[] = [];
    const stop = registry.onEnrolmentChange((change) => seen.push(change));
    registry.applyFlow(admit());
    expect(registry.applyFlow(admit())).toBeUndefined();
    expect(registry.patientsOfWard('w1', at('2026-03-02T00:00:00Z'))).toHaveLength(2);
    expect(registry.enrolmentAt('ox1', at('2026-03-02T00:00:00Z'))).toBeDefined();
    // An unregistered patient's admission changes nothing the registry knows (reports still count it).
    expect(registry.applyFlow(admit({ eventId: 'e-other', patientId: 'p-unregistered', deviceIds: [] }))).toBeUndefined();
    stop();
    registry.applyFlow(FlowEvent.parse({ eventId: 'e-d', kind: 'discharge', patientId: 'p1', wardId: 'w1', outcome: 'died', at: '2026-03-03T00:00:00Z', by: 'lead' }));
    expect(seen).toEqual([{ patientId: 'p1', wardIds: ['w1'], at: '2026-03-01T10:00:00Z' }]);
  });
});
