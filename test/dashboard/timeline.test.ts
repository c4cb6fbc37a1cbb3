// The events timeline in Chromium: a `docker stop` of a labelled container (real dockerd via the
// harness, the real agent and router) shows as endpoint.draining, then endpoint.removed, live, on the
// timeline view and on the service's page; the kind filter keeps only what it names; the hosts view lists
// the agent's host as alive.
import { describe, expect, it } from 'vitest';
import { runWeb } from '../harness/index.js';
import { startAgent, testDocker, useRouterSuite } from '../router/support.js';
import { launchBrowser, openDashboard, screenshot } from './support.js';

const suite = useRouterSuite();

describe('dashboard: events timeline', () => {
  it('shows a docker stop as draining, then removal', async () => {
    await startAgent(suite.perTest, suite.etcd);
    const browser = await launchBrowser(suite.perTest);
    const web = await runWeb(testDocker().docker, { labels: { 'fabric.service': 'tl' }, body: 'tl' });
    suite.perTest.defer(() => web.remove());

    const { page, errors } = await openDashboard(browser, `${suite.router.url}/#/timeline`);
    const events = page.locator('#timeline-events');
    await events.locator('tr.event[data-kind="endpoint.registered"][data-service="tl"]').waitFor({ timeout: 20_000 });

    // The hosts view: the agent's host, alive, with the container it registered.
    const { page: hostsPage } = await openDashboard(browser, `${suite.router.url}/#/hosts`);
    const hostRow = hostsPage.locator('#hosts tr[data-host]', { hasText: 'alive' });
    await hostRow.waitFor({ timeout: 15_000 });
    await screenshot(hostsPage, 'hosts');
    await hostsPage.close();

    // The service's page, in a second tab, shows its own timeline.
    const { page: servicePage } = await openDashboard(browser, `${suite.router.url}/#/services/tl`);
    await servicePage.locator('#service-timeline tr.event[data-kind="endpoint.registered"]').waitFor({ timeout: 15_000 });

    await web.stop(5);
    await events.locator('tr.event[data-kind="endpoint.draining"][data-service="tl"]').waitFor({ timeout: 20_000 });
    await events.locator('tr.event[data-kind="endpoint.removed"][data-service="tl"]').waitFor({ timeout: 20_000 });
    // Newest first: removal above draining above registration.
    const kinds = await events.locator('tr.event[data-service="tl"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')));
    const order = ['endpoint.removed', 'endpoint.draining', 'endpoint.registered'].map((k) => kinds.indexOf(k));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    // Every time has its date (local date + time, ISO in the tooltip).
    expect(await events.locator('tr.event time').first().textContent()).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(await events.locator('tr.event time').first().getAttribute('title')).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    await screenshot(page, 'timeline-docker-stop');

    await servicePage.locator('#service-timeline tr.event[data-kind="endpoint.removed"]').waitFor({ timeout: 15_000 });
    await screenshot(servicePage, 'service-timeline');

    // The kind filter: only endpoint.* rows left.
    await page.selectOption('#timeline-kind', 'endpoint');
    await page.locator('#timeline-events tr.event[data-kind="endpoint.removed"]').waitFor({ timeout: 10_000 });
    const filtered = await page.locator('#timeline-events tr.event').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')));
    expect(filtered.every((k) => k?.startsWith('endpoint.'))).toBe(true);
    expect(errors).toEqual([]);
  });
});
