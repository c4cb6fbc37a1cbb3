import { describe, expect, it } from 'vitest';
import { ep } from '../../__tests__/fixtures.js';
import type { ServiceModel } from '../../model/types.js';
import type { TargetStatus } from '../../target.js';
import { deriveProblems, PROBLEM_CAP } from '../derive.js';

function service(name: string, endpoints: ServiceModel['endpoints']): ServiceModel {
  return { name, mode: 'http', balance: 'roundrobin', domains: [], paths: [], endpoints, spec: undefined };
}

const ok: TargetStatus = { name: 'haproxy', kind: 'haproxy', state: 'applied', counters: { applies: 1, reloads: 1, runtimeUpdates: 0, failures: 0 } };
const failing: TargetStatus = {
  ...ok,
  name: 'nginx',
  kind: 'nginx',
  state: 'failed',
  lastError: { at: 'x', revision: 9, code: 'FABRIC_ERR_VALIDATE', message: 'nginx -t: bad' },
};

describe('problems', () => {
  it('none when etcd is live, targets apply and every service has a ready endpoint', () => {
    expect(deriveProblems({ etcd: { watch: 'watching' }, targets: [ok], services: [service('web', [ep('web', 'a')])], issues: [] })).toEqual([]);
  });

  it('most severe first: etcd, failing target, then services without a ready endpoint, then refused claims', () => {
    const problems = deriveProblems({
      etcd: { watch: 'disconnected', error: 'connect ECONNREFUSED' },
      targets: [ok, failing],
      services: [
        service('web', [ep('web', 'a')]),
        service('empty', []),
        service('drained', [ep('drained', 'b', { state: 'draining' }), ep('drained', 'c', { health: 'unhealthy' })]),
      ],
      issues: [{ code: 'FABRIC_ERR_CONFLICT', subject: 'services/api', message: 'domain x.test already claimed by web' }],
    });
    expect(problems.map((p) => [p.severity, p.code, p.subject])).toEqual([
      ['critical', 'FABRIC_ERR_ETCD_UNAVAILABLE', 'etcd'],
      ['critical', 'FABRIC_ERR_VALIDATE', 'targets/nginx'],
      ['warning', 'FABRIC_ERR_NO_READY_ENDPOINT', 'services/empty'],
      ['warning', 'FABRIC_ERR_NO_READY_ENDPOINT', 'services/drained'],
      ['warning', 'FABRIC_ERR_CONFLICT', 'services/api'],
    ]);
    expect(problems[0]!.message).toContain('ECONNREFUSED');
    expect(problems[3]!.message).toContain('none of its 2 endpoints');
  });

  it('a retry still listing after a failure is still etcd down; the first list is not', () => {
    expect(deriveProblems({ etcd: { watch: 'listing', error: 'timeout' }, targets: [] })).toHaveLength(1);
    expect(deriveProblems({ etcd: { watch: 'listing' }, targets: [] })).toEqual([]);
  });

  it('caps services without a ready endpoint and counts the rest', () => {
    const services = Array.from({ length: PROBLEM_CAP + 7 }, (_, i) => service(`s${i}`, []));
    const problems = deriveProblems({ etcd: { watch: 'watching' }, targets: [], services });
    expect(problems).toHaveLength(PROBLEM_CAP + 1);
    expect(problems.at(-1)).toMatchObject({
      severity: 'warning',
      code: 'FABRIC_ERR_NO_READY_ENDPOINT',
      more: 7,
      message: '7 more services without a ready endpoint',
    });
  });
});
