// Who may use the HTTP APIs (--api-token-file, --metrics-public) and where secrets come from
// (--etcd-password-file): the pure rules; test/router/api-token.test.ts runs them in real processes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLoopbackHost, needsToken, presentedToken, redactToken, refuseOpenListen, tokenMatches } from '../api-access.js';
import { FabricError } from '../errors.js';
import { commonOptions } from '../options.js';
import { readSecretFile } from '../secret-file.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-api-access-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function secretFile(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

const base = { etcd: 'http://127.0.0.1:2379', etcdPrefix: '/fabric', listen: '127.0.0.1:7080', logLevel: 'info' };

describe('loopback', () => {
  it('is 127.0.0.0/8, ::1 and localhost, nothing else', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '127.255.255.254', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '[::]', '10.0.0.1', '128.0.0.1', '192.168.1.2', 'example.com', '127.example.com', '::2'])
      expect(isLoopbackHost(host)).toBe(false);
  });

  it('an API beyond loopback without a token is refused with a FABRIC_ERR_CONFIG that says what to do', () => {
    expect(() => refuseOpenListen('127.0.0.1:7080', { metricsPublic: false })).not.toThrow();
    expect(() => refuseOpenListen('0.0.0.0:7080', { token: 't', metricsPublic: false })).not.toThrow();
    let error: unknown;
    try {
      refuseOpenListen('0.0.0.0:7080', { metricsPublic: false });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FabricError);
    expect((error as FabricError).code).toBe('FABRIC_ERR_CONFIG');
    expect((error as FabricError).message).toMatch(/--listen 0\.0\.0\.0:7080.*beyond loopback.*--api-token-file/);
    expect(() => refuseOpenListen('[::]:7080', { metricsPublic: false })).toThrow(/--api-token-file/);
  });
});

describe('the token', () => {
  const access = { token: 'tok-123', metricsPublic: false };

  it('is needed everywhere but the probes and the dashboard page; /metrics only by flag', () => {
    for (const open of ['/healthz', '/readyz', '/', '/dashboard/app.js', '/dashboard/vendor/uPlot.esm.js']) expect(needsToken(open, access)).toBe(false);
    for (const closed of ['/v1/status', '/v1/events', '/v1/services', '/docs/json', '/metrics', '/v1/endpoints']) expect(needsToken(closed, access)).toBe(true);
    expect(needsToken('/metrics', { ...access, metricsPublic: true })).toBe(false);
    expect(needsToken('/v1/status', { metricsPublic: false })).toBe(false);
  });

  it('comes as a Bearer header anywhere, as ?token= only on the event stream', () => {
    expect(presentedToken('/v1/status', 'Bearer tok-123', {})).toBe('tok-123');
    expect(presentedToken('/v1/status', 'bearer  tok-123 ', {})).toBe('tok-123');
    expect(presentedToken('/v1/status', 'Basic dXNlcjpwdw==', {})).toBeUndefined();
    expect(presentedToken('/v1/status', undefined, { token: 'tok-123' })).toBeUndefined();
    expect(presentedToken('/v1/events', undefined, { token: 'tok-123' })).toBe('tok-123');
  });

  it('is hidden in logged URLs', () => {
    expect(redactToken('/v1/events?token=tok-123')).toBe('/v1/events?token=[redacted]');
    expect(redactToken('/?a=1&token=tok-123&b=2')).toBe('/?a=1&token=[redacted]&b=2');
    expect(redactToken('/v1/status')).toBe('/v1/status');
  });

  it('is compared whole (any length, constant time)', () => {
    expect(tokenMatches('tok-123', 'tok-123')).toBe(true);
    for (const wrong of [undefined, '', 'tok-12', 'tok-1234', 'TOK-123']) expect(tokenMatches(wrong, 'tok-123')).toBe(false);
  });
});

describe('secrets from files', () => {
  it('--etcd-password-file: the password without its trailing newline; never with --etcd-password', () => {
    const file = secretFile('etcd-pw', 's3cret pw\n');
    expect(commonOptions({ ...base, etcdUser: 'u', etcdPasswordFile: file }).etcd.password).toBe('s3cret pw');
    expect(() => commonOptions({ ...base, etcdPassword: 'x', etcdPasswordFile: file })).toThrow(/give one of them/);
  });

  it('--api-token-file: read once, and it lets the API listen beyond loopback', () => {
    const file = secretFile('token', 'tok-abc\n');
    expect(commonOptions({ ...base, listen: '0.0.0.0:7080', apiTokenFile: file, metricsPublic: true }).api).toEqual({ token: 'tok-abc', metricsPublic: true });
    expect(() => commonOptions({ ...base, listen: '0.0.0.0:7080' })).toThrow(/--api-token-file/);
  });

  it('an empty or missing file is refused, naming the flag and the file, never a content', () => {
    expect(() => readSecretFile(secretFile('empty', '\n'), '--etcd-password-file')).toThrow(/--etcd-password-file .*empty: the file is empty/);
    expect(() => readSecretFile(path.join(dir, 'none'), '--api-token-file')).toThrow(/--api-token-file .*none: cannot read it/);
  });
});
