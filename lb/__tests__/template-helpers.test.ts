// confd's template functions as Handlebars helpers, table-driven as in confd's template_test.go:
// template text + keys → the expected output, or the expected error code (and the key it names).
import { describe, expect, it } from 'vitest';
import { FabricError } from '../../src/errors.js';
import { compileTemplate, createTemplateEngine } from '../render.js';
import { MemoryKeyValues } from '../template/kv.js';
import { formatGoLayout } from '../template/system.js';

interface Case {
  name: string;
  template: string;
  keys?: Record<string, string>;
  /** Render without `data.kv`, as a target that reads no keys does. */
  noKeys?: true;
  view?: unknown;
  /** Expected output… */
  expected?: string;
  /** …or expected error code, and text its message must contain. */
  error?: { code: string; contains?: string };
}

const NOW = new Date(2015, 0, 23, 13, 34, 56, 93);

const engine = createTemplateEngine({
  env: { HOSTNAME: 'box1', EMPTY: '' },
  now: () => NOW,
  resolve: (name) => (name === 'db.internal' ? ['10.0.0.7', '10.0.0.8'] : []),
});

function render(c: Case): string {
  const template = compileTemplate(engine, c.template, `case "${c.name}"`);
  return template(c.view ?? {}, c.noKeys ? {} : { kv: new MemoryKeyValues(Object.entries(c.keys ?? {})) });
}

const services = {
  '/services/web/cust1/2': '{"IP": "10.0.0.2"}',
  '/services/web/cust2/2': '{"IP": "10.0.0.4"}',
  '/services/web/cust2/1': '{"IP": "10.0.0.3"}',
  '/services/web/cust1/1': '{"IP": "10.0.0.1"}',
};

const cases: Case[] = [
  // ---- keys
  { name: 'getv', template: '{{getv "/key"}}', keys: { '/key': 'value' }, expected: 'value' },
  { name: 'getv default unused', template: '{{getv "/key" "dflt"}}', keys: { '/key': 'value' }, expected: 'value' },
  { name: 'getv default used', template: '{{getv "/nokey" "dflt"}}', keys: {}, expected: 'dflt' },
  { name: 'getv empty default', template: '[{{getv "/nokey" ""}}]', expected: '[]' },
  { name: 'getv empty value is a value', template: '[{{getv "/key" "dflt"}}]', keys: { '/key': '' }, expected: '[]' },
  { name: 'getv missing', template: 'a={{getv "/nokey"}}', error: { code: 'FABRIC_ERR_MISSING_KEY', contains: '"/nokey"' } },
  { name: 'get', template: '{{#with (get "/key")}}{{base Key}}={{Value}}{{/with}}', keys: { '/a/key': 'x', '/key': 'v' }, expected: 'key=v' },
  { name: 'get missing', template: '{{#with (get "/gone")}}{{Value}}{{/with}}', error: { code: 'FABRIC_ERR_MISSING_KEY', contains: '"/gone"' } },
  {
    name: 'missing key inside each',
    template: '{{#each (ls "/a")}}{{getv (printf "/a/%s/port" this)}}{{/each}}',
    keys: { '/a/x/host': 'h' },
    error: { code: 'FABRIC_ERR_MISSING_KEY', contains: '"/a/x/port"' },
  },
  { name: 'exists', template: '{{#if (exists "/key")}}yes{{/if}}{{#unless (exists "/nokey")}} no{{/unless}}', keys: { '/key': '' }, expected: 'yes no' },
  {
    name: 'gets',
    template: '{{#each (gets "/app/upstream/*")}}{{Key}}={{Value}};{{/each}}',
    keys: { '/app/upstream/app2': 'b', '/app/upstream/app1': 'a', '/app/upstream/x/deep': 'no', '/app/upstreamer': 'no' },
    expected: '/app/upstream/app1=a;/app/upstream/app2=b;',
  },
  { name: 'gets exact key', template: '{{#each (gets "/key")}}{{Value}}{{/each}}', keys: { '/key': 'v', '/key2': 'w' }, expected: 'v' },
  { name: 'gets ? and class', template: '{{join (getvs "/n/[ab]?") ","}}', keys: { '/n/a1': '1', '/n/b2': '2', '/n/c3': '3', '/n/a12': '4' }, expected: '1,2' },
  { name: 'gets nothing is empty', template: '[{{#each (gets "/none/*")}}x{{/each}}]', keys: { '/key': 'v' }, expected: '[]' },
  {
    name: 'getvs',
    template: '{{#each (getvs "/app/upstream/*")}}server {{this}};\n{{/each}}',
    keys: { '/app/upstream/app1': '10.0.1.100:80', '/app/upstream/app2': '10.0.1.101:80' },
    expected: 'server 10.0.1.100:80;\nserver 10.0.1.101:80;\n',
  },
  {
    name: 'ls',
    template: '{{join (ls "/deis/services") ","}}',
    keys: { '/deis/services/b': '1', '/deis/services/a/x': '2', '/deis/servicesX/c': '3' },
    expected: 'a,b',
  },
  { name: 'ls trailing slash', template: '{{join (ls "/deis/services/") ","}}', keys: { '/deis/services/b': '1', '/deis/services/a/x': '2' }, expected: 'a,b' },
  { name: 'ls missing dir', template: '[{{join (ls "/nothing") ","}}]', keys: { '/key': 'v' }, expected: '[]' },
  {
    name: 'lsdir',
    template: '{{join (lsdir "/deis/services") ","}}',
    keys: { '/deis/services/b': '1', '/deis/services/a/x': '2', '/deis/services/c/y/z': '3' },
    expected: 'a,c',
  },
  {
    name: 'lsdir + gets + json (confd complex example)',
    template:
      '{{#each (lsdir "/services/web")}}upstream {{base this}} {\n' +
      // `}}}` would close a triple-stash: `~` (whitespace control) lets the brace follow the block.
      '{{#each (gets (printf "/services/web/%s/*" this))}}{{#with (json Value)}}    server {{IP}}:80;\n{{/with}}{{/each~}}\n}\n{{/each}}',
    keys: services,
    expected: 'upstream cust1 {\n    server 10.0.0.1:80;\n    server 10.0.0.2:80;\n}\nupstream cust2 {\n    server 10.0.0.3:80;\n    server 10.0.0.4:80;\n}\n',
  },
  { name: 'no keys given', template: '{{getv "/key"}}', noKeys: true, error: { code: 'FABRIC_ERR_RENDER', contains: 'without keys' } },

  // ---- paths and strings
  { name: 'base', template: '{{base "/a/b/c"}} {{base "/a/b/"}} {{base "/"}} [{{base ""}}]', expected: 'c b / [.]' },
  { name: 'dir', template: '{{dir "/services/data/url"}} {{dir "/a"}} {{dir "a"}} {{dir "/a/b/"}}', expected: '/services/data / . /a/b' },
  {
    name: 'split + lookup',
    template: '{{#with (split (getv "/svc") ":")}}host: {{lookup this 0}} port: {{lookup this 1}}{{/with}}',
    keys: { '/svc': '10.0.0.1:8080' },
    expected: 'host: 10.0.0.1 port: 8080',
  },
  { name: 'split empty separator', template: '{{join (split "abc" "") "-"}}', expected: 'a-b-c' },
  {
    name: 'join getvs',
    template: 'services: {{join (getvs "/es/*") ","}}',
    keys: { '/es/1': 'a:9200', '/es/2': 'b:9200' },
    expected: 'services: a:9200,b:9200',
  },
  { name: 'join needs a list', template: '{{join "abc" ","}}', error: { code: 'FABRIC_ERR_RENDER', contains: 'join: expected a list' } },
  { name: 'toUpper toLower', template: '{{toUpper "value"}} {{toLower "VaLuE"}}', expected: 'VALUE value' },
  { name: 'contains', template: '{{#if (contains "hello world" "o w")}}y{{/if}}{{#if (contains "abc" "x")}}n{{/if}}', expected: 'y' },
  { name: 'replace all', template: '{{replace (getv "/b") "-" "_" -1}}', keys: { '/b': 'my-nginx-backend' }, expected: 'my_nginx_backend' },
  { name: 'replace first n', template: '{{replace "a-b-c-d" "-" "_" 2}}', expected: 'a_b_c-d' },
  { name: 'replace empty old', template: '{{replace "ab" "" "_" -1}}', expected: '_a_b_' },
  { name: 'trimSuffix', template: '{{trimSuffix "web.example.com" ".example.com"}} {{trimSuffix "web" ".com"}}', expected: 'web web' },
  { name: 'printf', template: '{{printf "%s:%d %q %%" "h" 80 "x"}}', expected: 'h:80 "x" %' },
  { name: 'printf missing arg', template: '{{printf "%s-%s" "a"}}', expected: 'a-%!s(MISSING)' },
  { name: 'base64Encode', template: '{{base64Encode "Value"}}', expected: 'VmFsdWU=' },
  { name: 'base64Decode', template: '{{base64Decode "VmFsdWU="}}', expected: 'Value' },
  { name: 'base64Decode invalid', template: '{{base64Decode "not base64!"}}', error: { code: 'FABRIC_ERR_RENDER', contains: 'base64Decode' } },

  // ---- data
  {
    name: 'json object traversal',
    template: '{{#with (json (getv "/test/data"))}}{{#each animals}}{{name}}({{type}}) {{/each}}{{lookup (lookup animals 1) "name"}}{{/with}}',
    keys: { '/test/data': '{"animals":[{"type":"dog","name":"Fido"},{"type":"cat","name":"Misse"}]}' },
    expected: 'Fido(dog) Misse(cat) Misse',
  },
  {
    name: 'json invalid',
    template: '{{#with (json (getv "/k"))}}{{a}}{{/with}}',
    keys: { '/k': '{nope' },
    error: { code: 'FABRIC_ERR_RENDER', contains: 'json: not JSON' },
  },
  { name: 'json wants an object', template: '{{#with (json "[1]")}}x{{/with}}', error: { code: 'FABRIC_ERR_RENDER', contains: 'JSON object' } },
  {
    name: 'jsonArray',
    template: '{{#each (jsonArray (getv "/arr"))}}val: {{this}}\n{{/each}}',
    keys: { '/arr': '["a", "b", "c"]' },
    expected: 'val: a\nval: b\nval: c\n',
  },
  { name: 'jsonArray wants an array', template: '{{#each (jsonArray "{}")}}x{{/each}}', error: { code: 'FABRIC_ERR_RENDER', contains: 'JSON array' } },
  { name: 'toJson', template: '{{toJson view}}', view: { view: { a: [1, 'b'] } }, expected: '{"a":[1,"b"]}' },
  { name: 'map', template: '{{#with (map "name" "elasticsearch" "private_port" 9200)}}{{name}}:{{private_port}}{{/with}}', expected: 'elasticsearch:9200' },
  { name: 'map hash form', template: '{{#with (map name="es" port=9200)}}{{name}}:{{port}}{{/with}}', expected: 'es:9200' },
  { name: 'map odd arguments', template: '{{#with (map "name")}}{{name}}{{/with}}', error: { code: 'FABRIC_ERR_RENDER', contains: 'key/value pairs' } },
  {
    name: 'parseBool',
    template: '{{#if (parseBool (getv "/on"))}}on{{/if}}{{#unless (parseBool "F")}} off{{/unless}}',
    keys: { '/on': 'TRUE' },
    expected: 'on off',
  },
  { name: 'parseBool invalid', template: '{{#if (parseBool "yes")}}x{{/if}}', error: { code: 'FABRIC_ERR_RENDER', contains: '"yes" is not a boolean' } },
  { name: 'atoi', template: '{{add (atoi (getv "/n")) 1}}', keys: { '/n': '41' }, expected: '42' },
  { name: 'atoi invalid', template: '{{atoi "4x"}}', error: { code: 'FABRIC_ERR_RENDER', contains: 'atoi' } },

  // ---- numbers
  { name: 'arithmetic', template: '{{add 2 3}} {{sub 2 3}} {{mul 4 5}} {{div 7 2}} {{div -7 2}} {{mod 7 3}} {{mod -7 3}}', expected: '5 -1 20 3 -3 1 -1' },
  { name: 'arithmetic on key text', template: '{{mul (getv "/w") 2}}', keys: { '/w': '50' }, expected: '100' },
  { name: 'div by zero', template: '{{div 1 0}}', error: { code: 'FABRIC_ERR_RENDER', contains: 'divide by zero' } },
  { name: 'add non-number', template: '{{add "x" 1}}', error: { code: 'FABRIC_ERR_RENDER', contains: 'add: expected an integer' } },
  { name: 'seq', template: '{{#each (seq 3 5)}}{{this}} {{/each}}|{{#each (seq 5 3)}}x{{/each}}', expected: '3 4 5 |' },
  { name: 'wrong argument count', template: '{{add 1}}', error: { code: 'FABRIC_ERR_RENDER', contains: 'add: takes 2 arguments, got 1' } },

  // ---- Go's built-ins
  {
    name: 'and or not',
    template: '{{#if (and (exists "/a") (not (exists "/b")))}}a-not-b{{/if}} {{or (getv "/b" "") "fallback"}}',
    keys: { '/a': '1' },
    expected: 'a-not-b fallback',
  },
  { name: 'len', template: '{{len (getvs "/n/*")}} {{len "abc"}}', keys: { '/n/1': 'x', '/n/2': 'y' }, expected: '2 3' },
  {
    name: 'lt gt on numbers and key text',
    template: '{{#if (gt (getv "/w") 9)}}big{{/if}} {{#if (lt "abc" "abd")}}lt{{/if}} {{#if (ge 3 3)}}ge{{/if}}',
    keys: { '/w': '10' },
    expected: 'big lt ge',
  },
  { name: 'empty list is false', template: '{{#if (and (gets "/none/*") true)}}x{{else}}empty{{/if}}', keys: {}, expected: 'empty' },

  // ---- environment, time, DNS
  {
    name: 'getenv',
    template: '{{getenv "HOSTNAME"}} [{{getenv "NOPE"}}] {{getenv "NOPE" "127.0.0.1"}} {{getenv "EMPTY" "d"}}',
    expected: 'box1 [] 127.0.0.1 d',
  },
  { name: 'datetime', template: '{{datetime}}', expected: NOW.toISOString() },
  { name: 'datetime layout', template: '{{datetime "2006-01-02 15:04:05.000"}}', expected: '2015-01-23 13:34:56.093' },
  { name: 'datetime Go example', template: '{{datetime "Jan 2, 2006 at 3:04pm"}}', expected: 'Jan 23, 2015 at 1:34pm' },
  { name: 'lookupIP literal', template: '{{join (lookupIP "192.0.2.1") ","}}', expected: '192.0.2.1' },
  { name: 'lookupIP name', template: '{{#each (lookupIP "db.internal")}}server {{this}};{{/each}}', expected: 'server 10.0.0.7;server 10.0.0.8;' },
  { name: 'lookupIP unknown', template: '[{{join (lookupIP "nx.internal") ","}}]', expected: '[]' },
  { name: 'lookupIP not a name', template: '{{lookupIP "-x"}}', error: { code: 'FABRIC_ERR_RENDER', contains: 'not a host name' } },

  // ---- fabric's own
  { name: 'eq ne', template: '{{#if (eq a "x")}}eq{{/if}}{{#if (ne a "y")}} ne{{/if}}', view: { a: 'x' }, expected: 'eq ne' },
  { name: 'strict: missing field', template: '{{nope}}', error: { code: 'FABRIC_ERR_RENDER', contains: 'nope' } },
];

describe('confd helpers', () => {
  for (const c of cases) {
    it(c.name, () => {
      if (c.error) {
        let thrown: unknown;
        try {
          render(c);
        } catch (err) {
          thrown = err;
        }
        expect(thrown, 'an error').toBeInstanceOf(FabricError);
        expect((thrown as FabricError).code).toBe(c.error.code);
        expect((thrown as FabricError).message).toContain(`case "${c.name}"`);
        if (c.error.contains) expect((thrown as FabricError).message).toContain(c.error.contains);
      } else {
        expect(render(c)).toBe(c.expected);
      }
    });
  }

  it('names the missing key in the error details, for status and logs', () => {
    try {
      render({ name: 'details', template: '{{getv "/app/port"}}' });
      expect.unreachable();
    } catch (err) {
      expect((err as FabricError).toJSON()).toMatchObject({ code: 'FABRIC_ERR_MISSING_KEY', details: { key: '/app/port' } });
    }
  });

  it('reports a syntax error when the template is compiled, not at its first render', () => {
    expect(() => compileTemplate(engine, '{{#each x}}', 'broken')).toThrow(/template broken/);
  });

  it('formats Go layouts with zone offsets', () => {
    const d = new Date(Date.UTC(2020, 1, 3, 4, 5, 6));
    const offset = -d.getTimezoneOffset();
    const expectedOffset = `${offset < 0 ? '-' : '+'}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0')}${String(Math.abs(offset) % 60).padStart(2, '0')}`;
    expect(formatGoLayout(d, '-0700')).toBe(expectedOffset);
    expect(formatGoLayout(d, 'Monday January _2')).toMatch(/^[A-Z][a-z]+day February {0,1} ?\d{1,2}$/);
  });
});

describe('lookupIP against the system resolver', () => {
  it('resolves localhost through getent (NSS: /etc/hosts), synchronously', () => {
    const real = createTemplateEngine();
    const out = compileTemplate(real, '{{join (lookupIP "localhost") ","}}', 'real')({}, {});
    expect(out.split(',')).toContain('127.0.0.1');
  });

  it('gives no addresses for a name that does not resolve', () => {
    const real = createTemplateEngine();
    expect(compileTemplate(real, '[{{join (lookupIP "no-such-host.invalid") ","}}]', 'real')({}, {})).toBe('[]');
  });
});

// The Handlebars side of docs/porting-from-confd.md, "Side by side", with the keys shown there.
describe('porting examples', () => {
  const examples: Case[] = [
    {
      name: 'getv with a default',
      template: 'worker_processes {{getv "/nginx/worker_processes"}};\nlisten {{getv "/nginx/port" "80"}};\n',
      keys: { '/nginx/worker_processes': '2' },
      expected: 'worker_processes 2;\nlisten 80;\n',
    },
    {
      name: 'range over gets',
      template: 'upstream app {\n{{#each (gets "/app/upstream/*")}}\n    server {{Value}}; # {{base Key}}\n{{/each}}\n}\n',
      keys: { '/app/upstream/app1': '10.0.1.100:80', '/app/upstream/app2': '10.0.1.101:80' },
      expected: 'upstream app {\n    server 10.0.1.100:80; # app1\n    server 10.0.1.101:80; # app2\n}\n',
    },
    {
      name: 'lsdir and a nested getv',
      template:
        '{{#each (lsdir "/services/web")}}\nupstream {{base this}} {\n' +
        '    server {{getv (printf "/services/web/%s/host" this)}}:{{getv (printf "/services/web/%s/port" this)}};\n}\n{{/each}}\n',
      keys: {
        '/services/web/cust1/host': '10.0.0.1',
        '/services/web/cust1/port': '8080',
        '/services/web/cust2/host': '10.0.0.2',
        '/services/web/cust2/port': '8081',
      },
      expected: 'upstream cust1 {\n    server 10.0.0.1:8080;\n}\nupstream cust2 {\n    server 10.0.0.2:8081;\n}\n',
    },
    {
      name: 'parsing JSON values',
      template:
        '{{#each (gets "/services/zookeeper/*")}}\n{{#with (json Value)}}\nserver.{{Id}}={{IP}}\n{{/with}}\n{{/each}}\n' +
        'ports: {{#each (jsonArray (getv "/config/ports"))}}{{this}} {{/each}}\n',
      keys: {
        '/services/zookeeper/host1': '{"Id":"host1", "IP":"192.168.10.11"}',
        '/services/zookeeper/host2': '{"Id":"host2", "IP":"192.168.10.12"}',
        '/config/ports': '[2181, 2888, 3888]',
      },
      expected: 'server.host1=192.168.10.11\nserver.host2=192.168.10.12\nports: 2181 2888 3888 \n',
    },
    {
      name: 'split and join',
      template:
        '{{#with (split (getv "/deis/service") ":")}}\nhost: {{lookup this 0}}\nport: {{lookup this 1}}\n{{/with}}\nhosts: {{join (getvs "/es/*") ","}}\n',
      keys: { '/deis/service': '10.0.0.5:5000', '/es/1': 'es1:9200', '/es/2': 'es2:9200' },
      expected: 'host: 10.0.0.5\nport: 5000\nhosts: es1:9200,es2:9200\n',
    },
    {
      name: 'conditionals',
      template:
        '{{#if (exists "/app/tls")}}\n{{#if (parseBool (getv "/app/tls"))}}\nssl_certificate {{getv "/app/cert"}};\n{{/if}}\n{{else}}\n# plain HTTP\n{{/if}}\n' +
        '{{#if (gt (atoi (getv "/app/workers")) 4)}}\nworker_connections {{mul (getv "/app/workers") 1024}};\n{{/if}}\n',
      keys: { '/app/tls': 'true', '/app/cert': '/etc/ssl/app.pem', '/app/workers': '8' },
      expected: 'ssl_certificate /etc/ssl/app.pem;\nworker_connections 8192;\n',
    },
  ];
  for (const example of examples) {
    it(example.name, () => expect(render(example)).toBe(example.expected));
  }

  it('conditionals, the other branch', () => {
    const c = examples.find((e) => e.name === 'conditionals')!;
    expect(render({ ...c, keys: { '/app/workers': '2' } })).toBe('# plain HTTP\n');
  });
});
