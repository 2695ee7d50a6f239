import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { startHttpServer } from '../../../src/http/http-server.ts';
import { sendJson } from '../../../src/http/api.ts';
import { createLogger } from '../../../src/observability/logger.ts';

let server: Awaited<ReturnType<typeof startHttpServer>>;

beforeAll(async () => {
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    logger: createLogger({ level: 'silent' }),
    metrics: new Registry(),
    health: [{ name: 'bus', ok: () => true }],
    routes: [
      { method: 'GET', path: '/api/v1/thing', handle: async (_req, res) => sendJson(res, 200, { ok: true }) },
      { method: 'GET', path: '/api/v1/page', handle: async (_req, res) => void res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" }).end('<p>x</p>') },
    ],
  });
});
afterAll(async () => server.close());

describe('security headers', () => {
  it('are on every answer: metrics, health, APIs, 404s and 405s', async () => {
    for (const [path, method, status] of [['/metrics', 'GET', 200], ['/healthz', 'GET', 200], ['/api/v1/thing', 'GET', 200], ['/nowhere', 'GET', 404], ['/healthz', 'POST', 405], ['/api/v1/thing', 'POST', 405]] as const) {
      const response = await fetch(`${server.url}${path}`, { method });
      expect(response.status, path).toBe(status);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('x-frame-options'), path).toBe('DENY');
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(response.headers.get('content-security-policy'), path).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(response.headers.get('cache-control'), path).toBe('no-store');
    }
  });

  it('keep /metrics behind its token when one is set', async () => {
    const guarded = await startHttpServer({ host: '127.0.0.1', port: 0, logger: createLogger({ level: 'silent' }), metrics: new Registry(), metricsToken: 'metrics-token-0123456789', health: [] });
    try {
      expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
      const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456789' } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
      // Health stays open: orchestrators probe it without credentials.
      expect((await fetch(`${guarded.url}/healthz`)).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it('leave a route its own content security policy', async () => {
    const response = await fetch(`${server.url}/api/v1/page`);
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
