// Certificate expiry on the dashboard, in Debian's headless Chromium (playwright-core): a router with
// HTTPS, certificates imported while the page is open show up live with their days left.
import fs from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { endpoint, putEndpoint, startRouter, useRouterSuite } from './support.js';
import { fabricCli, startEchoServers, TlsFixture } from './tls-support.js';

const CHROMIUM = '/usr/bin/chromium';
const suite = useRouterSuite({ router: false });
let browser: Browser | undefined;
afterAll(async () => browser?.close());

describe('dashboard: certificates', () => {
  it('shows each certificate with its expiry, live; one close to expiry stands out', async () => {
    expect(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true);
    const fixture = await TlsFixture.create(suite.file);
    const router = await startRouter(suite.file, suite.etcd, { https: true, config: fixture.config() });
    const [backend] = await startEchoServers(suite.file, ['d0']);
    await fabricCli(suite.etcd.endpoint, ['apply', '-f', '-'], 'kind: Service\nname: dash\ntls: {cert: dash-cert}\n');
    await putEndpoint(suite.client, endpoint({ service: 'dash', port: backend!.port }));

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const page = await browser.newPage();
    await page.goto(`${router.url}/`);
    await page.locator('#conn', { hasText: 'live' }).waitFor({ timeout: 15_000 });

    await fixture.importNew(suite.etcd.endpoint, 'dash-cert', ['dash.apps.test']);
    const soon = await fixture.pki.leaf(['soon.example.com'], { end: new Date(Date.now() + 5 * 86_400_000 + 3_600_000) });
    await fixture.import(suite.etcd.endpoint, 'soon-cert', soon);
    const dash = page.locator('[data-cert="dash-cert"]');
    await dash.locator('text=haproxy-0').waitFor({ timeout: 15_000 });
    expect(await dash.textContent()).toMatch(/29 d left/);
    const expiring = page.locator('[data-cert="soon-cert"]');
    await expiring.waitFor({ timeout: 15_000 });
    expect(await expiring.textContent()).toMatch(/5 d left/);
    expect(await expiring.locator('.pill.bad').count()).toBe(1);
  });
});
