import { z } from 'zod';
import { loadYamlAs, parseYamlAs } from '../src/config/yaml-file.ts';
import type { AmbulanceCapacity, CapacitySnapshot, Nhs111Capacity, SystemPressure } from '../src/domain/index.ts';
import { noise, rngFor } from './rng.ts';

/**
 * Simulated pressure on an ambulance service, an NHS 111 provider and the ICS as a whole (OPEL), sent
 * to vw's capacity edge as a real feed would be.
 * Demand follows the day (quiet before dawn, busiest from late morning into the evening; 111 busiest
 * in the evening and at weekends) and rises in a winter surge; supply follows the rota. Measures come
 * from how loaded the service is, the way queues behave: little change until the load nears capacity,
 * then waits climb steeply. A pure function of scenario, seed and time: the same seed, the same feed.
 */
const Ambulance = z
  .object({
    service: z.literal('ambulance'),
    providerId: z.string().min(1),
    /** Crews on the road at the daytime peak of the rota. */
    crews: z.number().int().positive(),
    /** Incidents an hour on an ordinary weekday at the daily mean. */
    incidentsPerHour: z.number().positive(),
  })
  .strict();
const Nhs111 = z
  .object({
    service: z.literal('nhs111'),
    providerId: z.string().min(1),
    /** Call handlers at the evening peak of the rota; each answers about six calls an hour. */
    callHandlers: z.number().int().positive(),
    clinicalAdvisors: z.number().int().positive(),
    callsPerHour: z.number().positive(),
  })
  .strict();

const System = z
  .object({
    service: z.literal('system'),
    /** The ICS (its ICB code). */
    providerId: z.string().min(1),
    /** OPEL on an ordinary weekday; it rises with the surge and on Mondays, when the week's backlog lands. */
    baseLevel: z.number().int().min(1).max(4).default(2),
  })
  .strict();

export const CapacityScenario = z
  .object({
    name: z.string().min(1),
    seed: z.number().int(),
    /** Simulated seconds between snapshots of each provider. */
    intervalSeconds: z.number().positive().default(300),
    /** Simulated seconds per real second when published live. */
    speed: z.number().positive().default(1),
    providers: z.array(z.discriminatedUnion('service', [Ambulance, Nhs111, System])).min(1),
    /** A winter surge: demand rises by `factor` over `rampDays` from `startDay`, and stays. */
    surge: z.object({ startDay: z.number().nonnegative(), rampDays: z.number().positive(), factor: z.number().min(1) }).strict().optional(),
  })
  .strict();
export type CapacityScenario = z.infer<typeof CapacityScenario>;
type Provider = CapacityScenario['providers'][number];

export function parseCapacityScenario(source: string, text: string): CapacityScenario {
  return parseYamlAs(CapacityScenario, source, text);
}

export async function loadCapacityScenario(path: string): Promise<CapacityScenario> {
  return loadYamlAs(CapacityScenario, path);
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round1 = (v: number) => Math.round(v * 10) / 10;

/** Demand through the day relative to the daily mean (1.0), by hour: quiet at 4am, busy 11am-8pm. */
function ambulanceDemandCurve(hour: number): number {
  return 1 + 0.35 * Math.sin(((hour - 9.5) / 24) * 2 * Math.PI) - 0.1 * Math.cos(((hour - 15) / 12) * 2 * Math.PI);
}
/** 111 calls peak in the evening, when GP surgeries are closed. */
function nhs111DemandCurve(hour: number, weekend: boolean): number {
  const base = 1 + 0.45 * Math.sin(((hour - 13) / 24) * 2 * Math.PI);
  return weekend ? base * 1.35 : base;
}
/** Share of the peak rota on shift: fewer crews and handlers overnight. */
function rota(hour: number): number {
  return hour >= 7 && hour < 23 ? 1 : 0.7;
}

function surgeAt(scenario: CapacityScenario, dayOffset: number): number {
  const s = scenario.surge;
  if (!s || dayOffset < s.startDay) return 1;
  return 1 + (s.factor - 1) * clamp((dayOffset - s.startDay) / s.rampDays, 0, 1);
}

/** How queues answer load: flat while there is slack, steep as load nears capacity. */
function queueFactor(load: number): number {
  return 1 / (1 - clamp(load, 0, 0.96)) - 1;
}

/** The snapshot of one provider at simulated time `t`, `simStartMs` being day 0 of the scenario. */
export function capacityAt(scenario: CapacityScenario, provider: Provider, t: number, simStartMs: number): CapacitySnapshot {
  const tick = Math.floor(t / 1000);
  const rng = rngFor(scenario.seed, provider.providerId, tick);
  const date = new Date(t);
  const hour = date.getUTCHours() + date.getUTCMinutes() / 60;
  const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6;
  const surge = surgeAt(scenario, (t - simStartMs) / DAY);
  const ts = date.toISOString();
  if (provider.service === 'system') {
    // OPEL is set once a day, at the morning system call, from how the day is shaping.
    const dayStart = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), 8);
    const daySurge = surgeAt(scenario, (Math.min(t, dayStart) - simStartMs) / DAY);
    const monday = date.getUTCDay() === 1 ? 1 : 0;
    const snapshot: SystemPressure = {
      service: 'system',
      providerId: provider.providerId,
      ts,
      opelLevel: clamp(Math.round(provider.baseLevel + monday * 0.6 + (daySurge - 1) * 4), 1, 4),
    };
    return snapshot;
  }
  if (provider.service === 'ambulance') {
    const demand = provider.incidentsPerHour * ambulanceDemandCurve(hour) * surge * (1 + noise(rng, 0.05));
    const crews = Math.round(provider.crews * rota(hour));
    // A job (travel, scene, conveyance, handover) takes a crew about an hour and a quarter.
    const load = (demand * 1.25) / crews;
    const q = queueFactor(load);
    const response = (target: number, spread: number, cap: number) => {
      const meanMinutes = round1(clamp(target * (0.8 + 0.12 * q) + noise(rng, target * 0.04), target * 0.6, cap));
      return { meanMinutes, p90Minutes: round1(clamp(meanMinutes * spread, meanMinutes, cap * 2.2)) };
    };
    const handoverMean = round1(clamp(14 + 2.5 * q + noise(rng, 1.5), 8, 240));
    const handovers = Math.max(0, Math.round(demand * 0.55));
    const over30 = Math.min(handovers, Math.round(handovers * clamp((handoverMean - 15) / 45, 0, 0.95)));
    const snapshot: AmbulanceCapacity = {
      service: 'ambulance',
      providerId: provider.providerId,
      ts,
      reapLevel: load < 0.7 ? 1 : load < 0.85 ? 2 : load < 0.95 ? 3 : 4,
      responses: { c1: response(7, 1.9, 30), c2: response(18, 2.1, 180), c3: response(60, 2.4, 600), c4: response(90, 2.5, 900) },
      crewsAvailable: Math.max(0, Math.round(crews * (1 - load))),
      incidentsWaiting: Math.max(0, Math.round(demand * 0.1 * q + noise(rng, 1))),
      handover: { meanMinutes: handoverMean, handovers, over30, over60: Math.min(over30, Math.round(over30 * clamp((handoverMean - 30) / 60, 0, 0.9))) },
    };
    return snapshot;
  }
  const offered = Math.max(0, Math.round(provider.callsPerHour * nhs111DemandCurve(hour, weekend) * surge * (1 + noise(rng, 0.05))));
  // 111 rotas staff up at weekends, when surgeries are shut, by about as much as demand rises.
  const handlers = Math.round(provider.callHandlers * rota(hour) * (weekend ? 1.3 : 1));
  const load = offered / (handlers * 6);
  const q = queueFactor(load);
  const snapshot: Nhs111Capacity = {
    service: 'nhs111',
    providerId: provider.providerId,
    ts,
    callsWaiting: Math.max(0, Math.round(handlers * 0.1 * q + noise(rng, 2))),
    callsOffered: offered,
    answeredWithin60sPct: round1(clamp(99 - 2.5 * q + noise(rng, 0.8), 5, 100)),
    abandonedPct: round1(clamp(1 + 0.5 * q + noise(rng, 0.3), 0, 60)),
    clinicalAdvisorsOnShift: Math.max(1, Math.round(provider.clinicalAdvisors * rota(hour))),
    callBackWithin20MinPct: round1(clamp(80 - 2 * q + noise(rng, 2), 5, 100)),
  };
  return snapshot;
}

/** Every provider's snapshots from `fromMs` for `durationMs` of simulated time, in time order. */
export function capacitySeries(scenario: CapacityScenario, simStartMs: number, fromMs: number, durationMs: number): CapacitySnapshot[] {
  const step = scenario.intervalSeconds * 1000;
  const out: CapacitySnapshot[] = [];
  for (let t = fromMs; t < fromMs + durationMs; t += step) for (const p of scenario.providers) out.push(capacityAt(scenario, p, t, simStartMs));
  return out;
}

/**
 * Sends each provider's snapshot every interval (simulated) through `send`, e.g. to vw's capacity edge
 * with `httpCapacitySender`; with `speed` above 1 simulated time runs ahead from `simStartMs`.
 */
export function startCapacityFeed(deps: { send: (snapshot: CapacitySnapshot) => Promise<void>; scenario: CapacityScenario; simStartMs?: number; onError?: (error: unknown) => void }) {
  const { scenario } = deps;
  const realStart = Date.now();
  const simStartMs = deps.simStartMs ?? realStart;
  const fail = (error: unknown) => deps.onError?.(error);
  const publishNow = () => {
    const t = simStartMs + (Date.now() - realStart) * scenario.speed;
    // One provider's failure does not hold the others back.
    for (const p of scenario.providers) void deps.send(capacityAt(scenario, p, t, simStartMs)).catch(fail);
  };
  publishNow();
  const timer = setInterval(publishNow, Math.max(100, (scenario.intervalSeconds * 1000) / scenario.speed));
  return {
    async stop(): Promise<void> {
      clearInterval(timer);
    },
  };
}

/**
 * Posts a snapshot to vw's capacity API with the token of the source that reports for its provider,
 * as a provider's own system would.
 */
export function httpCapacitySender(options: { baseUrl: string; tokenFor: (snapshot: CapacitySnapshot) => string | undefined }) {
  return async (snapshot: CapacitySnapshot): Promise<void> => {
    const token = options.tokenFor(snapshot);
    if (!token) throw new Error(`no capacity source reports ${snapshot.service} for ${snapshot.providerId}`);
    const response = await fetch(`${options.baseUrl}/api/v1/capacity`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(snapshot),
    });
    if (response.status !== 202) throw new Error(`capacity API answered ${response.status}: ${await response.text()}`);
  };
}
