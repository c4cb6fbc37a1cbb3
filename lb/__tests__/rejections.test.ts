import { describe, expect, it } from 'vitest';
import { buildModel } from '../model.js';
import { decodeEntry } from '../store.js';

const id = (n: number) => n.toString(16).padStart(12, '0').repeat(2);
const host = (name: string, extra: Record<string, unknown> = {}) =>
  decodeEntry(`hosts/${name}`, JSON.stringify({ name, address: '10.0.0.1', agentVersion: '0.1.0', started: '2026-01-01T00:00:00.000Z', ...extra }), 1);

describe('containers an agent rejected, in the model', () => {
  it('are one FABRIC_ERR_LABEL issue each, naming host, container and reason', () => {
    const model = buildModel(
      [
        host('node-b', { rejected: [{ container: id(2), name: 'api-1', reason: 'label fabric.weight: "900" is not a weight (0-256)' }] }),
        host('node-a', { rejected: [{ container: id(1), name: 'web-1', reason: 'label fabric.port is required: the container publishes 0 ports' }] }),
        host('node-c'),
      ],
      5,
      { domain: 'apps.test' },
    );
    expect(model.issues).toEqual([
      {
        code: 'FABRIC_ERR_LABEL',
        subject: 'hosts/node-a',
        message: `container web-1 (${id(1).slice(0, 12)}) not registered: label fabric.port is required: the container publishes 0 ports`,
        container: { host: 'node-a', id: id(1), name: 'web-1', reason: 'label fabric.port is required: the container publishes 0 ports' },
      },
      {
        code: 'FABRIC_ERR_LABEL',
        subject: 'hosts/node-b',
        message: `container api-1 (${id(2).slice(0, 12)}) not registered: label fabric.weight: "900" is not a weight (0-256)`,
        container: { host: 'node-b', id: id(2), name: 'api-1', reason: 'label fabric.weight: "900" is not a weight (0-256)' },
      },
    ]);
  });

  it('say how many more there are when the record was cut', () => {
    const model = buildModel([host('node-a', { rejected: [{ container: id(1), name: 'w', reason: 'r' }], rejectedTotal: 7 })], 5, { domain: undefined });
    expect(model.issues.map((i) => i.message)).toEqual([
      `container w (${id(1).slice(0, 12)}) not registered: r`,
      "6 more containers not registered (see the agent's /v1/endpoints)",
    ]);
  });

  it("--compat: what an agent ignored of other tools' labels is one FABRIC_ERR_COMPAT_IGNORED issue per container", () => {
    const ignored = [
      'traefik: traefik.http.routers.w.middlewares is not mapped',
      'traefik: router x: Method() is not supported by fabric (only Host and PathPrefix)',
    ];
    const model = buildModel([host('node-a', { ignored: [{ container: id(3), name: 'w-1', ignored }], ignoredTotal: 2 })], 5, { domain: undefined });
    expect(model.issues).toEqual([
      {
        code: 'FABRIC_ERR_COMPAT_IGNORED',
        subject: 'hosts/node-a',
        message: `container w-1 (${id(3).slice(0, 12)}): ignored: ${ignored.join('; ')}`,
        container: { host: 'node-a', id: id(3), name: 'w-1', reason: ignored.join('; ') },
        ignored,
      },
      { code: 'FABRIC_ERR_COMPAT_IGNORED', subject: 'hosts/node-a', message: "1 more containers with ignored labels (see the agent's /v1/endpoints)" },
    ]);
  });
});
