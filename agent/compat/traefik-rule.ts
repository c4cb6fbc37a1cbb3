/**
 * A small parser for the part of Traefik's router rule language fabric can serve:
 * `Host(…)` (one or more names), `PathPrefix(…)`, `&&`, `||` and parentheses, strings in
 * backticks or double quotes. Pure and total: it never throws; what it does not understand
 * (other matchers, `!`, two paths, a host-less branch) is refused with a reason.
 */
export type RuleResult = { ok: true; hosts: string[]; path: string | undefined } | { ok: false; reason: string };

type Node = { kind: 'or' | 'and'; items: Node[] } | { kind: 'host'; names: string[] } | { kind: 'path'; prefix: string };
type Token = { kind: 'open' | 'close' | 'comma' | 'or' | 'and' | 'not' } | { kind: 'word' | 'string'; text: string };

const MAX_RULE = 4_096;
const MAX_DEPTH = 32;
/** `(A||B) && (C||D) && …` multiplies out; past this many alternatives the rule is refused. */
const MAX_BRANCHES = 256;
const MATCHERS_KNOWN_TO_TRAEFIK =
  /^(HostRegexp|HostHeader|Path|PathRegexp|PathPrefixRegexp|Method|Header|HeaderRegexp|Headers|HeadersRegexp|Query|QueryRegexp|ClientIP|HostSNI|HostSNIRegexp|ALPN)$/;

class RuleError extends Error {}

export function parseTraefikRule(rule: string): RuleResult {
  try {
    if (rule.length > MAX_RULE) throw new RuleError(`rule longer than ${MAX_RULE} characters`);
    const tokens = tokenize(rule);
    const parser = new Parser(tokens);
    const tree = parser.parse();
    return { ok: true, ...flatten(tree) };
  } catch (err) {
    if (err instanceof RuleError) return { ok: false, reason: err.message };
    return { ok: false, reason: `rule not understood: ${(err as Error).message}` };
  }
}

const PUNCTUATION: Array<[string, Token['kind']]> = [
  ['||', 'or'],
  ['&&', 'and'],
  ['(', 'open'],
  [')', 'close'],
  [',', 'comma'],
  ['!', 'not'],
];

function tokenize(rule: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < rule.length) {
    const c = rule[i]!;
    const punctuation = PUNCTUATION.find(([text]) => rule.startsWith(text, i));
    if (/\s/.test(c)) {
      i += 1;
    } else if (punctuation) {
      tokens.push({ kind: punctuation[1] } as Token);
      i += punctuation[0].length;
    } else if (c === '`' || c === '"') {
      const end = rule.indexOf(c, i + 1);
      if (end < 0) throw new RuleError(`unterminated string at character ${i + 1}`);
      tokens.push({ kind: 'string', text: rule.slice(i + 1, end) });
      i = end + 1;
    } else if (/[A-Za-z]/.test(c)) {
      const word = /^[A-Za-z]+/.exec(rule.slice(i))![0];
      tokens.push({ kind: 'word', text: word });
      i += word.length;
    } else {
      throw new RuleError(`unexpected "${c}" at character ${i + 1}`);
    }
  }
  return tokens;
}

class Parser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Node {
    if (this.tokens.length === 0) throw new RuleError('empty rule');
    const node = this.or(0);
    if (this.at < this.tokens.length) throw new RuleError(`unexpected ${describe(this.tokens[this.at]!)} after a complete rule`);
    return node;
  }

  private or(depth: number): Node {
    const items = [this.and(depth)];
    while (this.peek()?.kind === 'or') {
      this.at += 1;
      items.push(this.and(depth));
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  }

  private and(depth: number): Node {
    const items = [this.atom(depth)];
    while (this.peek()?.kind === 'and') {
      this.at += 1;
      items.push(this.atom(depth));
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  }

  private atom(depth: number): Node {
    if (depth > MAX_DEPTH) throw new RuleError(`parentheses nested deeper than ${MAX_DEPTH}`);
    const token = this.next();
    if (token.kind === 'not') throw new RuleError('"!" (negation) is not supported by fabric');
    if (token.kind === 'open') {
      const inner = this.or(depth + 1);
      this.expect('close');
      return inner;
    }
    if (token.kind !== 'word') throw new RuleError(`expected a matcher, got ${describe(token)}`);
    const args = this.args();
    if (token.text === 'Host') {
      if (args.length === 0) throw new RuleError('Host() needs a name');
      return { kind: 'host', names: args };
    }
    if (token.text === 'PathPrefix') {
      if (args.length !== 1) throw new RuleError('PathPrefix() takes one path in fabric');
      return { kind: 'path', prefix: args[0]! };
    }
    if (MATCHERS_KNOWN_TO_TRAEFIK.test(token.text)) throw new RuleError(`${token.text}() is not supported by fabric (only Host and PathPrefix)`);
    throw new RuleError(`unknown matcher ${token.text}()`);
  }

  private args(): string[] {
    this.expect('open');
    const args: string[] = [];
    if (this.peek()?.kind === 'close') {
      this.at += 1;
      return args;
    }
    for (;;) {
      const token = this.next();
      if (token.kind !== 'string') throw new RuleError(`expected a quoted string, got ${describe(token)}`);
      args.push(token.text);
      const after = this.next();
      if (after.kind === 'close') return args;
      if (after.kind !== 'comma') throw new RuleError(`expected "," or ")", got ${describe(after)}`);
    }
  }

  private peek(): Token | undefined {
    return this.tokens[this.at];
  }

  private next(): Token {
    const token = this.tokens[this.at];
    if (!token) throw new RuleError('the rule ends too early');
    this.at += 1;
    return token;
  }

  private expect(kind: Token['kind']): void {
    const token = this.next();
    if (token.kind !== kind) throw new RuleError(`expected ${describe({ kind } as Token)}, got ${describe(token)}`);
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'open':
      return '"("';
    case 'close':
      return '")"';
    case 'comma':
      return '","';
    case 'or':
      return '"||"';
    case 'and':
      return '"&&"';
    case 'not':
      return '"!"';
    case 'word':
      return `"${token.text}"`;
    case 'string':
      return 'a string';
  }
}

type Atom = { kind: 'host'; name: string } | { kind: 'path'; prefix: string };

/** The rule as alternatives (OR of ANDs), each one host and at most one path; every alternative must share the path. */
function flatten(tree: Node): { hosts: string[]; path: string | undefined } {
  const branches = alternatives(tree);
  const hosts: string[] = [];
  const paths = new Set<string | undefined>();
  for (const branch of branches) {
    const branchHosts = new Set(branch.flatMap((a) => (a.kind === 'host' ? [a.name.toLowerCase()] : [])));
    const branchPaths = new Set(branch.flatMap((a) => (a.kind === 'path' ? [a.prefix] : [])));
    if (branchHosts.size === 0) throw new RuleError('every alternative of the rule needs a Host(): fabric routes by host');
    if (branchHosts.size > 1) throw new RuleError(`Host(${[...branchHosts].join(') && Host(')}) can never match`);
    if (branchPaths.size > 1) throw new RuleError('two PathPrefix() in one alternative are not supported by fabric');
    hosts.push(...branchHosts);
    const [path] = branchPaths;
    paths.add(path === '/' ? undefined : path);
  }
  if (paths.size > 1) throw new RuleError('alternatives with different PathPrefix() are not supported: fabric routes one path prefix per container');
  const [path] = paths;
  return { hosts: [...new Set(hosts)], path };
}

function alternatives(node: Node): Atom[][] {
  switch (node.kind) {
    case 'host':
      return node.names.map((name) => [{ kind: 'host', name }]);
    case 'path':
      return [[{ kind: 'path', prefix: node.prefix }]];
    case 'or':
      return bounded(node.items.flatMap(alternatives));
    case 'and': {
      let product: Atom[][] = [[]];
      for (const item of node.items) {
        const choices = alternatives(item);
        product = bounded(product.flatMap((left) => choices.map((right) => [...left, ...right])));
      }
      return product;
    }
  }
}

function bounded(branches: Atom[][]): Atom[][] {
  if (branches.length > MAX_BRANCHES) throw new RuleError(`the rule has more than ${MAX_BRANCHES} alternatives`);
  return branches;
}
