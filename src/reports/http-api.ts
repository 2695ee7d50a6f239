import type { TokenAuthority } from '../feed/auth.ts';
import { bearerToken, sendJson, type ApiRoute } from '../http/api.ts';
import type { Logger } from '../observability/logger.ts';
import type { Registry } from '../registry/registry.ts';
import type { TimeSeriesStore } from '../store/store.ts';
import { capacityReport, REPORT_FORMATS, type ReportFormat } from './capacity-report.ts';
import { londonInstant } from './flow-measures.ts';
import { reportDataFromStore } from './store-data.ts';

export const REPORT_PATH = '/api/v1/reports/capacity';
/** The ICSs a planner's token covers, for the planner view to choose from. */
export const SYSTEMS_PATH = '/api/v1/reports/systems';
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
 *
 * GET /api/v1/reports/systems: `{ systems: [{ icsId, name }] }`, the ICSs every ward of which the
 * planner's token grants (the ones it can have reports of); 403 for a token without the role.
 */
export function reportsApi(deps: { store: TimeSeriesStore; registry: Registry; tokens: TokenAuthority; logger: Logger }): ApiRoute {
  return {
    method: 'GET',
    path: /^\/api\/v1\/reports\/(capacity|systems)$/,
    async handle(req, res, [what]) {
      const token = bearerToken(req);
      const user = token ? await deps.tokens.verify(token) : undefined;
      if (!user) {
        sendJson(res, 401, { error: 'unauthorized', message: 'send a planner’s token as Authorization: Bearer <token>' }, { 'www-authenticate': 'Bearer realm="vw-reports"' });
        return;
      }
      if (what === 'systems') {
        if (!user.roles.has(PLANNER_ROLE)) {
          sendJson(res, 403, { error: 'forbidden', message: `reports need a token naming the role ${PLANNER_ROLE}` });
          return;
        }
        const wards = deps.registry.wards();
        const ids = [...new Set(wards.flatMap((w) => (w.ics ? [w.ics] : [])))].filter((ics) => wards.every((w) => w.ics !== ics || user.wards.has(w.wardId))).sort();
        sendJson(res, 200, { systems: ids.map((icsId) => ({ icsId, name: deps.registry.system(icsId)?.name ?? icsId })) });
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
      const system = deps.registry.system(ics);
      const data = await reportDataFromStore(deps.store, { wards, ...(system ? { system } : {}), icsId: ics }, from, to);
      const { output } = capacityReport(
        data,
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
