/** A service's upstream in nginx.conf. */
export function upstreamName(service: string): string {
  return `svc_${service}`;
}

/** A Route's upstream, as HAProxy's route backend is `route_<name>`. */
export function routeUpstreamName(route: string): string {
  return `route_${route}`;
}
