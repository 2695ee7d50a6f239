import type { Alert, CapacitySnapshot, FlowEvent, Reading, ReadingType, Referral, ScoreEvent } from '../domain/index.ts';
import type { StoreState } from './store-state.ts';
import type { SeriesPoint, SeriesQuery, TimeSeriesStore } from './store.ts';

/**
 * The embedded store: per patient, per type, points sorted by event time, bounded by age and count.
 * Late readings are inserted in place; a point with an id already present is ignored.
 */
export interface MemoryStoreOptions {
  retentionHours: number;
  maxPointsPerSeries: number;
  /**
   * All points held, readings and scores together. Each series is held to an even share of it (at
   * least MIN_SHARE, at most maxPointsPerSeries), so a large or busy ward keeps memory bounded by
   * keeping less history per series, not by growing until the process fails.
   */
  maxPoints?: number;
  /** Alerts held, newest revision each (default 200,000); the oldest raised are let go first. */
  maxAlerts?: number;
  /** Capacity snapshots held (default 100,000); the oldest are let go first. */
  maxCapacitySnapshots?: number;
  /** Patient-hours with readings held for reports (default 1,000,000); the oldest are let go first. */
  maxReadingHours?: number;
  now?: () => number;
}

const MIN_SHARE = 20;
/** Referrals held (newest revision each): far more than a year of a large ward's. */
const MAX_REFERRALS = 50_000;
/** Alerts held (newest revision each); the oldest raised are let go first. */
const MAX_ALERTS = 200_000;
/** Capacity snapshots held; the oldest (by `ts`) are let go first. */
const MAX_CAPACITY = 100_000;
/** Patient-hours with readings: a year of 100 patients sending every hour, about 90 MB at most. */
const MAX_READING_HOURS = 1_000_000;
const HOUR_MS = 3_600_000;

interface Point {
  t: number;
  id: string;
}

class SortedSeries<T extends Point> {
  readonly points: T[] = [];

  /** Returns false when a point with the same id and time is already held. */
  insert(point: T): boolean {
    const { points } = this;
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]!.t <= point.t) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0 && points[i]!.t === point.t; i--) if (points[i]!.id === point.id) return false;
    points.splice(lo, 0, point);
    return true;
  }

  trim(oldest: number, maxPoints: number): void {
    let drop = 0;
    while (drop < this.points.length && this.points[drop]!.t < oldest) drop++;
    drop = Math.max(drop, this.points.length - maxPoints);
    if (drop > 0) this.points.splice(0, drop);
  }

  range(query: SeriesQuery): T[] {
    const since = query.since.getTime();
    const until = query.until?.getTime() ?? Infinity;
    const out = this.points.filter((p) => p.t >= since && p.t <= until);
    return query.limit !== undefined ? out.slice(-query.limit) : out;
  }

  last(): T | undefined {
    return this.points.at(-1);
  }
}

/** An entry of a time-ordered index: its time, then a key that orders entries of the same time. */
interface Keyed {
  t: number;
  key: string;
}

const before = (a: Keyed, b: Keyed) => a.t < b.t || (a.t === b.t && a.key < b.key);

/** Entries sorted by time and key, for range queries in order and for letting the oldest go first. */
class TimeIndex<E extends Keyed> {
  readonly entries: E[] = [];

  private position(entry: Keyed): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.entries[mid]!, entry)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(entry: E): void {
    // Most arrive newest: appended without a search.
    const last = this.entries.at(-1);
    if (!last || before(last, entry)) this.entries.push(entry);
    else this.entries.splice(this.position(entry), 0, entry);
  }

  remove(entry: E): void {
    const i = this.position(entry);
    if (this.entries[i] === entry) this.entries.splice(i, 1);
  }

  /** Removes and returns the oldest entries beyond `max`. */
  trim(max: number): E[] {
    return this.entries.length > max ? this.entries.splice(0, this.entries.length - max) : [];
  }

  range(query: SeriesQuery, keep: (entry: E) => boolean): E[] {
    const to = query.until?.getTime() ?? Infinity;
    const out: E[] = [];
    for (let i = this.position({ t: query.since.getTime(), key: '' }); i < this.entries.length && this.entries[i]!.t <= to; i++) {
      if (keep(this.entries[i]!)) out.push(this.entries[i]!);
    }
    return query.limit !== undefined ? out.slice(-query.limit) : out;
  }
}

/** An alert's newest revision, as JSON text (alerts carry evidence and history); indexed by when it was raised. */
interface AlertEntry extends Keyed {
  wardId: string;
  revision: number;
  json: string;
}

/** A capacity snapshot as JSON text, indexed by its time; keyed by service, provider and time. */
interface CapacityEntry extends Keyed {
  providerId: string;
  json: string;
}

/** A patient's hour with readings on a ward; keyed by ward, patient and hour. */
interface HourEntry extends Keyed {
  wardId: string;
  patientId: string;
}

/**
 * Held compactly: the value for series, and the whole reading only on the newest point, for latest().
 * A ward's worth of readings and scores over days is the embedded default's largest memory.
 */
interface ReadingPoint extends Point {
  value: Reading['value'];
  reading?: Reading;
}

/** Scores kept as their JSON text, about a third of the object's size; parsed when a console asks. */
interface ScorePoint extends Point {
  json: string;
}

interface PatientSeries {
  readings: Map<ReadingType, SortedSeries<ReadingPoint>>;
  scores: SortedSeries<ScorePoint>;
}

export interface MemoryStore extends TimeSeriesStore {
  pointCount(): number;
  /** What the store holds, in chunks, for a snapshot (the durable store's): `restore` takes them back. */
  exportState(): Iterable<StoreState[]>;
  /** Puts back one chunk of exported state (idempotent: points and revisions already held are kept once). */
  restore(state: StoreState): void;
}

export function createMemoryStore(options: MemoryStoreOptions): MemoryStore {
  const now = options.now ?? Date.now;
  const retentionMs = options.retentionHours * 3_600_000;
  const patients = new Map<string, PatientSeries>();
  const referrals = new Map<string, Referral>();
  /** Flow events are few (admissions a day, not readings a second) and reports need them all: kept whole. */
  const flow = new Map<string, FlowEvent>();
  const alerts = new Map<string, AlertEntry>();
  const alertIndex = new TimeIndex<AlertEntry>();
  const capacity = new Map<string, CapacityEntry>();
  const capacityIndex = new TimeIndex<CapacityEntry>();
  // Outlives the points' retention: adherence over a quarter needs a quarter of hours, not of readings.
  const readingHours = new Set<string>();
  const readingHourIndex = new TimeIndex<HourEntry>();
  let seriesCount = 0;
  const cap = () => Math.min(options.maxPointsPerSeries, Math.max(MIN_SHARE, Math.floor((options.maxPoints ?? Infinity) / Math.max(1, seriesCount))));

  function patient(id: string): PatientSeries {
    let p = patients.get(id);
    if (!p) {
      p = { readings: new Map(), scores: new SortedSeries() };
      patients.set(id, p);
    }
    return p;
  }

  function insertHour(wardId: string, patientId: string, hour: number): void {
    const hourKey = `${wardId}\u0000${patientId}\u0000${hour}`;
    if (!readingHours.has(hourKey)) {
      readingHours.add(hourKey);
      readingHourIndex.insert({ t: hour, key: hourKey, wardId, patientId });
    }
  }

  const store: MemoryStore = {
    async writeReadings(readings) {
      const oldest = now() - retentionMs;
      for (const reading of readings) {
        const t = Date.parse(reading.ts);
        insertHour(reading.wardId, reading.patientId, t - (t % HOUR_MS));
        if (t < oldest) continue;
        const p = patient(reading.patientId);
        let series = p.readings.get(reading.type);
        if (!series) {
          p.readings.set(reading.type, (series = new SortedSeries()));
          seriesCount++;
        }
        const previous = series.last();
        const point: ReadingPoint = { t, id: reading.readingId, value: reading.value, reading };
        if (!series.insert(point)) continue;
        if (series.last() === point) {
          if (previous) delete previous.reading;
        } else delete point.reading;
        series.trim(oldest, cap());
      }
      for (const gone of readingHourIndex.trim(options.maxReadingHours ?? MAX_READING_HOURS)) readingHours.delete(gone.key);
    },
    async readingHours(wardIds, query) {
      const wards = new Set(wardIds);
      const seen = new Set<string>();
      const out: Array<{ patientId: string; hour: number }> = [];
      for (const e of readingHourIndex.range({ since: query.since, ...(query.until ? { until: query.until } : {}) }, (x) => wards.has(x.wardId))) {
        // A transfer within the hour puts the patient's hour on two wards: once is enough.
        const key = `${e.patientId}\u0000${e.t}`;
        if (!seen.has(key)) {
          seen.add(key);
          out.push({ patientId: e.patientId, hour: e.t });
        }
      }
      return out;
    },
    async writeScores(scores) {
      const oldest = now() - retentionMs;
      for (const score of scores) {
        const t = Date.parse(score.ts);
        if (t < oldest) continue;
        const series = patient(score.patientId).scores;
        if (series.points.length === 0) seriesCount++;
        if (series.insert({ t, id: score.scoreId, json: JSON.stringify(score) })) series.trim(oldest, cap());
      }
    },
    async series(patientId, type, query): Promise<SeriesPoint[]> {
      const series = patients.get(patientId)?.readings.get(type);
      return series ? series.range(query).map((p) => ({ ts: new Date(p.t).toISOString(), value: p.value })) : [];
    },
    async latest(patientId) {
      const out: Partial<Record<ReadingType, Reading>> = {};
      for (const [type, series] of patients.get(patientId)?.readings ?? []) {
        const last = series.last();
        if (last?.reading) out[type] = last.reading;
      }
      return out;
    },
    async scores(patientId, query) {
      return (patients.get(patientId)?.scores.range(query) ?? []).map((p) => JSON.parse(p.json) as ScoreEvent);
    },
    async writeReferrals(list) {
      for (const r of list) {
        const held = referrals.get(r.referralId);
        if (held && held.revision >= r.revision) continue;
        referrals.delete(r.referralId);
        referrals.set(r.referralId, r);
        // Oldest-changed first out: the map keeps insertion order, and a change re-inserts.
        while (referrals.size > MAX_REFERRALS) referrals.delete(referrals.keys().next().value!);
      }
    },
    async referrals(wardId, query) {
      const from = query.since.getTime();
      const to = query.until?.getTime() ?? Infinity;
      const found = [...referrals.values()].filter((r) => r.wardId === wardId && Date.parse(r.updatedAt) >= from && Date.parse(r.updatedAt) <= to);
      found.sort((a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt));
      return query.limit !== undefined ? found.slice(-query.limit) : found;
    },
    async writeFlowEvents(events) {
      for (const e of events) if (!flow.has(e.eventId)) flow.set(e.eventId, e);
    },
    async flowEvents(wardIds, query) {
      const wards = new Set(wardIds);
      const from = query.since.getTime();
      const to = query.until?.getTime() ?? Infinity;
      return [...flow.values()]
        .filter((e) => (wards.has(e.wardId) || (e.kind === 'transfer' && wards.has(e.fromWardId))) && Date.parse(e.at) >= from && Date.parse(e.at) <= to)
        .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.eventId.localeCompare(b.eventId));
    },
    async writeAlerts(list) {
      for (const a of list) {
        const held = alerts.get(a.alertId);
        if (held && held.revision >= a.revision) continue;
        const t = Date.parse(a.raisedAt);
        if (held && held.t === t) Object.assign(held, { wardId: a.wardId, revision: a.revision, json: JSON.stringify(a) });
        else {
          if (held) alertIndex.remove(held);
          const entry: AlertEntry = { t, key: a.alertId, wardId: a.wardId, revision: a.revision, json: JSON.stringify(a) };
          alerts.set(a.alertId, entry);
          alertIndex.insert(entry);
        }
      }
      // The oldest raised first out. An alert let go and written again later is held again.
      for (const gone of alertIndex.trim(options.maxAlerts ?? MAX_ALERTS)) alerts.delete(gone.key);
    },
    async alerts(wardIds, query) {
      const wards = new Set(wardIds);
      return alertIndex.range(query, (e) => wards.has(e.wardId)).map((e) => JSON.parse(e.json) as Alert);
    },
    async writeCapacity(snapshots) {
      for (const s of snapshots) {
        const t = Date.parse(s.ts);
        const key = `${s.service}\u0000${s.providerId}\u0000${t}`;
        const held = capacity.get(key);
        // As in InfluxDB, the same snapshot written again replaces itself.
        if (held) held.json = JSON.stringify(s);
        else {
          const entry: CapacityEntry = { t, key, providerId: s.providerId, json: JSON.stringify(s) };
          capacity.set(key, entry);
          capacityIndex.insert(entry);
        }
      }
      for (const gone of capacityIndex.trim(options.maxCapacitySnapshots ?? MAX_CAPACITY)) capacity.delete(gone.key);
    },
    async capacity(providerIds, query) {
      const providers = new Set(providerIds);
      return capacityIndex.range(query, (e) => providers.has(e.providerId)).map((e) => JSON.parse(e.json) as CapacitySnapshot);
    },
    async close() {
      patients.clear();
      referrals.clear();
      flow.clear();
      alerts.clear();
      alertIndex.entries.length = 0;
      capacity.clear();
      capacityIndex.entries.length = 0;
      readingHours.clear();
      readingHourIndex.entries.length = 0;
    },
    healthy: () => true,
    held() {
      return { points: store.pointCount(), alerts: alerts.size, referrals: referrals.size, flow_events: flow.size, capacity_snapshots: capacity.size, reading_hours: readingHours.size };
    },
    pointCount() {
      let n = 0;
      for (const p of patients.values()) {
        for (const s of p.readings.values()) n += s.points.length;
        n += p.scores.points.length;
      }
      return n;
    },
    *exportState() {
      for (const [patientId, p] of patients) {
        const chunk: StoreState[] = [];
        for (const [type, series] of p.readings) {
          if (!series.points.length) continue;
          const latest = series.last()?.reading;
          chunk.push({ series: { patientId, type, points: series.points.map((x) => [x.t, x.id, x.value]), ...(latest ? { latest } : {}) } });
        }
        if (p.scores.points.length) chunk.push({ scores: p.scores.points.map((x) => JSON.parse(x.json) as ScoreEvent) });
        yield chunk;
      }
      yield [{ hours: readingHourIndex.entries.map((e) => [e.wardId, e.patientId, e.t]) }];
      const all = <T>(list: T[], wrap: (part: T[]) => StoreState) => {
        const out: StoreState[] = [];
        for (let i = 0; i < list.length; i += 500) out.push(wrap(list.slice(i, i + 500)));
        return out;
      };
      yield all([...referrals.values()], (referrals) => ({ referrals }));
      yield all([...flow.values()], (flow) => ({ flow }));
      yield all(alertIndex.entries.map((e) => JSON.parse(e.json) as Alert), (alerts) => ({ alerts }));
      yield all(capacityIndex.entries.map((e) => JSON.parse(e.json) as CapacitySnapshot), (capacity) => ({ capacity }));
    },
    restore(state) {
      // Replays of write calls go through the same code as the writes; only series come back raw,
      // because the store keeps older points without the whole reading.
      if ('series' in state) {
        const { patientId, type, points, latest } = state.series;
        const oldest = now() - retentionMs;
        const p = patient(patientId);
        let series = p.readings.get(type);
        if (!series) {
          p.readings.set(type, (series = new SortedSeries()));
          seriesCount++;
        }
        for (const [t, id, value] of points) if (t >= oldest) series.insert({ t, id, value });
        if (latest) {
          const last = series.last();
          if (last && last.id === latest.readingId) last.reading = latest;
        }
        series.trim(oldest, cap());
      } else if ('hours' in state) {
        for (const [wardId, patientId, hour] of state.hours) insertHour(wardId, patientId, hour);
        for (const gone of readingHourIndex.trim(options.maxReadingHours ?? MAX_READING_HOURS)) readingHours.delete(gone.key);
      } else if ('readings' in state) void store.writeReadings(state.readings);
      else if ('scores' in state) void store.writeScores(state.scores);
      else if ('referrals' in state) void store.writeReferrals(state.referrals);
      else if ('flow' in state) void store.writeFlowEvents(state.flow);
      else if ('alerts' in state) void store.writeAlerts(state.alerts);
      else if ('capacity' in state) void store.writeCapacity(state.capacity);
    },
  };
  return store;
}
