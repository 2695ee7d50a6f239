import { z } from 'zod';
import { AmbulanceCapacity, Nhs111Capacity, SystemPressure, type CapacitySnapshot, type Ward } from '../domain/index.ts';
import { IsoTimestamp } from '../domain/index.ts';
import type { Registry } from '../registry/registry.ts';
import { CapacityStandard, CAPACITY_STANDARDS } from './standards.ts';

const TREND_MS = 24 * 3600_000;
/** One snapshot kept per bucket of the trend: 96 a day, whatever the sender's rate. */
const TREND_BUCKET_MS = 15 * 60_000;

const ServiceView = <T extends z.ZodType>(snapshot: T) =>
  z.object({
    providerId: z.string(),
    /** The newest snapshot, or null when none has arrived. */
    latest: snapshot.nullable(),
    /** The last 24 hours, oldest first, one per quarter hour. */
    trend: z.array(snapshot),
  });

/** What a ward's console shows of the services it escalates to. */
export const WardCapacity = z.object({
  ics: z.object({ icsId: z.string(), name: z.string() }).nullable(),
  beds: z.object({ commissioned: z.number().int(), occupied: z.number().int() }),
  /** Snapshots older than this are shown as stale. */
  staleAfterSeconds: z.number().positive(),
  /** When the server built this view: the console ages snapshots against its own clock from here. */
  at: IsoTimestamp,
  ambulance: ServiceView(AmbulanceCapacity).nullable(),
  nhs111: ServiceView(Nhs111Capacity).nullable(),
  system: ServiceView(SystemPressure).nullable(),
  standards: z.array(CapacityStandard),
});
export type WardCapacity = z.infer<typeof WardCapacity>;

/**
 * The feed's picture of live capacity: the newest snapshot and a 24-hour trend per service and
 * provider, from the capacity topic; and for each ward, the providers it escalates to.
 */
export function createCapacityBoard(deps: { registry: Registry; staleAfterSeconds: number; now?: () => number }) {
  const now = deps.now ?? Date.now;
  const held = new Map<string, { latest: CapacitySnapshot; trend: CapacitySnapshot[] }>();
  const keyOf = (service: string, providerId: string) => `${service}:${providerId}`;

  function serviceView<S extends CapacitySnapshot>(service: S['service'], providerId: string | undefined) {
    if (!providerId) return null;
    const entry = held.get(keyOf(service, providerId));
    const cutoff = now() - TREND_MS;
    return {
      providerId,
      latest: (entry?.latest as S | undefined) ?? null,
      trend: ((entry?.trend ?? []) as S[]).filter((s) => Date.parse(s.ts) >= cutoff),
    };
  }

  return {
    /** Keeps a snapshot; returns the wards whose consoles should hear of it (none for an older copy). */
    apply(snapshot: CapacitySnapshot): Ward[] {
      const key = keyOf(snapshot.service, snapshot.providerId);
      const at = Date.parse(snapshot.ts);
      let entry = held.get(key);
      if (!entry) held.set(key, (entry = { latest: snapshot, trend: [] }));
      else if (at >= Date.parse(entry.latest.ts)) entry.latest = snapshot;
      // The trend keeps the newest snapshot of each quarter hour, in time order, for a day.
      const bucket = Math.floor(at / TREND_BUCKET_MS);
      const trend = entry.trend;
      const i = trend.findIndex((s) => Math.floor(Date.parse(s.ts) / TREND_BUCKET_MS) >= bucket);
      if (i === -1) trend.push(snapshot);
      else if (Math.floor(Date.parse(trend[i]!.ts) / TREND_BUCKET_MS) === bucket) {
        if (at >= Date.parse(trend[i]!.ts)) trend[i] = snapshot;
      } else trend.splice(i, 0, snapshot);
      const cutoff = now() - TREND_MS;
      while (trend.length && Date.parse(trend[0]!.ts) < cutoff) trend.shift();
      if (entry.latest !== snapshot && at < Date.parse(entry.latest.ts)) return [];
      return deps.registry.wards().filter((w) => providerOf(w, snapshot.service) === snapshot.providerId);
    },

    forWard(wardId: string): WardCapacity {
      const ward = deps.registry.ward(wardId);
      const system = ward?.ics ? deps.registry.system(ward.ics) : undefined;
      return {
        ics: system ? { icsId: system.icsId, name: system.name } : null,
        beds: { commissioned: ward?.capacity ?? 0, occupied: deps.registry.patientsOfWard(wardId, new Date(now())).length },
        staleAfterSeconds: deps.staleAfterSeconds,
        at: new Date(now()).toISOString(),
        ambulance: serviceView<AmbulanceCapacity>('ambulance', ward?.ambulanceService),
        nhs111: serviceView<Nhs111Capacity>('nhs111', ward?.nhs111Provider),
        system: serviceView<SystemPressure>('system', ward?.ics),
        standards: CAPACITY_STANDARDS,
      };
    },
  };
}
export type CapacityBoard = ReturnType<typeof createCapacityBoard>;

function providerOf(ward: Ward, service: CapacitySnapshot['service']): string | undefined {
  return service === 'ambulance' ? ward.ambulanceService : service === 'nhs111' ? ward.nhs111Provider : ward.ics;
}
