/**
 * Options and block arguments of generated builders, checked as the compiler checks `--set`
 * values and block arguments (src/validate/params.ts, the same function and messages), and
 * `assert:` conditions.
 */
import type { ParamDecl, ParamType } from '../types/spec.js';
import { checkParamValue } from '../validate/params.js';
import { show, typeName } from '../expr/evaluate.js';
import { Msg, Say } from '../diagnostics/messages.js';
import { assertValues } from '../expand/engine.js';
import { SpecValueError, failWith, problem as said, type Problem } from './errors.js';

/** A parameter declaration as a generated module states it (a spec's `params` entry). */
export interface ParamSpec {
  name: string;
  type: ParamType;
  default?: unknown;
  min?: number;
  max?: number;
  values?: readonly unknown[];
  nullable?: boolean;
}

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

function toDecl(p: ParamSpec): ParamDecl {
  const d: ParamDecl = { name: p.name, type: p.type, hasDefault: hasOwn(p, 'default'), nullable: p.nullable === true || (hasOwn(p, 'default') && p.default === null), ptr: '' };
  if (hasOwn(p, 'default')) d.default = p.default;
  if (p.min !== undefined) d.min = p.min;
  if (p.max !== undefined) d.max = p.max;
  if (p.values !== undefined) d.values = [...p.values];
  return d;
}

/**
 * Bind declared parameters from the given values and the defaults, as the compiler does:
 * `owner` is `spec` for a spec's options, `block 'name'` for a block's arguments. An option
 * given as `undefined` counts as not given. Every problem is reported, in one error.
 */
export function bindParams<T>(params: readonly ParamSpec[], given: Partial<T> | undefined, owner: string): T {
  const values = (given ?? {}) as Record<string, unknown>;
  const problems: Problem[] = [];
  const names = new Set(params.map((p) => p.name));
  for (const k of Object.keys(values)) {
    if (names.has(k)) continue;
    problems.push(said(owner === 'spec' ? Say.unknownSpecParam(k) : Say.unknownArgument(owner, k)));
  }
  // A plain object without a prototype, so that parameters called `constructor` or `__proto__` are data.
  const out = Object.create(null) as Record<string, unknown>;
  for (const p of params) {
    const decl = toDecl(p);
    let value: unknown;
    if (hasOwn(values, p.name) && values[p.name] !== undefined) value = values[p.name];
    else if (decl.hasDefault) value = decl.default;
    else {
      problems.push(said(Say.missingParam(owner, p.name)));
      continue;
    }
    const problem = checkParamValue(decl, value);
    if (problem) {
      problems.push({ code: (problem.kind === 'type' ? Msg.paramType : Msg.paramRange).code, message: problem.message });
      continue;
    }
    out[p.name] = Array.isArray(value) ? [...(value as unknown[])] : value;
  }
  if (problems.length) throw new SpecValueError(problems);
  return out as T;
}

/**
 * An `assert:` of the spec or of a block: fails with its message and the values of the variables
 * in its condition, as the compiler's MS4006 (`depth must be 6n+2 (depth = 20)`).
 */
export function assert(condition: unknown, message: string, vars: Readonly<Record<string, unknown>> = {}): void {
  if (typeof condition !== 'boolean') failWith(Say.assertNotBoolean(`${typeName(condition)} ${show(condition)}`));
  if (condition) return;
  failWith(Say.assertFailed(message, assertValues(Object.keys(vars), (n) => show(vars[n]))));
}
