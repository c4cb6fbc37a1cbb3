/**
 * Every failure fabric reports has a stable code, so logs, `/v1/status` and
 * tests name the same thing. `retryable` says whether trying again can help
 * (etcd down: yes; a container's bad label: not until the container changes).
 */
export const ErrorCodes = {
  FABRIC_ERR_CONFIG: { retryable: false, text: 'invalid configuration' },
  FABRIC_ERR_LABEL: { retryable: false, text: 'invalid container labels' },
  /** `--compat`: labels (or variables) of another tool that fabric does not map; the container is served without them. */
  FABRIC_ERR_COMPAT_IGNORED: { retryable: false, text: "another tool's labels not understood" },
  FABRIC_ERR_SPEC: { retryable: false, text: 'invalid spec' },
  FABRIC_ERR_DECODE: { retryable: false, text: 'undecodable value in etcd' },
  FABRIC_ERR_ETCD_UNAVAILABLE: { retryable: true, text: 'etcd unreachable' },
  FABRIC_ERR_LEASE_LOST: { retryable: true, text: 'etcd lease lost' },
  FABRIC_ERR_DOCKER_UNAVAILABLE: { retryable: true, text: 'Docker engine unreachable' },
  FABRIC_ERR_RENDER: { retryable: false, text: 'template render failed' },
  FABRIC_ERR_VALIDATE: { retryable: false, text: 'config validation failed' },
  FABRIC_ERR_RELOAD: { retryable: true, text: 'reload failed' },
  FABRIC_ERR_RUNTIME_API: { retryable: true, text: 'runtime API command failed' },
  FABRIC_ERR_COMMAND_TIMEOUT: { retryable: true, text: 'command timed out' },
  FABRIC_ERR_COMMAND_FAILED: { retryable: true, text: 'command failed' },
  FABRIC_ERR_MISSING_KEY: { retryable: false, text: 'template key missing' },
  FABRIC_ERR_CONFLICT: { retryable: false, text: 'conflicting claim' },
  FABRIC_ERR_VIP_EXHAUSTED: { retryable: false, text: 'VIP pool exhausted' },
  FABRIC_ERR_STARTUP: { retryable: false, text: 'a component of `fabric up` did not start' },
  FABRIC_ERR_NOT_FOUND: { retryable: false, text: 'no such resource' },
  /** A load balancer's port is held by another process: an error, never a silent split of the traffic. */
  FABRIC_ERR_PORT_IN_USE: { retryable: true, text: 'port already in use' },
  /** A load balancer left by an earlier router could not be adopted (and was stopped). */
  FABRIC_ERR_ADOPT: { retryable: true, text: 'could not adopt a running load balancer' },
  /** etcd refused an operation for the user's role. */
  /** An endpoint from a host outside its Service's `hosts`/`pools`: refused, never served. */
  FABRIC_ERR_NOT_ALLOWED: { retryable: false, text: 'endpoint from a host the service does not allow' },
  FABRIC_ERR_PERMISSION: { retryable: false, text: 'etcd permission denied' },
  /** An HTTP API request without the API token (`--api-token-file`), or with a wrong one: answered 401. */
  FABRIC_ERR_UNAUTHORIZED: { retryable: false, text: 'API token missing or wrong' },
  /** More changes (or bytes) than one etcd transaction may carry (`--max-txn-ops`, `--max-request-bytes`). */
  /** An ACME order failed; the message is the CA's own. Retried with backoff. */
  FABRIC_ERR_ACME: { retryable: true, text: 'ACME order failed' },
  FABRIC_ERR_TOO_LARGE: { retryable: false, text: "over etcd's transaction limits" },
  /** A certificate that cannot be used: refused at import, or not served (it does not cover the host, or is missing). */
  FABRIC_ERR_CERT: { retryable: false, text: 'unusable certificate' },
  /** TLS keys: no or a bad `tls.keyFile`, or a private key that does not decrypt with it (wrong key, tampered value). */
  FABRIC_ERR_TLS: { retryable: false, text: 'TLS key problem' },
  /** A service none of whose endpoints takes requests (none registered, all draining or unhealthy): a `/v1/status` problem. */
  /** `fabric status`: the router's API did not answer (or not with JSON). */
  FABRIC_ERR_ROUTER_UNAVAILABLE: { retryable: true, text: 'router API unreachable' },
  FABRIC_ERR_NO_READY_ENDPOINT: { retryable: true, text: 'service has no ready endpoint' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class FabricError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'FabricError';
    this.code = code;
    this.retryable = ErrorCodes[code].retryable;
    this.details = opts.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export function isRetryable(err: unknown): boolean {
  return err instanceof FabricError ? err.retryable : true;
}

/** A message for logs and status, whatever was thrown. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
