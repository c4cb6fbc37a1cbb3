// Inputs the fuzz surfaces (test/fuzz/*.test.ts) once found wrong, each kept as a plain case.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabels } from '../../agent/labels.js';
import { routerConfigSchema } from '../../lb/config.js';
import { desiredHaproxy } from '../../lb/haproxy/desired.js';
import { haproxyView } from '../../lb/haproxy/view.js';
import { buildModel } from '../../lb/model.js';
import { loadResources } from '../../src/ctl/documents.js';
import { FabricError } from '../../src/errors.js';
import { endpointSchema } from '../../src/model/endpoint.js';
import { decodeEndpoint } from '../../src/model/endpoint-decode.js';
import { decodeEntry } from '../../src/model/entry.js';
import { thrown } from './hostile.js';
import { createRenderer, type Renderer } from './render-files.js';

const base = {
  service: 'web',
  host: 'h1',
  container: 'abcdef012345',
  name: 'c-1',
  address: '10.0.0.1',
  port: 80,
  weight: 1,
  mode: 'http',
  domains: [],
  health: 'none',
  state: 'up',
};
const KEY = 'endpoints/web/h1/abcdef012345';

// One renderer (temp dir, real haproxy -c / nginx -t) for every render regression below.
let work: string;
let renderer: Renderer;
beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-fuzz-regressions-'));
  renderer = await createRenderer(work);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('fuzz regressions', () => {
  it('an IPv6 address with a %zone is refused: node accepts it, HAProxy reads % as log-format and the renderer refused the whole config', () => {
    const text = JSON.stringify({ ...base, address: 'fe80::1%eth0' });
    expect(() => decodeEndpoint(KEY, text)).toThrow(FabricError);
    expect(() => decodeEndpoint(KEY, text)).toThrow(/address: is not an IP address/);
    expect(endpointSchema.safeParse({ ...base, address: '::1%1' }).success).toBe(false);
    expect(decodeEntry('vips/fe80::1%eth0', 'web', 1).kind).toBe('invalid');
    expect(decodeEndpoint(KEY, JSON.stringify({ ...base, address: 'fe80::1' })).address).toBe('fe80::1');
  });
});

describe('fuzz regressions: fabric apply', () => {
  it('a YAML alias bomb is a FABRIC_ERR_SPEC document error, not a ReferenceError out of yaml', () => {
    const text = `a: &a [x,x,x,x,x,x,x,x,x]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]
kind: Service
name: web
`;
    const err = thrown(() => loadResources([{ name: 'bomb.yaml', text }]));
    expect(err).toBeInstanceOf(FabricError);
    expect((err as FabricError).code).toBe('FABRIC_ERR_SPEC');
    expect((err as FabricError).message).toMatch(/bomb\.yaml.*alias/i);
  });
});

describe('fuzz regressions: HAProxy render', () => {
  it('a path with "~" (in the path grammar) renders and passes haproxy -c: the view refused it and so the whole config', async () => {
    const entries = [
      decodeEntry('routes/r1', JSON.stringify({ name: 'r1', host: 'web.example.com', path: '/a~b', backends: [{ service: 'web', weight: 1 }] }), 1),
      decodeEntry('services/web', JSON.stringify({ name: 'web', paths: ['/x~y'], endpoints: [{ address: '127.0.0.1', port: 8080 }] }), 2),
    ];
    expect(entries.map((e) => e.kind)).toEqual(['route', 'service']);
    const rendered = renderer.render(buildModel(entries, 1, { domain: 'apps.test' }));
    expect(rendered.haproxy.pathsMap).toContain('web.example.com/a~b ');
    await renderer.checkHaproxy(rendered.haproxy);
  });

  it('an empty maintenance page renders and passes haproxy -c and nginx -t: HAProxy refused `string ""` (on a Service and a Route)', async () => {
    const entries = [
      decodeEntry(
        'services/web',
        JSON.stringify({
          name: 'web',
          domains: ['web.example.com'],
          maintenance: { enabled: true, page: '' },
          endpoints: [{ address: '127.0.0.1', port: 8080 }],
        }),
        1,
      ),
      decodeEntry(
        'routes/r1',
        JSON.stringify({ name: 'r1', host: 'r.example.com', backends: [{ service: 'web', weight: 1 }], maintenance: { enabled: true, page: '' } }),
        2,
      ),
    ];
    expect(entries.map((e) => e.kind)).toEqual(['service', 'route']);
    const rendered = renderer.render(buildModel(entries, 1, { domain: 'apps.test' }));
    expect(rendered.haproxy.config.match(/^ {2}http-request return status 503$/gm)).toHaveLength(2);
    await renderer.checkHaproxy(rendered.haproxy);
    await renderer.checkNginx(rendered.nginx);
  });

  it('health check durations that are not whole milliseconds are refused: HAProxy refused `inter 1500.5`', () => {
    for (const interval of [1500.5, '1.0005s']) {
      const err = thrown(() => loadResources([{ name: 'hc.yaml', text: JSON.stringify({ kind: 'Service', name: 'web', healthCheck: { interval } }) }]));
      expect(err, String(interval)).toBeInstanceOf(FabricError);
      expect((err as FabricError).message).toMatch(/healthCheck\.interval.*whole milliseconds/);
    }
    expect(decodeEntry('services/web', JSON.stringify({ name: 'web', healthCheck: { timeout: 10.5 } }), 1).kind).toBe('invalid');
    expect(routerConfigSchema.safeParse({ targets: [], healthCheck: { interval: 2000.5 } }).success).toBe(false);
    expect(readLabels({ 'fabric.service': 'web', 'fabric.port': '80', 'fabric.health.interval': '1.0005s' }).ok).toBe(false);
  });

  it('haproxyView builds backend views without a view cache too', () => {
    const model = buildModel([decodeEntry('services/web', JSON.stringify({ name: 'web', endpoints: [{ address: '127.0.0.1', port: 8080 }] }), 1)], 1, {
      domain: undefined,
    });
    const { desired } = desiredHaproxy(model, new Map());
    const files = { config: '/c', hostsMap: '/h', pathsMap: '/p', acmeMap: '/a', adminSocket: '/s', masterSocket: '/m' };
    const view = haproxyView(desired, model, files, { http: undefined, hardStopAfter: '1s', maxconn: undefined });
    expect(view.backends.every((b) => b !== undefined && b.name.length > 0)).toBe(true);
  });
});

describe('fuzz regressions: fabric apply kinds', () => {
  it('kind: __proto__ or constructor is "not one of Service, Route", not a TypeError', () => {
    for (const kind of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const err = thrown(() => loadResources([{ name: 'k.yaml', text: `kind: ${kind}\nname: a\n` }]));
      expect(err, kind).toBeInstanceOf(FabricError);
      expect((err as FabricError).message).toContain(`"${kind}" is not one of Service, Route`);
    }
  });
});

describe('fuzz regressions: endpoint keys and IPv6 in nginx', () => {
  it("an endpoint under another host's key is refused: only service and container were compared", () => {
    const text = JSON.stringify(base);
    expect(decodeEntry(KEY, text, 1).kind).toBe('endpoint');
    for (const key of ['endpoints/web/\rh1/abcdef012345', 'endpoints/web/h2/abcdef012345']) {
      const entry = decodeEntry(key, text, 1);
      expect(entry.kind, key).toBe('invalid');
      if (entry.kind === 'invalid') expect(entry.error).toContain("does not match the endpoint's service, host and container");
    }
  });

  it('an IPv6 address whose "::" stands for one zero group is printed canonically: nginx -t refused 8:872:2f:a:b89:5d1:8::', async () => {
    const endpoint = { ...base, address: '8:872:2f:a:b89:5d1:8::', port: 18129 };
    const entry = decodeEntry(KEY, JSON.stringify(endpoint), 1);
    expect(entry.kind).toBe('endpoint');
    const rendered = renderer.render(buildModel([entry], 1, { domain: 'apps.test' }));
    expect(rendered.nginx).toContain('server [8:872:2f:a:b89:5d1:8:0]:18129 ');
    await renderer.checkNginx(rendered.nginx);
    await renderer.checkHaproxy(rendered.haproxy);
  });
});

describe('fuzz regressions: router config', () => {
  it('a target listener with surrounding whitespace or a CR is trimmed: the views refused to render it', () => {
    const config = routerConfigSchema.parse({
      targets: [
        { kind: 'haproxy', http: '\r127.0.0.1:8080 ' },
        { kind: 'nginx', http: ' [::1]:80\n' },
      ],
    });
    expect(config.targets.map((t) => ('http' in t ? t.http : undefined))).toEqual(['127.0.0.1:8080', '[::1]:80']);
    expect(routerConfigSchema.safeParse({ targets: [{ kind: 'haproxy', http: '127.0.0.1 :80' }] }).success).toBe(false);
  });
});
