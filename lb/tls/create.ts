import type { Logger } from '../../src/log.js';
import { loadKeyring } from '../../src/tls/keyring.js';
import type { TlsConfig } from './config.js';
import { CertVault } from './vault.js';

/** The router's vault: with `tls.keyFile` (and any previous key files) read now, or none, which serves no stored certificate. */
export function createVault(config: TlsConfig, logger: Logger): CertVault {
  if (!config.keyFile) return new CertVault(undefined, logger, 'the router has no tls.keyFile');
  return new CertVault(loadKeyring(config.keyFile, config.previousKeyFiles), logger);
}
