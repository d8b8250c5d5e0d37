/**
 * Spec expressions and values -> TypeScript expressions. The same tree the interpreter
 * evaluates is printed with TypeScript's operators where they mean the same thing for the
 * operand types (known statically), and with the runtime's helpers where they do not:
 * `floorDiv` for `//`, `mod` for Python's `%`, `eq` for structural `==`, `at` for indexing,
 * `range`. Precedence follows JavaScript's; parentheses are added only where needed.
 */
import { Msg, Say, type Said } from '../diagnostics/messages.js';
import type { Expr, Template } from '../types/spec.js';
import { freeVariables } from '../expr/parse.js';
import { show } from '../expr/evaluate.js';
import { isIdentifier } from './names.js';
import {
  BOOL, NULL, NUM, STR, UNKNOWN, comparable, isBool, isList, isNum, isStr, list, members, typeOfValue, union, widen, type SType,
} from './stype.js';

/** A printed expression: code, its JavaScript precedence, and its static type. */
export interface Printed {
  code: string;
  prec: number;
  type: SType;
}

export interface ExprEnv {
  /** The TypeScript name and type of a spec variable in scope, or undefined. */
  lookup(name: string): { ident: string; type: SType } | undefined;
  /** Spec variables that an enclosing condition tests, so TypeScript may have narrowed their types. */
  narrowed: ReadonlySet<string>;
  /** Records a runtime helper the code uses. */
  use(helper: string): string;
  /**
   * The TypeScript code of the tensor whose shape `shape(ref)` / `channels(ref)` reads (`ref`
   * undefined: the current input); undefined where there is none (a spec's `let:`).
   */
  tensor?(ref: string | undefined): string | undefined;
}

// JavaScript precedences (higher binds tighter).
export const PREC = { comma: 0, assign: 2, cond: 2, or: 3, and: 4, eq: 8, rel: 9, add: 11, mul: 12, pow: 13, unary: 14, postfix: 17, primary: 18 } as const;

const paren = (p: Printed, min: number) => (p.prec < min ? `(${p.code})` : p.code);

/** A string literal in single quotes; safe for any content (quotes, backslashes, newlines, `*\/`). */
export function quote(s: string): string {
  const body = JSON.stringify(s).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")
    // JSON leaves U+2028/U+2029 raw; escape them so that no tool reads them as line breaks.
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return `'${body}'`;
}

/** A property name: bare when it is an identifier, else quoted; `__proto__` computed so that it stays data. */
export function propertyKey(k: string): string {
  if (k === '__proto__') return `['__proto__']`;
  return isIdentifier(k) ? k : quote(k);
}

export function numberLiteral(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return Object.is(v, -0) ? '-0' : String(v);
}

/** A literal value (YAML data) as a TypeScript expression. */
export function printValue(v: unknown): Printed {
  if (v === null || v === undefined) return { code: 'null', prec: PREC.primary, type: NULL };
  if (typeof v === 'number') return { code: numberLiteral(v), prec: v < 0 || Object.is(v, -0) ? PREC.unary : PREC.primary, type: typeOfValue(v) };
  if (typeof v === 'string') return { code: quote(v), prec: PREC.primary, type: typeOfValue(v) };
  if (typeof v === 'boolean') return { code: String(v), prec: PREC.primary, type: typeOfValue(v) };
  if (Array.isArray(v)) {
    const items = v.map(printValue);
    return { code: `[${items.map((i) => paren(i, PREC.assign)).join(', ')}]`, prec: PREC.primary, type: typeOfValue(v) };
  }
  const entries = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${propertyKey(k)}: ${paren(printValue(x), PREC.assign)}`);
  return { code: entries.length ? `{ ${entries.join(', ')} }` : '{}', prec: PREC.primary, type: UNKNOWN };
}

/** A value position of the spec (literal, expression, or a list/map of them). */
export function printTemplate(t: Template, env: ExprEnv): Printed {
  switch (t.kind) {
    case 'lit': return printValue(t.value);
    case 'expr': return printExpr(t.expr, env);
    case 'list': {
      const items = t.items.map((i) => printTemplate(i, env));
      if (items.length === 0) return { code: `[] as ${env.use('Value')}[]`, prec: PREC.rel, type: list(UNKNOWN) };
      return { code: `[${items.map((i) => paren(i, PREC.assign)).join(', ')}]`, prec: PREC.primary, type: list(widen(union(...items.map((i) => i.type)))) };
    }
    case 'map': {
      const entries = t.entries.map(([k, v]) => `${propertyKey(k)}: ${paren(printTemplate(v, env), PREC.assign)}`);
      return { code: entries.length ? `{ ${entries.join(', ')} }` : '{}', prec: PREC.primary, type: UNKNOWN };
    }
  }
}

/**
 * Variables whose type TypeScript narrows inside the code guarded by condition `e`: bare boolean
 * tests (`v`, `!v`, `v && w`) and direct operands of `===`/`!==`.
 */
export function narrowedBy(e: Expr, out = new Set<string>()): Set<string> {
  switch (e.kind) {
    case 'var': out.add(e.name); break;
    case 'unary': if (e.op === '!') narrowedBy(e.arg, out); break;
    case 'binary':
      if (e.op === '&&' || e.op === '||') { narrowedBy(e.left, out); narrowedBy(e.right, out); }
      if (e.op === '==' || e.op === '!=') for (const x of [e.left, e.right]) if (x.kind === 'var') out.add(x.name);
      break;
    default: break;
  }
  return out;
}

/**
 * Whether the type of `e` depends on a variable that TypeScript may have narrowed: one narrowed
 * by an enclosing condition, or inside `e` by the test of a `?:` whose branch is that variable.
 */
function exposesNarrowed(e: Expr, narrowed: ReadonlySet<string>): boolean {
  switch (e.kind) {
    case 'var': return narrowed.has(e.name);
    case 'cond': {
      const inner = new Set([...narrowed, ...narrowedBy(e.test)]);
      return exposesNarrowed(e.then, inner) || exposesNarrowed(e.else, inner);
    }
    case 'list': return e.items.some((i) => exposesNarrowed(i, narrowed));
    case 'index': return exposesNarrowed(e.target, narrowed);
    default: return false;
  }
}

function withNarrowed(env: ExprEnv, e: Expr): ExprEnv {
  const vs = narrowedBy(e);
  if ([...vs].every((v) => env.narrowed.has(v))) return env;
  return { ...env, narrowed: new Set([...env.narrowed, ...vs]), lookup: env.lookup, use: env.use };
}

/** An expression as TypeScript. Long (~95 lines): one case per expression kind, sharing the helpers at its top. */
export function printExpr(e: Expr, env: ExprEnv): Printed {
  const call = (fn: string, args: string[], type: SType): Printed => ({ code: `${env.use(fn)}(${args.join(', ')})`, prec: PREC.postfix, type });
  const asNum = (p: Printed, what: string): string => (isNum(p.type) ? paren(p, 0) : `${env.use('num')}(${paren(p, PREC.assign)}, ${quote(what)})`);
  const asBool = (p: Printed, what: string): Printed => (isBool(p.type) ? p : call('bool', [paren(p, PREC.assign), quote(what)], BOOL));
  const operand = (p: Printed, what: string, min: number): string => (isNum(p.type) ? paren(p, min) : asNum(p, what));
  const failCall = (said: Said): Printed => call('fail', [quote(Msg[said.key].code), quote(said.message)], UNKNOWN);

  switch (e.kind) {
    case 'num': return printValue(e.value);
    case 'str': return printValue(e.value);
    case 'bool': return printValue(e.value);
    case 'null': return printValue(null);
    case 'var': {
      const v = env.lookup(e.name);
      if (!v) return failCall(Say.unknownVariable(e.name));
      return { code: v.ident, prec: PREC.primary, type: v.type };
    }
    case 'list': {
      const items = e.items.map((i) => printExpr(i, env));
      if (items.length === 0) return { code: `[] as ${env.use('Value')}[]`, prec: PREC.rel, type: list(UNKNOWN) };
      return { code: `[${items.map((i) => paren(i, PREC.assign)).join(', ')}]`, prec: PREC.primary, type: list(widen(union(...items.map((i) => i.type)))) };
    }
    case 'unary': {
      const a = printExpr(e.arg, env);
      if (e.op === '!') {
        const b = asBool(a, "'!'");
        return { code: `!${b.prec < PREC.unary ? `(${b.code})` : b.code}`, prec: PREC.unary, type: BOOL };
      }
      // `- -x` must not print as `--x`, and `-(2 ** 2)` needs its parentheses in JavaScript.
      const inner = isNum(a.type) ? (a.prec <= PREC.unary || a.code.startsWith('-') || a.code.startsWith('+') ? `(${a.code})` : a.code) : asNum(a, `unary '${e.op}'`);
      const type: SType = e.arg.kind === 'num' && e.op === '-' ? { k: 'num', lits: [-e.arg.value] } : NUM;
      return { code: `${e.op}${inner}`, prec: PREC.unary, type };
    }
    case 'cond': {
      const test = asBool(printExpr(e.test, env), 'the condition of ?:');
      const inner = withNarrowed(env, e.test);
      const a = printExpr(e.then, inner);
      const b = printExpr(e.else, inner);
      return { code: `${paren(test, PREC.or)} ? ${paren(a, PREC.assign)} : ${paren(b, PREC.assign)}`, prec: PREC.cond, type: union(a.type, b.type) };
    }
    case 'index': {
      const t = printExpr(e.target, env);
      const i = printExpr(e.index, env);
      const type = isList(t.type) && isNum(i.type) ? (t.type as { el: SType }).el : isStr(t.type) && isNum(i.type) ? STR : UNKNOWN;
      return call('at', [paren(t, PREC.assign), paren(i, PREC.assign)], type);
    }
    case 'call': return printCall(e, env);
    case 'binary': {
      if (e.op === '&&' || e.op === '||') {
        const prec = e.op === '&&' ? PREC.and : PREC.or;
        const what = `'${e.op}'`;
        const l = asBool(printExpr(e.left, env), what);
        const r = asBool(printExpr(e.right, withNarrowed(env, e.left)), what);
        return { code: `${paren(l, prec)} ${e.op} ${paren(r, prec + 1)}`, prec, type: BOOL };
      }
      const l = printExpr(e.left, env);
      const r = printExpr(e.right, env);
      switch (e.op) {
        case '==': case '!=': {
          const touched = exposesNarrowed(e.left, env.narrowed) || exposesNarrowed(e.right, env.narrowed);
          if (!touched && comparable(l.type, r.type)) {
            return { code: `${paren(l, PREC.eq)} ${e.op}= ${paren(r, PREC.eq + 1)}`, prec: PREC.eq, type: BOOL };
          }
          const eq = call('eq', [paren(l, PREC.assign), paren(r, PREC.assign)], BOOL);
          return e.op === '==' ? eq : { code: `!${eq.code}`, prec: PREC.unary, type: BOOL };
        }
        case '<': case '<=': case '>': case '>=':
          if ((isNum(l.type) && isNum(r.type)) || (isStr(l.type) && isStr(r.type))) {
            return { code: `${paren(l, PREC.rel)} ${e.op} ${paren(r, PREC.rel + 1)}`, prec: PREC.rel, type: BOOL };
          }
          return call('compare', [quote(e.op), paren(l, PREC.assign), paren(r, PREC.assign)], BOOL);
        case '+':
          if ((isNum(l.type) && isNum(r.type)) || (isStr(l.type) && isStr(r.type))) {
            return { code: `${paren(l, PREC.add)} + ${paren(r, PREC.add + 1)}`, prec: PREC.add, type: isNum(l.type) ? NUM : STR };
          }
          if (isList(l.type) && isList(r.type)) {
            return { code: `[...${paren(l, PREC.assign)}, ...${paren(r, PREC.assign)}]`, prec: PREC.primary, type: union(l.type, r.type) };
          }
          return call('plus', [paren(l, PREC.assign), paren(r, PREC.assign)], UNKNOWN);
        case '-': case '*': case '/': {
          const prec = e.op === '-' ? PREC.add : PREC.mul;
          const what = `'${e.op}'`;
          return { code: `${operand(l, what, prec)} ${e.op} ${operand(r, what, prec + 1)}`, prec, type: NUM };
        }
        case '**': {
          const what = "'**'";
          // The left operand of ** cannot be a unary expression in JavaScript: (-2) ** 2.
          return { code: `${operand(l, what, PREC.postfix)} ** ${operand(r, what, PREC.pow)}`, prec: PREC.pow, type: NUM };
        }
        case '//': return call('floorDiv', [asNum(l, "'//'"), asNum(r, "'//'")], NUM);
        case '%': return call('mod', [asNum(l, "'%'"), asNum(r, "'%'")], NUM);
      }
      return failCall(Say.unknownOperator(e.op));
    }
  }
}

function printCall(e: Extract<Expr, { kind: 'call' }>, env: ExprEnv): Printed {
  if (e.fn === 'shape' || e.fn === 'channels') {
    // The argument names a reference (a tensor of the builder), as the interpreter reads it.
    if (e.args.length > 1 || (e.args[0] && e.args[0].kind !== 'var')) {
      return { code: `${env.use('fail')}(${quote(Msg.exprType.code)}, ${quote(`${e.fn}() takes the id of a layer or an input (or nothing: the current input), as in ${e.fn}(x)`)})`, prec: PREC.postfix, type: UNKNOWN };
    }
    const ref = e.args[0]?.kind === 'var' ? e.args[0].name : undefined;
    const label = `${e.fn}(${ref ?? ''})`;
    const tensor = env.tensor?.(ref) ?? 'undefined';
    const fn = e.fn === 'shape' ? 'shapeOf' : 'channelsOf';
    return { code: `${env.use(fn)}(${tensor}, ${quote(label)})`, prec: PREC.postfix, type: e.fn === 'shape' ? list(NUM) : NUM };
  }
  const args = e.args.map((a) => printExpr(a, env));
  const fail = (msg: string): Printed => ({ code: `${env.use('fail')}(${quote(Msg.exprType.code)}, ${quote(msg)})`, prec: PREC.postfix, type: UNKNOWN });
  const arity = (lo: number, hi: number) => args.length >= lo && args.length <= hi;
  const arityMsg = (lo: number, hi: number) => `${e.fn}() takes ${lo === hi ? lo : `${lo} to ${hi}`} argument${hi === 1 ? '' : 's'}, got ${args.length}`;
  const n = (p: Printed, what: string) => (isNum(p.type) ? paren(p, PREC.assign) : `${env.use('num')}(${paren(p, PREC.assign)}, ${quote(what)})`);
  switch (e.fn) {
    case 'min': case 'max': {
      if (args.length >= 1 && args.every((a) => isNum(a.type))) {
        return { code: `Math.${e.fn}(${args.map((a) => paren(a, PREC.assign)).join(', ')})`, prec: PREC.postfix, type: NUM };
      }
      return { code: `${env.use(e.fn)}(${args.map((a) => paren(a, PREC.assign)).join(', ')})`, prec: PREC.postfix, type: NUM };
    }
    case 'floor': case 'ceil': case 'round': case 'abs':
      if (!arity(1, 1)) return fail(arityMsg(1, 1));
      return { code: `Math.${e.fn}(${n(args[0]!, `${e.fn}()`)})`, prec: PREC.postfix, type: NUM };
    case 'len': {
      if (!arity(1, 1)) return fail(arityMsg(1, 1));
      const a = args[0]!;
      // (A variable narrowed away to `never` by an enclosing condition has no .length for TypeScript.)
      if ((isList(a.type) || isStr(a.type)) && !exposesNarrowed(e.args[0]!, env.narrowed)) return { code: `${paren(a, PREC.postfix)}.length`, prec: PREC.postfix, type: NUM };
      return { code: `${env.use('len')}(${paren(a, PREC.assign)})`, prec: PREC.postfix, type: NUM };
    }
    case 'range':
      if (!arity(1, 3)) return fail(arityMsg(1, 3));
      return { code: `${env.use('range')}(${args.map((a) => n(a, 'range()')).join(', ')})`, prec: PREC.postfix, type: list(NUM) };
  }
  return fail(`unknown function ${e.fn}`);
}

/** A condition (`when:`) as a TypeScript boolean expression, or a constant when it is a literal. */
export function printCondition(t: Template, env: ExprEnv): Printed | boolean {
  if (t.kind === 'lit' && typeof t.value === 'boolean') return t.value;
  const p = printTemplate(t, env);
  if (isBool(p.type)) return p;
  return { code: `${env.use('when')}(${paren(p, PREC.assign)})`, prec: PREC.postfix, type: BOOL };
}

/** `name = value, ...` of the variables an assert's condition reads, for its failure message. */
export function assertVars(t: Template, env: ExprEnv): string[] {
  if (t.kind !== 'expr') return [];
  const out: string[] = [];
  for (const name of freeVariables(t.expr)) {
    const v = env.lookup(name);
    if (!v) continue;
    out.push(v.ident === name && name !== '__proto__' ? name : `${propertyKey(name)}: ${v.ident}`);
  }
  return out;
}

export { show, members };
