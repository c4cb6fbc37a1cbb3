// Static endpoints on a Service spec (src/model/static-endpoint.ts) and null-as-absent in specs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENDPOINT_ID } from '../../grammar.js';
import { serviceSpecSchema, storedServiceSpecSchema } from '../service.js';
import { staticEndpoint, staticEndpointId } from '../static-endpoint.js';

describe('static endpoints of a Service spec', () => {
  it('gives each an id in the endpoint id grammar, the same for the same address', () => {
    expect(staticEndpointId({ address: '127.0.0.1', port: 9000 })).toBe('127.0.0.1-9000');
    expect(staticEndpointId({ address: '::1', port: 80 })).toBe('0__1-80');
    expect(staticEndpointId({ address: '0:0::1', port: 80 })).toBe('0__1-80');
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 1, max: 65_535 }), (address, port) => {
        expect(staticEndpointId({ address, port })).toMatch(ENDPOINT_ID);
      }),
    );
  });

  it('serves each as an endpoint on host static, up, weight 100 unless given', () => {
    expect(staticEndpoint('web', 'http', { address: '127.0.0.1', port: 9000 })).toMatchObject({
      host: 'static',
      container: '127.0.0.1-9000',
      weight: 100,
      state: 'up',
      health: 'none',
    });
    expect(staticEndpoint('web', 'tcp', { address: '10.0.0.1', port: 5432, weight: 7 })).toMatchObject({ weight: 7, mode: 'tcp' });
  });

  it('fabric apply refuses bad ones, naming the field', () => {
    const refused = (endpoints: unknown) => {
      const result = serviceSpecSchema.safeParse({ kind: 'Service', name: 'web', endpoints });
      return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(refused([{ address: '127.0.0.1', port: 9000, weight: 100 }])).toEqual([]);
    expect(refused([{ address: 'localhost', port: 9000 }])[0]).toMatch(/^endpoints\.0\.address: is not an IP address/);
    expect(refused([{ address: '127.0.0.1', port: 0 }])[0]).toMatch(/^endpoints\.0\.port/);
    expect(refused([{ address: '127.0.0.1', port: 80, weight: 300 }])[0]).toMatch(/^endpoints\.0\.weight/);
    expect(refused([{ address: '0.0.0.0', port: 80 }])[0]).toMatch(/^endpoints\.0\.address: 0\.0\.0\.0 is a unspecified address/);
    expect(refused([{ address: '224.0.0.1', port: 80 }])[0]).toMatch(/multicast/);
    expect(refused([{ address: 'fe80::1%eth0', port: 80 }])[0]).toMatch(/zone/);
    expect(refused([{ address: '127.0.0.1', port: 80, host: 'x' }])[0]).toMatch(/^endpoints\.0: Unrecognized key/);
    expect(
      refused([
        { address: '127.0.0.1', port: 80 },
        { address: '127.0.0.1', port: 80 },
      ])[0],
    ).toMatch(/^endpoints\.1: duplicates endpoints\.0/);
  });
});

describe('a Service spec with null fields', () => {
  it('decodes null exactly as absent, at the top and one level in', () => {
    const absent = { kind: 'Service', name: 'web', healthCheck: { path: '/h' }, endpoints: [{ address: '127.0.0.1', port: 1 }] };
    const nulls = { ...absent, mode: null, domains: null, vip: null, slb: null, tls: null, healthCheck: { path: '/h', interval: null } };
    expect(storedServiceSpecSchema.parse(nulls)).toStrictEqual(storedServiceSpecSchema.parse(absent));
    expect(serviceSpecSchema.parse(nulls)).toStrictEqual(serviceSpecSchema.parse(absent));
  });
});
