import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { CheckSpec } from './spec.js';

export interface ProbeOutcome {
  ok: boolean;
  error?: string;
}

/** One probe of one endpoint; resolves (never rejects) within the spec's timeout. */
export type Probe = (spec: CheckSpec, signal: AbortSignal) => Promise<ProbeOutcome>;

/** The probe for the spec's kind. */
export const runProbe: Probe = (spec, signal) => {
  if (spec.kind === 'http') return spec.h2 ? h2Probe(spec, signal) : httpProbe(spec, signal);
  return tcpProbe(spec, signal);
};

/** Healthy when a TCP connection opens within the timeout; closed again at once. */
export function tcpProbe(spec: CheckSpec, signal: AbortSignal): Promise<ProbeOutcome> {
  return withDeadline(spec.timeoutMs, signal, (settle) => {
    const socket = net.connect({ host: spec.address, port: spec.port });
    socket.once('connect', () => settle({ ok: true }));
    socket.once('error', (err) => settle({ ok: false, error: `connect: ${errorText(err)}` }));
    return () => socket.destroy();
  });
}

/**
 * Healthy on a 2xx or 3xx answer to `GET path` within the timeout. Redirects
 * are not followed (a 3xx is an answer), the body is not read, the
 * connection is not kept.
 */
export function httpProbe(spec: CheckSpec, signal: AbortSignal): Promise<ProbeOutcome> {
  return withDeadline(spec.timeoutMs, signal, (settle) => {
    const req = http.request({
      host: spec.address,
      port: spec.port,
      path: spec.path ?? '/',
      method: 'GET',
      agent: false,
      headers: { 'user-agent': 'fabric-health-check', connection: 'close' },
    });
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      settle(status >= 200 && status < 400 ? { ok: true } : { ok: false, error: `HTTP ${status}` });
    });
    req.once('error', (err) => settle({ ok: false, error: errorText(err) }));
    req.end();
    return () => req.destroy();
  });
}

/** `httpProbe` over cleartext HTTP/2 with prior knowledge (an h2c endpoint, `proto: h2c`): the same verdicts. */
export function h2Probe(spec: CheckSpec, signal: AbortSignal): Promise<ProbeOutcome> {
  return withDeadline(spec.timeoutMs, signal, (settle) => {
    const host = spec.address.includes(':') ? `[${spec.address}]` : spec.address;
    const session = http2.connect(`http://${host}:${spec.port}`);
    session.once('error', (err) => settle({ ok: false, error: errorText(err) }));
    const req = session.request({ ':method': 'GET', ':path': spec.path ?? '/', 'user-agent': 'fabric-health-check' });
    req.once('response', (headers) => {
      const status = Number(headers[':status'] ?? 0);
      settle(status >= 200 && status < 400 ? { ok: true } : { ok: false, error: `HTTP ${status}` });
    });
    req.once('error', (err) => settle({ ok: false, error: errorText(err) }));
    req.end();
    return () => session.destroy();
  });
}

/** Runs `start`, settles once, and always cleans up: on the first result, the deadline or the abort. */
function withDeadline(timeoutMs: number, signal: AbortSignal, start: (settle: (outcome: ProbeOutcome) => void) => () => void): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let done = false;
    let cleanup: () => void = () => undefined;
    const settle = (outcome: ProbeOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      cleanup();
      resolve(outcome);
    };
    const onAbort = () => settle({ ok: false, error: 'aborted' });
    const timer = setTimeout(() => settle({ ok: false, error: `timeout after ${timeoutMs} ms` }), timeoutMs);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    cleanup = start(settle);
    if (done) cleanup();
  });
}

function errorText(err: Error & { code?: string }): string {
  return err.code ?? err.message;
}
