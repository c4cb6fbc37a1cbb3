import type { HostRule, Model } from '../../model.js';
import { servicePolicyContext } from '../../policy/context.js';
import { upstreamName } from '../names.js';

/**
 * The hosts nginx serves from its shared dict instead of a server block of their own (dynamic
 * mode): host → upstream. A host qualifies when one service has it whole — one rule, at `/`, no
 * Route — and that service has no policies and the host no certificate. Those are most services
 * (an automatic subdomain, nothing else), and one coming or going then changes the peer state, not
 * the config: no reload, as HAProxy's spare backends. Anything else keeps its server block.
 */
export function runtimeHosts(model: Model, hasCertificate: (host: string) => boolean): Map<string, string> {
  const http = new Map(model.services.filter((s) => s.mode === 'http').map((s) => [s.name, s]));
  const byHost = new Map<string, HostRule[]>();
  for (const rule of model.hostRules) {
    if (rule.route === undefined && !http.has(rule.service)) continue;
    const rules = byHost.get(rule.host);
    if (rules) rules.push(rule);
    else byHost.set(rule.host, [rule]);
  }
  const hosts = new Map<string, string>();
  for (const [host, rules] of [...byHost].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const [rule] = rules;
    if (rules.length !== 1 || !rule || rule.route !== undefined || (rule.path !== undefined && rule.path !== '/')) continue;
    const service = http.get(rule.service);
    if (!service || servicePolicyContext(service).policies !== undefined || hasCertificate(host)) continue;
    hosts.set(host, upstreamName(service.name));
  }
  return hosts;
}
