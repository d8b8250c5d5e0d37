/**
 * The closed expression language of `${...}`: a hand-written lexer and Pratt
 * parser. Nothing is ever passed to `eval`; the tree is evaluated by
 * `evaluate()` and printed as TypeScript by the code generator.
 *
 * Precedence, loosest first: `?:`, `||`, `&&`, `== !=`, `< <= > >=`, `+ -`,
 * `* / // %`, unary `- + !`, `**` (right-associative), postfix `f(...)` `a[i]`.
 */
import type { BinaryOp, Expr } from '../types/spec.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';

export const FUNCTIONS = ['min', 'max', 'floor', 'ceil', 'round', 'abs', 'range', 'len', 'shape', 'channels'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

export class ExprSyntaxError extends Error {
  constructor(message: string, readonly start: number, readonly end: number) {
    super(message);
  }
}

type Tok =
  | { t: 'num'; v: number; s: number; e: number }
  | { t: 'str'; v: string; s: number; e: number }
  | { t: 'id'; v: string; s: number; e: number }
  | { t: 'op'; v: string; s: number; e: number }
  | { t: 'eof'; s: number; e: number };

const OPS = ['**', '//', '==', '!=', '<=', '>=', '&&', '||', '+', '-', '*', '/', '%', '<', '>', '!', '?', ':', '(', ')', '[', ']', ','];


function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    const s = i;
    if (/[0-9.]/.test(c) && /[0-9]/.test(src[c === '.' ? i + 1 : i] ?? '')) {
      const m = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(src.slice(i))!;
      i += m[0].length;
      toks.push({ t: 'num', v: Number(m[0]), s, e: i });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      i += m[0].length;
      toks.push({ t: 'id', v: m[0], s, e: i });
      continue;
    }
    if (c === '"' || c === "'") {
      let out = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new ExprSyntaxError('unterminated string', s, i);
        const d = src[i]!;
        if (d === c) { i++; break; }
        if (d === '\\') {
          const n = src[i + 1];
          if (n === undefined) throw new ExprSyntaxError('unterminated string', s, i);
          out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
          i += 2;
          continue;
        }
        out += d;
        i++;
      }
      toks.push({ t: 'str', v: out, s, e: i });
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (c === '.') throw new ExprSyntaxError("'.' (property access) is not part of the expression language", i, i + 1);
    if (!op) throw new ExprSyntaxError(`unexpected character '${c}'`, i, i + 1);
    i += op.length;
    toks.push({ t: 'op', v: op, s, e: i });
  }
  toks.push({ t: 'eof', s: src.length, e: src.length });
  return toks;
}

const BINARY: Record<string, { prec: number; right?: boolean }> = {
  '||': { prec: 1 }, '&&': { prec: 2 },
  '==': { prec: 3 }, '!=': { prec: 3 },
  '<': { prec: 4 }, '<=': { prec: 4 }, '>': { prec: 4 }, '>=': { prec: 4 },
  '+': { prec: 5 }, '-': { prec: 5 },
  '*': { prec: 6 }, '/': { prec: 6 }, '//': { prec: 6 }, '%': { prec: 6 },
};
const UNARY_PREC = 7;
const POW_PREC = 8;

/**
 * Parse the text between `${` and `}`. Offsets in the tree are relative to `src`.
 * Long (~130 lines) by design: a recursive-descent parser whose rules are nested functions sharing
 * the token position and the nesting depth (the maxExprDepth limit).
 */
export function parseExpr(src: string, limits: Pick<Limits, 'maxExprLength' | 'maxExprDepth'> = DEFAULT_LIMITS): Expr {
  if (src.length > limits.maxExprLength) throw new ExprSyntaxError(`expression is longer than ${limits.maxExprLength} characters`, 0, src.length);
  const toks = lex(src);
  let p = 0;
  let depth = 0;
  const peek = () => toks[p]!;
  const next = () => toks[p++]!;
  const isOp = (v: string) => { const t = peek(); return t.t === 'op' && t.v === v; };
  const expect = (v: string) => {
    const t = next();
    if (t.t !== 'op' || t.v !== v) throw new ExprSyntaxError(`expected '${v}' but found ${describe(t)}`, t.s, t.e);
    return t;
  };

  function expr(minPrec = 0): Expr {
    if (++depth > limits.maxExprDepth) { const t = peek(); throw new ExprSyntaxError(`expression nests deeper than ${limits.maxExprDepth}`, t.s, t.e); }
    let left = unary();
    for (;;) {
      const t = peek();
      if (t.t !== 'op') break;
      if (t.v === '?' && minPrec === 0) {
        next();
        const then = expr(0);
        expect(':');
        const els = expr(0);
        left = { kind: 'cond', test: left, then, else: els, start: left.start, end: els.end };
        continue;
      }
      const info = BINARY[t.v];
      if (!info || info.prec < minPrec) break;
      next();
      const right = expr(info.prec + 1);
      left = { kind: 'binary', op: t.v as BinaryOp, left, right, start: left.start, end: right.end };
    }
    depth--;
    return left;
  }

  function unary(): Expr {
    const t = peek();
    if (t.t === 'op' && (t.v === '-' || t.v === '!' || t.v === '+')) {
      next();
      if (++depth > limits.maxExprDepth) throw new ExprSyntaxError(`expression nests deeper than ${limits.maxExprDepth}`, t.s, t.e);
      const arg = unary();
      depth--;
      return { kind: 'unary', op: t.v, arg, start: t.s, end: arg.end };
    }
    return power();
  }

  function power(): Expr {
    const base = postfix();
    if (isOp('**')) {
      next();
      const exp = unary(); // right-associative, and -x binds looser on the left only: 2 ** -1 is allowed
      return { kind: 'binary', op: '**', left: base, right: exp, start: base.start, end: exp.end };
    }
    return base;
  }

  function postfix(): Expr {
    let e = primary();
    for (;;) {
      if (isOp('[')) {
        next();
        const index = expr(0);
        const close = expect(']');
        e = { kind: 'index', target: e, index, start: e.start, end: close.e };
        continue;
      }
      if (isOp('(')) {
        const t = peek();
        if (e.kind !== 'var') throw new ExprSyntaxError('only the built-in functions can be called', t.s, t.e);
        if (!(FUNCTIONS as readonly string[]).includes(e.name)) {
          throw new ExprSyntaxError(`unknown function '${e.name}'; the functions are ${FUNCTIONS.join(', ')}`, e.start, e.end);
        }
        next();
        const args: Expr[] = [];
        if (!isOp(')')) {
          for (;;) {
            args.push(expr(0));
            if (isOp(',')) { next(); if (isOp(')')) break; continue; }
            break;
          }
        }
        const close = expect(')');
        e = { kind: 'call', fn: e.name, args, start: e.start, end: close.e };
        continue;
      }
      return e;
    }
  }

  function primary(): Expr {
    const t = next();
    switch (t.t) {
      case 'num': return { kind: 'num', value: t.v, start: t.s, end: t.e };
      case 'str': return { kind: 'str', value: t.v, start: t.s, end: t.e };
      case 'id':
        if (t.v === 'true' || t.v === 'false') return { kind: 'bool', value: t.v === 'true', start: t.s, end: t.e };
        if (t.v === 'null') return { kind: 'null', start: t.s, end: t.e };
        return { kind: 'var', name: t.v, start: t.s, end: t.e };
      case 'op':
        if (t.v === '(') {
          const inner = expr(0);
          const close = expect(')');
          return { ...inner, start: t.s, end: close.e };
        }
        if (t.v === '[') {
          const items: Expr[] = [];
          if (!isOp(']')) {
            for (;;) {
              items.push(expr(0));
              if (isOp(',')) { next(); if (isOp(']')) break; continue; }
              break;
            }
          }
          const close = expect(']');
          return { kind: 'list', items, start: t.s, end: close.e };
        }
        throw new ExprSyntaxError(`unexpected ${describe(t)}`, t.s, t.e);
      case 'eof':
        throw new ExprSyntaxError('unexpected end of expression', t.s, t.e);
    }
  }

  const result = expr(0);
  const rest = peek();
  if (rest.t !== 'eof') throw new ExprSyntaxError(`unexpected ${describe(rest)} after the end of the expression`, rest.s, rest.e);
  return result;
}

function describe(t: Tok): string {
  switch (t.t) {
    case 'eof': return 'end of expression';
    case 'num': return `number ${t.v}`;
    case 'str': return `string "${t.v}"`;
    case 'id': return `'${t.v}'`;
    case 'op': return `'${t.v}'`;
  }
}

/** Names of the variables an expression reads. */
export function freeVariables(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.kind) {
    case 'var': out.add(e.name); break;
    case 'list': e.items.forEach((i) => freeVariables(i, out)); break;
    case 'unary': freeVariables(e.arg, out); break;
    case 'binary': freeVariables(e.left, out); freeVariables(e.right, out); break;
    case 'cond': freeVariables(e.test, out); freeVariables(e.then, out); freeVariables(e.else, out); break;
    case 'call': if (e.fn !== 'shape' && e.fn !== 'channels') e.args.forEach((a) => freeVariables(a, out)); break;
    case 'index': freeVariables(e.target, out); freeVariables(e.index, out); break;
    case 'num': case 'str': case 'bool': case 'null': break;
  }
  return out;
}
