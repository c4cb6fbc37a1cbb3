// Problems first and loud: etcd stopped under a live dashboard shows a red banner and the badge leaves
// "live"; etcd back, both clear. A service with no ready endpoint is marked in the list and warned about.
import { describe, expect, it } from 'vitest';
import { endpoint, putEndpoint, startWebServers, useRouterSuite } from '../router/support.js';
import { launchBrowser, openDashboard, screenshot } from './support.js';

const suite = useRouterSuite();

describe('dashboard: problems', () => {
  it('etcd stopped → a critical banner and a red badge; etcd back → both clear', async () => {
    const [web] = await startWebServers(suite.perTest, ['w0']);
    await putEndpoint(suite.client, endpoint({ service: 'web', port: web!.port, domains: ['web.example.test'] }));
    await putEndpoint(suite.client, endpoint({ service: 'broken', port: 2, health: 'unhealthy' }));
    const browser = await launchBrowser(suite.perTest);
    const { page, errors } = await openDashboard(browser, `${suite.router.url}/`);
    await page.locator('.svc-row:not(.no-ready)[data-service="web"]', { hasText: '1/1 ready' }).waitFor({ timeout: 15_000 });

    // A service with no ready endpoint: marked in the list, listed as a warning, and sorted first.
    const broken = page.locator('.svc-row.no-ready[data-service="broken"]');
    await broken.waitFor({ timeout: 15_000 });
    expect(await broken.textContent()).toContain('0/1 ready');
    await page.locator('#problems .problem.warning', { hasText: 'broken' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('.svc-row').first().getAttribute('data-service')).toBe('broken');

    await suite.etcd.stop({ keepData: true });
    const started = Date.now();
    const alarm = page.locator('#problems.critical .problem.critical', { hasText: /etcd/i });
    await alarm.waitFor({ timeout: 30_000 });
    const shownMs = Date.now() - started;
    await page.locator('#conn.bad').waitFor({ timeout: 15_000 });
    expect(await page.locator('#conn').textContent()).not.toBe('live');
    expect(await page.locator('#problems').isVisible()).toBe(true);
    await screenshot(page, 'etcd-down');

    await suite.etcd.start();
    await page.locator('#problems .problem.critical', { hasText: /etcd/i }).waitFor({ state: 'detached', timeout: 30_000 });
    await page.locator('#conn.ok', { hasText: 'live' }).waitFor({ timeout: 15_000 });
    await screenshot(page, 'etcd-back');
    expect(errors).toEqual([]);
    console.log(`etcd alarm shown ${shownMs} ms after etcd stopped`);
  });
});
