/** The closed expression language: parsing, precedence, evaluation, errors. */
import { describe, expect, it } from 'vitest';
import { ExprSyntaxError, parseExpr, freeVariables } from '../src/expr/parse.js';
import { EvalError, evaluate, type Scope, type Value } from '../src/expr/evaluate.js';

function scope(vars: Record<string, Value>): Scope {
  return { get: (n) => vars[n], names: () => Object.keys(vars) };
}
const ev = (src: string, vars: Record<string, Value> = {}) => evaluate(parseExpr(src), scope(vars));

describe('expressions', () => {
  it.each([
    ['6 * n + 2', { n: 3 }, 20],
    ['16 * 2 ** stage', { stage: 2 }, 64],
    ['2 ** 3 ** 2', {}, 512], // right-associative
    ['-2 ** 2', {}, -4], // as in Python
    ['2 ** -1', {}, 0.5],
    ['7 // 2', {}, 3],
    ['-7 // 2', {}, -4], // floor division
    ['-7 % 3', {}, 2], // Python modulo
    ['(depth - 2) % 6 == 0', { depth: 20 }, true],
    ['stage > 0 && block == 0', { stage: 1, block: 0 }, true],
    ['!conv_first', { conv_first: true }, false],
    ["down ? 2 : 1", { down: false }, 1],
    ["a ? 'x' : b ? 'y' : 'z'", { a: false, b: true }, 'y'],
    ['activation != null', { activation: null }, false],
    ['range(3)', {}, [0, 1, 2]],
    ['range(1, 7, 2)', {}, [1, 3, 5]],
    ['len([1, 2, 3]) + len("ab")', {}, 5],
    ['min(3, 1, 2) + max([4, 9])', {}, 10],
    ['floor(2.7) + ceil(2.1) + round(2.5) + abs(-1)', {}, 9],
    ['[1, 2] + [3]', {}, [1, 2, 3]],
    ['"ab" + "c"', {}, 'abc'],
    ['xs[1] + xs[-1]', { xs: [10, 20, 30] }, 50],
    ['[1, [2]] == [1, [2]]', {}, true],
    ['1 < 2 == true', {}, true],
  ])('%s = %j', (src, vars, expected) => {
    expect(ev(src, vars as Record<string, Value>)).toEqual(expected);
  });

  it('short-circuits && and ||', () => {
    expect(ev('false && missing', {})).toBe(false);
    expect(ev('true || missing', {})).toBe(true);
  });

  it.each([
    ['1 +', 'unexpected end of expression'],
    ['foo(1)', "unknown function 'foo'"],
    ['a.b', "'.' (property access) is not part of the expression language"],
    ['(1', "expected ')'"],
    ['"abc', 'unterminated string'],
    ['1 2', 'unexpected number 2 after the end of the expression'],
  ])('syntax error in %s', (src, message) => {
    expect(() => parseExpr(src)).toThrow(ExprSyntaxError);
    expect(() => parseExpr(src)).toThrow(message);
  });

  it('syntax errors carry the offending offset', () => {
    try {
      parseExpr('n * * 2');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ExprSyntaxError);
      expect((e as ExprSyntaxError).start).toBe(4);
    }
  });

  it.each([
    ['"a" * 2', 'type', "'*' needs a number, got string"],
    ['1 / 0', 'math', 'division by zero'],
    ['1 % 0', 'math', 'modulo by zero'],
    ['nn + 1', 'unknownVariable', "unknown variable 'nn'"],
    ['1 && true', 'type', "'&&' needs a boolean, got int 1"],
    ['range(1.5)', 'type', 'range() needs an integer, got 1.5'],
    ['[1][3]', 'type', 'index 3 is out of range for length 1'],
    ['10 ** 400', 'math', 'not a finite number'],
    ['range(100000000)', 'math', 'range() would have 100000000 elements'],
  ])('evaluation error in %s', (src, kind, message) => {
    try {
      ev(src, { n: 1 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(EvalError);
      expect((e as EvalError).kind).toBe(kind);
      expect((e as EvalError).message).toContain(message);
    }
  });

  it('reports an unknown variable with the names in scope, for "did you mean"', () => {
    try {
      ev('fliters * 2', { filters: 16 });
    } catch (e) {
      expect((e as EvalError).candidates).toContain('filters');
      expect([(e as EvalError).start, (e as EvalError).end]).toEqual([0, 7]);
    }
  });

  it('lists free variables', () => {
    expect([...freeVariables(parseExpr('a + b * min(c, 2) + (d ? e : 1)'))].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('refuses very deep nesting instead of overflowing the stack', () => {
    expect(() => parseExpr('('.repeat(500) + '1' + ')'.repeat(500))).toThrow(/nests deeper/);
  });
});
