/**
 * src/expand/engine.ts: the naming, loop-suffix, attribute and arity rules that the compiler and the
 * generated builders' runtime both expand with. The two are compared end to end by the spec2ts
 * property tests; these pin the rules themselves.
 */
import { describe, expect, it } from 'vitest';
import { Names, arityProblem, fillAttrs, loopSuffix } from '../src/expand/engine.js';
import { builtinRegistry } from '../src/ops/index.js';
import { Msg } from '../src/diagnostics/messages.js';

describe('Names', () => {
  it('suffixes a repeated base _1, _2 ... per scope, skipping reserved ids and names taken', () => {
    const n = new Names();
    n.reserve('', ['conv2d_1']);
    n.take('', 'conv2d_2');
    expect([n.alloc('', 'conv2d'), n.alloc('', 'conv2d'), n.alloc('', 'conv2d'), n.alloc('s', 'conv2d')]).toEqual(['conv2d', 'conv2d_3', 'conv2d_4', 'conv2d']);
  });

  it('a claimed id is a duplicate the second time (MS3003), and generated names avoid it', () => {
    const n = new Names();
    expect(n.claim('', 'head')).toBeUndefined();
    expect(n.claim('', 'head')).toEqual({ key: 'duplicateId', message: "id 'head' is used twice in the same scope" });
    expect(n.alloc('', 'head')).toBe('head_1');
  });

  it('20,000 unnamed layers of one op in one scope are named in linear time', () => {
    const n = new Names();
    const start = performance.now();
    let last = '';
    for (let i = 0; i < 20_000; i++) last = n.alloc('', 'dense');
    expect(last).toBe('dense_19999');
    // Quadratic search took seconds; linear takes milliseconds (generous for a loaded machine).
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe('rules', () => {
  it('loop suffixes: numbers and identifier-like strings of for, else the index', () => {
    expect([loopSuffix('for', 2, 0), loopSuffix('for', 'relu', 1), loopSuffix('for', 'a b', 2), loopSuffix('for', -1, 3), loopSuffix('repeat', 7, 4)]).toEqual(['2', '_relu', '2', '3', '4']);
  });

  it('attributes take Keras defaults; an unknown one is reported before a missing required one', () => {
    const defs = Object.entries(builtinRegistry().get('dense')!.attrs);
    const ok = fillAttrs('dense', defs, new Map([['units', 3]]));
    expect(ok.problem).toBeUndefined();
    expect(ok.attrs).toMatchObject({ units: 3, activation: null, use_bias: true });
    expect(fillAttrs('dense', defs, new Map([['unit', 3]])).problem).toEqual({ key: 'unknownAttribute', message: "dense has no attribute 'unit'" });
    expect(fillAttrs('dense', defs, new Map()).problem).toEqual({ key: 'missingKey', message: "dense needs the attribute 'units'" });
  });

  it('arity: one input, or two and more for a merge, as MS3010', () => {
    expect(arityProblem('one', 'dense', 1)).toBeUndefined();
    expect(arityProblem('merge', 'add', 2)).toBeUndefined();
    const p = arityProblem('merge', 'add', 1)!;
    expect([Msg[p.key].code, p.message]).toEqual(['MS3010', 'add merges two or more inputs, got 1']);
    expect(arityProblem('one', 'dense', 2)!.message).toBe('dense takes one input, got 2');
  });
});
