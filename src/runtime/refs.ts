/** References that may be missing for some parameter values, with the compiler's messages. */
import { fail } from './errors.js';

/**
 * The output of an item with `id` that may have none; fails as the compiler does where it has none:
 * `when`, an item whose `when:` was false; `empty`, a loop with no iteration (or every item left out)
 * and no input to pass through.
 */
export function ref<T>(value: T | undefined, id: string, why: 'when' | 'empty' = 'when'): T {
  if (value === undefined) {
    fail('MS3001', why === 'empty'
      ? `'${id}' has no output here: it passes its input through (no iteration, or every item left out by when:), and it has no input`
      : `'${id}' is not in the model for these parameter values: its when: is false`);
  }
  return value;
}

/** An item that takes the previous output where there is none (a model with several inputs, or none). */
export function noInput(inputs: number): never {
  return fail('MS3012', `this item has no input: the model has ${inputs === 0 ? 'no inputs' : `${inputs} inputs`}, so say which one it takes`);
}
