/**
 * The ACME part of the etcd keyspace (CONTRACT.md, HTTPS), relative to `--etcd-prefix`,
 * and the grammars a value must pass before it reaches a key, a map or a file.
 */
export const AcmeKeys = {
  challengesRoot: 'acme/challenges/',
  locksRoot: 'acme/locks/',
  stateRoot: 'acme/state/',
  renewRoot: 'acme/renew/',
  account: 'acme/account',
  certsRoot: 'certs/',

  /** Value: the key authorization, on the ordering router's lease. */
  challenge: (token: string) => `acme/challenges/${token}`,
  /** Value: who orders the certificate now, on that router's lease. */
  lock: (cert: string) => `acme/locks/${cert}`,
  /** Value: the last attempt and its backoff, so every router respects it. */
  state: (cert: string) => `acme/state/${cert}`,
  /** Written by `fabric cert renew NAME`: renew now. */
  renew: (cert: string) => `acme/renew/${cert}`,
  cert: (name: string) => `certs/${name}`,
} as const;

/** RFC 8555 §8.1: a token is base64url, at least 128 bits of entropy (22 characters). */
export const TOKEN = /^[A-Za-z0-9_-]{22,128}$/;
/** `<token>.<base64url SHA-256 thumbprint of the account key>` (43 characters). */
export const KEY_AUTHORIZATION = /^([A-Za-z0-9_-]{22,128})\.[A-Za-z0-9_-]{43}$/;

export function isToken(value: string): boolean {
  return TOKEN.test(value);
}

/** A key authorization for exactly this token. */
export function isKeyAuthorization(token: string, value: string): boolean {
  return KEY_AUTHORIZATION.exec(value)?.[1] === token;
}

/** The certificate an ACME host gets: one per host, so hosts come and go independently. */
export function autoCertName(host: string): string {
  return `auto-${host}`;
}
