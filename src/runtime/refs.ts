/** References that may be missing for some parameter values, with the compiler's messages. */
import { fail } from './errors.js';

/** The output of an item with `id` and `when:`; fails as the compiler does where the `when:` was false. */
export function ref<T>(value: T | undefined, id: string): T {
  if (value === undefined) fail('MS3001', `'${id}' is not in the model for these parameter values: its when: is false`);
  return value;
}

/** An item that takes the previous output where there is none (a model with several inputs, or none). */
export function noInput(inputs: number): never {
  return fail('MS3012', `this item has no input: the model has ${inputs === 0 ? 'no inputs' : `${inputs} inputs`}, so say which one it takes`);
}
