import { Counter, Histogram, type Registry } from '../../../src/metrics.js';

export class AcmeMetrics {
  readonly orders: Counter<'result'>;
  readonly orderDuration: Histogram<'result'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.orders = new Counter({
      name: 'fabric_router_acme_orders_total',
      help: 'ACME orders this router placed, by result (issued, failed)',
      labelNames: ['result'],
      registers,
    });
    this.orderDuration = new Histogram({
      name: 'fabric_router_acme_order_duration_seconds',
      help: 'From taking the lock to the certificate stored (or the failure recorded), by result',
      labelNames: ['result'],
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers,
    });
  }
}
