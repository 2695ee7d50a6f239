import type { FlowEvent, Ward } from '../domain/index.ts';
import { spellsFromEvents } from './flow-measures.ts';

/**
 * What-if planning of virtual-ward beds (docs/reports.md, "Planning"). Each pathway is treated as an
 * M/G/∞ queue: patients arrive at random (a Poisson process) at the rate seen in the data, and each
 * stays for a time drawn from the lengths of stay seen, whatever their distribution. A virtual ward
 * turns nobody away while it has a bed, so the number on the ward at any moment is Poisson with mean
 * arrivals × mean stay (the offered load). From that: the beds needed so that occupancy stays at or
 * under a target with a stated probability, and what a rise in step-up referrals from the ambulance
 * service and NHS 111 does to it.
 *
 * Assumptions, stated in the report: arrivals independent of one another and of occupancy; the
 * period's mean rate and mean stay hold; no seasonality within the period; each pathway separate.
 */
const DAY_MS = 86_400_000;

/** ln Γ(x) by the Lanczos approximation (g = 7), accurate to about 15 digits for x > 0. */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(N ≤ k) for N ~ Poisson(mean). */
export function poissonCdf(k: number, mean: number): number {
  if (k < 0) return 0;
  if (mean === 0) return 1;
  let sum = 0;
  for (let i = 0; i <= k; i++) sum += Math.exp(-mean + i * Math.log(mean) - lnGamma(i + 1));
  return Math.min(1, sum);
}

/** The smallest k with P(N ≤ k) ≥ p, for N ~ Poisson(mean). */
export function poissonQuantile(p: number, mean: number): number {
  if (mean === 0) return 0;
  let k = Math.max(0, Math.floor(mean - 10 * Math.sqrt(mean)));
  while (poissonCdf(k, mean) < p) k++;
  return k;
}

export interface PathwayPlan {
  pathway: string;
  /** Admissions a day in the period. */
  arrivalsPerDay: number;
  /** Of which step-up admissions from the ambulance service or NHS 111. */
  stepUpFromAmbulanceAnd111PerDay: number;
  /** Mean length of stay of the spells completed in the period, in days. */
  meanStayDays: number | null;
  /** The spells completed in the period that mean is of. */
  completedSpells: number;
  /** Patients on the ward on average (arrivals × mean stay). */
  offeredLoad: number;
  /** Beds needed so that occupancy is at or under the target with the stated probability. */
  bedsNeeded: number;
  /** The same under the what-if rise in step-up referrals from ambulance and 111. */
  surge: { factor: number; arrivalsPerDay: number; offeredLoad: number; bedsNeeded: number };
}

export interface Plan {
  /** Occupancy kept at or under this share of beds… */
  targetOccupancy: number;
  /** …with at least this probability on any day. */
  probability: number;
  surgeFactor: number;
  pathways: PathwayPlan[];
  total: { offeredLoad: number; bedsNeeded: number; surgeOfferedLoad: number; surgeBedsNeeded: number };
}

/** Beds so that P(N ≤ target × beds) ≥ probability, N ~ Poisson(load). */
export function bedsFor(load: number, targetOccupancy: number, probability: number): number {
  return Math.ceil(poissonQuantile(probability, load) / targetOccupancy);
}

/**
 * A plan from the flow of a period: per pathway, the arrival rate and mean stay seen, and the beds
 * needed now and if step-up referrals from the ambulance service and NHS 111 rose by `surgeFactor`
 * (e.g. 1.6 in the winter-surge scenario). Pathways are planned separately and their beds added up,
 * which is what commissioning them separately costs.
 */
export function planBeds(events: readonly FlowEvent[], options: { from: Date; to: Date; targetOccupancy?: number; probability?: number; surgeFactor?: number }): Plan {
  const targetOccupancy = options.targetOccupancy ?? 0.85;
  const probability = options.probability ?? 0.95;
  const surgeFactor = options.surgeFactor ?? 1.6;
  const from = options.from.getTime();
  const to = options.to.getTime();
  const days = (to - from) / DAY_MS;
  const { spells } = spellsFromEvents(events);
  const pathways = [...new Set(spells.map((s) => s.pathway))].sort();
  const plans = pathways.map((pathway): PathwayPlan => {
    const mine = spells.filter((s) => s.pathway === pathway);
    const admitted = mine.filter((s) => s.admittedAt >= from && s.admittedAt < to);
    const surgeable = admitted.filter((s) => s.admission === 'step-up' && (s.source === 'ambulance' || s.source === 'nhs111')).length;
    const completed = mine.filter((s) => s.dischargedAt !== undefined && s.dischargedAt >= from && s.dischargedAt < to);
    const meanStayDays = completed.length ? completed.reduce((n, s) => n + (s.dischargedAt! - s.admittedAt), 0) / completed.length / DAY_MS : null;
    const arrivalsPerDay = admitted.length / days;
    const offeredLoad = arrivalsPerDay * (meanStayDays ?? 0);
    const surgeArrivals = (admitted.length + (surgeFactor - 1) * surgeable) / days;
    const surgeLoad = surgeArrivals * (meanStayDays ?? 0);
    return {
      pathway,
      arrivalsPerDay: round(arrivalsPerDay, 2),
      stepUpFromAmbulanceAnd111PerDay: round(surgeable / days, 2),
      meanStayDays: meanStayDays === null ? null : round(meanStayDays, 2),
      completedSpells: completed.length,
      offeredLoad: round(offeredLoad, 1),
      bedsNeeded: bedsFor(offeredLoad, targetOccupancy, probability),
      surge: { factor: surgeFactor, arrivalsPerDay: round(surgeArrivals, 2), offeredLoad: round(surgeLoad, 1), bedsNeeded: bedsFor(surgeLoad, targetOccupancy, probability) },
    };
  });
  return {
    targetOccupancy,
    probability,
    surgeFactor,
    pathways: plans,
    total: {
      offeredLoad: round(plans.reduce((n, p) => n + p.offeredLoad, 0), 1),
      bedsNeeded: plans.reduce((n, p) => n + p.bedsNeeded, 0),
      surgeOfferedLoad: round(plans.reduce((n, p) => n + p.surge.offeredLoad, 0), 1),
      surgeBedsNeeded: plans.reduce((n, p) => n + p.surge.bedsNeeded, 0),
    },
  };
}

/** The commissioned beds of a pathway, where they can be told apart. */
export interface PathwayBeds {
  pathway: string;
  /** The wards the pathway's patients were on in the period. */
  wards: string[];
  /** Their beds, when each of them took only this pathway in the period; otherwise null. */
  beds: number | null;
  /** Those of `wards` that also took other pathways (their beds are shared, so none are the pathway's own). */
  sharedWards: string[];
}

/**
 * The commissioned beds of each pathway: the registry does not say which pathways a ward takes, so it
 * is read from the stays on the wards overlapping [from, to). A pathway all of whose wards took only it
 * has their beds; one on a ward that also took another pathway has none of its own to compare with.
 */
export function commissionedBeds(events: readonly FlowEvent[], wards: readonly Ward[], options: { from: Date; to: Date }): PathwayBeds[] {
  const from = options.from.getTime();
  const to = options.to.getTime();
  const capacity = new Map(wards.map((w) => [w.wardId, w.capacity]));
  const taken = new Map<string, Set<string>>();
  for (const s of spellsFromEvents(events).stays) {
    if (!capacity.has(s.wardId) || s.from >= to || (s.until !== undefined && s.until <= from)) continue;
    (taken.get(s.wardId) ?? taken.set(s.wardId, new Set()).get(s.wardId)!).add(s.pathway);
  }
  const pathways = [...new Set([...taken.values()].flatMap((p) => [...p]))].sort();
  return pathways.map((pathway) => {
    const mine = [...taken].filter(([, p]) => p.has(pathway)).map(([wardId]) => wardId).sort();
    const sharedWards = mine.filter((w) => taken.get(w)!.size > 1);
    return { pathway, wards: mine, beds: sharedWards.length ? null : mine.reduce((n, w) => n + capacity.get(w)!, 0), sharedWards };
  });
}

function round(v: number, dp: number): number {
  return Math.round(v * 10 ** dp) / 10 ** dp;
}
