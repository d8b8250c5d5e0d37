/** Typed parameter values: checking defaults, `--set` values and block arguments against declarations. */
import type { ParamDecl } from '../types/spec.js';
import { ACTIVATIONS } from '../ops/attrs.js';
import { show, typeName } from '../expr/evaluate.js';

export type ParamProblem = { kind: 'type' | 'range'; message: string };

/** Returns a problem with `value` for `decl`, or undefined when it fits. */
export function checkParamValue(decl: ParamDecl, value: unknown): ParamProblem | undefined {
  const name = `parameter '${decl.name}'`;
  if (value === null) {
    return decl.nullable ? undefined : { kind: 'type', message: `${name} must not be null (declare it nullable: true to allow it)` };
  }
  const typeErr = (want: string): ParamProblem => ({ kind: 'type', message: `${name} must be ${want}, got ${typeName(value)} ${show(value)}` });
  const range = (v: number): ParamProblem | undefined => {
    if (decl.min !== undefined && v < decl.min) return { kind: 'range', message: `${name} must be >= ${decl.min}, got ${v}` };
    if (decl.max !== undefined && v > decl.max) return { kind: 'range', message: `${name} must be <= ${decl.max}, got ${v}` };
    return undefined;
  };
  switch (decl.type) {
    case 'int':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return typeErr('an integer');
      return range(value);
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value)) return typeErr('a number');
      return range(value);
    case 'bool':
      return typeof value === 'boolean' ? undefined : typeErr('true or false');
    case 'string':
      return typeof value === 'string' ? undefined : typeErr('a string');
    case 'enum': {
      const values = decl.values ?? [];
      return values.some((v) => JSON.stringify(v) === JSON.stringify(value))
        ? undefined
        : { kind: 'range', message: `${name} must be one of ${values.map((v) => show(v)).join(', ')}, got ${show(value)}` };
    }
    case 'shape':
      if (!Array.isArray(value) || value.length === 0 || !value.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 1)) {
        return typeErr('a shape (a non-empty list of positive integers, e.g. [32, 32, 3])');
      }
      return undefined;
    case 'activation':
      return typeof value === 'string' && (ACTIVATIONS as readonly string[]).includes(value)
        ? undefined
        : { kind: 'range', message: `${name} must be an activation (${ACTIVATIONS.join(', ')}${decl.nullable ? ', or null' : ''}), got ${show(value)}` };
  }
}
