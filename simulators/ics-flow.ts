import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { z } from 'zod';
import { loadYamlAs, parseYamlAs } from '../src/config/yaml-file.ts';
import { AdmissionSource, DischargeOutcome, Id, Pathway } from '../src/domain/index.ts';
import type { AdmissionKind, CapacitySnapshot, FlowEvent, Patient, Reading, RegistryData, Ward } from '../src/domain/index.ts';
import { londonInstant } from '../src/reports/flow-measures.ts';
import { londonDay } from '../src/time/calendar.ts';
import { CapacityScenario, capacitySeries } from './capacity.ts';
import { rngFor } from './rng.ts';

/**
 * Months of virtual-ward flow for one integrated care system, so the capacity and flow reports
 * (src/reports/flow-measures.ts) have something worth reading: admissions arrive each day per pathway
 * from GPs, 111, ambulance crews, ED/SDEC (step-up) and from acute wards (step-down); each stays a
 * lognormal length of time, may move ward once, and leaves with an outcome. A winter surge raises the
 * step-up arrivals that come through ambulance and 111, as it raises the demand on those services in
 * the capacity feeds generated alongside (simulators/capacity.ts). A pure function of the scenario:
 * the same seed, byte for byte the same registry, events and feeds.
 */
const Weight = z.number().nonnegative();
const Share = z.number().min(0).max(1);
const someWeight = (m: Record<string, number | undefined>) => Object.values(m).some((w) => (w ?? 0) > 0);

/** Step-up sources; a step-down admission always comes from an acute ward (`acute-discharge`). */
const StepUpSource = AdmissionSource.exclude(['acute-discharge']);

const PathwayFlow = z
  .object({
    /** Admissions a day across the ICS on an average weekday (GP referrals and hospital discharges are fewer at weekends). */
    arrivalsPerDay: z.number().positive(),
    /** Lognormal length of stay: the median, and `spread` the standard deviation of its logarithm. */
    lengthOfStay: z
      .object({
        medianDays: z.number().positive(),
        spread: z.number().positive().max(2).default(0.5),
        minDays: z.number().positive().default(0.5),
        maxDays: z.number().positive().default(42),
      })
      .strict(),
    /** Share of admissions that are step-up (instead of a hospital bed); the rest are step-down. */
    stepUpShare: Share,
    /** Where step-up admissions come from, as relative weights. */
    sources: z.partialRecord(StepUpSource, Weight).refine(someWeight, 'at least one source weighted above 0').default({ gp: 0.35, nhs111: 0.15, ambulance: 0.2, 'ed-sdec': 0.3 }),
    /** How spells end, as relative weights. */
    outcomes: z
      .partialRecord(DischargeOutcome, Weight)
      .refine(someWeight, 'at least one outcome weighted above 0')
      .default({ 'care-completed': 0.85, 'admitted-acute': 0.1, ed: 0.03, died: 0.01, 'self-discharged': 0.01 }),
    /** Chance a spell moves once to another ward of the same pathway (when there is one). */
    transferChance: Share.default(0.03),
    /** Chance an admission is of a patient discharged from this pathway before (at least two days earlier). */
    readmissionShare: Share.default(0.05),
  })
  .strict();
export type PathwayFlow = z.infer<typeof PathwayFlow>;

const FlowWard = z
  .object({
    wardId: Id,
    name: z.string().min(1),
    /** The trust running it (ODS code). */
    organisation: z.string().min(1),
    /** Commissioned beds. */
    capacity: z.number().int().positive(),
    /** Pathways the ward takes, as shares of its beds (relative weights). */
    pathways: z.partialRecord(Pathway, Weight).refine(someWeight, 'at least one pathway weighted above 0'),
  })
  .strict();

/** Capacity feeds of the ICS's ambulance service and 111 provider (simulators/capacity.ts); the ICS's own OPEL feed is added. */
const Feed = CapacityScenario.shape.providers.element;

export const IcsFlowScenario = z
  .object({
    name: z.string().min(1),
    seed: z.number().int(),
    /** The UK calendar date of day 0, from midnight UK time. */
    start: z.iso.date(),
    days: z.number().int().min(1).max(400).default(90),
    /**
     * Days simulated before `start` so the wards are as full on day 0 as they would be: spells still
     * open at the start are kept (their admissions fall before it), the rest of the warm-up is dropped.
     */
    warmUpDays: z.number().int().min(0).max(120).default(28),
    ics: z.object({ icsId: Id, name: z.string().min(1), adultPopulation: z.number().int().positive() }).strict(),
    wards: z.array(FlowWard).min(1),
    pathways: z.partialRecord(Pathway, PathwayFlow),
    /** Index of Multiple Deprivation deciles of patients' homes, 1 (most deprived) to 10, as relative weights. */
    imdDeciles: z.array(Weight).length(10).refine((ws) => ws.some((w) => w > 0), 'at least one decile weighted above 0').default([1.3, 1.25, 1.15, 1.05, 1, 0.95, 0.9, 0.85, 0.8, 0.75]),
    /** Share of admissions whose home's decile is not recorded. */
    imdUnknownShare: Share.default(0.03),
    /** The ambulance and 111 feeds (defaults: one of each); the ICS's OPEL feed is always added. */
    feeds: z.array(Feed).optional(),
    /** Simulated seconds between capacity snapshots of each provider. */
    feedIntervalSeconds: z.number().positive().default(3600),
    /**
     * A winter surge, as in the capacity scenarios: from `startDay` (day 0 = `start`), demand rises by
     * `factor` over `rampDays` and stays. It raises step-up arrivals from ambulance and 111, and the
     * demand on those services in the capacity feeds.
     */
    surge: z.object({ startDay: z.number().nonnegative(), rampDays: z.number().positive(), factor: z.number().min(1) }).strict().optional(),
    /**
     * Readings each patient sends, for device adherence in reports: on each UK day on the ward the
     * patient sends `perDay` readings with a chance of `adherence` in the least deprived decile, that
     * chance falling by `deprivationGap` in all towards the most deprived (the gap free devices aim to close).
     */
    readings: z
      .object({ perDay: z.number().int().min(1).max(24).default(2), adherence: Share.default(0.92), deprivationGap: Share.default(0.12) })
      .strict()
      .default({ perDay: 2, adherence: 0.92, deprivationGap: 0.12 }),
  })
  .strict()
  .superRefine((s, ctx) => {
    const ids = new Set<string>();
    s.wards.forEach((w, i) => {
      if (ids.has(w.wardId)) ctx.addIssue({ code: 'custom', message: `ward ${w.wardId} is listed twice`, path: ['wards', i, 'wardId'] });
      ids.add(w.wardId);
      for (const [p, weight] of Object.entries(w.pathways)) {
        if ((weight ?? 0) > 0 && !s.pathways[p as Pathway]) ctx.addIssue({ code: 'custom', message: `ward ${w.wardId} takes ${p}, which has no flow under pathways`, path: ['wards', i, 'pathways', p] });
      }
    });
    for (const p of Object.keys(s.pathways)) {
      if (!s.wards.some((w) => (w.pathways[p as Pathway] ?? 0) > 0)) ctx.addIssue({ code: 'custom', message: `no ward takes ${p}`, path: ['pathways', p] });
    }
  });
export type IcsFlowScenario = z.infer<typeof IcsFlowScenario>;

export function parseIcsFlowScenario(source: string, text: string): IcsFlowScenario {
  return parseYamlAs(IcsFlowScenario, source, text);
}

export async function loadIcsFlowScenario(path: string): Promise<IcsFlowScenario> {
  return loadYamlAs(IcsFlowScenario, path);
}

export interface IcsFlow {
  registry: RegistryData;
  /** In time order. */
  events: FlowEvent[];
  /** In time order, one per provider per feed interval. */
  capacity: CapacitySnapshot[];
  /** In time order: what each patient's devices sent, from admission to discharge or the end. */
  readings: Reading[];
}

/** What each pathway's patients measure at home, with a plausible value. */
const HOME_READING: Record<Pathway, { type: 'spo2' | 'weight' | 'systolic_bp' | 'heart_rate'; unit: string; value: (rng: Rng) => number }> = {
  ari: { type: 'spo2', unit: '%', value: (r) => 93 + Math.floor(r() * 6) },
  copd: { type: 'spo2', unit: '%', value: (r) => 89 + Math.floor(r() * 6) },
  'heart-failure': { type: 'weight', unit: 'kg', value: (r) => Math.round((70 + r() * 30) * 10) / 10 },
  hypertension: { type: 'systolic_bp', unit: 'mm[Hg]', value: (r) => 125 + Math.floor(r() * 40) },
  frailty: { type: 'heart_rate', unit: '/min', value: (r) => 60 + Math.floor(r() * 35) },
  'post-op': { type: 'heart_rate', unit: '/min', value: (r) => 60 + Math.floor(r() * 35) },
  general: { type: 'spo2', unit: '%', value: (r) => 93 + Math.floor(r() * 6) },
};

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** The capacity simulator's surge (simulators/capacity.ts): 1 before `startDay`, rising linearly to `factor` over `rampDays`. */
export function surgeAt(surge: IcsFlowScenario['surge'], dayOffset: number): number {
  if (!surge || dayOffset < surge.startDay) return 1;
  return 1 + (surge.factor - 1) * clamp((dayOffset - surge.startDay) / surge.rampDays, 0, 1);
}

/** The sources whose step-up arrivals a surge raises. */
const SURGING: ReadonlySet<string> = new Set(['ambulance', 'nhs111']);

/** Weekend arrivals relative to a weekday: surgeries are shut, fewer hospital discharges; 111 is busier. */
const WEEKEND: Record<AdmissionSource, number> = { gp: 0.25, nhs111: 1.2, ambulance: 1, 'ed-sdec': 0.9, 'acute-discharge': 0.7, other: 1 };

/** When in the UK day admissions are made, by hour (relative weights): virtual-ward teams admit by day. */
const ADMIT_HOURS: Record<'gp' | 'urgent' | 'day', number[]> = {
  gp: [0, 0, 0, 0, 0, 0, 0, 0, 0.3, 1, 2, 3, 3, 2, 3, 3, 2, 1, 0.3, 0, 0, 0, 0, 0],
  urgent: [0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.1, 0.4, 1, 1.5, 1.8, 1.8, 1.8, 1.7, 1.7, 1.7, 1.6, 1.5, 1.3, 1.1, 0.9, 0.6, 0.3, 0.15],
  day: [0, 0, 0, 0, 0, 0, 0, 0.1, 0.5, 1, 1.5, 2, 2, 2, 2, 2, 1.8, 1.5, 1, 0.6, 0.3, 0.1, 0, 0],
};
/** Planned discharges happen on the day round and after it. */
const DISCHARGE_HOURS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 1.5, 2, 2, 2, 2, 1.8, 1.5, 1, 0.5, 0.2, 0, 0, 0, 0];
const admitHours = (source: AdmissionSource) => (source === 'gp' ? ADMIT_HOURS.gp : source === 'nhs111' || source === 'ambulance' ? ADMIT_HOURS.urgent : ADMIT_HOURS.day);

/** Ages on each pathway (years, uniform), for fictional dates of birth. */
const AGES: Record<Pathway, [number, number]> = {
  ari: [25, 92],
  frailty: [72, 99],
  'heart-failure': [55, 94],
  hypertension: [30, 82],
  'post-op': [30, 88],
  copd: [50, 90],
  general: [18, 95],
};

const FIRST = ['Ada', 'Alfie', 'Amara', 'Arthur', 'Beatrice', 'Bilal', 'Carys', 'Colin', 'Dafydd', 'Delia', 'Edith', 'Emeka', 'Fatima', 'Frank', 'Gwen', 'Harold', 'Ines', 'Ivor', 'Jasmine', 'Joan', 'Kwame', 'Lena', 'Mabel', 'Malcolm', 'Nadia', 'Norman', 'Olive', 'Owen', 'Priya', 'Ruth', 'Samir', 'Sheila', 'Tariq', 'Thea', 'Una', 'Vernon', 'Wendy', 'Wilfred', 'Yusuf', 'Zofia'];
const LAST = ['Ashdown', 'Barraclough', 'Birtwistle', 'Calder', 'Dunmore', 'Elphick', 'Fairbairn', 'Gorton', 'Hallworth', 'Ibbotson', 'Jessop', 'Kettlewell', 'Lomax', 'Marsden', 'Nuttall', 'Ormerod', 'Pickles', 'Quarmby', 'Ramsbottom', 'Sutcliffe', 'Thwaite', 'Uttley', 'Varley', 'Whitworth', 'Yeadon', 'Okafor', 'Nowak', 'Chaudhry', 'Mensah', 'Kowalczyk'];

type Rng = () => number;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
function pickWeighted<K>(rng: Rng, entries: ReadonlyArray<readonly [K, number]>): K {
  const total = entries.reduce((n, [, w]) => n + w, 0);
  let u = rng() * total;
  for (const [k, w] of entries) {
    if (w <= 0) continue;
    u -= w;
    if (u < 0) return k;
  }
  return entries.filter(([, w]) => w > 0).at(-1)![0];
}
const pickIndex = (rng: Rng, weights: readonly number[]) => pickWeighted(rng, weights.map((w, i) => [i, w] as const));
function normal(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}
function poisson(rng: Rng, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda > 40) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(rng)));
  const limit = Math.exp(-lambda);
  let k = 0;
  for (let p = rng(); p > limit; p *= rng()) k++;
  return k;
}
/** A UK wall-clock time on UK day `day` (days since 1970-01-01), the hour drawn from `hours`. */
const ukTime = (rng: Rng, day: number, hours: readonly number[]) => londonInstant(day, pickIndex(rng, hours)) + Math.floor(rng() * 60) * 60_000;

/** One arrival, drawn before any ward is chosen. */
interface Arrival {
  key: string;
  at: number;
  pathway: Pathway;
  admission: AdmissionKind;
  source: AdmissionSource;
  imdDecile?: number;
  outcome: DischargeOutcome;
  /** Discharge time, which may fall after the end (the spell is then still open). */
  until: number;
  /** Fraction of the stay after which the patient moves ward, if they do. */
  transferAt?: number;
  readmission: boolean;
  rng: Rng;
}

/** Omit on each member of a union. */
type DraftOf<T> = T extends unknown ? Omit<T, 'eventId' | 'at'> : never;

interface Spell {
  arrival: Arrival;
  patientId: string;
  wardId: string;
  transfer?: { at: number; wardId: string };
}

/** The registry, flow events and capacity feeds of the scenario. */
export function generateIcsFlow(scenario: IcsFlowScenario): IcsFlow {
  const { seed, ics } = scenario;
  const day0 = Date.parse(`${scenario.start}T00:00:00Z`) / DAY;
  const startMs = londonInstant(day0, 0);
  const endMs = londonInstant(day0 + scenario.days, 0);
  const pathways = Object.entries(scenario.pathways) as Array<[Pathway, PathwayFlow]>;

  // Arrivals, day by day and pathway by pathway, each from its own stream.
  const arrivals: Arrival[] = [];
  for (let d = -scenario.warmUpDays; d < scenario.days; d++) {
    const day = day0 + d;
    const weekday = new Date(day * DAY).getUTCDay();
    const weekend = weekday === 0 || weekday === 6;
    const surge = surgeAt(scenario.surge, d + 0.5);
    for (const [pathway, flow] of pathways) {
      const rng = rngFor(seed, `arrivals:${pathway}`, day);
      const sourceTotal = Object.values(flow.sources).reduce<number>((n, w) => n + (w ?? 0), 0);
      const streams: Array<[[AdmissionKind, AdmissionSource], number]> = [
        [['step-down', 'acute-discharge'], flow.arrivalsPerDay * (1 - flow.stepUpShare) * (weekend ? WEEKEND['acute-discharge'] : 1)],
        ...(Object.entries(flow.sources) as Array<[AdmissionSource, number]>).map(([source, w]): [[AdmissionKind, AdmissionSource], number] => [
          ['step-up', source],
          (flow.arrivalsPerDay * flow.stepUpShare * w * (weekend ? WEEKEND[source] : 1) * (SURGING.has(source) ? surge : 1)) / sourceTotal,
        ]),
      ];
      const n = poisson(rng, streams.reduce((sum, [, l]) => sum + l, 0));
      for (let i = 0; i < n; i++) {
        const r = rngFor(seed, `spell:${pathway}:${day}`, i);
        const [admission, source] = pickWeighted(r, streams);
        const at = ukTime(r, day, admitHours(source));
        const outcome = pickWeighted(r, Object.entries(flow.outcomes) as Array<[DischargeOutcome, number]>);
        const los = flow.lengthOfStay;
        // Deterioration comes early in a stay more often than late.
        const days = clamp(los.medianDays * Math.exp(los.spread * normal(r)), los.minDays, los.maxDays) * (outcome === 'admitted-acute' || outcome === 'ed' ? 0.5 : 1);
        let until = at + days * DAY;
        if (outcome === 'care-completed' || outcome === 'self-discharged') {
          // Planned discharges fall in the daytime of the day the stay ends, or the next day if that is too soon.
          const endDay = londonDay(until);
          until = ukTime(r, endDay, DISCHARGE_HOURS);
          if (until < at + 4 * HOUR) until = ukTime(r, endDay + 1, DISCHARGE_HOURS);
        }
        const imdDecile = r() < scenario.imdUnknownShare ? undefined : pickIndex(r, scenario.imdDeciles) + 1;
        const transferAt = r() < flow.transferChance ? 0.2 + 0.4 * r() : undefined;
        const readmission = r() < flow.readmissionShare;
        arrivals.push({ key: `${pathway}:${day}:${String(i).padStart(4, '0')}`, at, pathway, admission, source, ...(imdDecile ? { imdDecile } : {}), outcome, until, ...(transferAt !== undefined ? { transferAt } : {}), readmission, rng: r });
      }
    }
  }
  arrivals.sort((a, b) => a.at - b.at || (a.key < b.key ? -1 : 1));

  // Wards, in time order: a patient goes to a ward of their pathway (in proportion to its beds for it);
  // when that ward is full they go to the one of the pathway with most room, or over capacity if none has room.
  const wards: Ward[] = scenario.wards.map((w) => ({ wardId: w.wardId, name: w.name, organisation: w.organisation, capacity: w.capacity, ics: ics.icsId }));
  const bedsFor = new Map<Pathway, Array<[string, number]>>();
  for (const w of scenario.wards) {
    const total = Object.values(w.pathways).reduce<number>((n, x) => n + (x ?? 0), 0);
    for (const [p, x] of Object.entries(w.pathways) as Array<[Pathway, number]>) if (x > 0) bedsFor.set(p, [...(bedsFor.get(p) ?? []), [w.wardId, (w.capacity * x) / total]]);
  }
  const capacityOf = new Map(scenario.wards.map((w) => [w.wardId, w.capacity]));
  const intervals = new Map<string, Array<[number, number]>>(scenario.wards.map((w) => [w.wardId, []]));
  const occupied = (wardId: string, t: number) => {
    const list = intervals.get(wardId)!;
    // Drop stays that have ended; those that start later (transfers in) stay.
    let n = 0;
    for (let i = list.length - 1; i >= 0; i--) {
      const [from, until] = list[i]!;
      if (until <= t) list.splice(i, 1);
      else if (from <= t) n++;
    }
    return n;
  };
  const fullness = (wardId: string, t: number) => occupied(wardId, t) / capacityOf.get(wardId)!;

  const spells: Spell[] = [];
  const patients: Patient[] = [];
  /** Patients who may come back: per pathway, each with when they left. */
  const former = new Map<Pathway, Array<{ patientId: string; freeFrom: number }>>();
  const prefix = ics.icsId.toLowerCase();
  for (const a of arrivals) {
    const r = a.rng;
    const candidates = bedsFor.get(a.pathway)!;
    let wardId = pickWeighted(r, candidates);
    if (fullness(wardId, a.at) >= 1) {
      const roomiest = candidates.map(([id]) => [id, fullness(id, a.at)] as const).sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1))[0]!;
      if (roomiest[1] < 1) wardId = roomiest[0];
    }
    let patientId: string | undefined;
    const pool = former.get(a.pathway) ?? former.set(a.pathway, []).get(a.pathway)!;
    if (a.readmission) {
      const eligible = pool.filter((p) => p.freeFrom <= a.at - 2 * DAY);
      const chosen = eligible.length ? pick(r, eligible) : undefined;
      if (chosen) {
        patientId = chosen.patientId;
        pool.splice(pool.indexOf(chosen), 1);
      }
    }
    if (!patientId) {
      patientId = `${prefix}-p-${String(patients.length + 1).padStart(6, '0')}`;
      const [minAge, maxAge] = AGES[a.pathway];
      const born = a.at - (minAge + r() * (maxAge - minAge)) * 365.25 * DAY;
      patients.push({
        patientId,
        displayName: `${pick(r, FIRST)} ${pick(r, LAST)}`,
        dateOfBirth: new Date(born).toISOString().slice(0, 10),
        // A share of COPD patients have confirmed hypercapnic respiratory failure (NEWS2 Scale 2).
        spo2Scale: a.pathway === 'copd' && r() < 0.25 ? 2 : 1,
      });
    }
    let transfer: Spell['transfer'];
    if (a.transferAt !== undefined && candidates.length > 1) {
      const to = pickWeighted(r, candidates.filter(([id]) => id !== wardId));
      const at = Math.round(a.at + (a.until - a.at) * a.transferAt);
      if (at > a.at + HOUR && at < a.until - HOUR) transfer = { at, wardId: to };
    }
    intervals.get(wardId)!.push([a.at, transfer?.at ?? a.until]);
    if (transfer) intervals.get(transfer.wardId)!.push([transfer.at, a.until]);
    spells.push({ arrival: a, patientId, wardId, ...(transfer ? { transfer } : {}) });
    if (a.outcome !== 'died') pool.push({ patientId, freeFrom: a.until });
  }

  // Events of the spells still open at the start, or begun since, up to the end.
  const kept = spells.filter((s) => s.arrival.until > startMs);
  const by = (wardId: string) => `${scenario.wards.find((w) => w.wardId === wardId)!.organisation.toLowerCase()}.vw-coordinator`;
  const raw: Array<{ at: number; order: number; event: DraftOf<FlowEvent> }> = [];
  kept.forEach((s, n) => {
    const a = s.arrival;
    raw.push({ at: a.at, order: n * 3, event: { kind: 'admit', patientId: s.patientId, wardId: s.wardId, pathway: a.pathway, admission: a.admission, source: a.source, ...(a.imdDecile ? { imdDecile: a.imdDecile } : {}), by: by(s.wardId) } });
    if (s.transfer && s.transfer.at < endMs) raw.push({ at: s.transfer.at, order: n * 3 + 1, event: { kind: 'transfer', patientId: s.patientId, fromWardId: s.wardId, wardId: s.transfer.wardId, by: by(s.transfer.wardId) } });
    const last = s.transfer?.wardId ?? s.wardId;
    if (a.until < endMs) raw.push({ at: a.until, order: n * 3 + 2, event: { kind: 'discharge', patientId: s.patientId, wardId: last, outcome: a.outcome, by: by(last) } });
  });
  raw.sort((x, y) => x.at - y.at || x.order - y.order);
  const events = raw.map(({ at, event }, i) => ({ eventId: `${prefix}-fe-${String(i + 1).padStart(7, '0')}`, at: new Date(at).toISOString(), ...event }) as FlowEvent);

  const used = new Set(kept.map((s) => s.patientId));
  const feeds = scenario.feeds ?? [
    { service: 'ambulance' as const, providerId: 'RX9', crews: 110, incidentsPerHour: 55 },
    { service: 'nhs111' as const, providerId: '111-NSHIRE', callHandlers: 60, clinicalAdvisors: 25, callsPerHour: 200 },
  ];
  const providers = feeds.some((f) => f.service === 'system') ? feeds : [...feeds, { service: 'system' as const, providerId: ics.icsId, baseLevel: 2 }];
  const ambulance = providers.find((p) => p.service === 'ambulance')?.providerId;
  const nhs111 = providers.find((p) => p.service === 'nhs111')?.providerId;
  const capacityScenario: CapacityScenario = {
    name: `${scenario.name}-capacity`,
    seed,
    intervalSeconds: scenario.feedIntervalSeconds,
    speed: 1,
    providers,
    ...(scenario.surge ? { surge: scenario.surge } : {}),
  };
  const registry: RegistryData = {
    systems: [{ icsId: ics.icsId, name: ics.name, adultPopulation: ics.adultPopulation }],
    capacitySources: providers.map((p) => ({ sourceId: `${p.providerId.toLowerCase()}-feed`, service: p.service, providerId: p.providerId })),
    wards: wards.map((w) => ({ ...w, ...(ambulance ? { ambulanceService: ambulance } : {}), ...(nhs111 ? { nhs111Provider: nhs111 } : {}) })),
    patients: patients.filter((p) => used.has(p.patientId)),
    devices: [],
    enrolments: [],
  };
  return { registry, events, capacity: capacitySeries(capacityScenario, startMs, startMs, endMs - startMs), readings: homeReadings(scenario, kept, endMs) };
}

/** Each kept spell's readings from admission to discharge (or the end), on the ward the patient is on. */
function homeReadings(scenario: IcsFlowScenario, spells: readonly Spell[], endMs: number): Reading[] {
  const { perDay, adherence, deprivationGap } = scenario.readings;
  const out: Reading[] = [];
  for (const s of spells) {
    const a = s.arrival;
    const r = rngFor(scenario.seed, `readings:${a.key}`, 0);
    // Deprivation lowers the chance; so does the patient's own habit (some rarely measure at all).
    const decile = a.imdDecile ?? 5.5;
    const chance = Math.max(0, Math.min(1, adherence - (deprivationGap * (10 - decile)) / 9 + (r() - 0.5) * 0.2));
    const kind = HOME_READING[a.pathway];
    const until = Math.min(a.until, endMs);
    for (let day = londonDay(a.at); londonInstant(day, 0) < until; day++) {
      if (r() >= chance) continue;
      for (let i = 0; i < perDay; i++) {
        const t = ukTime(r, day, WAKING_HOURS);
        if (t < a.at || t >= until) continue;
        const wardId = s.transfer && t >= s.transfer.at ? s.transfer.wardId : s.wardId;
        const ts = new Date(t).toISOString();
        out.push({ readingId: `${s.patientId}-${a.key}-${day}-${i}`, patientId: s.patientId, deviceId: `${s.patientId}-${kind.type}`, wardId, type: kind.type, value: kind.value(r), unit: kind.unit, ts, receivedAt: ts } as Reading);
      }
    }
  }
  return out.sort((x, y) => Date.parse(x.ts) - Date.parse(y.ts) || (x.readingId < y.readingId ? -1 : 1));
}

/** Hours of the day (UK) people measure in, as weights: mornings most. */
const WAKING_HOURS = [0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 2, 2, 1, 1, 0, 0];

/** JSON Lines, one record a line. */
export const jsonl = (records: readonly unknown[]) => records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scenario: { type: 'string', default: 'simulators/scenarios/ics-90-days.yaml' }, 'out-dir': { type: 'string' } } });
  const outDir = values['out-dir'];
  if (!outDir) throw new Error('usage: npx tsx simulators/ics-flow.ts --scenario FILE --out-dir DIR');
  const scenario = await loadIcsFlowScenario(values.scenario);
  const { registry, events, capacity, readings } = generateIcsFlow(scenario);
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'registry.yaml'), `# Generated from ${values.scenario} (seed ${scenario.seed}); fictional patients.\n${stringify(registry)}`);
  await writeFile(join(outDir, 'flow.jsonl'), jsonl(events));
  await writeFile(join(outDir, 'capacity.jsonl'), jsonl(capacity));
  await writeFile(join(outDir, 'readings.jsonl'), jsonl(readings));
  const startMs = londonInstant(Date.parse(`${scenario.start}T00:00:00Z`) / DAY, 0);
  const admits = events.filter((e) => e.kind === 'admit');
  const before = admits.filter((e) => Date.parse(e.at) < startMs).length;
  process.stderr.write(
    `ics-flow ${scenario.name}: ${registry.wards.length} wards, ${admits.length - before} admissions in ${scenario.days} days (+${before} already on the wards at the start), ` +
      `${events.length} events, ${registry.patients.length} patients, ${capacity.length} capacity snapshots, ${readings.length} readings → ${outDir}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`ics-flow: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
