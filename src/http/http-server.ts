import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFile, readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Logger } from '../observability/logger.ts';
import { API_HEADERS, bearerToken, type ApiRoute } from './api.ts';
import { timingSafeEqual } from 'node:crypto';

const sameSecret = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/**
 * What a page's folder serves: the files a browser loads, in subfolders too (the console's generated/).
 * Tooling kept beside them (tsconfig.json, .d.ts declarations, JSON Schema) is not the page's, so not served.
 */
const PAGE_FILES = new Set(Object.keys(CONTENT_TYPES).filter((ext) => ext !== '.json'));

async function addPageFiles(files: Map<string, { body: Buffer; type: string }>, dir: string, urlPrefix: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await addPageFiles(files, path, `${urlPrefix}${entry.name}/`);
    else if (entry.isFile() && PAGE_FILES.has(extname(entry.name))) files.set(`${urlPrefix}${entry.name}`, { body: await readFile(path), type: CONTENT_TYPES[extname(entry.name)]! });
  }
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * On every answer, whatever its route: an answer that sets its own (a page's CSP, a report's) keeps it.
 * The default policy allows nothing, right for JSON, metrics and errors, which are never pages.
 */
const BASELINE_HEADERS = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

export interface HealthCheck {
  name: string;
  ok: () => boolean;
}

/**
 * The process's HTTP face: the console's static files at /, GET /healthz, GET /metrics, and the
 * console WebSocket upgrade at /feed. Only files present in the console folder at start are served.
 */
export async function startHttpServer(options: {
  host: string;
  port: number;
  logger: Logger;
  metrics: MetricsRegistry;
  /** When set, /metrics answers only a request bearing it. */
  metricsToken?: string;
  health: HealthCheck[];
  consoleDir?: string;
  /** The planner view's static files, served at /planner/<name> (its index.html at /planner/). */
  plannerDir?: string;
  /** Extra static files, by URL path (e.g. the chart library from node_modules). */
  extraFiles?: Record<string, string>;
  /** API endpoints of the roles in this process. */
  routes?: ApiRoute[];
  onFeedUpgrade?: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** PEM certificate (chain) and key: serve HTTPS (and WSS on /feed) instead of plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}): Promise<{ server: Server | HttpsServer; url: string; port: number; close(): Promise<void> }> {
  const log = options.logger.child({ component: 'http' });
  const files = new Map<string, { body: Buffer; type: string }>();
  if (options.consoleDir) {
    await addPageFiles(files, options.consoleDir, '/');
    const index = files.get('/index.html');
    if (index) files.set('/', index);
  }
  if (options.plannerDir) {
    await addPageFiles(files, options.plannerDir, '/planner/');
    const index = files.get('/planner/index.html');
    if (index) files.set('/planner/', index);
  }
  for (const [path, file] of Object.entries(options.extraFiles ?? {})) {
    const type = CONTENT_TYPES[extname(file)];
    if (type) files.set(path, { body: await readFile(file), type });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const matching = (options.routes ?? []).flatMap((route) => {
      const params = typeof route.path === 'string' ? (route.path === path ? [] : undefined) : route.path.exec(path)?.slice(1);
      return params ? [{ route, params }] : [];
    });
    if (matching.length) {
      const found = matching.find(({ route }) => route.method === req.method);
      if (!found) {
        const allow = matching.map(({ route }) => route.method).join(', ');
        res.writeHead(405, { ...API_HEADERS, allow }).end(`${JSON.stringify({ error: 'method_not_allowed', message: `use ${allow}` })}\n`);
        return;
      }
      await found.route.handle(req, res, found.params);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const checks = Object.fromEntries(options.health.map((h) => [h.name, h.ok() ? 'ok' : 'failing']));
      const ok = Object.values(checks).every((v) => v === 'ok');
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'degraded', checks }));
      return;
    }
    if (path === '/metrics') {
      if (options.metricsToken && !sameSecret(bearerToken(req) ?? '', options.metricsToken)) {
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="vw-metrics"' }).end('unauthorized\n');
        return;
      }
      res.writeHead(200, { 'content-type': options.metrics.contentType }).end(await options.metrics.metrics());
      return;
    }
    if (path === '/planner' && files.has('/planner/')) {
      res.writeHead(308, { location: '/planner/' }).end();
      return;
    }
    const file = files.get(path);
    if (file) {
      res.writeHead(200, { 'content-type': file.type, ...SECURITY_HEADERS }).end(req.method === 'HEAD' ? undefined : file.body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }

  const listener: RequestListener = (req, res) => {
    for (const [name, value] of Object.entries(BASELINE_HEADERS)) res.setHeader(name, value);
    route(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'request failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
  const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createServer(listener);
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/feed' && options.onFeedUpgrade) options.onFeedUpgrade(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${options.tls ? 'https' : 'http'}://${options.host}:${port}`;
  return {
    server,
    url,
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
