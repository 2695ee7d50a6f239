import { describe, expect, it } from 'vitest';
import { FlowEvent, RegistryData, type Alert, type HandoverNote, type Notification, type Referral } from '../../../src/domain/index.ts';
import { ServerFrame } from '../../../src/feed/protocol.ts';
import { createWardView } from '../../../src/feed/ward-view.ts';
import { createRegistry } from '../../../src/registry/registry.ts';
import { createMemoryStore } from '../../../src/store/memory-store.ts';

/**
 * A patient's alerts, referrals, notifications and handover notes are shown on the ward the patient is
 * on now, so they follow a transfer; a discharged patient's stay on the ward they were raised on.
 */
const NOW = Date.parse('2026-11-22T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString();

const data = () =>
  RegistryData.parse({
    wards: [
      { wardId: 'w1', name: 'Ward One', organisation: 'RXX', capacity: 10 },
      { wardId: 'w2', name: 'Ward Two', organisation: 'RXX', capacity: 10 },
    ],
    patients: [
      { patientId: 'p1', displayName: 'P One', spo2Scale: 1 },
      { patientId: 'p2', displayName: 'P Two', spo2Scale: 1 },
      { patientId: 'p3', displayName: 'P Three', spo2Scale: 1 },
    ],
    devices: [
      { deviceId: 'd1', kind: 'pulse_oximeter' },
      { deviceId: 'd2', kind: 'pulse_oximeter' },
      { deviceId: 'd3', kind: 'pulse_oximeter' },
    ],
    enrolments: [
      { deviceId: 'd1', patientId: 'p1', wardId: 'w1', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
      { deviceId: 'd2', patientId: 'p2', wardId: 'w1', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
      { deviceId: 'd3', patientId: 'p3', wardId: 'w2', pathway: 'ari', from: '2026-01-01T00:00:00Z' },
    ],
  });

const flow = (event: Record<string, unknown>) => FlowEvent.parse({ by: 'lead.jones', ...event });

function alert(alertId: string, patientId: string, wardId: string, state: Alert['state'], updatedAt: string): Alert {
  return {
    alertId, patientId, wardId, cause: 'news2', ruleId: 'news2', ruleVersion: '1.0.0', severity: 'high', state, revision: 1,
    raisedAt: updatedAt, updatedAt, eventTs: updatedAt, score: 7, partial: false, explanation: 'NEWS2 7', response: 'Review now', evidence: [],
    history: [], receivedAt: updatedAt,
  };
}

function referral(referralId: string, patientId: string, wardId: string, state: Referral['state'], updatedAt: string): Referral {
  return {
    referralId, patientId, wardId, route: 'ucr', routeTitle: 'Urgent community response', routesVersion: '1.0.0', priority: 'urgent', urgency: 'within 2 hours',
    alertIds: [], reason: 'Deteriorating', evidence: [], requestedBy: 'nurse.a', requestedAt: updatedAt, state, revision: 1, updatedAt,
    history: [{ state: 'requested', at: updatedAt, by: 'nurse.a' }], delivery: { status: 'delivered', attempts: 1 },
  };
}

function notification(notificationId: string, alertId: string, patientId: string, wardId: string, updatedAt: string): Notification {
  return {
    notificationId, alertId, patientId, wardId, target: 'virtual ward consultant', message: 'Unacknowledged', severity: 'high',
    createdAt: updatedAt, revision: 1, updatedAt, status: 'console_only', attempts: 0,
  };
}

const note = (noteId: string, patientId: string, wardId: string, at: string): HandoverNote => ({ noteId, patientId, wardId, text: 'Lives alone', by: 'nurse.a', at });

function setUp() {
  const registry = createRegistry(data());
  const store = createMemoryStore({ retentionHours: 24, maxPointsPerSeries: 10, now: () => NOW });
  const view = createWardView({ registry, store, now: () => NOW });
  // p1 on ward one: an open alert, an active referral, its notification and a note, all raised there.
  view.applyAlert(alert('a1', 'p1', 'w1', 'open', minutesAgo(40)));
  view.applyReferral(referral('ref-00001', 'p1', 'w1', 'sent', minutesAgo(35)));
  view.applyNotification(notification('a1:1', 'a1', 'p1', 'w1', minutesAgo(30)));
  view.applyNote(note('n1', 'p1', 'w1', minutesAgo(45)));
  // p3 on ward two: an alert of her own, which nothing here moves.
  view.applyAlert(alert('a3', 'p3', 'w2', 'open', minutesAgo(20)));
  return { registry, view };
}

const ids = <T>(items: T[], key: keyof T) => items.map((i) => i[key]).sort();

describe('a transferred patient’s alerts, referrals and notifications follow her', () => {
  it('lists them on the new ward’s snapshot and no longer on the old ward’s; the records keep their ward', async () => {
    const { registry, view } = setUp();
    const before = await view.snapshot('w1');
    expect(ids(before.alerts, 'alertId')).toEqual(['a1']);
    expect(view.wardFor(view.alert('a1')!)).toBe('w1');

    registry.applyFlow(flow({ eventId: 'tr-p1', kind: 'transfer', patientId: 'p1', fromWardId: 'w1', wardId: 'w2', at: minutesAgo(10) }));

    const two = await view.snapshot('w2');
    expect(ServerFrame.parse(two)).toEqual(two);
    expect(ids(two.patients, 'patientId')).toEqual(['p1', 'p3']);
    expect(ids(two.alerts, 'alertId')).toEqual(['a1', 'a3']);
    expect(two.alerts.find((a) => a.alertId === 'a1')).toMatchObject({ state: 'open', wardId: 'w1' });
    expect(ids(two.referrals, 'referralId')).toEqual(['ref-00001']);
    expect(ids(two.notifications, 'notificationId')).toEqual(['a1:1']);
    expect(ids(two.handoverNotes, 'noteId')).toEqual(['n1']);

    const one = await view.snapshot('w1');
    expect(ids(one.patients, 'patientId')).toEqual(['p2']);
    expect(one.alerts).toEqual([]);
    expect(one.referrals).toEqual([]);
    expect(one.notifications).toEqual([]);
    expect(one.handoverNotes).toEqual([]);

    expect(view.wardFor(view.alert('a1')!)).toBe('w2');
    expect(view.wardFor(view.referral('ref-00001')!)).toBe('w2');
  });

  it('sends them in the arriving ward’s roster, and tells the ward she left to drop them', async () => {
    const { registry, view } = setUp();
    registry.applyFlow(flow({ eventId: 'tr-p1', kind: 'transfer', patientId: 'p1', fromWardId: 'w1', wardId: 'w2', at: minutesAgo(10) }));

    const arriving = await view.roster('w2', ['p1']);
    expect(ServerFrame.parse(arriving)).toEqual(arriving);
    expect(arriving.patients.map((p) => p.patientId)).toEqual(['p1']);
    // Hers only: p3's alert is already on ward two's consoles.
    expect(ids(arriving.alerts, 'alertId')).toEqual(['a1']);
    expect(ids(arriving.referrals, 'referralId')).toEqual(['ref-00001']);
    expect(ids(arriving.notifications, 'notificationId')).toEqual(['a1:1']);
    expect(ids(arriving.handoverNotes, 'noteId')).toEqual(['n1']);
    expect(arriving.transferredOut).toEqual([]);

    const leaving = await view.roster('w1', ['p1']);
    expect(leaving).toMatchObject({ patientIds: ['p2'], patients: [], alerts: [], referrals: [], notifications: [], handoverNotes: [], transferredOut: ['p1'] });
  });

  it('keeps a discharged patient’s recent, resolved alert on the ward it was raised on', async () => {
    const { registry, view } = setUp();
    view.applyAlert(alert('a2', 'p2', 'w1', 'resolved', minutesAgo(15)));
    view.applyReferral(referral('ref-00002', 'p2', 'w1', 'completed', minutesAgo(14)));
    registry.applyFlow(flow({ eventId: 'dis-p2', kind: 'discharge', patientId: 'p2', wardId: 'w1', outcome: 'care-completed', at: minutesAgo(5) }));

    const one = await view.snapshot('w1');
    expect(one.patients.map((p) => p.patientId)).toEqual(['p1']);
    expect(ids(one.alerts, 'alertId')).toEqual(['a1', 'a2']);
    expect(ids(one.referrals, 'referralId')).toEqual(['ref-00001', 'ref-00002']);
    expect((await view.snapshot('w2')).alerts.map((a) => a.alertId)).toEqual(['a3']);
    expect(view.wardFor(view.alert('a2')!)).toBe('w1');
    // A discharge is not a transfer: the ward's consoles keep what they show of her.
    expect(await view.roster('w1', ['p2'])).toMatchObject({ patientIds: ['p1'], alerts: [], transferredOut: [] });
  });
});
