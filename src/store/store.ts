import type { Alert, CapacitySnapshot, FlowEvent, Reading, ReadingType, Referral, ScoreEvent } from '../domain/index.ts';

/** A patient sent at least one reading on the ward in the hour starting at `hour` (epoch ms, on the UTC hour). */
export interface ReadingHour {
  patientId: string;
  hour: number;
}

export interface SeriesPoint {
  ts: string;
  value: Reading['value'];
}

export interface SeriesQuery {
  since: Date;
  until?: Date;
  /** The most recent `limit` points of the range. */
  limit?: number;
}

/**
 * Where readings and scores are kept as time series. Writes are idempotent: a reading or score written
 * twice (a redelivery) is stored once. Implementations: in-memory (memory-store.ts) and InfluxDB.
 */
export interface TimeSeriesStore {
  writeReadings(readings: Reading[]): Promise<void>;
  writeScores(scores: ScoreEvent[]): Promise<void>;
  /** Points of one patient's series in event-time order. */
  series(patientId: string, type: ReadingType, query: SeriesQuery): Promise<SeriesPoint[]>;
  /** The newest reading of each type for a patient. */
  latest(patientId: string): Promise<Partial<Record<ReadingType, Reading>>>;
  scores(patientId: string, query: SeriesQuery): Promise<ScoreEvent[]>;
  /**
   * The hours in the range in which each patient on any of the wards sent at least one reading, for
   * device adherence in reports: kept as long as reports reach back, not only as long as the points.
   */
  readingHours(wardIds: readonly string[], query: SeriesQuery): Promise<ReadingHour[]>;
  /** Every revision of each referral, kept for reports; a revision written twice is kept once. */
  writeReferrals(referrals: Referral[]): Promise<void>;
  /** The newest revision of each referral of a ward last changed in the range, oldest first. */
  referrals(wardId: string, query: SeriesQuery): Promise<Referral[]>;
  /** Patient flow events, for reports; an event written twice is kept once. */
  writeFlowEvents(events: FlowEvent[]): Promise<void>;
  /** Flow events that happened in the range, in time order, on any of the wards (as from- or to-ward). */
  flowEvents(wardIds: readonly string[], query: SeriesQuery): Promise<FlowEvent[]>;
  /** Every revision of each alert, for reports; a revision written twice is kept once. */
  writeAlerts(alerts: Alert[]): Promise<void>;
  /** The newest revision of each alert raised (`raisedAt`) in the range on any of the wards, oldest raised first. */
  alerts(wardIds: readonly string[], query: SeriesQuery): Promise<Alert[]>;
  /** Capacity snapshots, for reports; a snapshot written twice (same service, provider and ts) is kept once. */
  writeCapacity(snapshots: CapacitySnapshot[]): Promise<void>;
  /** Snapshots of any of the providers with `ts` in the range, in time order. */
  capacity(providerIds: readonly string[], query: SeriesQuery): Promise<CapacitySnapshot[]>;
  close(): Promise<void>;
  /** False when the last write or query failed; served on /healthz. */
  healthy(): boolean;
  /** What the store holds in this process's memory, by kind (the embedded store); served as vw_store_held. */
  held?(): Record<string, number>;
}
