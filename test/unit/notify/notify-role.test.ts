import { afterEach, describe, expect, it } from 'vitest';
import { on, type Bus } from '../../../src/bus/bus.ts';
import { createMemoryBus } from '../../../src/bus/memory-bus.ts';
import { Topics } from '../../../src/bus/topics.ts';
import type { Alert, Notification } from '../../../src/domain/index.ts';
import { startNotifyRole } from '../../../src/notify/notify-role.ts';
import { signature, verifySignature } from '../../../src/notify/webhook.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { createRegistry } from '../../../src/registry/registry.ts';
import { startReferralReceiver } from '../../../simulators/referral-receiver.ts';

const SECRET = 'notify-test-secret-0123';
const registry = createRegistry({
  wards: [{ wardId: 'w1', name: 'Ward One', organisation: 'RXX', capacity: 10 }],
  patients: [{ patientId: 'p1', displayName: 'Pat One', spo2Scale: 1 }],
  devices: [{ deviceId: 'd1', kind: 'pulse_oximeter', medicalGrade: true }],
  enrolments: [{ deviceId: 'd1', patientId: 'p1', wardId: 'w1', pathway: 'ari', from: '2026-01-01T00:00:00Z' }],
});

function escalatedAlert(notify: string): Alert {
  const at = new Date().toISOString();
  return {
    alertId: 'al-1', patientId: 'p1', wardId: 'w1', cause: 'news2', ruleId: 'news2', ruleVersion: '1.1.0', severity: 'high', state: 'escalated', revision: 1,
    raisedAt: at, updatedAt: at, eventTs: at, partial: false, explanation: 'NEWS2 9 (high)', response: 'Emergency assessment', evidence: [],
    history: [{ state: 'open', at, by: 'vw' }, { state: 'escalated', at, by: 'vw', note: `not acknowledged in time: ${notify}`, notify }],
    receivedAt: at,
  };
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** Publishes to the notifications topic fail while `failing` returns true: the bus refusing, as Kafka may. */
function flakyBus(failing: (records: Array<{ value: unknown }>) => boolean): Bus {
  const bus = createMemoryBus({ partitions: 2 });
  return {
    ...bus,
    async publish(topic, records) {
      if (topic.name === Topics.notifications.name && failing(records)) throw new Error('broker unavailable');
      return bus.publish(topic, records);
    },
  };
}

async function run(webhooks: Record<string, string>, giveUpMs = 60_000, bus: Bus = createMemoryBus({ partitions: 2 })) {
  const seen = new Map<string, Notification>();
  const sub = await bus.consume({ groupId: 'watch', fromBeginning: true, topics: [on(Topics.notifications, async ({ value }) => void seen.set(value.notificationId, value))] });
  const role = await startNotifyRole({ bus, registry, webhooks, secret: SECRET, fallback: 'clinical lead', giveUpMs, metrics: createMetrics(), logger: createLogger({ level: 'silent' }), partitions: 2, tickMs: 20, timeoutMs: 2_000 });
  stops.push(() => bus.close(), () => sub.stop(), () => role.stop());
  return { bus, seen };
}

describe('notify role', () => {
  it('signs webhooks so a receiver can check them, and refuses old or altered ones', () => {
    const body = JSON.stringify({ a: 1 });
    const header = signature(SECRET, body);
    expect(verifySignature(SECRET, body, header)).toBe(true);
    expect(verifySignature(SECRET, `${body} `, header)).toBe(false);
    expect(verifySignature('another-secret-entirely', body, header)).toBe(false);
    expect(verifySignature(SECRET, body, signature(SECRET, body, Date.now() - 600_000))).toBe(false);
  });

  it('turns an escalation step into one signed webhook and records it delivered, once however often the alert is redelivered', async () => {
    const receiver = await startReferralReceiver({ webhookSecret: SECRET });
    stops.push(() => receiver.close());
    const { bus, seen } = await run({ consultant: `${receiver.url}/notify/consultant` });
    const alert = escalatedAlert('consultant');
    await bus.publish(Topics.alerts, [{ key: 'p1', value: alert }, { key: 'p1', value: alert }]);
    await expect.poll(() => seen.get('al-1:1')?.status, { timeout: 5_000 }).toBe('delivered');
    expect(receiver.webhooks()).toHaveLength(1);
    expect(receiver.webhooks()[0]).toMatchObject({ signed: true, body: { target: 'consultant', alertId: 'al-1', patientId: 'p1', severity: 'high' } });
    expect(seen.size).toBe(1);
  });

  it('shows a target with no webhook on the consoles only', async () => {
    const { bus, seen } = await run({});
    await bus.publish(Topics.alerts, [{ key: 'p1', value: escalatedAlert('nurse in charge') }]);
    await expect.poll(() => seen.get('al-1:1')?.status, { timeout: 5_000 }).toBe('console_only');
  });

  it('retries an unreachable webhook, then gives up and escalates the failure to the fallback', async () => {
    // Nothing listens on this port: every attempt fails to connect.
    const { bus, seen } = await run({ consultant: 'http://127.0.0.1:9/notify' }, 1_500);
    await bus.publish(Topics.alerts, [{ key: 'p1', value: escalatedAlert('consultant') }]);
    await expect.poll(() => seen.get('al-1:1')?.status, { timeout: 10_000 }).toBe('failed');
    const failed = seen.get('al-1:1')!;
    expect(failed.attempts).toBeGreaterThanOrEqual(1);
    expect(failed.lastError).toMatch(/could not reach/);
    expect(failed.escalatedTo).toBe('al-1:1:fallback');
    const fallback = seen.get('al-1:1:fallback');
    expect(fallback).toMatchObject({ target: 'clinical lead', escalatedFrom: 'al-1:1', status: 'console_only' });
    expect(fallback!.message).toContain('Could not tell consultant');
  });

  it('withdraws what is still waiting once someone acknowledges the alert, and sends nothing for old escalations', async () => {
    const { bus, seen } = await run({ consultant: 'http://127.0.0.1:9/notify' }, 600_000);
    const alert = escalatedAlert('consultant');
    await bus.publish(Topics.alerts, [{ key: 'p1', value: alert }]);
    await expect.poll(() => seen.get('al-1:1')?.status, { timeout: 5_000 }).toBe('retrying');
    const at = new Date().toISOString();
    await bus.publish(Topics.alerts, [{ key: 'p1', value: { ...alert, state: 'acknowledged', revision: 2, history: [...alert.history, { state: 'acknowledged', at, by: 'nurse.a' }] } }]);
    await expect.poll(() => seen.get('al-1:1')?.status, { timeout: 5_000 }).toBe('withdrawn');
    expect(seen.get('al-1:1')!.lastError).toContain('acknowledged');
    // An escalation from two days ago, read for the first time, is history: nothing is sent for it.
    const old = new Date(Date.now() - 48 * 3600_000).toISOString();
    const stale = { ...escalatedAlert('consultant'), alertId: 'al-old', history: [{ state: 'open' as const, at: old, by: 'vw' }, { state: 'escalated' as const, at: old, by: 'vw', notify: 'consultant' }] };
    await bus.publish(Topics.alerts, [{ key: 'p1', value: stale }, { key: 'p1', value: { ...escalatedAlert('consultant'), alertId: 'al-new' } }]);
    await expect.poll(() => seen.has('al-new:1'), { timeout: 5_000 }).toBe(true);
    expect(seen.has('al-old:1')).toBe(false);
  });

  it('still raises a notification whose first publish failed: the redelivered alert raises it', async () => {
    let failures = 1;
    const { bus, seen } = await run({}, 60_000, flakyBus(() => failures-- > 0));
    await bus.publish(Topics.alerts, [{ key: 'p1', value: escalatedAlert('nurse in charge') }]);
    await expect.poll(() => seen.get('al-1:1')?.status, { timeout: 10_000 }).toBe('console_only');
    expect(failures).toBeLessThan(0);
  });

  it('still escalates to the fallback when publishing the fallback failed once', async () => {
    let fallbackFailures = 1;
    const bus = flakyBus((records) => records.some((r) => (r.value as Notification).escalatedFrom !== undefined) && fallbackFailures-- > 0);
    const { seen } = await run({ consultant: 'http://127.0.0.1:9/notify' }, 1_000, bus);
    await bus.publish(Topics.alerts, [{ key: 'p1', value: escalatedAlert('consultant') }]);
    await expect.poll(() => seen.get('al-1:1:fallback')?.target, { timeout: 15_000 }).toBe('clinical lead');
    await expect.poll(() => seen.get('al-1:1')?.status, { timeout: 10_000 }).toBe('failed');
    expect(fallbackFailures).toBeLessThan(0);
  });
});
