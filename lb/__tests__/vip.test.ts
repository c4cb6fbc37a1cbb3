import { describe, expect, it } from 'vitest';
import { buildModel } from '../model.js';
import { decodeEntry } from '../store.js';
import { parseIpAddrShow, planInterface } from '../vip/iface.js';
import { planVips, type VipHold, type VipWant } from '../vip/plan.js';
import { VipPool } from '../vip/pool.js';
import { endpointEntry, ep, modelOf, specEntry } from './fixtures.js';

const pool = VipPool.parse('10.200.0.0/29'); // 10.200.0.1 … 10.200.0.6

function hold(address: string, service: string, createRevision = 1): VipHold {
  return { key: `vips/${address}`, address, service, createRevision };
}

function summary(wants: VipWant[], holds: VipHold[], p: VipPool | null = pool) {
  const plan = planVips(wants, holds, p ?? undefined);
  return {
    assigned: Object.fromEntries(plan.assigned),
    create: plan.create.map((c) => `${c.service}=${c.address}`),
    release: plan.release.map((r) => `${r.service}=${r.address}`),
    issues: plan.issues.map((i) => `${i.code} ${i.subject}: ${i.message}`),
  };
}

describe('VipPool', () => {
  it('hands out the usable addresses of a CIDR, in order', () => {
    expect(pool.size).toBe(6);
    expect([0, 5].map((i) => pool.at(i))).toEqual(['10.200.0.1', '10.200.0.6']);
    expect(['10.200.0.0', '10.200.0.7', '10.200.0.8', '10.201.0.1', 'fd00::1', 'nope'].map((a) => pool.contains(a))).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(pool.contains('10.200.0.3')).toBe(true);
    expect(VipPool.parse('127.77.0.0/24').size).toBe(254);
    expect(VipPool.parse('10.0.0.5/32').at(0)).toBe('10.0.0.5');
    expect(VipPool.parse('fd00::/120').at(0)).toBe('fd00::1');
    expect(VipPool.parse('10.9.9.9/24').cidr).toBe('10.9.9.0/24');
    expect(() => VipPool.parse('10.0.0.0/33')).toThrow(/not a CIDR/);
  });
});

describe('planVips: wanted vs held → create / release', () => {
  it('allocates a free address for auto, each service its own', () => {
    const result = summary(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((service) => ({ service, request: 'auto' })),
      [],
    );
    expect(result.create).toHaveLength(6);
    expect(new Set(result.create.map((c) => c.split('=')[1])).size).toBe(6);
    expect(result.create.every((c) => pool.contains(c.split('=')[1]!))).toBe(true);
    expect(result.release).toEqual([]);
    expect(result.issues).toEqual([]);
  });

  it('is deterministic: two routers with the same view plan the same addresses', () => {
    const wants: VipWant[] = ['web', 'api', 'db'].map((service) => ({ service, request: 'auto' }));
    expect(summary(wants, [])).toEqual(summary([...wants].reverse(), []));
  });

  it('keeps what a service holds, creates nothing more', () => {
    expect(summary([{ service: 'web', request: 'auto' }], [hold('10.200.0.4', 'web')])).toEqual({
      assigned: { web: '10.200.0.4' },
      create: [],
      release: [],
      issues: [],
    });
  });

  it('skips addresses other services hold (a lost race shows up as a held key)', () => {
    const taken = [1, 2, 3, 4, 5].map((i) => hold(`10.200.0.${i}`, `s${i}`));
    const result = summary([{ service: 'web', request: 'auto' }, ...taken.map((h) => ({ service: h.service, request: 'auto' }))], taken);
    expect(result.create).toEqual(['web=10.200.0.6']);
  });

  it('releases the keys of services that no longer want a VIP, or are gone', () => {
    expect(summary([], [hold('10.200.0.1', 'gone'), hold('10.200.0.2', 'none')]).release).toEqual(['gone=10.200.0.1', 'none=10.200.0.2']);
  });

  it('keeps the oldest key when a race left a service two', () => {
    const result = summary([{ service: 'web', request: 'auto' }], [hold('10.200.0.1', 'web', 9), hold('10.200.0.5', 'web', 3)]);
    expect(result.assigned).toEqual({ web: '10.200.0.5' });
    expect(result.release).toEqual(['web=10.200.0.1']);
  });

  it('a given address: taken when free, refused when held by another service or outside the pool', () => {
    expect(summary([{ service: 'web', request: '10.200.0.3' }], []).create).toEqual(['web=10.200.0.3']);
    expect(summary([{ service: 'web', request: '10.200.0.3' }], [hold('10.200.0.3', 'api')], pool)).toMatchObject({
      create: [],
      issues: ['FABRIC_ERR_CONFLICT services/web: VIP 10.200.0.3 refused: already held by service api'],
    });
    expect(summary([{ service: 'web', request: '10.9.9.9' }], []).issues).toEqual([
      'FABRIC_ERR_CONFLICT services/web: VIP 10.9.9.9 refused: outside the pool 10.200.0.0/29',
    ]);
  });

  it('moving from one given address to another releases the old one', () => {
    const result = summary([{ service: 'web', request: '10.200.0.2' }], [hold('10.200.0.1', 'web')]);
    expect(result).toMatchObject({ assigned: {}, create: ['web=10.200.0.2'], release: ['web=10.200.0.1'] });
  });

  it('a named address goes to the service that names it, even when an auto service would probe to it first', () => {
    // The address `a` (auto) would take, were nobody naming it.
    const probed = summary([{ service: 'a', request: 'auto' }], []).create[0]!.split('=')[1]!;
    const result = summary(
      [
        { service: 'a', request: 'auto' },
        { service: 'z', request: probed },
      ],
      [],
    );
    expect(result.create).toContain(`z=${probed}`);
    expect(result.create.filter((c) => c.startsWith('a='))).toHaveLength(1);
    expect(result.create).not.toContain(`a=${probed}`);
    expect(result.issues).toEqual([]);
  });

  it('auto never takes an address a spec names, not even one two specs ask for', () => {
    const named = ['10.200.0.1', '10.200.0.2', '10.200.0.3', '10.200.0.4', '10.200.0.5'];
    const wants: VipWant[] = [{ service: 'auto', request: 'auto' }, ...named.map((address, i) => ({ service: `n${i}`, request: address }))];
    expect(summary(wants, []).create).toContain('auto=10.200.0.6');
    // Two names for one address: the first (by name) has it, the other is refused; auto still keeps off it.
    const twice = summary([...wants, { service: 'n9', request: '10.200.0.5' }], []);
    expect(twice.create).toContain('auto=10.200.0.6');
    expect(twice.issues).toEqual(['FABRIC_ERR_CONFLICT services/n9: VIP 10.200.0.5 refused: already held by service n4']);
  });

  it('a service keeps the address it holds even when a later spec names it', () => {
    const result = summary(
      [
        { service: 'a', request: 'auto' },
        { service: 'z', request: '10.200.0.2' },
      ],
      [hold('10.200.0.2', 'a')],
    );
    expect(result).toMatchObject({ assigned: { a: '10.200.0.2' }, create: [] });
    expect(result.issues).toEqual(['FABRIC_ERR_CONFLICT services/z: VIP 10.200.0.2 refused: already held by service a']);
  });

  it('reports an exhausted pool for every service left without an address', () => {
    const holds = [1, 2, 3, 4, 5, 6].map((i) => hold(`10.200.0.${i}`, `s${i}`));
    const wants = [...holds.map((h) => ({ service: h.service, request: 'auto' })), { service: 'x', request: 'auto' }, { service: 'y', request: 'auto' }];
    const result = summary(wants, holds);
    expect(result.create).toEqual([]);
    expect(result.issues).toEqual([
      'FABRIC_ERR_VIP_EXHAUSTED services/x: no free address left in the VIP pool 10.200.0.0/29 (6 addresses)',
      'FABRIC_ERR_VIP_EXHAUSTED services/y: no free address left in the VIP pool 10.200.0.0/29 (6 addresses)',
    ]);
  });

  it('without a pool: shows what is held, writes nothing, says why a want is unmet', () => {
    expect(
      summary(
        [
          { service: 'web', request: 'auto' },
          { service: 'api', request: 'auto' },
        ],
        [hold('10.200.0.1', 'web'), hold('10.200.0.2', 'gone')],
        null,
      ),
    ).toEqual({
      assigned: { web: '10.200.0.1' },
      create: [],
      release: [],
      issues: ['FABRIC_ERR_CONFIG services/api: wants a VIP (auto) but the router has no vipPool'],
    });
  });
});

describe('VIPs in the model', () => {
  const vipEntry = (address: string, service: string, rev = 1) => decodeEntry(`vips/${address}`, service, rev);

  it('decodes vips/<address> keys and refuses bad ones', () => {
    expect(vipEntry('10.200.0.1', 'web')).toMatchObject({ kind: 'vip', address: '10.200.0.1', service: 'web' });
    expect(vipEntry('10.200.0.1', 'Not A Service')).toMatchObject({ kind: 'invalid' });
    expect(vipEntry('300.1.1.1', 'web')).toMatchObject({ kind: 'invalid' });
    expect(vipEntry('fd00:0::1', 'web')).toMatchObject({ kind: 'invalid' }); // not canonical: fd00::1
  });

  it('gives each service its held VIP and port, and plans the rest', () => {
    const model = buildModel(
      [
        specEntry({ name: 'web', vip: 'auto' }),
        specEntry({ name: 'db', mode: 'tcp', vip: 'auto', port: 5432 }),
        specEntry({ name: 'raw', mode: 'tcp', vip: 'auto' }),
        specEntry({ name: 'plain' }),
        endpointEntry(ep('web', 'w1')),
        vipEntry('10.200.0.2', 'web'),
        vipEntry('10.200.0.3', 'gone'),
      ],
      10,
      { domain: 'apps.test', vipPool: pool },
    );
    expect(model.services.map((s) => [s.name, s.vip ?? null])).toEqual([
      ['db', null],
      ['plain', null],
      ['raw', null],
      ['web', { address: '10.200.0.2', port: 80 }],
    ]);
    // raw (TCP, no port) can be served on no VIP: it is reported and gets no address.
    expect(model.vips!.create.map((c) => c.service)).toEqual(['db']);
    expect(model.vips!.release).toEqual([{ key: 'vips/10.200.0.3', service: 'gone', address: '10.200.0.3' }]);
    expect(model.issues).toContainEqual({ code: 'FABRIC_ERR_SPEC', subject: 'services/raw', message: 'a TCP service with a VIP needs a port' });
  });

  it('a TCP service with a VIP and no port holds no address: none is created, one held is released', () => {
    const tcpByLabel = { ...ep('lbl', 'l1'), mode: 'tcp' as const };
    const model = buildModel(
      [
        specEntry({ name: 'raw', mode: 'tcp', vip: 'auto' }),
        specEntry({ name: 'lbl', vip: 'auto' }), // TCP by its endpoints' label, not by the spec
        endpointEntry(tcpByLabel),
        vipEntry('10.200.0.4', 'raw'),
      ],
      10,
      { domain: 'apps.test', vipPool: pool },
    );
    expect(model.services.map((s) => [s.name, s.mode, s.vip ?? null])).toEqual([
      ['lbl', 'tcp', null],
      ['raw', 'tcp', null],
    ]);
    expect(model.vips).toEqual({ create: [], release: [{ key: 'vips/10.200.0.4', service: 'raw', address: '10.200.0.4' }] });
    expect(model.issues.filter((i) => i.code === 'FABRIC_ERR_SPEC').map((i) => i.subject)).toEqual(['services/lbl', 'services/raw']);
  });

  it('without a pool the model still shows held VIPs', () => {
    const model = modelOf([specEntry({ name: 'web', vip: 'auto' }), vipEntry('10.200.0.2', 'web')]);
    expect(model.services[0]!.vip).toEqual({ address: '10.200.0.2', port: 80 });
    expect(model.vips).toEqual({ create: [], release: [] });
  });
});

describe('vipInterface', () => {
  it('parses `ip -o addr show` and plans add / del within the pool only', () => {
    const text = [
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
      '1: lo    inet 10.200.0.1/32 scope global lo\\       valid_lft forever preferred_lft forever',
      '1: lo    inet 10.200.0.5/32 scope global lo\\       valid_lft forever preferred_lft forever',
      '1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever',
    ].join('\n');
    const current = parseIpAddrShow(text);
    expect(current).toEqual(['127.0.0.1', '10.200.0.1', '10.200.0.5', '::1']);
    expect(planInterface(current, ['10.200.0.1', '10.200.0.2'], pool)).toEqual({ add: ['10.200.0.2'], remove: ['10.200.0.5'] });
  });
});
