import { Counter, Gauge, type Registry } from '../../src/metrics.js';
import { TRAFFIC_FAMILIES, type TrafficSample, trafficSamples } from './prometheus.js';
import type { TrafficStore } from './store.js';

/**
 * Registers the traffic families (lb/traffic/prometheus.ts) on the router's registry. Their values
 * are computed at scrape time from the store, once per scrape for all families.
 */
export function registerTrafficMetrics(registry: Registry, store: TrafficStore, endpointCap: number): void {
  let cached: { samples: number; at: number; values: Map<string, TrafficSample[]> } | undefined;
  const current = () => {
    const now = Date.now();
    if (!cached || cached.samples !== store.samples || now - cached.at > 1_000) {
      cached = { samples: store.samples, at: now, values: trafficSamples(store, endpointCap) };
    }
    return cached.values;
  };
  for (const family of TRAFFIC_FAMILIES) {
    const options = { name: family.name, help: family.help, labelNames: [...family.labelNames], registers: [registry] };
    if (family.type === 'counter') {
      new Counter({
        ...options,
        collect() {
          this.reset();
          for (const s of current().get(family.name) ?? []) this.inc(s.labels, s.value);
        },
      });
    } else {
      new Gauge({
        ...options,
        collect() {
          this.reset();
          for (const s of current().get(family.name) ?? []) this.set(s.labels, s.value);
        },
      });
    }
  }
}
