// Inputs the fuzz surfaces (test/fuzz/*.test.ts) once found wrong, each kept as a plain case.
import { describe, expect, it } from 'vitest';
import { loadResources } from '../../src/ctl/documents.js';
import { FabricError } from '../../src/errors.js';
import { endpointSchema } from '../../src/model/endpoint.js';
import { decodeEndpoint } from '../../src/model/endpoint-decode.js';
import { decodeEntry } from '../../src/model/entry.js';
import { thrown } from './hostile.js';

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
