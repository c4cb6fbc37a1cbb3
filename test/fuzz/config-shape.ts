// The shape of a rendered HAProxy or nginx config, read the way each program tokenizes it
// (quotes, escapes, `#` comments), so a fuzzed value that slipped a newline, a quote, a `;` or a
// brace into a config shows up as a problem or as a directive no baseline render has.

export interface Shape {
  /** The first word of every statement (HAProxy: of every line), with its section or block. */
  directives: Set<string>;
  problems: string[];
}

/** A control character (CR, NUL, NEL, …) or a Unicode line separator: none belongs in a config. */
function breaksLine(text: string): boolean {
  return /[\p{Cc}\u2028\u2029]/u.test(text);
}

const HAPROXY_SECTIONS = new Set([
  'global',
  'defaults',
  'frontend',
  'backend',
  'listen',
  'userlist',
  'peers',
  'resolvers',
  'program',
  'http-errors',
  'cache',
  'ring',
  'mailers',
]);

/** HAProxy: one statement per line; a section keyword at column 0, everything else indented; quotes closed on their line. */
export function haproxyShape(text: string): Shape {
  const directives = new Set<string>();
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line.slice(0, 200))}`;
    if (breaksLine(line.replaceAll('\t', ''))) problems.push(`${where}: control or line-breaking character`);
    const words = haproxyWords(line);
    if (words === undefined) {
      problems.push(`${where}: unclosed quote`);
      return;
    }
    if (words.length === 0) return;
    const first = words[0]!;
    const indented = /^\s/.test(line);
    if (HAPROXY_SECTIONS.has(first)) {
      if (indented) problems.push(`${where}: section keyword indented`);
      directives.add(`section ${first}`);
    } else {
      if (!indented) problems.push(`${where}: a statement outside any section`);
      // Two words for the keywords that take a sub-keyword (`http-request set-header`, `timeout connect`, `option httpchk`).
      const two = /^(http-request|http-response|tcp-request|tcp-response|timeout|option|no|stats|http-check|http-after-response)$/.test(first);
      directives.add(two && words[1] !== undefined ? `${first} ${words[1]}` : first);
    }
  });
  return { directives, problems };
}

/** A line's words the way HAProxy splits them (quotes, backslash escapes, `#` comments); undefined: a quote left open. */
export function haproxyWords(line: string): string[] | undefined {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') word += line[++i] ?? '';
      else word += c;
      continue;
    }
    if (c === '#') break;
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === '"' || c === "'") quote = c;
    else if (c === '\\') word += line[++i] ?? '';
    else word += c;
  }
  if (quote) return undefined;
  if (inWord) words.push(word);
  return words;
}

/** A map file: `key value` per line, both bare tokens. */
export function mapProblems(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .filter((line) => !/^[A-Za-z0-9._:/[\]@~-]+ [A-Za-z0-9._:/[\]@~-]+$/.test(line))
    .map((line) => `map line ${JSON.stringify(line)}`);
}

/**
 * nginx: statements end with `;`, blocks open with `{` and close with `}` (outside quotes and
 * comments); the braces balance, and each statement's first word is recorded with its block
 * (`http/server/location: proxy_pass`). Inside `map` and `types` blocks statements are data (two words).
 */
export function nginxShape(text: string): Shape {
  const directives = new Set<string>();
  const problems: string[] = [];
  const blocks: string[] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  let line = 1;
  const endWord = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const statement = (end: ';' | '{') => {
    endWord();
    const block = blocks.at(-1);
    if (words.length === 0) problems.push(`line ${line}: empty statement before ${end}`);
    else if (block === 'map' || block === 'types') {
      if (end !== ';' || words.length !== 2) problems.push(`line ${line}: a ${block} entry of ${words.length} words: ${JSON.stringify(words)}`);
    } else directives.add(`${blocks.join('/')}: ${words[0]}`);
    if (end === '{') blocks.push(words[0] ?? '?');
    words = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') line++;
    if (c !== '\n' && c !== '\t' && breaksLine(c)) problems.push(`line ${line}: control or line-breaking character ${JSON.stringify(c)}`);
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\') word += text[++i] ?? '';
      else if (c === '\n') problems.push(`line ${line}: a newline inside a quoted string`);
      else word += c;
      continue;
    }
    if (c === '#') {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
      continue;
    }
    if (c === ';' || c === '{') statement(c);
    else if (c === '}') {
      endWord();
      if (words.length > 0) problems.push(`line ${line}: statement without ";" before "}": ${JSON.stringify(words)}`);
      words = [];
      if (blocks.pop() === undefined) problems.push(`line ${line}: "}" closes nothing`);
    } else if (/\s/.test(c)) endWord();
    else {
      inWord = true;
      if ((c === '"' || c === "'") && word === '') quote = c;
      else if (c === '\\') word += text[++i] ?? '';
      else word += c;
    }
  }
  endWord();
  if (quote) problems.push('a quote left open at the end');
  if (words.length > 0) problems.push(`a statement left open at the end: ${JSON.stringify(words)}`);
  if (blocks.length > 0) problems.push(`blocks left open at the end: ${blocks.join('/')}`);
  return { directives, problems };
}
