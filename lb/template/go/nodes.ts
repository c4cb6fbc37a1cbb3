/**
 * The parse tree (text/template/parse/node.go). `pos` is the offset in the
 * template's text; String() of a node is what Go's errors quote
 * ("executing … at <getv "/x">").
 */

export interface ListNode {
  type: 'list';
  pos: number;
  nodes: Node[];
}

export interface TextNode {
  type: 'text';
  pos: number;
  text: string;
}

export interface CommentNode {
  type: 'comment';
  pos: number;
}

export interface ActionNode {
  type: 'action';
  pos: number;
  line: number;
  pipe: PipeNode;
}

export interface BranchNode {
  type: 'if' | 'range' | 'with';
  pos: number;
  line: number;
  pipe: PipeNode;
  list: ListNode;
  elseList: ListNode | undefined;
}

export interface TemplateNode {
  type: 'template';
  pos: number;
  line: number;
  name: string;
  pipe: PipeNode | undefined;
}

export interface LoopControlNode {
  type: 'break' | 'continue';
  pos: number;
  line: number;
}

export type Node = ListNode | TextNode | CommentNode | ActionNode | BranchNode | TemplateNode | LoopControlNode;

export interface PipeNode {
  type: 'pipe';
  pos: number;
  line: number;
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}

export interface CommandNode {
  type: 'command';
  pos: number;
  args: Arg[];
}

export interface IdentifierNode {
  type: 'identifier';
  pos: number;
  ident: string;
}

export interface VariableNode {
  type: 'variable';
  pos: number;
  /** `$x.a.b` → ["$x", "a", "b"]. */
  ident: string[];
}

export interface FieldNode {
  type: 'field';
  pos: number;
  /** `.a.b` → ["a", "b"]. */
  ident: string[];
}

export interface ChainNode {
  type: 'chain';
  pos: number;
  node: Arg;
  field: string[];
}

export interface DotNode {
  type: 'dot';
  pos: number;
}

export interface NilNode {
  type: 'nil';
  pos: number;
}

export interface BoolNode {
  type: 'bool';
  pos: number;
  value: boolean;
}

export interface StringNode {
  type: 'string';
  pos: number;
  quoted: string;
  text: string;
}

export interface NumberNode {
  type: 'number';
  pos: number;
  text: string;
  isInt: boolean;
  isUint: boolean;
  isFloat: boolean;
  /** The integer value (when isInt or isUint). */
  int: number;
  float: number;
}

/** What a command's arguments (and a chain's base) can be. */
export type Arg = IdentifierNode | VariableNode | FieldNode | ChainNode | DotNode | NilNode | BoolNode | StringNode | NumberNode | PipeNode;

export function pipeString(p: PipeNode): string {
  let out = '';
  if (p.decl.length) out = `${p.decl.map(argString).join(', ')} := `;
  return out + p.cmds.map(commandString).join(' | ');
}

export function commandString(c: CommandNode): string {
  return c.args.map((a) => (a.type === 'pipe' ? `(${pipeString(a)})` : argString(a))).join(' ');
}

export function argString(a: Arg): string {
  switch (a.type) {
    case 'identifier':
      return a.ident;
    case 'variable':
      return a.ident.join('.');
    case 'field':
      return a.ident.map((f) => `.${f}`).join('');
    case 'chain':
      return `${a.node.type === 'pipe' ? `(${pipeString(a.node)})` : argString(a.node)}${a.field.map((f) => `.${f}`).join('')}`;
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return a.value ? 'true' : 'false';
    case 'string':
      return a.quoted;
    case 'number':
      return a.text;
    case 'pipe':
      return pipeString(a);
  }
}

export function nodeString(n: Node | Arg | CommandNode): string {
  switch (n.type) {
    case 'list':
      return n.nodes.map(nodeString).join('');
    case 'text':
      return n.text;
    case 'comment':
      return '{{/* */}}';
    case 'action':
      return `{{${pipeString(n.pipe)}}}`;
    case 'if':
    case 'range':
    case 'with':
      return `{{${n.type} ${pipeString(n.pipe)}}}${nodeString(n.list)}${n.elseList ? `{{else}}${nodeString(n.elseList)}` : ''}{{end}}`;
    case 'template':
      return `{{template ${JSON.stringify(n.name)}${n.pipe ? ` ${pipeString(n.pipe)}` : ''}}}`;
    case 'break':
    case 'continue':
      return `{{${n.type}}}`;
    case 'command':
      return commandString(n);
    default:
      return argString(n);
  }
}

/** parse.IsEmptyTree: nothing but spaces and comments. */
export function isEmptyTree(n: Node | undefined): boolean {
  if (!n) return true;
  switch (n.type) {
    case 'comment':
      return true;
    case 'list':
      return n.nodes.every(isEmptyTree);
    case 'text':
      return n.text.trim() === '' && !/[^\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/.test(n.text);
    default:
      return false;
  }
}
