// Traffic on the dashboard (needs the router's traffic sampling, lb/traffic/): while a bounded load loop
// runs through the real HAProxy, the service's request chart moves and its list row gets a sparkline; a
// 90/10 canary route shows as ~90/10 on the service page, with the errors on the erroring version only.
import http from 'node:http';
import type net from 'node:net';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { endpoint, putEndpoint, putRaw, type Resources, useRouterSuite, waitFor } from '../router/support.js';
import { launchBrowser, openDashboard, screenshot } from './support.js';

const HOST = 'canary.example.test';
const MAX_REQUESTS = 4_000;
const MAX_LOAD_MS = 90_000;
// Paced, so the load lasts as long as the test reads the window (5–10 s): unpaced, 4,000 requests were
// spent in seconds on a quiet machine and the window was empty by the time the share was read.
const WORKER_GAP_MS = 100;
const suite = useRouterSuite();

/** A backend on 127.0.0.1 answering every request with `status`. */
async function backend(res: Resources, status: number): Promise<number> {
  const server = http.createServer((_req, reply) => {
    reply.writeHead(status, { 'content-type': 'text/plain' });
    reply.end(String(status));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  res.defer(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}

/** Requests to `host` through HAProxy, 4 workers each ≤ 10/s, until `stop()` or the count/time bound. */
function loadLoop(port: number, host: string): { stop: () => Promise<number> } {
  let stopped = false;
  let sent = 0;
  const deadline = Date.now() + MAX_LOAD_MS;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.setTimeout(5_000, () => req.destroy());
      req.on('error', () => resolve());
    });
  const workers = Array.from({ length: 4 }, async () => {
    while (!stopped && sent < MAX_REQUESTS && Date.now() < deadline) {
      sent += 1;
      const started = Date.now();
      await one();
      const gap = WORKER_GAP_MS - (Date.now() - started);
      if (gap > 0 && !stopped) await new Promise((resolve) => setTimeout(resolve, gap));
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
      return sent;
    },
  };
}

const dataNumber = async (page: Page, selector: string, attr: string) => Number((await page.locator(selector).getAttribute(attr)) ?? 'NaN');
const percentIn = async (page: Page, selector: string) => Number.parseFloat((await page.locator(selector).first().textContent()) ?? 'NaN');

describe('dashboard: traffic', () => {
  it('the request chart moves under load; a 90/10 canary shows 90/10 with its errors on one version', async () => {
    const good = await backend(suite.perTest, 200);
    const bad = await backend(suite.perTest, 500);
    await putRaw(suite.client, 'services/canary', JSON.stringify({ kind: 'Service', name: 'canary' }));
    await putEndpoint(suite.client, endpoint({ service: 'canary', port: good, version: 'v1', name: 'canary-v1' }));
    await putEndpoint(suite.client, endpoint({ service: 'canary', port: bad, version: 'v2', name: 'canary-v2' }));
    await putRaw(
      suite.client,
      'routes/canary-split',
      JSON.stringify({
        kind: 'Route',
        name: 'canary-split',
        host: HOST,
        backends: [
          { service: 'canary', version: 'v1', weight: 90 },
          { service: 'canary', version: 'v2', weight: 10 },
        ],
      }),
    );
    await waitFor(async () => (await suite.router.request(HOST)).status !== 404, { timeoutMs: 15_000, what: `${HOST} routed` });

    const browser = await launchBrowser(suite.perTest);
    const { page, errors } = await openDashboard(browser, `${suite.router.url}/#/services/canary`);
    const load = loadLoop(suite.router.httpPort, HOST);
    try {
      // The chart moves: its series gets a non-zero request rate.
      await waitFor(async () => (await dataNumber(page, '#chart-requests', 'data-max-rps')) > 0, {
        timeoutMs: 45_000,
        what: 'the request chart shows requests',
      });
      const firstAt = await page.locator('#chart-requests').getAttribute('data-last-at');
      await waitFor(async () => (await page.locator('#chart-requests').getAttribute('data-last-at')) !== firstAt, {
        timeoutMs: 30_000,
        what: 'a newer point on the request chart',
      });
      // 90/10 by version, and the 5xx on v2 only.
      const v1 = '#service-version-shares tr[data-share-version="v1"]';
      const v2 = '#service-version-shares tr[data-share-version="v2"]';
      await waitFor(
        async () => {
          const share = await percentIn(page, `${v1} [data-share]`);
          return share >= 80 && share <= 97;
        },
        { timeoutMs: 30_000, what: 'v1 at ~90 % on the service page' },
      );
      await waitFor(async () => (await percentIn(page, `${v2} [data-error-rate]`)) > 50, { timeoutMs: 30_000, what: 'v2 erroring' });
      expect(await percentIn(page, `${v1} [data-error-rate]`)).toBe(0);
      // Each endpoint's share, by its name (one endpoint per version here).
      await page.locator('#service-endpoint-shares tr[data-share-endpoint]', { hasText: 'canary-v1' }).waitFor({ timeout: 15_000 });
      await screenshot(page, 'traffic-service');

      // The list row: a request-rate sparkline and a rate.
      await page.goto(`${suite.router.url}/#/`);
      await page.locator('[data-service="canary"] svg.spark.rps path').waitFor({ timeout: 30_000 });
      await screenshot(page, 'traffic-list');
    } finally {
      console.log(`load loop sent ${await load.stop()} requests`);
    }
    expect(errors).toEqual([]);
  });
});
