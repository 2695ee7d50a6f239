import type { FlowEvent, Reading, ReadingType, Referral, ScoreEvent } from '../domain/index.ts';
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
  now?: () => number;
}

const MIN_SHARE = 20;
/** Referrals held (newest revision each): far more than a year of a large ward's. */
const MAX_REFERRALS = 50_000;

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

export function createMemoryStore(options: MemoryStoreOptions): TimeSeriesStore & { pointCount(): number } {
  const now = options.now ?? Date.now;
  const retentionMs = options.retentionHours * 3_600_000;
  const patients = new Map<string, PatientSeries>();
  const referrals = new Map<string, Referral>();
  /** Flow events are few (admissions a day, not readings a second) and reports need them all: kept whole. */
  const flow = new Map<string, FlowEvent>();
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

  return {
    async writeReadings(readings) {
      const oldest = now() - retentionMs;
      for (const reading of readings) {
        const t = Date.parse(reading.ts);
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
    async close() {
      patients.clear();
      referrals.clear();
      flow.clear();
    },
    healthy: () => true,
    pointCount() {
      let n = 0;
      for (const p of patients.values()) {
        for (const s of p.readings.values()) n += s.points.length;
        n += p.scores.points.length;
      }
      return n;
    },
  };
}
