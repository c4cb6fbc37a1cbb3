import { describeCause, FuncError, GoTemplateError, locate } from './errors.js';
import { printOne } from './fmt.js';
import { BUILTINS, type FuncMap, type GoFunc } from './funcs.js';
import type {
  Arg,
  BranchNode,
  ChainNode,
  CommandNode,
  FieldNode,
  IdentifierNode,
  ListNode,
  Node,
  NumberNode,
  PipeNode,
  TemplateNode,
  VariableNode,
} from './nodes.js';
import { nodeString } from './nodes.js';
import type { TreeSet } from './parse.js';
import {
  ANY,
  assignable,
  GoFloat,
  type GoStruct,
  hasMethods,
  isTrue,
  kindOf,
  mapGet,
  paramKind,
  REFLECT_VALUE,
  sortedKeys,
  typeName,
  zeroOf,
} from './values.js';

/**
 * The executor (text/template/exec.go): walks a tree over a data value,
 * evaluating pipelines with Go's typing rules for function arguments, and
 * writes the text. Errors carry the template's name, line:column and the
 * node being evaluated, as Go's do.
 */

/** What a parsed file is: its trees, and what errors need to locate a node. */
export interface TemplateSet {
  /** The file's own template (confd: the base name of the file). */
  name: string;
  /** For error locations (the file's path). */
  file: string;
  text: string;
  trees: TreeSet;
}

/** No value passed along the pipeline yet (Go's missingVal). */
const MISSING = Symbol('missing');
type Final = unknown | typeof MISSING;

const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');

/** How deep {{template}} may nest: JS's stack is shallower than Go's (100000). */
const MAX_DEPTH = 1000;

interface Variable {
  name: string;
  value: unknown;
}

type Located = { pos: number } & (Node | Arg | CommandNode);

export function execute(set: TemplateSet, data: unknown, funcs: FuncMap): string {
  const root = set.trees.get(set.name);
  const state = new State(set, funcs, set.name, [{ name: '$', value: data }]);
  if (!root) return state.errorf(`${JSON.stringify(set.name)} is an incomplete or empty template`);
  state.walk(data, root);
  return state.out;
}

class State {
  out = '';
  private node: Located | undefined;
  private depth = 0;

  constructor(
    private readonly set: TemplateSet,
    private readonly funcs: FuncMap,
    private tmplName: string,
    private vars: Variable[],
  ) {}

  errorf(message: string, cause?: unknown): never {
    const name = this.tmplName;
    if (!this.node) throw new GoTemplateError(`template: ${name}: ${message}`, this.set.file, { cause });
    const location = locate(this.set.file, this.set.text, this.node.pos);
    throw new GoTemplateError(`template: ${location}: executing ${JSON.stringify(name)} at <${nodeString(this.node)}>: ${message}`, location, { cause });
  }

  private at(node: Located): void {
    this.node = node;
  }

  private mark(): number {
    return this.vars.length;
  }

  private pop(mark: number): void {
    if (this.vars.length !== mark) this.vars.length = mark;
  }

  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value;
    this.errorf(`undefined variable: ${name}`);
  }

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  walk(dot: unknown, node: Node): void {
    this.at(node);
    switch (node.type) {
      case 'text':
        this.out += node.text;
        return;
      case 'action': {
        const value = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) {
          this.at(node);
          this.out += value === undefined ? '<no value>' : printOne(value);
        }
        return;
      }
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'if':
      case 'with':
        this.walkIfOrWith(dot, node);
        return;
      case 'range':
        this.walkRange(dot, node);
        return;
      case 'template':
        this.walkTemplate(dot, node);
        return;
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
      case 'comment':
        return;
    }
  }

  private walkIfOrWith(dot: unknown, node: BranchNode): void {
    const mark = this.mark();
    const value = this.evalPipeline(dot, node.pipe);
    if (isTrue(value)) this.walk(node.type === 'with' ? value : dot, node.list);
    else if (node.elseList) this.walk(dot, node.elseList);
    this.pop(mark);
  }

  private walkRange(dot: unknown, node: BranchNode): void {
    this.at(node);
    const outer = this.mark();
    const value = this.evalPipeline(dot, node.pipe);
    const mark = this.mark();
    const decl = node.pipe.decl.length;
    const iteration = (index: unknown, elem: unknown): void => {
      if (decl > 0) this.vars[this.vars.length - 1]!.value = elem;
      if (decl > 1) this.vars[this.vars.length - 2]!.value = index;
      try {
        this.walk(elem, node.list);
      } catch (err) {
        if (err !== CONTINUE) throw err;
      } finally {
        this.pop(mark);
      }
    };
    let iterated = false;
    try {
      switch (kindOf(value)) {
        case 'slice': {
          const items = value as unknown[];
          for (let i = 0; i < items.length; i++) iteration(i, items[i]);
          iterated = items.length > 0;
          break;
        }
        case 'map': {
          const keys = sortedKeys(value as object);
          for (const key of keys) iteration(key, mapGet(value as object, key));
          iterated = keys.length > 0;
          break;
        }
        case 'invalid':
          break;
        default:
          this.errorf(`range can't iterate over ${printOne(value)}`);
      }
    } catch (err) {
      if (err !== BREAK) throw err;
      iterated = true;
    }
    if (!iterated && node.elseList) this.walk(dot, node.elseList);
    this.pop(outer);
  }

  private walkTemplate(dot: unknown, node: TemplateNode): void {
    this.at(node);
    const root = this.set.trees.get(node.name);
    if (!root) this.errorf(`template ${JSON.stringify(node.name)} not defined`);
    if (this.depth === MAX_DEPTH) this.errorf(`exceeded maximum template depth (${MAX_DEPTH})`);
    // Variables the pipeline declares stay with the caller; the callee sees only $.
    const value = this.evalPipeline(dot, node.pipe);
    const saved = { vars: this.vars, name: this.tmplName };
    this.vars = [{ name: '$', value }];
    this.tmplName = node.name;
    this.depth++;
    try {
      this.walk(value, root as ListNode);
    } finally {
      this.depth--;
      this.vars = saved.vars;
      this.tmplName = saved.name;
    }
  }

  private evalPipeline(dot: unknown, pipe: PipeNode | undefined): unknown {
    if (!pipe) return undefined;
    this.at(pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      // An interface{} holding nil is no value (Go digs one level into interface values).
      if (value === null) value = undefined;
    }
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0]!, value);
      else this.vars.push({ name: v.ident[0]!, value });
    }
    return value;
  }

  private notAFunction(args: readonly Arg[], final: Final): void {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(args[0]!)}`);
  }

  private evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0]!;
    switch (first.type) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        return this.errorf('nil is not a command');
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return first.text;
    }
  }

  /** A number where no type is asked for: int, unless it is written as a float. */
  private idealConstant(n: NumberNode): unknown {
    this.at(n);
    // Go's isHexInt looks at the text as written: a sign in front makes it a float ("-0x1e").
    const isHex = n.text.length > 2 && n.text[0] === '0' && (n.text[1] === 'x' || n.text[1] === 'X') && !/[pP]/.test(n.text);
    if (n.isFloat && !isHex && n.text[0] !== "'" && /[.eEpP]/.test(n.text)) return new GoFloat(n.float);
    if (n.isInt) return n.int;
    if (n.isUint) this.errorf(`${n.text} overflows int`);
    return undefined;
  }

  private evalFieldNode(dot: unknown, field: FieldNode, args: readonly Arg[] | undefined, final: Final): unknown {
    this.at(field);
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  private evalChainNode(dot: unknown, chain: ChainNode, args: readonly Arg[] | undefined, final: Final): unknown {
    this.at(chain);
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const base = this.evalArg(dot, undefined, chain.node);
    return this.evalFieldChain(dot, base, chain, chain.field, args, final);
  }

  private evalVariableNode(dot: unknown, v: VariableNode, args: readonly Arg[] | undefined, final: Final): unknown {
    this.at(v);
    const value = this.varValue(v.ident[0]!);
    if (v.ident.length === 1) {
      if (args) this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  private evalFieldChain(dot: unknown, receiver: unknown, node: Located, ident: string[], args: readonly Arg[] | undefined, final: Final): unknown {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(dot, ident[i]!, node, undefined, MISSING, receiver);
    return this.evalField(dot, ident[n - 1]!, node, args, final, receiver);
  }

  private evalFunction(dot: unknown, node: IdentifierNode, cmd: Located, args: readonly Arg[] | undefined, final: Final): unknown {
    this.at(node);
    const fn = this.funcs.get(node.ident) ?? BUILTINS.get(node.ident);
    if (!fn) this.errorf(`${JSON.stringify(node.ident)} is not a defined function`);
    return this.evalCall(dot, fn, cmd, node.ident, args, final);
  }

  /** .Field on a value: a method, a struct field, or a map key (missing: no value). */
  private evalField(dot: unknown, name: string, node: Located, args: readonly Arg[] | undefined, final: Final, receiver: unknown): unknown {
    if (receiver === undefined) return undefined;
    if (receiver === null) this.errorf(`nil pointer evaluating ${ANY}.${name}`);
    if (hasMethods(receiver)) {
      const method = receiver.method(name);
      if (method) return this.evalCall(dot, { params: method.params, call: method.call }, node, name, args, final);
    }
    const hasArgs = (args !== undefined && args.length > 1) || final !== MISSING;
    const kind = kindOf(receiver);
    if (kind === 'struct') {
      const s = receiver as GoStruct;
      if (s.fieldNames().includes(name)) {
        if (hasArgs) this.errorf(`${name} has arguments but cannot be invoked as function`);
        return s.field(name);
      }
    } else if (kind === 'map') {
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      return mapGet(receiver as object, name);
    }
    this.errorf(`can't evaluate field ${name} in type ${typeName(receiver)}`);
  }

  private evalCall(dot: unknown, fn: GoFunc, node: Located, name: string, argNodes: readonly Arg[] | undefined, final: Final): unknown {
    const args = argNodes ? argNodes.slice(1) : [];
    const numIn = args.length + (final === MISSING ? 0 : 1);
    const numFixed = fn.variadic === undefined ? args.length : fn.params.length;
    if (fn.variadic !== undefined) {
      if (numIn < fn.params.length) this.errorf(`wrong number of args for ${name}: want at least ${fn.params.length} got ${args.length}`);
    } else if (numIn !== fn.params.length) this.errorf(`wrong number of args for ${name}: want ${fn.params.length} got ${numIn}`);
    if (fn.lazy) return this.evalLogic(dot, fn.lazy, args, final);
    const argv: unknown[] = new Array(numIn);
    let i = 0;
    for (; i < numFixed && i < args.length; i++) argv[i] = this.evalArg(dot, fn.params[i], args[i]!);
    if (fn.variadic !== undefined) for (; i < args.length; i++) argv[i] = this.evalArg(dot, fn.variadic, args[i]!);
    if (final !== MISSING) {
      const type = fn.variadic === undefined ? fn.params[fn.params.length - 1] : numIn - 1 < numFixed ? fn.params[numIn - 1] : fn.variadic;
      argv[i] = this.validateType(final, type);
    }
    try {
      return fn.call(argv);
    } catch (err) {
      this.at(node);
      return this.errorf(`error calling ${name}: ${err instanceof FuncError ? err.message : describeCause(err)}`, err);
    }
  }

  /** and/or: the first false (true) argument, else the last; later ones are not evaluated. */
  private evalLogic(dot: unknown, op: 'and' | 'or', args: Arg[], final: Final): unknown {
    let v: unknown;
    for (const arg of args) {
      v = this.evalArg(dot, REFLECT_VALUE, arg);
      if (isTrue(v === null ? undefined : v) === (op === 'or')) return v;
    }
    if (final !== MISSING) v = final;
    return v;
  }

  /** A computed value where a parameter of type `type` is declared: Go's assignability. */
  private validateType(value: unknown, type: string | undefined): unknown {
    if (value === undefined) {
      if (type === undefined) return undefined;
      const zero = zeroOf(type);
      if (!zero.ok) this.errorf(`invalid value; expected ${type}`);
      return zero.value;
    }
    if (type === undefined || type === REFLECT_VALUE) return value;
    if (value === null) {
      if (type === ANY) return null;
      this.errorf(`wrong type for value; expected ${type}; got ${ANY}`);
    }
    const actual = typeName(value);
    if (!assignable(actual, type)) this.errorf(`wrong type for value; expected ${type}; got ${actual}`);
    return value;
  }

  private evalArg(dot: unknown, type: string | undefined, n: Arg): unknown {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, type);
      case 'nil': {
        const zero = type === undefined ? { ok: false as const } : zeroOf(type);
        if (zero.ok) return zero.value;
        return this.errorf(`cannot assign nil to ${type}`);
      }
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), type);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, undefined, MISSING), type);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), type);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, undefined, MISSING), type);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, undefined, MISSING), type);
    }
    return this.evalConstant(type ?? ANY, n);
  }

  /** A literal where `type` is declared: it must be of that kind (a constant converts, a value does not). */
  private evalConstant(type: string, n: Arg): unknown {
    switch (paramKind(type)) {
      case 'bool':
        if (n.type === 'bool') return n.value;
        return this.errorf(`expected bool; found ${nodeString(n)}`);
      case 'int':
        if (n.type === 'number' && n.isInt) return n.int;
        return this.errorf(`expected integer; found ${nodeString(n)}`);
      case 'float':
        if (n.type === 'number' && n.isFloat) return new GoFloat(n.float);
        return this.errorf(`expected float; found ${nodeString(n)}`);
      case 'string':
        if (n.type === 'string') return n.text;
        return this.errorf(`expected string; found ${nodeString(n)}`);
      case 'any':
        if (n.type === 'bool') return n.value;
        if (n.type === 'number') return this.idealConstant(n);
        if (n.type === 'string') return n.text;
        break;
    }
    return this.errorf(`can't handle ${nodeString(n)} for arg of type ${type}`);
  }
}
