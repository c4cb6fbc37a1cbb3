import type { Namespace } from 'etcd3';
import type { Logger } from '../../../src/log.js';
import type { Registry } from '../../../src/metrics.js';
import { loadKeyring } from '../../../src/tls/keyring.js';
import type { RouterConfig } from '../../config.js';
import { AcmeEtcd } from './acme-etcd.js';
import { trustCa } from './ca.js';
import { AcmeManager } from './manager.js';
import { AcmeMetrics } from './metrics.js';

/** The router's ACME loop, when its config has `tls.acme` (every router answers challenges either way). */
export function createAcme(config: RouterConfig, kv: Namespace, routerId: string, registry: Registry, logger: Logger): AcmeManager | undefined {
  const acme = config.tls?.acme;
  if (!acme || !config.tls?.keyFile) return undefined;
  const keyring = loadKeyring(config.tls.keyFile, config.tls.previousKeyFiles);
  trustCa(acme.caBundle);
  const log = logger.child({ component: 'acme' });
  return new AcmeManager({
    config: acme,
    tlsDefault: config.tls.default,
    keyring,
    routerId,
    etcd: new AcmeEtcd(kv, routerId, Math.max(2, Math.round(acme.lockTtl / 1000)), log),
    metrics: new AcmeMetrics(registry),
    logger: log,
  });
}
