// The fuzz surfaces' injection detectors (config-shape.ts) catch what they must: a value that
// slipped a newline, a quote, a `;` or a brace into a config.
import { describe, expect, it } from 'vitest';
import { haproxyShape, mapProblems, nginxShape } from './config-shape.js';

describe('config shape', () => {
  it('HAProxy: a split line, an open quote, a statement outside a section, a control character', () => {
    const clean = haproxyShape('global\n  maxconn 10\nbackend b\n  http-request set-header X "a b # c"\n');
    expect(clean.problems).toEqual([]);
    expect([...clean.directives]).toEqual(['section global', 'maxconn', 'section backend', 'http-request set-header']);
    expect(haproxyShape('backend b\n  server s1 1.2.3.4:80\nuse-service x\n').problems).toHaveLength(1);
    expect(haproxyShape('backend b\n  http-request set-header X "a\n').problems[0]).toMatch(/unclosed quote/);
    expect(haproxyShape('backend b\n  server s1 1.2.3.4:80\r\n').problems[0]).toMatch(/control/);
    expect(haproxyShape('backend b\n  server s1 x\n  acl evil always_true\n').directives.has('acl')).toBe(true);
  });

  it('nginx: braces and semicolons balance outside quotes and comments; map entries are two words', () => {
    const clean = nginxShape('http {\n  # a comment with { and ;\n  add_header X "a;b{}";\n  map $a $b {\n    default x;\n  }\n}\n');
    expect(clean.problems).toEqual([]);
    expect([...clean.directives]).toEqual([': http', 'http: add_header', 'http: map']);
    expect(nginxShape('http {\n  server_name a;b;\n}\n').directives.has('http: b')).toBe(true);
    expect(nginxShape('http {\n  location / { return 200; }\n  }\n}\n').problems.join()).toMatch(/closes nothing/);
    expect(nginxShape('http {\n  return 200 "x\n";\n}\n').problems.join()).toMatch(/newline inside a quoted string/);
    expect(nginxShape('http {\n  map $a $b {\n    a b c;\n  }\n}\n').problems.join()).toMatch(/map entry of 3 words/);
    expect(nginxShape('http {\n  server_name a\n}\n').problems.join()).toMatch(/without ";"/);
  });

  it('maps: two bare tokens a line', () => {
    expect(mapProblems('a.example.com svc_web\n')).toEqual([]);
    expect(mapProblems('a.example.com svc_web extra\n')).toHaveLength(1);
    expect(mapProblems('a.example.com\tsvc_web\n')).toHaveLength(1);
  });
});
