import ipaddr from 'ipaddr.js';
import { z } from 'zod';

/**
 * `allow: [CIDR…]` / `deny: [CIDR…]` on the client address (IPv4 or IPv6). A denied address is
 * refused (403) even if an allow list holds it; with `allow` set, every other address is refused.
 * Each CIDR is written as its network (`10.0.0.0/8`, not `10.1.2.3/8`): host bits set are refused
 * so a typo cannot widen or narrow a list unnoticed. Also the grammar of the router's
 * `trustedProxies`.
 */
export const CIDR_TOKEN = /^[0-9A-Fa-f.:]{2,45}\/[0-9]{1,3}$/;

/** The CIDR in canonical form, or why it is not one. */
export function parseCidr(value: string): { cidr: string } | { problem: string } {
  if (!CIDR_TOKEN.test(value)) return { problem: 'is not a CIDR such as 10.0.0.0/8 or fd00::/8' };
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(value);
  } catch {
    return { problem: 'is not a CIDR such as 10.0.0.0/8 or fd00::/8' };
  }
  const [address, bits] = parsed;
  if (address.kind() === 'ipv4' && !ipaddr.IPv4.isValidFourPartDecimal(value.split('/')[0]!)) {
    return { problem: 'is not a CIDR: an IPv4 address is four decimal parts' };
  }
  const network = address.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(value) : ipaddr.IPv6.networkAddressFromCIDR(value);
  if (network.toString() !== address.toString()) return { problem: `has host bits set: the network is ${network.toString()}/${bits}` };
  return { cidr: `${network.toString()}/${bits}` };
}

export const cidrSchema = z.string().transform((value, ctx) => {
  const result = parseCidr(value);
  if ('problem' in result) {
    ctx.addIssue({ code: 'custom', message: result.problem });
    return z.NEVER;
  }
  return result.cidr;
});

export const cidrListSchema = z.array(cidrSchema).min(1, 'at least one CIDR').max(1024, 'at most 1024 CIDRs');

/** A CIDR for a renderer: parsed again, so only the canonical form reaches a config. */
export function renderCidr(value: string): string {
  const result = parseCidr(value);
  if ('problem' in result || result.cidr !== value) throw new Error(`CIDR ${JSON.stringify(value)} escaped validation`);
  return result.cidr;
}
