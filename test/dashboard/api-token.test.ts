// The dashboard of a router behind --api-token-file: the token given once (as ?token= in the address,
// or at the prompt a 401 brings), kept in the tab, sent on every fetch and on the event stream.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { endpoint, putEndpoint, type RunningRouter, startRouter, startWebServers, useRouterSuite } from '../router/support.js';
import { launchBrowser, openDashboard, screenshot } from './support.js';

const suite = useRouterSuite({ router: false });
const token = randomBytes(24).toString('base64url');
let router: RunningRouter;

beforeAll(async () => {
  const tokenFile = path.join(suite.file.tempDir('fabric-dashboard-token-'), 'api-token');
  fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  router = await startRouter(suite.file, suite.etcd, { extraArgs: ['--api-token-file', tokenFile], apiToken: token });
  const [web] = await startWebServers(suite.file, ['t0']);
  await router.waitApplied(await putEndpoint(suite.client, endpoint({ service: 'tokened', port: web!.port })));
}, 60_000);

describe('dashboard with an API token', () => {
  it('takes ?token= once, drops it from the address and goes live', async () => {
    const browser = await launchBrowser(suite.perTest);
    const { page, errors } = await openDashboard(browser, `${router.url}/?token=${token}`);
    await page.locator('#conn', { hasText: 'live' }).waitFor({ timeout: 15_000 });
    await page.locator('.svc-row[data-service="tokened"]').waitFor({ timeout: 15_000 });
    expect(page.url()).not.toContain(token);
    expect(await page.evaluate("sessionStorage.getItem('fabric-api-token')")).toBe(token);
    // A reload keeps working without the token in the address.
    await page.reload();
    await page.locator('.svc-row[data-service="tokened"]').waitFor({ timeout: 15_000 });
    await screenshot(page, 'api-token');
    expect(errors).toEqual([]);
  });

  it('without a token: asks for it after the 401, then goes live', async () => {
    const browser = await launchBrowser(suite.perTest);
    const page = await browser.newPage();
    const prompts: string[] = [];
    page.on('dialog', async (dialog) => {
      prompts.push(dialog.message());
      await dialog.accept(prompts.length === 1 ? 'wrong-token' : token);
    });
    await page.goto(`${router.url}/`);
    await page.locator('.svc-row[data-service="tokened"]').waitFor({ timeout: 15_000 });
    // The wrong answer is asked again.
    expect(prompts).toHaveLength(2);
    expect(prompts[0]).toMatch(/--api-token-file/);
  });
});
