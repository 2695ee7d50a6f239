import { InfluxDB, Point, setLogger, type QueryApi } from '@influxdata/influxdb-client';
import type { Alert, CapacitySnapshot, FlowEvent, Reading, ReadingType, Referral, ScoreEvent } from '../domain/index.ts';
import {
  Alert as AlertSchema,
  CapacitySnapshot as CapacitySnapshotSchema,
  FlowEvent as FlowEventSchema,
  Reading as ReadingSchema,
  Referral as ReferralSchema,
  ScoreEvent as ScoreEventSchema,
} from '../domain/index.ts';
import type { SeriesPoint, SeriesQuery, TimeSeriesStore } from './store.ts';
import { retry } from '../time/retry.ts';

/**
 * The time-series store on InfluxDB: writes with the v2 write API, reads with Flux. The schema is in
 * docs/influxdb.md. A point's identity is its series (patient, device, type) and event time, so a
 * redelivered reading overwrites itself: duplicates are absorbed by the database.
 */
export interface InfluxStoreOptions {
  url: string;
  token: string;
  org: string;
  bucket: string;
  /** Points held for writing at once; a write that would exceed it is refused (and retried by the bus). */
  maxBufferPoints: number;
  retry: { attempts: number; initialMs: number; maxMs: number };
  onRetry?: (attempt: number, error: unknown) => void;
  onOverflow?: (points: number) => void;
  timeoutMs?: number;
  /** CA certificates (PEM) to trust for an https URL, instead of the system's. */
  ca?: Buffer;
}

// The client would print failures to the console; vw reports them through its own log and metrics.
setLogger({ error: () => {}, warn: () => {} });

export const MEASUREMENT = { vital: 'vital', score: 'score', referral: 'referral', flow: 'flow', alert: 'alert', capacity: 'capacity' } as const;

export class StoreOverflowError extends Error {
  override name = 'StoreOverflowError';
}

function readingPoint(r: Reading): Point {
  const p = new Point(MEASUREMENT.vital)
    .tag('patient_id', r.patientId)
    .tag('ward_id', r.wardId)
    .tag('device_id', r.deviceId)
    .tag('type', r.type)
    .stringField('reading_id', r.readingId)
    .stringField('unit', r.unit)
    .intField('received_at_ms', Date.parse(r.receivedAt))
    .timestamp(new Date(r.ts));
  if (typeof r.value === 'number') p.floatField('value', r.value);
  else if (typeof r.value === 'boolean') p.booleanField('flag', r.value);
  else p.stringField('code', r.value);
  if (r.flags?.length) p.stringField('flags', r.flags.join(','));
  return p;
}

function scorePoint(s: ScoreEvent): Point {
  return new Point(MEASUREMENT.score)
    .tag('patient_id', s.patientId)
    .tag('ward_id', s.wardId)
    .tag('rule', s.ruleId)
    .tag('rule_version', s.ruleVersion)
    .intField('total', s.total)
    .stringField('band', s.band)
    .booleanField('partial', s.partial)
    // The whole event, so the console and reports get back exactly what the rules role produced.
    .stringField('event', JSON.stringify(s))
    .timestamp(new Date(s.ts));
}

/**
 * One point per referral revision: its identity is the referral (a tag) at the time the revision was
 * made, so a revision written twice overwrites itself; the revision is a field, so retries add points,
 * not series.
 */
function referralPoint(r: Referral): Point {
  return new Point(MEASUREMENT.referral)
    .tag('ward_id', r.wardId)
    .tag('route', r.route)
    .tag('referral_id', r.referralId)
    .intField('revision', r.revision)
    .stringField('state', r.state)
    .stringField('delivery', r.delivery.status)
    .stringField('event', JSON.stringify(r))
    .timestamp(new Date(r.updatedAt));
}

/**
 * One point per flow event: its identity is the event id (a tag) at the time it happened, so an event
 * written twice overwrites itself. A transfer is written once under each of its two wards.
 */
function flowPoints(e: FlowEvent): Point[] {
  const wards = e.kind === 'transfer' ? [e.fromWardId, e.wardId] : [e.wardId];
  return wards.map((wardId) =>
    new Point(MEASUREMENT.flow)
      .tag('ward_id', wardId)
      .tag('kind', e.kind)
      .tag('event_id', e.eventId)
      // +1 when a patient joins the ward, -1 when one leaves: a running sum is the ward's occupancy,
      // which dashboards (dashboards/grafana) draw with Flux's cumulativeSum().
      .intField('delta', e.kind === 'admit' || (e.kind === 'transfer' && wardId === e.wardId) ? 1 : -1)
      .stringField('event', JSON.stringify(e))
      .timestamp(new Date(e.at)),
  );
}

/**
 * One point per alert: its identity is the alert (a tag) at the time it was raised, so each revision
 * overwrites the one before and the point holds the newest revision written. Severity and state change
 * over an alert's life, so they are fields: as tags they would start a second series for the same alert.
 */
function alertPoint(a: Alert): Point {
  return new Point(MEASUREMENT.alert)
    .tag('ward_id', a.wardId)
    .tag('rule', a.ruleId)
    .tag('alert_id', a.alertId)
    .intField('revision', a.revision)
    .stringField('severity', a.severity)
    .stringField('state', a.state)
    .stringField('event', JSON.stringify(a))
    .timestamp(new Date(a.raisedAt));
}

/**
 * Within one write the last point of a series and time wins, so only the highest revision of each alert
 * in a batch is written: a batch holding an older revision after a newer one cannot step it back.
 */
function newestRevisions(alerts: Alert[]): Alert[] {
  const newest = new Map<string, Alert>();
  for (const a of alerts) {
    const held = newest.get(a.alertId);
    if (!held || held.revision < a.revision) newest.set(a.alertId, a);
  }
  return [...newest.values()];
}

/** One point per snapshot: its identity is service, provider and time, so a snapshot written twice overwrites itself. */
function capacityPoint(c: CapacitySnapshot): Point {
  const p = new Point(MEASUREMENT.capacity).tag('service', c.service).tag('provider_id', c.providerId).stringField('event', JSON.stringify(c)).timestamp(new Date(c.ts));
  // The headline measures as numbers too, for dashboards.
  if (c.service === 'ambulance') {
    p.intField('reap_level', c.reapLevel);
    if (c.responses) p.floatField('c1_mean_minutes', c.responses.c1.meanMinutes).floatField('c2_mean_minutes', c.responses.c2.meanMinutes).floatField('c2_p90_minutes', c.responses.c2.p90Minutes);
    if (c.handover) p.floatField('handover_mean_minutes', c.handover.meanMinutes);
  } else if (c.service === 'nhs111') {
    p.intField('calls_waiting', c.callsWaiting);
    if (c.answeredWithin60sPct !== undefined) p.floatField('answered_60s_percent', c.answeredWithin60sPct);
  } else p.intField('opel_level', c.opelLevel);
  return p;
}

/** Code-point order, the order the memory store keeps ties in. */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A Flux string literal: quotes and backslashes escaped, so ids can never change the query. */
function flux(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

type Row = Record<string, unknown>;

function rowToReading(row: Row): Reading | undefined {
  const value = row.value ?? row.flag ?? row.code;
  const candidate = {
    readingId: row.reading_id,
    patientId: row.patient_id,
    wardId: row.ward_id,
    deviceId: row.device_id,
    type: row.type,
    value: typeof value === 'string' && row.type !== 'consciousness' ? value === 'true' : value,
    unit: row.unit,
    ts: new Date(String(row._time)).toISOString(),
    receivedAt: new Date(Number(row.received_at_ms)).toISOString(),
    ...(row.flags ? { flags: String(row.flags).split(',') } : {}),
  };
  const parsed = ReadingSchema.safeParse(candidate);
  return parsed.success ? parsed.data : undefined;
}

export function createInfluxStore(options: InfluxStoreOptions): TimeSeriesStore & { ping(): Promise<boolean> } {
  const influx = new InfluxDB({ url: options.url, token: options.token, timeout: options.timeoutMs ?? 10_000, ...(options.ca ? { transportOptions: { ca: options.ca } } : {}) });
  const query: QueryApi = influx.getQueryApi(options.org);
  let buffered = 0;
  let lastOk = true;

  async function write(points: Point[]): Promise<void> {
    if (!points.length) return;
    if (buffered + points.length > options.maxBufferPoints) {
      options.onOverflow?.(points.length);
      throw new StoreOverflowError(`write buffer full (${buffered} of ${options.maxBufferPoints} points held); refusing ${points.length}`);
    }
    buffered += points.length;
    try {
      await retry(
        async () => {
          const api = influx.getWriteApi(options.org, options.bucket, 'ms', { maxRetries: 0, batchSize: points.length + 1, flushInterval: 0 });
          try {
            api.writePoints(points);
            await api.close();
            lastOk = true;
          } catch (error) {
            lastOk = false;
            throw error;
          }
        },
        { backoff: { initialMs: options.retry.initialMs, maxMs: options.retry.maxMs }, attempts: options.retry.attempts, onFailure: (error, attempt) => options.onRetry?.(attempt, error) },
      );
    } finally {
      buffered -= points.length;
    }
  }

  const rows = async (text: string) => {
    try {
      const found = await query.collectRows<Row>(text);
      lastOk = true;
      return found;
    } catch (error) {
      lastOk = false;
      throw error;
    }
  };
  const range = (q: SeriesQuery) => `range(start: ${q.since.toISOString()}${q.until ? `, stop: ${new Date(q.until.getTime() + 1).toISOString()}` : ''})`;
  const bucket = `from(bucket: ${flux(options.bucket)})`;

  return {
    writeReadings: (readings) => write(readings.map(readingPoint)),
    writeScores: (scores) => write(scores.map(scorePoint)),

    async series(patientId: string, type: ReadingType, q: SeriesQuery): Promise<SeriesPoint[]> {
      const found = await rows(`${bucket}
  |> ${range(q)}
  |> filter(fn: (r) => r._measurement == ${flux(MEASUREMENT.vital)} and r.patient_id == ${flux(patientId)} and r.type == ${flux(type)})
  |> filter(fn: (r) => r._field == "value" or r._field == "flag" or r._field == "code")
  |> group()
  |> sort(columns: ["_time"])${q.limit !== undefined ? `\n  |> tail(n: ${Math.max(0, Math.floor(q.limit))})` : ''}`);
      return found.map((r) => ({ ts: new Date(String(r._time)).toISOString(), value: r._value as SeriesPoint['value'] }));
    },

    async latest(patientId: string) {
      const found = await rows(`${bucket}
  |> range(start: -30d)
  |> filter(fn: (r) => r._measurement == ${flux(MEASUREMENT.vital)} and r.patient_id == ${flux(patientId)})
  |> last()
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`);
      const out: Partial<Record<ReadingType, Reading>> = {};
      for (const row of found) {
        const reading = rowToReading(row);
        if (!reading) continue;
        const held = out[reading.type];
        if (!held || Date.parse(held.ts) < Date.parse(reading.ts)) out[reading.type] = reading;
      }
      return out;
    },

    async scores(patientId: string, q: SeriesQuery) {
      const found = await rows(`${bucket}
  |> ${range(q)}
  |> filter(fn: (r) => r._measurement == ${flux(MEASUREMENT.score)} and r.patient_id == ${flux(patientId)} and r._field == "event")
  |> group()
  |> sort(columns: ["_time"])${q.limit !== undefined ? `\n  |> tail(n: ${Math.max(0, Math.floor(q.limit))})` : ''}`);
      return found.flatMap((r) => {
        const parsed = ScoreEventSchema.safeParse(JSON.parse(String(r._value)));
        return parsed.success ? [parsed.data] : [];
      });
    },

    async readingHours(wardIds: readonly string[], q: SeriesQuery) {
      if (!wardIds.length) return [];
      // Counted in the server: a quarter of an ICS's readings need not cross the wire, only its hours.
      const found = await rows(`${bucket}
  |> ${range(q)}
  |> filter(fn: (r) => r._measurement == ${flux(MEASUREMENT.vital)} and r._field == "reading_id")
  |> filter(fn: (r) => contains(value: r.ward_id, set: [${wardIds.map(flux).join(', ')}]))
  |> group(columns: ["patient_id"])
  |> aggregateWindow(every: 1h, fn: count, timeSrc: "_start", createEmpty: false)
  |> keep(columns: ["patient_id", "_time"])`);
      return found.map((r) => ({ patientId: String(r.patient_id), hour: Date.parse(String(r._time)) }));
    },

    writeReferrals: (referrals) => write(referrals.map(referralPoint)),
    writeFlowEvents: (events) => write(events.flatMap(flowPoints)),

    async flowEvents(wardIds: readonly string[], q: SeriesQuery) {
      if (!wardIds.length) return [];
      const found = await rows(`${bucket}
  |> ${range(q)}
  |> filter(fn: (r) => r._measurement == ${flux(MEASUREMENT.flow)} and r._field == "event")
  |> filter(fn: (r) => contains(value: r.ward_id, set: [${wardIds.map(flux).join(', ')}]))
  |> group()
  |> sort(columns: ["_time"])`);
      const byId = new Map<string, FlowEvent>();
      for (const row of found) {
        const parsed = FlowEventSchema.safeParse(JSON.parse(String(row._value)));
        if (parsed.success) byId.set(parsed.data.eventId, parsed.data);
      }
      return [...byId.values()].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.eventId.localeCompare(b.eventId));
    },

    async referrals(wardId: string, q: SeriesQuery) {
      const found = await rows(`${bucket}
  |> ${range(q)}
  |> filter(fn: (r) => r._measurement == ${flux(MEASUREMENT.referral)} and r.ward_id == ${flux(wardId)} and r._field == "event")
  |> group()
  |> sort(columns: ["_time"])`);
      const newest = new Map<string, Referral>();
      for (const row of found) {
        const parsed = ReferralSchema.safeParse(JSON.parse(String(row._value)));
        if (!parsed.success) continue;
        const held = newest.get(parsed.data.referralId);
        if (!held || held.revision < parsed.data.revision) newest.set(parsed.data.referralId, parsed.data);
      }
      const out = [...newest.values()].sort((a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt));
      return q.limit !== undefined ? out.slice(-q.limit) : out;
    },

    writeAlerts: (alerts) => write(newestRevisions(alerts).map(alertPoint)),

    async alerts(wardIds: readonly string[], q: SeriesQuery) {
      if (!wardIds.length) return [];
      const found = await rows(`${bucket}
  |> ${range(q)}
  |> filter(fn: (r) => r._measurement == ${flux(MEASUREMENT.alert)} and r._field == "event")
  |> filter(fn: (r) => contains(value: r.ward_id, set: [${wardIds.map(flux).join(', ')}]))
  |> group()
  |> sort(columns: ["_time"])`);
      const newest = new Map<string, Alert>();
      for (const row of found) {
        const parsed = AlertSchema.safeParse(JSON.parse(String(row._value)));
        if (!parsed.success) continue;
        const held = newest.get(parsed.data.alertId);
        if (!held || held.revision < parsed.data.revision) newest.set(parsed.data.alertId, parsed.data);
      }
      const out = [...newest.values()].sort((a, b) => Date.parse(a.raisedAt) - Date.parse(b.raisedAt) || byText(a.alertId, b.alertId));
      return q.limit !== undefined ? out.slice(-q.limit) : out;
    },

    writeCapacity: (snapshots) => write(snapshots.map(capacityPoint)),

    async capacity(providerIds: readonly string[], q: SeriesQuery) {
      if (!providerIds.length) return [];
      const found = await rows(`${bucket}
  |> ${range(q)}
  |> filter(fn: (r) => r._measurement == ${flux(MEASUREMENT.capacity)} and r._field == "event")
  |> filter(fn: (r) => contains(value: r.provider_id, set: [${providerIds.map(flux).join(', ')}]))
  |> group()
  |> sort(columns: ["_time"])`);
      const out = found.flatMap((row) => {
        const parsed = CapacitySnapshotSchema.safeParse(JSON.parse(String(row._value)));
        return parsed.success ? [parsed.data] : [];
      });
      out.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts) || byText(a.service, b.service) || byText(a.providerId, b.providerId));
      return q.limit !== undefined ? out.slice(-q.limit) : out;
    },

    async ping() {
      try {
        await rows(`${bucket} |> range(start: -1m) |> limit(n: 1)`);
        return true;
      } catch {
        return false;
      }
    },

    async close() {},
    healthy: () => lastOk,
  };
}
