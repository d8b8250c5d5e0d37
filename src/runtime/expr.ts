/**
 * The expression language's operations that TypeScript spells differently, for generated
 * code: floor division, Python's modulo, deep equality, indexing with negative indices,
 * `range`, and checked conversions where a value's type is not known statically. Each
 * behaves as `src/expr/evaluate.ts` and fails with its message.
 */
import { show, typeName, type Value } from '../expr/evaluate.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { Msg } from '../diagnostics/messages.js';
import { fail } from './errors.js';

export type { Value };

const TYPE = Msg.exprType.code;
const MATH = Msg.exprMath.code;

/** `a // b`: floor division. */
export function floorDiv(a: number, b: number): number {
  if (b === 0) fail(MATH, 'division by zero');
  return Math.floor(a / b);
}

/** `a % b`: the remainder with the divisor's sign, as in Python (`-7 % 2` is 1). */
export function mod(a: number, b: number): number {
  if (b === 0) fail(MATH, 'modulo by zero');
  return a - b * Math.floor(a / b);
}

/** `a == b`: structural equality (lists element-wise), no coercion. */
export function eq(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => eq(x, b[i]));
  return a === b;
}

/** `range(stop)`, `range(start, stop)`, `range(start, stop, step)`: a list of ints, as in Python. */
export function range(...args: number[]): number[] {
  if (args.length < 1 || args.length > 3) fail(TYPE, `range() takes 1 to 3 arguments, got ${args.length}`);
  for (const v of args as unknown[]) {
    if (typeof v !== 'number') fail(TYPE, `range() needs a number, got ${typeName(v)} ${show(v)}`);
    if (!Number.isInteger(v)) fail(TYPE, `range() needs an integer, got ${show(v)}`);
  }
  const [start, stop, step] = args.length === 1 ? [0, args[0]!, 1] : [args[0]!, args[1]!, args[2] ?? 1];
  if (step === 0) fail(MATH, 'range() step must not be zero');
  const count = Math.max(0, Math.ceil((stop - start) / step));
  if (count > DEFAULT_LIMITS.maxListLength) fail(MATH, `range() would have ${count} elements (limit ${DEFAULT_LIMITS.maxListLength})`);
  return Array.from({ length: count }, (_, i) => start + i * step);
}

/** `xs[i]`: an element of a list or a character of a string; negative indices count from the end. */
export function at<T>(target: readonly T[], index: number): T;
export function at(target: string, index: number): string;
export function at(target: unknown, index: unknown): Value;
export function at(target: unknown, index: unknown): unknown {
  if (!Array.isArray(target) && typeof target !== 'string') fail(TYPE, `only lists and strings can be indexed, got ${typeName(target)}`);
  if (typeof index !== 'number' || !Number.isInteger(index)) {
    fail(TYPE, typeof index === 'number' ? `an index needs an integer, got ${show(index)}` : `an index needs a number, got ${typeName(index)} ${show(index)}`);
  }
  const t = target as readonly unknown[] | string;
  const j = index < 0 ? t.length + index : index;
  if (j < 0 || j >= t.length) fail(TYPE, `index ${index} is out of range for length ${t.length}`);
  return t[j];
}

/** `len(x)` where x is not known to be a list or a string. */
export function len(v: unknown): number {
  if (!Array.isArray(v) && typeof v !== 'string') fail(TYPE, `len() needs a list or a string, got ${typeName(v)}`);
  return (v as readonly unknown[] | string).length;
}

/** A value that must be a number (an operand of arithmetic whose type is not known statically). */
export function num(v: unknown, what: string): number {
  if (typeof v !== 'number') fail(TYPE, `${what} needs a number, got ${typeName(v)} ${show(v)}`);
  return v;
}

/** A value that must be a boolean (a condition whose type is not known statically). */
export function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') fail(TYPE, `${what} needs a boolean, got ${typeName(v)} ${show(v)}`);
  return v;
}

/** `a + b` where the operand types are not known statically: numbers, strings or lists. */
export function plus(a: unknown, b: unknown): Value {
  if (typeof a === 'string' && typeof b === 'string') return a + b;
  if (Array.isArray(a) && Array.isArray(b)) return [...(a as Value[]), ...(b as Value[])];
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  return fail(TYPE, `'+' cannot add ${typeName(a)} and ${typeName(b)}`);
}

/** `a < b` (and the other orderings) where the operand types are not known statically. */
export function compare(op: '<' | '<=' | '>' | '>=', a: unknown, b: unknown): boolean {
  if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) {
    fail(TYPE, `'${op}' cannot compare ${typeName(a)} and ${typeName(b)}`);
  }
  const l = a as number | string;
  const r = b as number | string;
  return op === '<' ? l < r : op === '<=' ? l <= r : op === '>' ? l > r : l >= r;
}

function extreme(fn: 'min' | 'max', args: readonly unknown[]): number {
  const list = args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  if (list.length === 0) fail(TYPE, `${fn}() needs at least one value`);
  const ns = list.map((v) => num(v, `${fn}()`));
  return fn === 'min' ? Math.min(...ns) : Math.max(...ns);
}

/** `min(list)` or `min(a, b, ...)` with operands not known to be numbers. */
export function min(...args: unknown[]): number {
  return extreme('min', args);
}

/** `max(list)` or `max(a, b, ...)` with operands not known to be numbers. */
export function max(...args: unknown[]): number {
  return extreme('max', args);
}

/**
 * A value whose type the generator could not prove to fit where it goes (a block argument);
 * the block checks it at run time, with the compiler's message, before using it.
 */
export function unchecked<T>(v: unknown): T {
  return v as T;
}

/** A `when:` condition whose type is not known statically: true or false, else the compiler's error. */
export function when(v: unknown): boolean {
  if (typeof v !== 'boolean') fail(TYPE, `when: must be true or false, got ${typeName(v)} ${show(v)}`);
  return v;
}
