/** Evaluation of the expression language. Values are plain JSON-like data. */
import type { Expr } from '../types/spec.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';

export type Value = number | string | boolean | null | Value[];

export type EvalErrorKind = 'unknownVariable' | 'type' | 'math';

/**
 * An expression that cannot be evaluated: always caught and turned into a diagnostic, so it takes
 * no stack trace (capturing one cost most of the time of a loop that evaluates a bad `when:`
 * 50,000 times: 1.4 s).
 */
export class EvalError extends Error {
  readonly kind: EvalErrorKind;
  readonly start: number;
  readonly end: number;
  private readonly candidatesOf: () => Iterable<string>;
  constructor(kind: EvalErrorKind, message: string, start: number, end: number, candidates: () => Iterable<string> = () => []) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.kind = kind;
    this.start = start;
    this.end = end;
    this.candidatesOf = candidates;
  }

  /** For an unknown variable: the names in scope (worked out only when the message is made). */
  get candidates(): string[] {
    return [...new Set(this.candidatesOf())].filter((n) => n !== '' && !n.startsWith('\u0000'));
  }
}

/** Variable lookup: a chain of scopes, innermost last. */
export interface Scope {
  get(name: string): Value | undefined;
  names(): Iterable<string>;
  /**
   * `shape(x)` / `channels(x)` (`ref`, the id or input named) and `shape()` / `channels()` (ref
   * undefined: the current input): the static shape, without the batch dimension; a string says why
   * there is none. Absent where shapes cannot be read (spec params, `--set`).
   */
  shape?(ref: string | undefined): number[] | string;
}

/** The shape functions of expressions: `shape(x)` is the list of dims (batch left out), `channels(x)` the last. */
export const SHAPE_FUNCTIONS = ['shape', 'channels'] as const;


export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

export function show(v: unknown): string {
  // JSON would print NaN and Infinity (from a --set value such as .nan) as null.
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return JSON.stringify(v) ?? String(v);
}

/** Evaluation steps of all the expressions of one compilation (see `maxTotalEvalSteps`). */
export interface EvalMeter {
  steps: number;
}

/**
 * The size of a value: 1 for a number, boolean or null, the length of a string, the sizes of a
 * list's elements added up (nested lists included: `[a, a]` holds `a` twice). Lists are shared
 * between variables, so sizes are remembered rather than recounted.
 */
const sizes = new WeakMap<Value[], number>();
export function valueSize(v: Value): number {
  if (typeof v === 'string') return Math.max(1, v.length);
  if (!Array.isArray(v)) return 1;
  let n = sizes.get(v);
  if (n === undefined) {
    n = 0;
    for (const x of v) n += valueSize(x);
    n = Math.max(1, n);
    sizes.set(v, n);
  }
  return n;
}

/** The limits evaluation keeps to. */
export type EvalLimits = Pick<Limits, 'maxEvalSteps' | 'maxTotalEvalSteps' | 'maxListLength'>;

export function evaluate(e: Expr, scope: Scope, meter?: EvalMeter, limits: EvalLimits = DEFAULT_LIMITS): Value {
  // Fast path for `$name` and literals, by far the most common expressions (one step each).
  if (e.kind === 'var') {
    const v = scope.get(e.name);
    if (v !== undefined) {
      if (meter) countTotal(meter, 1, e, limits);
      return v;
    }
  } else if (e.kind === 'num' || e.kind === 'str' || e.kind === 'bool') {
    if (meter) countTotal(meter, 1, e, limits);
    return e.value;
  }
  let steps = 0;
  try {
    return evaluateSteps(e, scope, limits, (n, at, check = true) => {
      steps += n;
      if (!check) return;
      if (steps > limits.maxEvalSteps) throw new EvalError('math', `evaluation takes more than ${limits.maxEvalSteps} steps (maxEvalSteps)`, at.start, at.end);
      if (meter && meter.steps + steps > limits.maxTotalEvalSteps) {
        throw new EvalError('math', `the expressions of this model take more than ${limits.maxTotalEvalSteps} evaluation steps in all (maxTotalEvalSteps)`, at.start, at.end);
      }
    });
  } finally {
    if (meter) meter.steps += steps;
  }
}

function countTotal(meter: EvalMeter, n: number, at: Expr, limits: EvalLimits): void {
  meter.steps += n;
  if (meter.steps > limits.maxTotalEvalSteps) {
    throw new EvalError('math', `the expressions of this model take more than ${limits.maxTotalEvalSteps} evaluation steps in all (maxTotalEvalSteps)`, at.start, at.end);
  }
}

/**
 * `count(n, at)` adds n steps and fails past a limit; `check: false` leaves the check to the next step.
 * Long (~160 lines) by design: the interpreter is one switch over the expression kinds whose cases
 * share the step counter and the helpers above it as closures; split apart, each would take them
 * all as parameters, and this is the hottest code of a compile.
 */
function evaluateSteps(e: Expr, scope: Scope, limits: EvalLimits, count: (n: number, at: Expr, check?: boolean) => void): Value {
  const fail = (kind: EvalErrorKind, msg: string, at: Expr): never => { throw new EvalError(kind, msg, at.start, at.end); };
  /** A list or string built by an expression holds at most maxListLength values (characters); checked before it is built. */
  const sizeOk = (n: number, what: 'string' | 'list', at: Expr): void => {
    if (n <= limits.maxListLength) return;
    fail('math', what === 'string'
      ? `the string would have ${n} characters (limit ${limits.maxListLength}, maxListLength)`
      : `the list would hold ${n} values in all (limit ${limits.maxListLength}, maxListLength)`, at);
  };
  const deepEqual = (a: Value, b: Value, at: Expr): boolean => {
    count(1, at);
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) if (!deepEqual(a[i]!, b[i]!, at)) return false;
      return true;
    }
    return a === b;
  };
  const num = (v: Value, at: Expr, what: string): number => {
    if (typeof v !== 'number') fail('type', `${what} needs a number, got ${typeName(v)} ${show(v)}`, at);
    return v as number;
  };
  const int = (v: Value, at: Expr, what: string): number => {
    const n = num(v, at, what);
    if (!Number.isInteger(n)) fail('type', `${what} needs an integer, got ${show(n)}`, at);
    return n;
  };
  const bool = (v: Value, at: Expr, what: string): boolean => {
    if (typeof v !== 'boolean') fail('type', `${what} needs a boolean, got ${typeName(v)} ${show(v)}`, at);
    return v as boolean;
  };
  const finite = (n: number, at: Expr): number => {
    if (!Number.isFinite(n)) fail('math', `the result is not a finite number (${n})`, at);
    return n;
  };

  const ev = (x: Expr): Value => {
    count(1, x);
    switch (x.kind) {
      case 'num': return x.value;
      case 'str': return x.value;
      case 'bool': return x.value;
      case 'null': return null;
      case 'var': {
        const v = scope.get(x.name);
        if (v === undefined) throw new EvalError('unknownVariable', `unknown variable '${x.name}'`, x.start, x.end, () => scope.names());
        return v;
      }
      case 'list': {
        const items = x.items.map(ev);
        let n = 0;
        for (const v of items) n += valueSize(v);
        sizeOk(n, 'list', x);
        return items;
      }
      case 'unary': {
        const v = ev(x.arg);
        if (x.op === '!') return !bool(v, x.arg, "'!'");
        const n = num(v, x.arg, `unary '${x.op}'`);
        return x.op === '-' ? -n : n;
      }
      case 'cond': return bool(ev(x.test), x.test, 'the condition of ?:') ? ev(x.then) : ev(x.else);
      case 'index': {
        const t = ev(x.target);
        const i = ev(x.index);
        if (!Array.isArray(t) && typeof t !== 'string') fail('type', `only lists and strings can be indexed, got ${typeName(t)}`, x.target);
        const k = int(i, x.index, 'an index');
        const arr = t as Value[] | string;
        const j = k < 0 ? arr.length + k : k;
        if (j < 0 || j >= arr.length) fail('type', `index ${k} is out of range for length ${arr.length}`, x.index);
        return arr[j]!;
      }
      case 'binary': {
        if (x.op === '&&') return bool(ev(x.left), x.left, "'&&'") && bool(ev(x.right), x.right, "'&&'");
        if (x.op === '||') return bool(ev(x.left), x.left, "'||'") || bool(ev(x.right), x.right, "'||'");
        const a = ev(x.left);
        const b = ev(x.right);
        switch (x.op) {
          case '==': return deepEqual(a, b, x);
          case '!=': return !deepEqual(a, b, x);
          case '+':
            if (typeof a === 'string' && typeof b === 'string') {
              sizeOk(a.length + b.length, 'string', x);
              count(a.length + b.length, x);
              return a + b;
            }
            if (Array.isArray(a) && Array.isArray(b)) {
              sizeOk(valueSize(a) + valueSize(b), 'list', x);
              count(a.length + b.length, x);
              return [...a, ...b];
            }
            if (typeof a === 'number' && typeof b === 'number') return finite(a + b, x);
            return fail('type', `'+' cannot add ${typeName(a)} and ${typeName(b)}`, x);
          case '<': case '<=': case '>': case '>=': {
            if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) {
              fail('type', `'${x.op}' cannot compare ${typeName(a)} and ${typeName(b)}`, x);
            }
            const l = a as number | string, r = b as number | string;
            return x.op === '<' ? l < r : x.op === '<=' ? l <= r : x.op === '>' ? l > r : l >= r;
          }
          default: {
            const l = num(a, x.left, `'${x.op}'`);
            const r = num(b, x.right, `'${x.op}'`);
            switch (x.op) {
              case '-': return finite(l - r, x);
              case '*': return finite(l * r, x);
              case '/': if (r === 0) fail('math', 'division by zero', x); return finite(l / r, x);
              case '//': if (r === 0) fail('math', 'division by zero', x); return finite(Math.floor(l / r), x);
              case '%': if (r === 0) fail('math', 'modulo by zero', x); return finite(l - r * Math.floor(l / r), x);
              case '**': return finite(l ** r, x);
            }
          }
        }
        return fail('type', `unknown operator ${x.op}`, x);
      }
      case 'call': {
        if ((SHAPE_FUNCTIONS as readonly string[]).includes(x.fn)) {
          // The argument names a reference (an id or an input), not a variable: it is not evaluated.
          if (x.args.length > 1 || (x.args[0] && x.args[0].kind !== 'var')) fail('type', `${x.fn}() takes the id of a layer or an input (or nothing: the current input), as in ${x.fn}(x)`, x);
          const ref = x.args[0]?.kind === 'var' ? x.args[0].name : undefined;
          const got = scope.shape ? scope.shape(ref) : 'shapes are not known where parameters are given';
          if (typeof got === 'string') fail('type', `${x.fn}(${ref ?? ''}): ${got}`, x);
          const dims = got as number[];
          if (x.fn === 'shape') return [...dims];
          if (dims.length === 0) fail('type', `${x.fn}(${ref ?? ''}): the shape has no dimensions`, x);
          return dims[dims.length - 1]!;
        }
        const args = x.args.map(ev);
        const arity = (lo: number, hi: number) => {
          if (args.length < lo || args.length > hi) fail('type', `${x.fn}() takes ${lo === hi ? lo : `${lo} to ${hi}`} argument${hi === 1 ? '' : 's'}, got ${args.length}`, x);
        };
        switch (x.fn) {
          case 'min': case 'max': {
            const list = args.length === 1 && Array.isArray(args[0]) ? (args[0] as Value[]) : args;
            if (list.length === 0) fail('type', `${x.fn}() needs at least one value`, x);
            count(list.length, x);
            const ns = list.map((v, i) => num(v, x.args[Math.min(i, x.args.length - 1)]!, `${x.fn}()`));
            // A loop, not Math.min(...ns): spreading a long list would overflow the stack.
            let best = ns[0]!;
            for (const n of ns) best = x.fn === 'min' ? Math.min(best, n) : Math.max(best, n);
            return best;
          }
          case 'floor': arity(1, 1); return Math.floor(num(args[0]!, x.args[0]!, 'floor()'));
          case 'ceil': arity(1, 1); return Math.ceil(num(args[0]!, x.args[0]!, 'ceil()'));
          case 'round': arity(1, 1); return Math.round(num(args[0]!, x.args[0]!, 'round()'));
          case 'abs': arity(1, 1); return Math.abs(num(args[0]!, x.args[0]!, 'abs()'));
          case 'len': {
            arity(1, 1);
            const v = args[0]!;
            if (!Array.isArray(v) && typeof v !== 'string') fail('type', `len() needs a list or a string, got ${typeName(v)}`, x.args[0]!);
            return (v as Value[] | string).length;
          }
          case 'range': {
            arity(1, 3);
            const ns = args.map((v, i) => int(v, x.args[i]!, 'range()'));
            const [start, stop, step] = ns.length === 1 ? [0, ns[0]!, 1] : [ns[0]!, ns[1]!, ns[2] ?? 1];
            if (step === 0) fail('math', 'range() step must not be zero', x);
            const n = Math.max(0, Math.ceil((stop - start) / step));
            if (n > limits.maxListLength) fail('math', `range() would have ${n} elements (limit ${limits.maxListLength})`, x);
            // Checked at the next step, so that range(maxListLength) alone is within maxEvalSteps.
            count(n, x, false);
            const out: number[] = new Array(n);
            for (let i = 0; i < n; i++) out[i] = start + i * step;
            return out;
          }
        }
        return fail('type', `unknown function ${x.fn}`, x);
      }
    }
  };
  return ev(e);
}
