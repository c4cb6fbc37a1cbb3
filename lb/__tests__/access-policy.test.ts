// The access-control policies' pure parts: the grammar of basicAuth and allow/deny (what is refused
// and why), and the HAProxy and nginx lines each renders (deny before allow, trusted proxies).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/model/policy/access.js';
import { isAcceptedHash, withoutHashes } from '../../src/model/policy/basic-auth.js';
import { policiesOf } from '../../src/model/policy/schema.js';
import { serviceSpecSchema } from '../../src/model/service.js';
import { haproxyAccessLines, trustedFrontendLines, userlistsOf } from '../policy/access-haproxy.js';
import { htpasswd, nginxAccessLines } from '../policy/access-nginx.js';
import { haproxyErrorPageLines, nginxErrorPages } from '../policy/error-pages.js';
import { haproxyBodyLines, nginxBodyLines } from '../policy/max-body-size.js';
import { haproxyPolicyLines } from '../policy/render-haproxy.js';

const BCRYPT = '$2y$05$abcdefghijklmnopqrstuutXu9KzOt.1yBoZUeFWoT/914/JfszCO';
const SHA512 = '$6$fabricsalt$JsMn.m0Fim23y86/jVDWLTbn2K4cb3LguAdCQhQiwPwOYr2t/GYHTUbgb49M68TLx7lKjPx8RQFHq88wcEsSv0';

const issues = (spec: Record<string, unknown>) => {
  const parsed = serviceSpecSchema.safeParse({ kind: 'Service', name: 'web', ...spec });
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('basicAuth grammar', () => {
  it('accepts bcrypt ($2y$, $2b$, $2a$) and SHA-512-crypt (with or without rounds)', () => {
    for (const hash of [BCRYPT, BCRYPT.replace('$2y$', '$2b$'), BCRYPT.replace('$2y$', '$2a$'), SHA512, SHA512.replace('$6$', '$6$rounds=5000$')]) {
      expect(isAcceptedHash(hash), hash).toBe(true);
    }
    expect(issues({ basicAuth: { realm: 'ops.team-1', users: [`alice:${BCRYPT}`, `bob:${SHA512}`] } })).toEqual([]);
  });

  it('refuses plaintext, MD5, SHA1, malformed hashes, bad names, duplicates and bad realms, never echoing a hash', () => {
    const user = (line: string) => issues({ basicAuth: { realm: 'ops', users: [line] } });
    expect(user('alice:hunter2')).toEqual([
      'basicAuth.users.0: password of user alice looks like a plaintext password: refused, give a bcrypt ($2y$) or SHA-512-crypt ($6$) hash (htpasswd -B, openssl passwd -6)',
    ]);
    expect(user('alice:$apr1$abc$def')[0]).toMatch(/is an MD5 hash: refused/);
    expect(user('alice:$1$abc$def')[0]).toMatch(/is an MD5 hash: refused/);
    expect(user('alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=')[0]).toMatch(/is a SHA1 hash: refused/);
    expect(user('alice:$5$salt$abc')[0]).toMatch(/a hash fabric does not accept/);
    expect(user(`alice:${BCRYPT}x`)[0]).toMatch(/not a well-formed bcrypt hash/);
    expect(user('alice:$2y$03$abcdefghijklmnopqrstuutXu9KzOt.1yBoZUeFWoT/914/JfszCO')[0]).toMatch(/not a well-formed bcrypt hash/);
    expect(user(`alice:${SHA512.slice(0, -1)}`)[0]).toMatch(/not a well-formed SHA-512-crypt hash/);
    expect(user(`al ice:${BCRYPT}`)[0]).toMatch(/user name must be/);
    expect(user('no-colon')[0]).toMatch(/must be an htpasswd line/);
    expect(issues({ basicAuth: { realm: 'ops', users: [`a:${BCRYPT}`, `a:${SHA512}`] } })).toEqual(['basicAuth.users.1: user a is given twice']);
    for (const realm of ['', 'two words', 'q"uote', 'x$y', 'a\nb'])
      expect(issues({ basicAuth: { realm, users: [`a:${BCRYPT}`] } })[0]).toMatch(/^basicAuth\.realm: /);
    expect(issues({ basicAuth: { realm: 'ops', users: [] } })).toEqual(['basicAuth.users: at least one user']);
    for (const message of [...user('alice:$apr1$abc$def'), ...user(`alice:${BCRYPT}x`)]) expect(message).not.toContain('$abc');
  });

  it('the API view names users and hides their hashes', () => {
    const spec = { name: 'web', basicAuth: { realm: 'ops', users: [`alice:${BCRYPT}`, `bob:${SHA512}`] } };
    expect(withoutHashes(spec).basicAuth.users).toEqual(['alice:(hidden)', 'bob:(hidden)']);
    expect(spec.basicAuth.users[0]).toBe(`alice:${BCRYPT}`);
  });
});

describe('allow/deny grammar', () => {
  it('accepts IPv4 and IPv6 CIDRs, stored as their canonical network', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ cidr: '10.0.0.0/8' });
    expect(parseCidr('FD00:0::/8')).toEqual({ cidr: 'fd00::/8' });
    expect(parseCidr('0.0.0.0/0')).toEqual({ cidr: '0.0.0.0/0' });
    expect(parseCidr('::1/128')).toEqual({ cidr: '::1/128' });
  });

  it('refuses what is not a CIDR, and host bits set', () => {
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0/8', '010.0.0.0/8', '::1/129', 'fd00::zz/8', '10.0.0.0/8;', ' 10.0.0.0/8', 'all', '']) {
      expect('problem' in parseCidr(bad), bad).toBe(true);
    }
    expect(parseCidr('10.1.2.3/8')).toEqual({ problem: 'has host bits set: the network is 10.0.0.0/8' });
    expect(issues({ allow: [] })).toEqual(['allow: at least one CIDR']);
    expect(issues({ deny: ['10.0.0.0/8', 'nope'] })).toEqual(['deny.1: is not a CIDR such as 10.0.0.0/8 or fd00::/8']);
  });

  it('no string fast-check makes up passes as a CIDR unless ipaddr.js reads it back the same', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), (value) => {
        const result = parseCidr(value);
        if ('cidr' in result) expect(result.cidr).toMatch(/^[0-9a-f.:]+\/\d{1,3}$/);
      }),
    );
  });
});

describe('maxBodySize grammar', () => {
  const bytes = (value: unknown) => policiesOf(serviceSpecSchema.parse({ kind: 'Service', name: 'web', maxBodySize: value }))?.maxBodySize;

  it('bytes, k or m, 1 byte to 1024m', () => {
    expect(bytes('1m')).toBe(1048576);
    expect(bytes('512k')).toBe(524288);
    expect(bytes(100)).toBe(100);
    expect(bytes('1024m')).toBe(1024 * 1024 * 1024);
  });

  it('refuses a too-big size, zero, negatives, other units and junk', () => {
    expect(issues({ maxBodySize: '1025m' })).toEqual(['maxBodySize: must be at most 1024m']);
    for (const bad of ['0', 0, -1, '1g', '1M', '1.5m', '1 m', '1m;', '', '01k']) {
      expect(issues({ maxBodySize: bad }), String(bad)).toEqual(['maxBodySize: must be a size in bytes, or with k or m (such as 512k, 1m)']);
    }
  });

  it('renders whole bytes: HAProxy by Content-Length (411 for a chunked body), nginx client_max_body_size', () => {
    expect(haproxyBodyLines(1024)[0]).toBe('http-request deny deny_status 413 if { req.hdr_val(content-length) gt 1024 }');
    expect(haproxyBodyLines(1024)[1]).toMatch(/^http-request return status 411 /);
    expect(nginxBodyLines(1024)).toEqual(['client_max_body_size 1024;']);
    expect(() => haproxyBodyLines(1.5)).toThrow();
    expect(() => nginxBodyLines(0)).toThrow();
  });
});

describe('errorPages', () => {
  it('takes 502, 503 and 504 only, with the grammar of maintenance.page', () => {
    expect(issues({ errorPages: { 502: '<h1>x</h1>', 503: 'a\n\tb', 504: 'z' } })).toEqual([]);
    expect(issues({ errorPages: { 404: 'x' } })).toEqual(['errorPages.404: is not a status the proxy answers for a service: one of 502, 503, 504']);
    expect(issues({ errorPages: {} })).toEqual(['errorPages: required: a page for at least one of 502, 503, 504']);
    expect(issues({ errorPages: { 503: 'cost: $5' } })).toEqual(['errorPages.503: must not contain $']);
    expect(issues({ errorPages: { 503: 'a\rb' } })[0]).toMatch(/^errorPages\.503: must be printable ASCII/);
    expect(issues({ errorPages: { 503: 'x'.repeat(8193) } })[0]).toMatch(/^errorPages\.503: /);
  });

  it('renders an http-error line per page (HAProxy) and an error_page with an internal nested location (nginx)', () => {
    expect(haproxyErrorPageLines({ 503: 'say "hi"\n' })).toEqual(['http-error status 503 content-type text/html string "say \\"hi\\"\\n"']);
    const nginx = nginxErrorPages({ 502: 'bad', 503: 'none' }, '/api');
    expect(nginx.lines).toEqual([
      'error_page 502 /api/.fabric-error-502;',
      'location = /api/.fabric-error-502 { internal; allow all; auth_basic off; default_type text/html; return 502 "bad"; }',
      'error_page 503 /api/.fabric-error-503;',
      'location = /api/.fabric-error-503 { internal; allow all; auth_basic off; default_type text/html; return 503 "none"; }',
    ]);
    expect(nginx.unready).toBe('default_type text/html; return 503 "none";');
    expect(nginxErrorPages({ 504: 'slow' }, '/').lines[0]).toBe('error_page 504 /.fabric-error-504;');
    expect(() => haproxyErrorPageLines({ 503: 'a$b' })).toThrow();
  });
});

describe('rendering', () => {
  const parsed = (spec: Record<string, unknown>) => policiesOf(serviceSpecSchema.parse({ kind: 'Service', name: 'web', ...spec }))!;

  it('HAProxy: deny first, then allow; the client address from src unless a trusted proxy set it', () => {
    const lines = haproxyAccessLines(parsed({ allow: ['10.0.0.0/8', 'fd00::/8'], deny: ['10.1.0.0/16'] }));
    expect(lines).toEqual([
      'http-request set-var(txn.fabric_client) src unless { var(txn.fabric_client) -m found }',
      'http-request deny deny_status 403 if { var(txn.fabric_client) -m ip 10.1.0.0/16 }',
      'http-request deny deny_status 403 unless { var(txn.fabric_client) -m ip 10.0.0.0/8 fd00::/8 }',
    ]);
    expect(trustedFrontendLines([])).toEqual([]);
    expect(trustedFrontendLines(['192.168.0.0/16'])).toEqual([
      'http-request set-var(txn.fabric_client) req.hdr_ip(x-forwarded-for,-1) if { src 192.168.0.0/16 } { req.hdr_ip(x-forwarded-for,-1) -m found }',
    ]);
  });

  it('HAProxy: basicAuth names a userlist by the digest of its users; a change of users changes the lines', () => {
    const a = haproxyPolicyLines(parsed({ basicAuth: { realm: 'ops', users: [`alice:${BCRYPT}`] } }));
    const b = haproxyPolicyLines(parsed({ basicAuth: { realm: 'ops', users: [`alice:${SHA512}`] } }));
    expect(a[0]).toMatch(/^http-request auth realm ops unless \{ http_auth\(fabric_auth_[0-9a-f]{16}\) \}$/);
    expect(a[1]).toBe('http-request del-header Authorization');
    expect(a[0]).not.toBe(b[0]);
    const lists = userlistsOf([a, b, a, undefined]);
    expect(lists.map((l) => l.users)).toEqual([[{ name: 'alice', hash: BCRYPT }], [{ name: 'alice', hash: SHA512 }]]);
  });

  it('nginx: deny, allow, deny all; real_ip from the trusted proxies only in these locations; auth_basic with its file', () => {
    const lines = nginxAccessLines(parsed({ allow: ['10.0.0.0/8'], deny: ['10.1.0.0/16'], basicAuth: { realm: 'ops', users: [`alice:${BCRYPT}`] } }), {
      authFile: '/var/lib/fabric/nginx/auth/web.htpasswd',
      trustedProxies: ['192.168.0.0/16'],
    });
    expect(lines.slice(0, 6)).toEqual([
      'set_real_ip_from 192.168.0.0/16;',
      'real_ip_header X-Forwarded-For;',
      'deny 10.1.0.0/16;',
      'allow 10.0.0.0/8;',
      'deny all;',
      'auth_basic "ops";',
    ]);
    expect(lines[6]).toMatch(/^auth_basic_user_file \/var\/lib\/fabric\/nginx\/auth\/web\.htpasswd; # users [0-9a-f]{16}$/);
    expect(nginxAccessLines(parsed({ deny: ['10.1.0.0/16'] }), { authFile: '/x.htpasswd' })).toEqual(['deny 10.1.0.0/16;']);
    expect(htpasswd({ realm: 'ops', users: [`alice:${BCRYPT}`, `bob:${SHA512}`] })).toBe(`alice:${BCRYPT}\nbob:${SHA512}\n`);
  });

  it('a value that escaped the grammar is refused at render', () => {
    expect(() => haproxyAccessLines({ allow: ['10.0.0.0/8 }'] })).toThrow();
    expect(() => haproxyAccessLines({ basicAuth: { realm: 'ops', users: ['alice:hunter2'] } })).toThrow();
    expect(() => nginxAccessLines({ deny: ['10.1.2.3/8'] }, { authFile: '/x.htpasswd' })).toThrow();
    expect(() => nginxAccessLines({ basicAuth: { realm: 'o"ps', users: [`a:${BCRYPT}`] } }, { authFile: '/x.htpasswd' })).toThrow();
  });
});
