import { Counter, Gauge, Histogram, type Registry } from '../src/metrics.js';
import type { WritePlan } from './plan.js';

export class AgentMetrics {
  readonly events: Counter<'type' | 'action'>;
  readonly writes: Counter<'op'>;
  readonly txns: Counter;
  readonly resyncs: Counter;
  readonly errors: Counter;
  readonly registered: Gauge;
  readonly rejected: Gauge;
  readonly eventToEtcd: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.events = new Counter({
      name: 'fabric_agent_docker_events_total',
      help: 'Docker events received, by type and action',
      labelNames: ['type', 'action'],
      registers,
    });
    this.writes = new Counter({ name: 'fabric_agent_etcd_writes_total', help: 'etcd key writes, by operation (put, delete)', labelNames: ['op'], registers });
    this.txns = new Counter({ name: 'fabric_agent_etcd_txns_total', help: 'etcd transactions committed', registers });
    this.resyncs = new Counter({ name: 'fabric_agent_resyncs_total', help: 'Full reconciles of Docker against etcd', registers });
    this.errors = new Counter({ name: 'fabric_agent_sync_errors_total', help: 'Sync passes that failed and were retried', registers });
    this.registered = new Gauge({ name: 'fabric_agent_registered_endpoints', help: 'Endpoints this agent holds in etcd', registers });
    this.rejected = new Gauge({ name: 'fabric_agent_rejected_containers', help: 'Labelled containers refused for invalid labels', registers });
    this.eventToEtcd = new Histogram({
      name: 'fabric_agent_event_to_etcd_seconds',
      help: 'Docker event time to the matching etcd write',
      buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }

  recordWrites(plan: WritePlan, txns: number): void {
    this.writes.inc({ op: 'put' }, plan.puts.length);
    this.writes.inc({ op: 'delete' }, plan.deletes.length);
    this.txns.inc(txns);
  }
}
