import { describe, expect, it } from 'vitest';
import { routeSpecSchema, serviceSpecSchema } from '../../../../src/model/service.js';

describe('tls on Service and Route specs', () => {
  it('takes cert auto | none | a certificate name, redirect and hsts', () => {
    expect(serviceSpecSchema.parse({ name: 'web', tls: { cert: 'auto', redirect: true, hsts: '8760h' } }).tls).toEqual({
      cert: 'auto',
      redirect: true,
      hsts: 8760 * 3_600_000,
    });
    expect(serviceSpecSchema.parse({ name: 'web', tls: { cert: 'wildcard.example.com' } }).tls?.cert).toBe('wildcard.example.com');
    expect(routeSpecSchema.parse({ name: 'r', host: 'a.example.com', tls: { cert: 'none' }, backends: [{ service: 'web', weight: 1 }] }).tls?.cert).toBe(
      'none',
    );
  });

  it.each([{ cert: 'Auto' }, { cert: 'my cert' }, { cert: 'x;y' }, { cert: 'auto', extra: 1 }, { redirect: 'yes' }])('refuses %j', (tls) => {
    expect(serviceSpecSchema.safeParse({ name: 'web', tls }).success).toBe(false);
  });
});
