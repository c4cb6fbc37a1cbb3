// The dashboard in a real browser: Debian's headless Chromium driven by playwright-core. A container
// started after the page loaded shows up without a reload (server-sent events); a screenshot is
// kept in test-artifacts/ as the run's artifact.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { runWeb, testDocker, type WebContainer } from '../harness/index.js';
import { startUp, type UpProcess } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-artifacts');

describe('dashboard', () => {
  let up: UpProcess | undefined;
  let browser: Browser | undefined;
  let web: WebContainer | undefined;
  let bad: WebContainer | undefined;
  afterEach(async () => {
    await browser?.close();
    await web?.remove();
    await bad?.remove();
    await up?.release();
    up = browser = web = bad = undefined;
  });

  it('shows a container started after the page loaded, and a rejected one as an issue, live, without a reload', async () => {
    expect(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true);
    up = await startUp();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    let loads = 0;
    page.on('load', () => (loads += 1));
    await page.goto(`${up.api}/`);
    await page.locator('#conn', { hasText: 'live' }).waitFor({ timeout: 15_000 });
    await page.locator('#applies', { hasText: 'haproxy' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('.svc-row[data-service="dash"]').count()).toBe(0);

    web = await runWeb(testDocker().docker, { labels: { 'fabric.service': 'dash', 'fabric.version': 'v7' }, body: 'dash' });
    const started = Date.now();
    // The list row (the snapshot carries a summary), then the service's page for its endpoints (a hash route: no reload).
    const listed = page.locator('.svc-row[data-service="dash"]', { hasText: '1/1 ready' });
    await listed.waitFor({ timeout: 15_000 });
    const latencyMs = Date.now() - started;
    expect(await listed.textContent()).toContain('dash.apps.localhost');
    await listed.locator('a.svc-name').click();
    const row = page.locator('#service-endpoints tr[data-endpoint]');
    await row.waitFor({ timeout: 15_000 });
    const text = await row.textContent();
    expect(text).toContain('up-test'); // host
    expect(text).toContain('127.0.0.1:'); // published address
    expect(text).toContain('v7'); // version
    expect(await page.locator('#service-summary').textContent()).toContain('dash.apps.localhost');
    await page.locator('nav a[data-view="home"]').click();

    // Errors show up live too: a container whose labels the agent rejects.
    bad = await runWeb(testDocker().docker, { labels: { 'fabric.service': 'Not_A_Name' } });
    await page.locator('#issues tr.issue', { hasText: bad.name }).waitFor({ timeout: 15_000 });
    expect(loads).toBe(1); // the page was never reloaded

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    console.log(`dashboard showed the new endpoint ${latencyMs} ms after the container started`);
  });
});
