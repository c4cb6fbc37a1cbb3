// The dashboard in Debian's headless Chromium (playwright-core), against a real router, HAProxy and etcd.
// Screenshots go to test-artifacts/dashboard/ (git-ignored), one per test, as the run's artifacts.
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { ROOT } from '../harness/index.js';
import type { Resources } from '../router/support.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'dashboard');

/** A headless Chromium, closed when `res` is released. */
export async function launchBrowser(res: Resources): Promise<Browser> {
  expect(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  res.defer(() => browser.close());
  return browser;
}

/** A page on the dashboard at `url`, with the stream live; errors the page throws fail the test at `checkErrors`. */
export async function openDashboard(browser: Browser, url: string, viewport = { width: 1280, height: 900 }): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.goto(url);
  // A deadline, not a wait: on a loaded CI machine (2 cores, the suite's other files running) Chromium's first
  // page and its stream once took more than 15 s; it is live in ~1 s otherwise.
  await page.locator('#conn', { hasText: 'live' }).waitFor({ timeout: 45_000 });
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
