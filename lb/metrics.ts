import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, type Registry } from '../src/metrics.js';

export class RouterMetrics {
  readonly applies: Counter<'target' | 'action'>;
  readonly reloads: Counter<'target'>;
  readonly runtimeCommands: Counter<'target'>;
  readonly failures: Counter<'target' | 'code'>;
  readonly validationFailures: Counter<'target'>;
  readonly renders: Counter;
  readonly eventToApplied: Histogram;
  readonly revision: Gauge;
  readonly etcdConnected: Gauge;
  readonly modelIssues: Gauge;
  readonly healthChecks: Counter<'kind' | 'result'>;
  readonly healthCheckDuration: Histogram<'kind'>;
  readonly endpointsByHealth: Gauge<'health'>;
  readonly certExpiry: Gauge<'cert'>;
  readonly eventLoopDelay: Gauge<'stat'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.applies = new Counter({
      name: 'fabric_router_applies_total',
      help: 'Applies per target, by action (none, runtime, reload, start)',
      labelNames: ['target', 'action'],
      registers,
    });
    this.reloads = new Counter({ name: 'fabric_router_reloads_total', help: 'Verified load-balancer reloads and starts', labelNames: ['target'], registers });
    this.runtimeCommands = new Counter({
      name: 'fabric_router_runtime_api_commands_total',
      help: 'HAProxy Runtime API commands sent instead of reloading',
      labelNames: ['target'],
      registers,
    });
    this.failures = new Counter({
      name: 'fabric_router_apply_failures_total',
      help: 'Failed applies, by error code',
      labelNames: ['target', 'code'],
      registers,
    });
    this.validationFailures = new Counter({
      name: 'fabric_router_validation_failures_total',
      help: 'Rendered configs the load balancer refused to validate (never deployed)',
      labelNames: ['target'],
      registers,
    });
    this.renders = new Counter({ name: 'fabric_router_model_builds_total', help: 'Model builds (one per debounced batch of etcd changes)', registers });
    this.eventToApplied = new Histogram({
      name: 'fabric_router_event_to_applied_seconds',
      help: 'From the first etcd event of a batch to every target applied',
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.revision = new Gauge({ name: 'fabric_router_etcd_revision', help: 'etcd revision the model is built from', registers });
    this.etcdConnected = new Gauge({ name: 'fabric_router_etcd_connected', help: '1 while the etcd watch is live', registers });
    this.modelIssues = new Gauge({
      name: 'fabric_router_model_issues',
      help: 'Keys or claims skipped (bad JSON, invalid values, domain conflicts)',
      registers,
    });
    this.healthChecks = new Counter({
      name: 'fabric_router_health_checks_total',
      help: 'Active health checks run, by kind (http, tcp) and result (success, failure)',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.healthCheckDuration = new Histogram({
      name: 'fabric_router_health_check_duration_seconds',
      help: 'Duration of one active health check, by kind',
      labelNames: ['kind'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.endpointsByHealth = new Gauge({
      name: 'fabric_router_endpoints',
      help: 'Endpoints by effective health (healthy, unhealthy, starting, unknown)',
      labelNames: ['health'],
      registers,
    });
    this.certExpiry = new Gauge({
      name: 'fabric_router_cert_expiry_timestamp_seconds',
      help: 'When each stored certificate expires (its notAfter), seconds since the Unix epoch',
      labelNames: ['cert'],
      registers,
    });
    // How long the event loop was blocked, over the window since the previous scrape: a long render or
    // a whole-keyspace pass shows as max. 10 ms resolution is enough for a 50 ms target.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    this.eventLoopDelay = new Gauge({
      name: 'fabric_router_event_loop_delay_seconds',
      help: 'Event-loop delay since the previous scrape (perf_hooks.monitorEventLoopDelay): max, p99, p50',
      labelNames: ['stat'],
      registers,
      collect() {
        const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
        this.set({ stat: 'max' }, seconds(loop.max));
        this.set({ stat: 'p99' }, seconds(loop.percentile(99)));
        this.set({ stat: 'p50' }, seconds(loop.percentile(50)));
        loop.reset();
      },
    });
  }
}
