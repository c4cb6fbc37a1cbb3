// 1,000 services on a live dashboard: the list is virtualized (only the visible rows are in the DOM),
// search finds a service by name and by domain while endpoints churn, the page keeps answering, and a
// narrow (400 px) window has no sideways scroll. Figures are logged, never asserted on time.
import { describe, expect, it } from 'vitest';
import { type EndpointJson, endpoint, putEndpoint, startWebServers, useRouterSuite } from '../router/support.js';
import { launchBrowser, openDashboard, screenshot } from './support.js';

const SERVICES = 1_000;
const CHURN_CHANGES = 40;
const suite = useRouterSuite();

const name = (i: number) => `svc-${String(i).padStart(4, '0')}`;

describe('dashboard: 1,000 services', () => {
  it('renders a virtualized list, finds a service by name and by domain during churn, and fits a narrow window', async () => {
    const [web] = await startWebServers(suite.perTest, ['w0']);
    const endpoints: EndpointJson[] = [];
    for (let i = 0; i < SERVICES; i++) {
      endpoints.push(endpoint({ service: name(i), port: web!.port, domains: i === 777 ? ['shop.example.test'] : [] }));
    }
    for (let i = 0; i < endpoints.length; i += 100) await Promise.all(endpoints.slice(i, i + 100).map((e) => putEndpoint(suite.client, e)));

    const browser = await launchBrowser(suite.perTest);
    const loadStarted = Date.now();
    const { page, errors } = await openDashboard(browser, `${suite.router.url}/`);
    await page.locator('#service-count', { hasText: `${SERVICES} services` }).waitFor({ timeout: 60_000 });
    const loadMs = Date.now() - loadStarted;
    const rendered = await page.locator('.svc-row').count();
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(100); // virtualized: not 1,000 rows
    await screenshot(page, 'scale-list');

    // Scrolled to the end, the last service is drawn (and the first is gone from the DOM).
    await page.locator('#service-list').evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await page.locator(`[data-service="${name(SERVICES - 1)}"]`).waitFor({ timeout: 10_000 });
    expect(await page.locator(`[data-service="${name(0)}"]`).count()).toBe(0);

    // Endpoints churn (bounded) while the user searches: the stream keeps sending snapshots.
    const churn = (async () => {
      for (let i = 0; i < CHURN_CHANGES; i++) {
        const e = endpoints[(i * 37) % SERVICES]!;
        await putEndpoint(suite.client, { ...e, weight: 50 + (i % 50) });
      }
    })();
    const frames: number[] = [];
    const probe = async () => {
      const t0 = Date.now();
      await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => resolve(null)))');
      frames.push(Date.now() - t0);
    };
    await probe();
    await page.fill('#search', 'svc-0777');
    await page.locator('[data-service="svc-0777"]').waitFor({ timeout: 10_000 });
    await probe();
    expect(await page.locator('.svc-row').count()).toBe(1);
    await page.fill('#search', 'shop.example');
    await page.locator('.svc-row[data-service="svc-0777"]', { hasText: 'shop.example.test' }).waitFor({ timeout: 10_000 });
    await probe();
    expect(await page.locator('#service-count').textContent()).toBe(`1 of ${SERVICES} services`);
    await churn;
    await probe();

    // Its page: the endpoint fetched on demand (the snapshot carries counts only).
    await page.click('[data-service="svc-0777"] a.svc-name');
    await page.locator('#service-endpoints tr[data-endpoint]').waitFor({ timeout: 10_000 });
    expect(await page.locator('#service-endpoints').textContent()).toContain(`127.0.0.1:${web!.port}`);
    await probe();

    // A narrow window: nothing wider than the viewport.
    const narrow = await browser.newPage({ viewport: { width: 400, height: 800 } });
    await narrow.goto(`${suite.router.url}/`);
    await narrow.locator('#service-count', { hasText: `${SERVICES} services` }).waitFor({ timeout: 60_000 });
    expect(await narrow.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(400);
    await screenshot(narrow, 'scale-narrow');
    expect(errors).toEqual([]);
    console.log(`1,000 services: list in ${loadMs} ms after navigation, ${rendered} rows in the DOM, frame round trips ${frames.join(', ')} ms`);
  });
});
