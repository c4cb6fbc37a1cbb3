// Traffic through a real nginx: the router tails nginx's traffic log (one line per proxied
// request) and counts requests, status classes and response times per service and endpoint;
// sessions and queue are what nginx cannot give (0).
import { describe, expect, it } from 'vitest';
import { startNginxRouter } from './nginx-support.js';
import { endpoint, putEndpoint, putRaw, useRouterSuite, waitFor } from './support.js';
import { loadThrough, startFailingBackend } from './traffic-support.js';

const suite = useRouterSuite({ router: false });

describe('traffic (nginx)', () => {
  it('counts 100 requests of which 20 are 5xx per service and endpoint, with response times', async () => {
    const router = await startNginxRouter(suite.file, suite.etcd, { lbOnExit: 'stop' });
    const port = await startFailingBackend(suite.file, 'web-1');
    await putRaw(suite.client, 'services/web', JSON.stringify({ kind: 'Service', name: 'web', domains: ['web.example.com'] }));
    const rev = await putEndpoint(suite.client, endpoint({ service: 'web', port, name: 'web-1' }));
    await router.waitApplied(rev);
    await waitFor(async () => (await router.request('web.example.com')).status === 200, { what: 'web served through nginx', timeoutMs: 15_000 });
    const before = ((await router.get('/v1/services/web/traffic')).json as any).total?.requests ?? 0;
    const counts = await loadThrough(
      (pathname, opts) => router.request('web.example.com', pathname, opts),
      100,
      (i) => i % 5 === 0,
    );
    expect(counts.get('500 web-1')).toBe(20);
    const t = await waitFor(
      async () => {
        const body = (await router.get('/v1/services/web/traffic')).json as any;
        return (body.total?.requests ?? 0) >= before + 100 ? body : undefined;
      },
      { timeoutMs: 15_000, what: 'web: 100 requests counted from the nginx log' },
    );
    expect(t.total.requests - before).toBeLessThanOrEqual(103); // the probe that proved it served may land after `before`
    expect(t.total['5xx']).toBe(20);
    expect(t.endpoints).toHaveLength(1);
    expect(t.endpoints[0]['5xx']).toBe(20);
    expect(t.responseTimeMs).toBeGreaterThanOrEqual(0);
    expect(t.sessions).toBe(0);
    expect(t.requestsPerSecond).toBeGreaterThan(0);
    const status = await router.status();
    expect(status.traffic.sources).toContain('nginx');
  });
});
