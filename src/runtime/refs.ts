/** References that may be missing for some parameter values, with the compiler's messages. */
import { Say } from '../diagnostics/messages.js';
import { failWith } from './errors.js';
import { loopOutputAt } from '../expand/engine.js';

/**
 * The output of an item with `id` that may have none; fails as the compiler does where it has none:
 * `when`, an item whose `when:` was false; `empty`, a loop with no iteration (or every item left out)
 * and no input to pass through.
 */
export function ref<T>(value: T | undefined, id: string, why: 'when' | 'empty' = 'when'): T {
  if (value === undefined) {
    failWith(why === 'empty' ? Say.refNoOutput(id) : Say.refWhenFalse(id));
  }
  return value;
}

/** An item that takes the previous output where there is none (a model with several inputs, or none). */
export function noInput(inputs: number): never {
  return failWith(Say.itemNoInput(inputs));
}

/** `skip[i]` in generated code: one iteration's output of an earlier loop's item, failing as the compiler does. */
export function loopOutput<T>(list: readonly (T | undefined)[], base: string, index: unknown): T {
  const got = loopOutputAt(list, base, index);
  if ('problem' in got) return failWith(got.problem);
  return ref(got.value, `${base}[${JSON.stringify(index)}]`);
}
