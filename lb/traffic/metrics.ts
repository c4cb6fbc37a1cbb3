import { trafficExposition } from './prometheus.js';
import type { TrafficStore } from './store.js';

/**
 * The traffic families' text for /metrics (lb/traffic/prometheus.ts), after the registry's own. One
 * text serves every scrape until the store takes a new sample or a second passes; scrapes that come
 * while it is being written wait for the same one.
 */
export function trafficMetricsText(store: TrafficStore, endpointCap: number, defaultLabels: Record<string, string>): () => Promise<readonly string[]> {
  let cached: { samples: number; at: number; text: Promise<readonly string[]> } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || cached.samples !== store.samples || now - cached.at > 1_000) {
      const text = trafficExposition(store, endpointCap, defaultLabels);
      cached = { samples: store.samples, at: now, text };
      // A failed write is not kept: the next scrape tries again.
      text.catch(() => {
        if (cached?.text === text) cached = undefined;
      });
    }
    return cached.text;
  };
}
