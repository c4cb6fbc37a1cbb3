import { type Policies, policiesOf } from '../../src/model/policy/schema.js';
import type { ServiceModel } from '../model/types.js';
import type { RouteModel } from '../routes/model.js';

/**
 * What a policy renderer needs of whatever carries the policies, a Service or a Route: one code
 * path for both (docs/routing.md, "Policies on Routes").
 */
export interface PolicyContext {
  /**
   * Unique among a router's services and routes: a service's name, `route_<name>` for a route
   * (service names are DNS labels, never with `_`). Names what a policy keeps per carrier
   * outside its section: the nginx rate-limit zone and the htpasswd file.
   */
  name: string;
  /** What it says in status lines: `service web`, `route canary`. */
  label: string;
  policies: Policies | undefined;
}

const services = new WeakMap<ServiceModel, PolicyContext>();
const routes = new WeakMap<RouteModel, PolicyContext>();

export function servicePolicyContext(service: ServiceModel): PolicyContext {
  let context = services.get(service);
  if (!context) services.set(service, (context = { name: service.name, label: `service ${service.name}`, policies: policiesOf(service.spec) }));
  return context;
}

export function routePolicyContext(route: RouteModel): PolicyContext {
  let context = routes.get(route);
  if (!context) routes.set(route, (context = { name: `route_${route.name}`, label: `route ${route.name}`, policies: policiesOf(route.spec) }));
  return context;
}
