import type { TokenAuthority } from '../feed/auth.ts';
import { bearerToken, sendJson, type ApiRoute } from '../http/api.ts';
import type { Logger } from '../observability/logger.ts';
import type { Registry } from '../registry/registry.ts';
import type { TimeSeriesStore } from '../store/store.ts';
import { capacityReport, REPORT_FORMATS, type ReportFormat } from './capacity-report.ts';
import { londonInstant } from './flow-measures.ts';

export const REPORT_PATH = '/api/v1/reports/capacity';
/** The role a console token must name to read reports; its wards must include every ward of the ICS. */
export const PLANNER_ROLE = 'planner';
const DAY_MS = 86_400_000;
const MAX_DAYS = 400;

const CONTENT_TYPE: Record<ReportFormat, string> = {
  html: 'text/html; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

/**
 * GET /api/v1/reports/capacity?ics=QXX&from=YYYY-MM-DD&to=YYYY-MM-DD&format=html|csv|json: the capacity
 * report of an ICS from the running store, for a planner (a token naming the role "planner" and
 * granting every ward of the ICS). The same report as `vw report capacity`; aggregates only.
 */
export function reportsApi(deps: { store: TimeSeriesStore; registry: Registry; tokens: TokenAuthority; logger: Logger }): ApiRoute {
  return {
    method: 'GET',
    path: REPORT_PATH,
    async handle(req, res) {
      const token = bearerToken(req);
      const user = token ? await deps.tokens.verify(token) : undefined;
      if (!user) {
        sendJson(res, 401, { error: 'unauthorized', message: 'send a planner’s token as Authorization: Bearer <token>' }, { 'www-authenticate': 'Bearer realm="vw-reports"' });
        return;
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      const param = (name: string) => url.searchParams.get(name) ?? undefined;
      const bad = (field: string, message: string) => sendJson(res, 400, { error: 'bad_request', field, message: `${field}: ${message}` });
      const ics = param('ics');
      if (!ics) return bad('ics', 'name the ICS, e.g. ics=QXX');
      const format = (param('format') ?? 'json') as ReportFormat;
      if (!REPORT_FORMATS.includes(format)) return bad('format', 'html, csv or json');
      const day = (name: 'from' | 'to') => {
        const text = param(name);
        const t = text ? Date.parse(`${text}T00:00:00Z`) : NaN;
        return Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== text ? undefined : { text: text!, day: t / DAY_MS };
      };
      const first = day('from');
      const last = day('to');
      if (!first) return bad('from', 'a UK calendar date, YYYY-MM-DD');
      if (!last) return bad('to', 'a UK calendar date, YYYY-MM-DD (inclusive)');
      if (last.day < first.day || last.day - first.day >= MAX_DAYS) return bad('to', `on or after from, and at most ${MAX_DAYS} days after it`);
      const wards = deps.registry.wards().filter((w) => w.ics === ics);
      // Whether the ICS exists is told only to someone allowed to see it.
      if (!user.roles.has(PLANNER_ROLE) || !wards.length || wards.some((w) => !user.wards.has(w.wardId))) {
        sendJson(res, 403, { error: 'forbidden', message: `reports of ${ics} need a planner’s token granting its wards` });
        return;
      }
      const from = new Date(londonInstant(first.day, 0));
      const to = new Date(londonInstant(last.day + 1, 0));
      const wardIds = wards.map((w) => w.wardId);
      const range = { since: from, until: new Date(to.getTime() - 1) };
      // Spells open at the start began before it: flow is read from the beginning.
      const [events, alerts, referrals, snapshots] = await Promise.all([
        deps.store.flowEvents(wardIds, { since: new Date(0), until: range.until }),
        deps.store.alerts(wardIds, range),
        Promise.all(wardIds.map((w) => deps.store.referrals(w, range))).then((lists) => lists.flat()),
        deps.store.capacity([...new Set(wards.flatMap((w) => [w.ambulanceService, w.nhs111Provider].filter((p): p is string => Boolean(p))).concat(ics))], range),
      ]);
      const system = deps.registry.system(ics);
      const { output } = capacityReport(
        { wards, systems: system ? [system] : [], events, alerts, referrals, snapshots },
        { ics, from, to, fromDate: first.text, toDate: last.text, format, censusHour: 8, targetOccupancy: 0.85, probability: 0.95, surgeFactor: 1.6 },
      );
      deps.logger.info({ ics, format, days: last.day - first.day + 1, user: user.user }, 'capacity report served');
      res.writeHead(200, {
        'content-type': CONTENT_TYPE[format],
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        ...(format === 'html' ? { 'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:" } : {}),
        ...(format === 'csv' ? { 'content-disposition': `attachment; filename="vw-capacity-${ics}-${first.text}-${last.text}.csv"` } : {}),
      }).end(output);
    },
  };
}
