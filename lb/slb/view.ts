import { type Model, servingState } from '../model.js';

/**
 * One backend server of a cloud load balancer, shaped for Alibaba Cloud SLB's
 * `BackendServers` JSON (ServerId, Port, Weight, Type) plus what a custom
 * template may want instead (the endpoint's address, for `eni`-type servers).
 */
export interface SlbServer {
  /** The endpoint's host: the agent's `--host-name`, which on ECS is set to the instance id (`i-…`). */
  serverId: string;
  /** The port the host receives on: the published port in the agent's default `published` mode. */
  port: number;
  /** 0–100, scaled from fabric's 0–256 (ratios kept; a non-zero weight never becomes 0). */
  weight: number;
  type: 'ecs';
  address: string;
  service: string;
  container: string;
}

/** What `templates/slb.json.hbs` renders for one load balancer. */
export interface SlbView {
  slb: string;
  /** The services that name this load balancer in their spec (`slb:`), sorted. */
  services: string[];
  /** Sorted by serverId, then port: the same endpoints always render the same bytes. */
  servers: SlbServer[];
}

/**
 * Pure: the load balancers the model names (`slb:` in a Service spec) and the
 * backend list each should have: the ready endpoints of its services
 * (draining, unhealthy and starting ones are left out, so the cloud LB stops
 * sending them new connections). A load balancer whose services have no ready
 * endpoint gets an empty list: it is still named, and must be emptied.
 */
export function slbViews(model: Model): Map<string, SlbView> {
  const views = new Map<string, SlbView>();
  for (const service of model.services) {
    const id = service.spec?.slb;
    if (!id) continue;
    const view = views.get(id) ?? { slb: id, services: [], servers: [] };
    views.set(id, view);
    view.services.push(service.name);
    for (const e of service.endpoints) {
      if (servingState(e) !== 'ready') continue;
      view.servers.push({
        serverId: e.host,
        port: e.port,
        weight: slbWeight(e.weight),
        type: 'ecs',
        address: e.address,
        service: e.service,
        container: e.container,
      });
    }
  }
  for (const view of views.values()) {
    view.services.sort();
    view.servers = uniqueServers(view.servers);
  }
  return new Map([...views].sort(([a], [b]) => a.localeCompare(b)));
}

/** fabric's 0–256 → SLB's 0–100. */
export function slbWeight(weight: number): number {
  if (weight <= 0) return 0;
  return Math.min(100, Math.max(1, Math.round((weight * 100) / 256)));
}

/** A backend server is (ServerId, Port): two endpoints on one host and port are one server, the first (by service, container) wins. */
function uniqueServers(servers: SlbServer[]): SlbServer[] {
  const sorted = [...servers].sort(
    (a, b) => a.serverId.localeCompare(b.serverId) || a.port - b.port || a.service.localeCompare(b.service) || a.container.localeCompare(b.container),
  );
  return sorted.filter((s, i) => i === 0 || s.serverId !== sorted[i - 1]!.serverId || s.port !== sorted[i - 1]!.port);
}
