import { type Item, type ItemType, lex } from './lex.js';
import {
  type Arg,
  argString,
  type BranchNode,
  type CommandNode,
  isEmptyTree,
  type ListNode,
  type Node,
  type NumberNode,
  type PipeNode,
  type VariableNode,
} from './nodes.js';
import { parseNumber } from './numbers.js';
import { QuoteSyntaxError, quote, unquote } from './quote.js';

/**
 * The text/template parser (text/template/parse/parse.go): items → one tree
 * per template (the file's own, plus every {{define}} and {{block}}).
 */

/** A parse error: where (offset in the text), and Go's message. */
export class ParseError extends Error {
  constructor(
    message: string,
    readonly pos: number,
    readonly line: number,
  ) {
    super(message);
  }
}

export type TreeSet = Map<string, ListNode>;

/** Offsets of the items; `hasFunction` says whether an identifier names a function. */
export function parse(name: string, text: string, hasFunction: (name: string) => boolean, parseName = name): TreeSet {
  const trees: TreeSet = new Map();
  new Parser(lex(text), hasFunction, trees, parseName).parseTop(name);
  return trees;
}

class Parser {
  private i = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private actionLine = 0;

  constructor(
    private readonly items: Item[],
    private readonly hasFunction: (name: string) => boolean,
    private readonly trees: TreeSet,
    /** The file, as errors name it. */
    private readonly parseName: string,
  ) {}

  private next(): Item {
    const item = this.items[this.i]!;
    if (this.i < this.items.length - 1) this.i++;
    else this.i = this.items.length; // past the last (eof or error): next() keeps returning it
    return item;
  }

  private current(): Item {
    return this.items[Math.min(this.i, this.items.length - 1)]!;
  }

  private backup(): void {
    this.i--;
  }

  private peek(): Item {
    return this.current();
  }

  private nextNonSpace(): Item {
    let item = this.next();
    while (item.type === 'space') item = this.next();
    return item;
  }

  private peekNonSpace(): Item {
    const item = this.nextNonSpace();
    this.backup();
    return item;
  }

  private errorf(message: string, at: Item = this.items[Math.max(0, Math.min(this.i, this.items.length) - 1)]!): never {
    throw new ParseError(message, at.pos, at.line);
  }

  private expect(type: ItemType, context: string): Item {
    const item = this.nextNonSpace();
    if (item.type !== type) this.unexpected(item, context);
    return item;
  }

  private unexpected(item: Item, context: string): never {
    if (item.type === 'error') {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== item.line) {
        extra = ` in action started at ${this.parseName}:${this.actionLine}`;
        if (item.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${item.val}${extra}`, item);
    }
    this.errorf(`unexpected ${itemString(item)} in ${context}`, item);
  }

  /** A tree goes in the set unless a non-empty one of that name is there already. */
  private add(name: string, root: ListNode): void {
    const existing = this.trees.get(name);
    if (!existing || isEmptyTree(existing)) {
      this.trees.set(name, root);
      return;
    }
    if (!isEmptyTree(root)) this.errorf(`template: multiple definition of template ${JSON.stringify(name)}`);
  }

  parseTop(name: string): void {
    const root: ListNode = { type: 'list', pos: this.peek().pos, nodes: [] };
    while (this.peek().type !== 'eof') {
      if (this.peek().type === 'leftDelim') {
        const mark = this.i;
        this.next();
        if (this.nextNonSpace().type === 'define') {
          this.parseDefinition();
          continue;
        }
        this.i = mark;
      }
      const n = this.textOrAction();
      if (isEndOrElse(n)) this.errorf(`unexpected ${n.type === 'end' ? '{{end}}' : '{{else}}'}`);
      else root.nodes.push(n);
    }
    this.add(name, root);
  }

  private parseDefinition(): void {
    const context = 'define clause';
    const saved = this.vars;
    this.vars = ['$'];
    const nameItem = this.nextNonSpace();
    if (nameItem.type !== 'string' && nameItem.type !== 'rawString') this.unexpected(nameItem, context);
    const name = this.unquote(nameItem);
    this.expect('rightDelim', context);
    const [root, end] = this.itemList();
    if (end.type !== 'end') this.errorf(`unexpected {{else}} in ${context}`);
    this.add(name, root);
    this.vars = saved;
  }

  private unquote(item: Item): string {
    try {
      return unquote(item.val);
    } catch (err) {
      if (err instanceof QuoteSyntaxError) this.errorf('invalid syntax', item);
      throw err;
    }
  }

  /** Nodes up to {{end}} or {{else}}, which is returned apart. */
  private itemList(): [ListNode, EndOrElse] {
    const list: ListNode = { type: 'list', pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().type !== 'eof') {
      const n = this.textOrAction();
      if (isEndOrElse(n)) return [list, n];
      list.nodes.push(n);
    }
    this.errorf('unexpected EOF', this.peek());
  }

  private textOrAction(): Node | EndOrElse {
    const item = this.nextNonSpace();
    switch (item.type) {
      case 'text':
        return { type: 'text', pos: item.pos, text: item.val };
      case 'leftDelim': {
        this.actionLine = item.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      }
      default:
        this.unexpected(item, 'input');
    }
  }

  private action(): Node | EndOrElse {
    const item = this.nextNonSpace();
    switch (item.type) {
      case 'block':
        return this.blockControl();
      case 'break':
      case 'continue':
        return this.loopControl(item);
      case 'else':
        return this.elseControl();
      case 'end':
        return { type: 'end', pos: this.expect('rightDelim', 'end').pos };
      case 'if':
        return this.branch('if', true);
      case 'range':
        return this.branch('range', false);
      case 'template':
        return this.templateControl();
      case 'with':
        return this.branch('with', false);
    }
    this.backup();
    const start = this.peek();
    return { type: 'action', pos: start.pos, line: start.line, pipe: this.pipeline('command', 'rightDelim') };
  }

  private loopControl(item: Item): Node {
    const name = item.type as 'break' | 'continue';
    const next = this.nextNonSpace();
    if (next.type !== 'rightDelim') this.unexpected(next, `{{${name}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${name}}} outside {{range}}`, item);
    return { type: name, pos: item.pos, line: item.line };
  }

  private elseControl(): EndOrElse {
    const peek = this.peekNonSpace();
    if (peek.type === 'if') return { type: 'else', pos: peek.pos, elseIf: true };
    return { type: 'else', pos: this.expect('rightDelim', 'else').pos, elseIf: false };
  }

  /** {{if|range|with pipeline}} list [{{else}} list] {{end}}; `else if` chains for if. */
  private branch(type: BranchNode['type'], allowElseIf: boolean): BranchNode {
    const mark = this.vars.length;
    const pipe = this.pipeline(type, 'rightDelim');
    if (type === 'range') this.rangeDepth++;
    let [list, next] = this.itemList();
    if (type === 'range') this.rangeDepth--;
    let elseList: ListNode | undefined;
    if (next.type === 'else') {
      if (allowElseIf && this.peek().type === 'if') {
        // {{else if b}} is {{else}}{{if b}}…{{end}}{{end}} with the last {{end}} implied.
        this.next();
        elseList = { type: 'list', pos: next.pos, nodes: [this.branch('if', true)] };
      } else {
        [elseList, next] = this.itemList();
        if (next.type !== 'end') this.errorf('expected end; found {{else}}');
      }
    }
    this.vars.length = mark;
    return { type, pos: pipe.pos, line: pipe.line, pipe, list, elseList };
  }

  private blockControl(): Node {
    const context = 'block clause';
    const item = this.nextNonSpace();
    const name = this.templateName(item, context);
    const pipe = this.pipeline(context, 'rightDelim');
    // The block's body is a template of its own: no variables, not inside a range.
    const [savedVars, savedDepth] = [this.vars, this.rangeDepth];
    [this.vars, this.rangeDepth] = [['$'], 0];
    const [root, end] = this.itemList();
    if (end.type !== 'end') this.errorf(`unexpected {{else}} in ${context}`);
    [this.vars, this.rangeDepth] = [savedVars, savedDepth];
    this.add(name, root);
    return { type: 'template', pos: item.pos, line: item.line, name, pipe };
  }

  private templateControl(): Node {
    const context = 'template clause';
    const item = this.nextNonSpace();
    const name = this.templateName(item, context);
    let pipe: PipeNode | undefined;
    if (this.nextNonSpace().type !== 'rightDelim') {
      this.backup();
      pipe = this.pipeline(context, 'rightDelim');
    }
    return { type: 'template', pos: item.pos, line: item.line, name, pipe };
  }

  private templateName(item: Item, context: string): string {
    if (item.type !== 'string' && item.type !== 'rawString') this.unexpected(item, context);
    return this.unquote(item);
  }

  /** declarations? command ('|' command)* */
  private pipeline(context: string, end: ItemType): PipeNode {
    const start = this.peekNonSpace();
    const pipe: PipeNode = { type: 'pipe', pos: start.pos, line: start.line, isAssign: false, decl: [], cmds: [] };
    this.declarations(pipe, context);
    for (;;) {
      const item = this.nextNonSpace();
      if (item.type === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (item.type) {
        case 'bool':
        case 'charConstant':
        case 'complex':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'nil':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(item, context);
      }
    }
  }

  /** `$x :=`, `$x =`, and range's `$i, $e :=`. */
  private declarations(pipe: PipeNode, context: string): void {
    for (;;) {
      const v = this.peekNonSpace();
      if (v.type !== 'variable') return;
      const mark = this.i;
      this.next();
      const next = this.peekNonSpace();
      if (next.type === 'assign' || next.type === 'declare') {
        pipe.isAssign = next.type === 'assign';
        this.nextNonSpace();
        pipe.decl.push(variable(v));
        this.vars.push(v.val);
        return;
      }
      if (next.type === 'char' && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(variable(v));
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const t = this.peekNonSpace().type;
          if (t === 'variable' || t === 'rightDelim' || t === 'rightParen') continue;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      }
      this.i = mark;
      return;
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const t = c.args[0]!.type;
      if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') this.errorf(`non executable command in pipeline stage ${i + 2}`);
    });
  }

  /** operand (space operand)*, up to '|', the right delimiter or ')'. */
  private command(): CommandNode {
    const cmd: CommandNode = { type: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const item = this.next();
      if (item.type === 'space') continue;
      if (item.type === 'rightDelim' || item.type === 'rightParen') this.backup();
      else if (item.type !== 'pipe') this.unexpected(item, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  /** term .Field* */
  private operand(): Arg | undefined {
    const node = this.term();
    if (!node || this.peek().type !== 'field') return node;
    const pos = this.peek().pos;
    const fields: string[] = [];
    while (this.peek().type === 'field') fields.push(this.next().val.slice(1));
    switch (node.type) {
      case 'field':
        return { type: 'field', pos, ident: [...node.ident, ...fields] };
      case 'variable':
        return { type: 'variable', pos, ident: [...node.ident, ...fields] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        this.errorf(`unexpected . after term ${JSON.stringify(argString(node))}`);
        break;
    }
    return { type: 'chain', pos, node, field: fields };
  }

  private term(): Arg | undefined {
    const item = this.nextNonSpace();
    switch (item.type) {
      case 'identifier':
        if (!this.hasFunction(item.val)) this.errorf(`function ${JSON.stringify(item.val)} not defined`, item);
        return { type: 'identifier', pos: item.pos, ident: item.val };
      case 'dot':
        return { type: 'dot', pos: item.pos };
      case 'nil':
        return { type: 'nil', pos: item.pos };
      case 'variable':
        return this.useVar(item);
      case 'field':
        return { type: 'field', pos: item.pos, ident: item.val.slice(1).split('.') };
      case 'bool':
        return { type: 'bool', pos: item.pos, value: item.val === 'true' };
      case 'charConstant':
      case 'complex':
      case 'number':
        return this.number(item);
      case 'leftParen':
        return this.pipeline('parenthesized pipeline', 'rightParen');
      case 'string':
      case 'rawString':
        return { type: 'string', pos: item.pos, quoted: item.val, text: this.unquote(item) };
    }
    this.backup();
    return undefined;
  }

  private useVar(item: Item): VariableNode {
    const v = variable(item);
    if (!this.vars.includes(v.ident[0]!)) this.errorf(`undefined variable ${JSON.stringify(v.ident[0])}`, item);
    return v;
  }

  private number(item: Item): NumberNode {
    try {
      return parseNumber(item);
    } catch (err) {
      if (err instanceof ParseError) throw err;
      this.errorf(err instanceof Error ? err.message : String(err), item);
    }
  }
}

interface EndOrElse {
  type: 'end' | 'else';
  pos: number;
  elseIf?: boolean;
}

function isEndOrElse(n: Node | EndOrElse): n is EndOrElse {
  return n.type === 'end' || n.type === 'else';
}

function variable(item: Item): VariableNode {
  return { type: 'variable', pos: item.pos, ident: item.val.split('.') };
}

/** Go's item.String(), for "unexpected X in Y". */
function itemString(item: Item): string {
  switch (item.type) {
    case 'eof':
      return 'EOF';
    case 'error':
      return item.val;
    case 'block':
    case 'break':
    case 'continue':
    case 'dot':
    case 'define':
    case 'else':
    case 'end':
    case 'if':
    case 'nil':
    case 'range':
    case 'template':
    case 'with':
      return `<${item.val}>`;
  }
  if (item.val.length > 10) return `${quote(item.val.slice(0, 10))}...`;
  return quote(item.val);
}
