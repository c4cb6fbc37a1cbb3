// Every router answers ACME HTTP-01 challenges from etcd, ACME configured or not: HAProxy from its
// acme.map (replaced through the Runtime API, no reload), nginx from a `map` in its config (a paced reload).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startNginxRouter } from '../router/nginx-support.js';
import { type HttpResult, PREFIX, putRaw, startRouter, useRouterSuite, waitFor } from '../router/support.js';

const suite = useRouterSuite({ router: false });

function challenge(): { token: string; keyAuthorization: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, keyAuthorization: `${token}.${randomBytes(32).toString('base64url')}` };
}

const wellKnown = (token: string) => `/.well-known/acme-challenge/${token}`;

/** The 200 answers to `token` on a served host and on an unknown one, once both give one. */
async function challengeAnswers(router: { request(host: string, path: string): Promise<HttpResult> }, token: string): Promise<HttpResult[]> {
  const answers: HttpResult[] = [];
  for (const host of ['web.apps.test', 'unknown.example.org']) {
    answers.push(
      await waitFor(async () => {
        const r = await router.request(host, wellKnown(token));
        return r.status === 200 && r;
      }),
    );
  }
  return answers;
}

describe('ACME challenges answered by every router', () => {
  it('HAProxy answers a challenge put in etcd, on any host, before host routing, and stops when it is deleted: no reload', async () => {
    const router = await startRouter(suite.perTest, suite.etcd);
    const before = await router.reloads();
    const { token, keyAuthorization } = challenge();
    await putRaw(suite.client, `acme/challenges/${token}`, keyAuthorization);
    for (const answer of await challengeAnswers(router, token)) {
      expect(answer.body).toBe(keyAuthorization);
      expect(answer.headers['content-type']).toBe('text/plain');
    }
    // An unknown token is not answered by the challenge rule: host routing goes on (404 for an unknown host).
    expect((await router.request('unknown.example.org', wellKnown(challenge().token))).status).toBe(404);
    await suite.client.delete().key(`${PREFIX}/acme/challenges/${token}`).exec();
    await waitFor(async () => (await router.request('unknown.example.org', wellKnown(token))).status === 404);
    expect(await router.reloads()).toEqual(before);
    expect(router.config()).toContain('acme.map');
  });

  it('a value that fails the grammar is reported and never reaches the map', async () => {
    const router = await startRouter(suite.perTest, suite.etcd);
    const { token } = challenge();
    const revision = await putRaw(suite.client, `acme/challenges/${token}`, 'evil value\nwith spaces');
    await router.waitApplied(revision);
    const issues = (await router.status()).issues as Array<{ code: string; subject: string }>;
    expect(issues).toContainEqual(expect.objectContaining({ code: 'FABRIC_ERR_DECODE', subject: `acme/challenges/${token}` }));
    expect((await router.request('x.apps.test', wellKnown(token))).status).toBe(404);
    await suite.client.delete().key(`${PREFIX}/acme/challenges/${token}`).exec();
  });

  it('nginx answers a challenge from etcd on the default server and on a host of its own', async () => {
    const router = await startNginxRouter(suite.perTest, suite.etcd);
    await putRaw(suite.client, 'services/web', JSON.stringify({ name: 'web' }));
    const { token, keyAuthorization } = challenge();
    await putRaw(suite.client, `acme/challenges/${token}`, keyAuthorization);
    for (const answer of await challengeAnswers(router, token)) expect(answer.body).toBe(keyAuthorization);
    expect((await router.request('unknown.example.org', '/')).status).toBe(404);
    await suite.client.delete().key(`${PREFIX}/acme/challenges/${token}`).exec();
    await waitFor(async () => (await router.request('unknown.example.org', wellKnown(token))).status === 404);
    await suite.client.delete().key(`${PREFIX}/services/web`).exec();
  });
});
