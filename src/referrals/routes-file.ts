import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { AlertSeverity, RequestPriority, type Alert } from '../domain/index.ts';
import { parseYaml } from '../config/yaml-file.ts';

/**
 * Referral routes as versioned rule data (rules/referral-routes.yaml): each route's wording, urgency,
 * FHIR priority and the live capacity that bears on it, and which routes each alert offers.
 */
export const CAPACITY_MEASURES = ['c1.mean', 'c1.p90', 'c2.mean', 'c2.p90', 'handover.mean', 'nhs111.answered60', 'nhs111.abandoned', 'nhs111.callback20'] as const;

export const ReferralRoute = z
  .object({
    id: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and hyphens'),
    title: z.string().min(1),
    /** The kind of service receiving it. */
    service: z.enum(['ambulance', 'nhs111', 'community', 'gp', 'virtual-ward', 'acute']),
    /** Capacity measures shown beside the route, so the clinician weighs the wait. */
    capacity: z.array(z.enum(CAPACITY_MEASURES)).default([]),
    priority: RequestPriority,
    urgency: z.string().min(1),
    wording: z.string().min(1),
  })
  .strict();
export type ReferralRoute = z.infer<typeof ReferralRoute>;

const Offer = z
  .object({
    rules: z.union([z.literal('all'), z.array(z.string().min(1)).min(1)]),
    severity: z.array(AlertSeverity).min(1),
    routes: z.array(z.string()).min(1),
  })
  .strict();

export const ReferralRoutesFile = z
  .object({
    catalogue: z.literal('referral-routes'),
    version: z.string().regex(/^\d+\.\d+\.\d+$/, 'a semantic version, e.g. 1.0.0'),
    title: z.string().min(1),
    routes: z.array(ReferralRoute).min(1),
    offers: z.array(Offer),
    patientRoutes: z.array(z.string()).default([]),
  })
  .strict();
export type ReferralRoutesFile = z.infer<typeof ReferralRoutesFile>;

export const ROUTES_FILE = 'referral-routes.yaml';

export function parseReferralRoutes(file: string, text: string): ReferralRoutesFile {
  const json = parseYaml(file, text);
  const parsed = ReferralRoutesFile.safeParse(json);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${file}: ${i.path.join('.') || '(file)'}: ${i.message}`).join('\n'));
  const data = parsed.data;
  const ids = new Set<string>();
  for (const route of data.routes) {
    if (ids.has(route.id)) throw new Error(`${file}: route ${route.id} is listed twice`);
    ids.add(route.id);
  }
  const check = (where: string, id: string) => {
    if (!ids.has(id)) throw new Error(`${file}: ${where} names unknown route ${id}`);
  };
  data.offers.forEach((o, i) => o.routes.forEach((r) => check(`offers.${i}.routes`, r)));
  data.patientRoutes.forEach((r) => check('patientRoutes', r));
  return data;
}

export async function loadReferralRoutes(path: string): Promise<ReferralRoutesFile> {
  return parseReferralRoutes(path, await readFile(path, 'utf8'));
}

export interface RouteCatalogue {
  version: string;
  route(id: string): ReferralRoute | undefined;
  /** The routes an alert offers, in the file's order: the first offer matching its rule and severity. */
  offeredFor(alert: Pick<Alert, 'ruleId' | 'severity'>): ReferralRoute[];
  /** Routes for a referral made from the patient, not an alert. */
  patientRoutes(): ReferralRoute[];
  all(): ReferralRoute[];
}

export function createRouteCatalogue(file: ReferralRoutesFile): RouteCatalogue {
  const byId = new Map(file.routes.map((r) => [r.id, r]));
  const resolve = (ids: string[]) => ids.map((id) => byId.get(id)!);
  return {
    version: file.version,
    route: (id) => byId.get(id),
    offeredFor(alert) {
      const offer = file.offers.find((o) => (o.rules === 'all' || o.rules.includes(alert.ruleId)) && o.severity.includes(alert.severity));
      return offer ? resolve(offer.routes) : [];
    },
    patientRoutes: () => resolve(file.patientRoutes),
    all: () => [...file.routes],
  };
}
