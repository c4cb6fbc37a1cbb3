import { shortEndpointId } from '../../src/grammar.js';
import { endpointIdentity } from '../../src/keyspace.js';
import type { Endpoint } from '../../src/model/endpoint.js';
import type { Entry } from '../../src/model/entry.js';
import type { HostRecord } from '../../src/model/host.js';
import type { CertRecord } from '../../src/tls/cert-record.js';
import type { CheckStatus } from '../health/state.js';
import type { ApplyRecord } from '../history.js';
import type { TimelineInput } from './types.js';

// Pure: what happened, from what the router saw before and after. Each function takes the two
// sides of one change and returns the events it makes (none when nothing a person cares about moved).

/** The keys the timeline follows: endpoints, host records and certificates. */
export function followed(entry: Entry | undefined): entry is Entry & { kind: 'endpoint' | 'host' | 'cert' } {
  return entry?.kind === 'endpoint' || entry?.kind === 'host' || entry?.kind === 'cert';
}

/** One key's change (put, delete, or the difference between two snapshots). */
export function keyChangeEvents(before: Entry | undefined, after: Entry | undefined): TimelineInput[] {
  const b = followed(before) ? before : undefined;
  const a = followed(after) ? after : undefined;
  const kind = (a ?? b)?.kind;
  if (kind === 'endpoint') return endpointEvents(endpointOf(b), endpointOf(a));
  if (kind === 'host') return hostEvents(b?.kind === 'host' ? b.host : undefined, a?.kind === 'host' ? a.host : undefined);
  if (kind === 'cert') return certEvents(b?.kind === 'cert' ? b.cert : undefined, a?.kind === 'cert' ? a.cert : undefined);
  return [];
}

function endpointOf(entry: Entry | undefined): Endpoint | undefined {
  return entry?.kind === 'endpoint' ? entry.endpoint : undefined;
}

/** Docker's word on an endpoint lets it serve (`none`: no health check, so it does). */
function dockerHealthy(endpoint: Endpoint): boolean {
  return endpoint.health === 'healthy' || endpoint.health === 'none';
}

export function endpointEvents(before: Endpoint | undefined, after: Endpoint | undefined): TimelineInput[] {
  const e = after ?? before;
  if (!e) return [];
  const base = { service: e.service, endpoint: endpointIdentity(e), host: e.host };
  const what = `${e.service}: ${e.name} (${e.address}:${e.port}) on ${e.host}`;
  const detail = (x: Endpoint) => ({
    container: x.container,
    address: x.address,
    port: x.port,
    state: x.state,
    health: x.health,
    ...(x.version ? { version: x.version } : {}),
  });
  if (!before) return [{ ...base, kind: 'endpoint.registered', message: `${what} registered`, detail: detail(after!) }];
  if (!after) return [{ ...base, kind: 'endpoint.removed', message: `${what} removed`, detail: detail(before) }];
  const events: TimelineInput[] = [];
  if (before.state === 'up' && after.state === 'draining')
    events.push({ ...base, kind: 'endpoint.draining', message: `${what} draining`, detail: detail(after) });
  if (before.state === 'draining' && after.state === 'up')
    events.push({ ...base, kind: 'endpoint.registered', message: `${what} up again (no longer draining)`, detail: detail(after) });
  if (dockerHealthy(before) !== dockerHealthy(after)) {
    const up = dockerHealthy(after);
    events.push({
      ...base,
      kind: up ? 'health.up' : 'health.down',
      message: `${what}: Docker health ${before.health} → ${after.health}`,
      detail: { source: 'docker', from: before.health, to: after.health },
    });
  }
  return events;
}

export function hostEvents(before: HostRecord | undefined, after: HostRecord | undefined): TimelineInput[] {
  if (!before && after) {
    return [
      {
        kind: 'host.up',
        host: after.name,
        message: `host ${after.name} (${after.address}) up: agent ${after.agentVersion}`,
        detail: { address: after.address, agentVersion: after.agentVersion, started: after.started },
      },
    ];
  }
  if (before && !after)
    return [
      { kind: 'host.down', host: before.name, message: `host ${before.name} (${before.address}) gone: its lease ended`, detail: { address: before.address } },
    ];
  if (before && after && before.started !== after.started) {
    return [
      {
        kind: 'host.up',
        host: after.name,
        message: `host ${after.name}: agent restarted (${after.agentVersion})`,
        detail: { address: after.address, agentVersion: after.agentVersion, started: after.started },
      },
    ];
  }
  return [];
}

export function certEvents(before: CertRecord | undefined, after: CertRecord | undefined): TimelineInput[] {
  if (!after || before?.fingerprint === after.fingerprint) return [];
  const detail = { cert: after.name, domains: after.domains, source: after.source, notAfter: after.notAfter, issuer: after.issuer };
  if (!before) return [{ kind: 'cert.issued', message: `certificate ${after.name} stored (${after.source}), valid until ${after.notAfter}`, detail }];
  return [{ kind: 'cert.renewed', message: `certificate ${after.name} replaced (${after.source}), valid until ${after.notAfter}`, detail }];
}

/** The router's own active check let an endpoint serve again, or took it out. */
/** The router's own active check (key: `<service>/<host>/<container>`) let an endpoint serve again, or took it out. */
export function checkEvent(key: string, status: Pick<CheckStatus, 'state' | 'lastError'>): TimelineInput {
  const [service, host, container] = key.split('/');
  const parsed = service && host && container ? { service, host, container } : undefined;
  const up = status.state !== 'unhealthy';
  const who = parsed ? `${parsed.service}: ${shortEndpointId(parsed.container)} on ${parsed.host}` : key;
  return {
    kind: up ? 'health.up' : 'health.down',
    endpoint: key,
    ...(parsed ? { service: parsed.service, host: parsed.host } : {}),
    message: up ? `${who}: health check passes` : `${who}: health check fails${status.lastError ? `: ${status.lastError}` : ''}`,
    detail: {
      source: 'check',
      state: status.state,
      ...(parsed ? { container: parsed.container } : {}),
      ...(status.lastError ? { error: status.lastError } : {}),
    },
  };
}

/** One target's apply: a reload, a runtime update, or a failure (a refused config apart). */
export function applyEvent(record: ApplyRecord): TimelineInput | undefined {
  const base = { target: record.target, detail: { applyId: record.applyId, revision: record.revision, durationMs: record.durationMs } };
  if (record.result === 'failed') {
    const validation = record.code === 'FABRIC_ERR_VALIDATE';
    return {
      ...base,
      kind: validation ? 'validation.failed' : 'apply.failed',
      message: `${record.target}: ${validation ? 'config refused' : 'apply failed'} at revision ${record.revision}: ${record.message ?? record.code}`,
      detail: { ...base.detail, code: record.code },
    };
  }
  const action = record.action;
  if (action === 'reload' || action === 'start' || action === 'write') {
    const verb = action === 'start' ? 'started' : action === 'write' ? 'config written' : 'reloaded';
    return {
      ...base,
      kind: 'reload',
      message: `${record.target}: ${verb} at revision ${record.revision}${record.detail ? ` (${record.detail})` : ''}`,
      detail: { ...base.detail, action },
    };
  }
  if (action === 'runtime') {
    return {
      ...base,
      kind: 'runtime',
      message: `${record.target}: runtime update at revision ${record.revision}${record.detail ? ` (${record.detail})` : ''}`,
      detail: { ...base.detail, action },
    };
  }
  return undefined;
}

export function etcdEvent(kind: 'etcd.lost' | 'etcd.restored', error: string | undefined): TimelineInput {
  return kind === 'etcd.lost'
    ? { kind, message: `etcd watch lost${error ? `: ${error}` : ''}; serving the last state`, ...(error ? { detail: { error } } : {}) }
    : { kind, message: 'etcd watch live again' };
}

/** An ACME order that failed (lb/tls/acme). */
export function certFailedEvent(cert: string, domains: string[], error: string | undefined): TimelineInput {
  return {
    kind: 'cert.failed',
    message: `certificate ${cert} (${domains.join(', ')}): ACME order failed${error ? `: ${error}` : ''}`,
    detail: { cert, domains, ...(error ? { error } : {}) },
  };
}
