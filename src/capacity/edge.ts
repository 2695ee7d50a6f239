import type { Bus } from '../bus/bus.ts';
import { Topics } from '../bus/topics.ts';
import { CapacitySnapshot, type CapacitySource, type DeadLetter, type RejectionReason } from '../domain/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';

/** Snapshots one post or message may carry. */
export const MAX_SNAPSHOTS_PER_MESSAGE = 20;
const MAX_DEAD_LETTER_PAYLOAD = 4096;

export interface CapacityRefusal {
  reason: RejectionReason;
  /** The path of the field at fault, e.g. `responses.c2.meanMinutes` or `[1].ts`. */
  field?: string;
  message: string;
}

export type CapacityOutcome = { ok: true; accepted: CapacitySnapshot[] } | { ok: false; refusal: CapacityRefusal };

/**
 * The capacity edge: snapshots from an authenticated source, over HTTP or MQTT, checked and put on the
 * capacity topic keyed by provider. A source speaks only for its own service and provider. A refusal
 * names the field at fault, is counted in vw_capacity_rejected_total and goes to the dead-letter topic.
 */
export function createCapacityEdge(deps: { bus: Bus; metrics: Metrics; logger: Logger; maxFutureSkewMs: number; now?: () => number }) {
  const { bus, metrics } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ component: 'capacity-edge' });

  function check(source: CapacitySource, payload: Buffer): CapacityOutcome {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      return { ok: false, refusal: { reason: 'malformed_json', message: 'the body is not JSON' } };
    }
    const many = Array.isArray(json);
    const items: unknown[] = many ? (json as unknown[]) : [json];
    if (!items.length) return { ok: false, refusal: { reason: 'schema_violation', message: 'no snapshot given' } };
    if (items.length > MAX_SNAPSHOTS_PER_MESSAGE) {
      return { ok: false, refusal: { reason: 'schema_violation', message: `at most ${MAX_SNAPSHOTS_PER_MESSAGE} snapshots at once` } };
    }
    const accepted: CapacitySnapshot[] = [];
    for (const [i, item] of items.entries()) {
      const at = many ? `[${i}]` : '';
      const parsed = CapacitySnapshot.safeParse(item);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = [at, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))].join('').replace(/^\./, '') || undefined;
        return { ok: false, refusal: { reason: 'schema_violation', ...(field ? { field } : {}), message: issue.message } };
      }
      const snapshot = parsed.data;
      if (snapshot.service !== source.service) {
        return { ok: false, refusal: { reason: 'source_mismatch', field: `${at}${at ? '.' : ''}service`, message: `source ${source.sourceId} reports ${source.service}, not ${snapshot.service}` } };
      }
      if (snapshot.providerId !== source.providerId) {
        return { ok: false, refusal: { reason: 'source_mismatch', field: `${at}${at ? '.' : ''}providerId`, message: `source ${source.sourceId} reports for provider ${source.providerId} only` } };
      }
      if (Date.parse(snapshot.ts) > now() + deps.maxFutureSkewMs) {
        return { ok: false, refusal: { reason: 'timestamp_in_future', field: `${at}${at ? '.' : ''}ts`, message: 'ts is in the future: check the sender’s clock' } };
      }
      accepted.push(snapshot);
    }
    return { ok: true, accepted };
  }

  return {
    /**
     * Checks a message from `source` and publishes what it carries. Resolves with the outcome once a
     * snapshot or a refusal is on the bus; rejects only when the bus cannot take it (the caller answers
     * 503, or leaves an MQTT message unacknowledged, so the sender tries again).
     */
    async receive(source: CapacitySource, payload: Buffer, via: DeadLetter['source']): Promise<CapacityOutcome> {
      const outcome = check(source, payload);
      if (outcome.ok) {
        await bus.publish(Topics.capacity, outcome.accepted.map((s) => ({ key: s.providerId, value: s })));
        for (const s of outcome.accepted) metrics.capacitySnapshots.inc({ service: s.service });
        return outcome;
      }
      const { refusal } = outcome;
      const letter: DeadLetter = {
        reason: refusal.reason,
        detail: refusal.field ? `${refusal.field}: ${refusal.message}` : refusal.message,
        source: via,
        sourceId: source.sourceId,
        receivedAt: new Date(now()).toISOString(),
        payloadBase64: payload.subarray(0, MAX_DEAD_LETTER_PAYLOAD).toString('base64'),
        payloadTruncated: payload.length > MAX_DEAD_LETTER_PAYLOAD,
      };
      await bus.publish(Topics.deadLetter, [{ key: source.sourceId, value: letter }]);
      metrics.capacityRejected.inc({ reason: refusal.reason });
      log.warn({ sourceId: source.sourceId, reason: refusal.reason, field: refusal.field }, 'capacity snapshot refused');
      return outcome;
    },
    /** Counted, not dead-lettered: an unauthenticated sender gets no room on the bus. */
    refusedUnauthenticated(reason: 'unauthorized' | 'payload_too_large' | 'unsupported_media_type'): void {
      metrics.capacityRejected.inc({ reason });
    },
  };
}
export type CapacityEdge = ReturnType<typeof createCapacityEdge>;
