/**
 * The catalogue of every user-facing diagnostic. Codes are stable: tools and
 * tests refer to them. `docs/diagnostics.md` is generated from this table
 * (`npm run gen`), so each entry carries a title and an explanation.
 *
 * Ranges: MS1xxx reading files and YAML, MS2xxx structure (schema), MS3xxx
 * names and references, MS4xxx values, parameters and expressions, MS5xxx
 * shapes, MS6xxx warnings, MS9xxx internal.
 */
import type { Severity } from '../types/diagnostic.js';

export interface MessageDef {
  code: string;
  severity: Severity;
  title: string;
  doc: string;
}

function m(code: string, severity: Severity, title: string, doc: string): MessageDef {
  return { code, severity, title, doc };
}

export const Msg = {
  yamlSyntax: m('MS1001', 'error', 'YAML syntax error', 'The file is not well-formed YAML. The message is the YAML parser\'s.'),
  yamlTag: m('MS1002', 'error', 'YAML tag not allowed', 'Only the YAML core schema is accepted; tags such as `!!js/function` or `!custom` are refused, so a spec is always plain data.'),
  yamlDuplicateKey: m('MS1003', 'error', 'duplicate key', 'A mapping has the same key twice; YAML would silently keep one of them.'),
  fileRead: m('MS1004', 'error', 'file cannot be read', 'A spec file, or a file named in `use:`, does not exist or cannot be read.'),
  resourceLimit: m('MS1006', 'error', 'resource limit exceeded', 'A file is larger, or nests deeper, or expands (through YAML aliases) to more nodes than the limits allow (docs/robustness.md). This guards `modelspec check` against hostile input.'),
  notAMapping: m('MS1005', 'error', 'spec is not a mapping', 'A spec file must be a YAML mapping with `modelspec: 1` at the top.'),

  unknownKey: m('MS2001', 'error', 'unknown key', 'A key that this place does not take. Unknown keys are errors rather than being ignored, so a typo never falls back to a default silently.'),
  unknownAttribute: m('MS2002', 'error', 'unknown attribute', 'An op was given an attribute it does not have (Keras\' snake_case names are used).'),
  missingKey: m('MS2003', 'error', 'missing required key or attribute', 'A required key (such as `modelspec`, or an op\'s required attribute such as conv2d `filters`) is missing.'),
  wrongType: m('MS2004', 'error', 'wrong type', 'A value has the wrong type, e.g. a string where an integer is needed.'),
  outOfRange: m('MS2005', 'error', 'value out of range', 'A number is outside the bounds the attribute allows (e.g. `filters: 0`, `rate: 1.5`).'),
  notInEnum: m('MS2006', 'error', 'value not allowed', 'A value is not one of the allowed choices (e.g. `padding: full`).'),
  invalidValue: m('MS2007', 'error', 'invalid value', 'A value does not have the required form (e.g. a list of the wrong length).'),
  itemOpCount: m('MS2008', 'error', 'item must name exactly one op', 'An item of `layers` is a mapping with exactly one op or block key (plus `id`, `from`, `when`), or a `repeat`, `for`, `branches` or `share` item.'),
  keyNotAllowedHere: m('MS2009', 'error', 'key not allowed on this kind of item', 'A key that belongs to another kind of item, e.g. `as:` on a layer.'),
  unsupportedVersion: m('MS2010', 'error', 'unsupported format version', 'The spec asks for a `modelspec:` version this compiler does not read.'),

  unknownReference: m('MS3001', 'error', 'unknown reference', 'A `from:`, `share:` or `outputs:` name is neither an input nor the id of an earlier item in scope.'),
  forwardReference: m('MS3002', 'error', 'forward or cyclic reference', 'A reference names an item defined later. Inputs must come from items defined before, which keeps every graph acyclic; a pair of items that refer to each other is reported here.'),
  duplicateId: m('MS3003', 'error', 'duplicate id', 'Two items of the same scope use the same `id`.'),
  recursiveBlock: m('MS3004', 'error', 'recursive block', 'A block calls itself, directly or through other blocks. Blocks are expanded statically, so recursion is refused.'),
  unknownOp: m('MS3005', 'error', 'unknown op or block', 'An item names neither a registered op nor a block defined in this spec or the files it `use`s.'),
  unknownArgument: m('MS3006', 'error', 'unknown block argument', 'A block call passes an argument the block does not declare in its `params`.'),
  missingParam: m('MS3007', 'error', 'parameter without a value', 'A parameter has no default and no value was given (`--set`, or an argument of a block call).'),
  unknownSetParam: m('MS3008', 'error', 'unknown parameter in --set', '`--set name=value` names a parameter the spec does not declare.'),
  blockConflict: m('MS3009', 'error', 'block defined twice', 'Two blocks of the same name are visible (in the spec and in a `use`d file, or in two `use`d files).'),
  arity: m('MS3010', 'error', 'wrong number of inputs', 'An op received a number of inputs it cannot take: a merge (`add`, `concatenate`, ...) needs at least two, every other op exactly one.'),
  badShare: m('MS3011', 'error', 'invalid shared layer', '`share:` must name a layer (with or without weights) or a block call, not a model input or a `repeat`, `for` or `branches` item.'),
  loopOutput: m('MS3081', 'error', 'invalid loop output reference', 'A reference `name[index]` reads one iteration\'s output of the item `name` in the body of an earlier `repeat`/`for`; the index is an int expression, negative from the end, within the number of iterations.'),
  sharedCallDiffers: m('MS3080', 'error', 'shared block call expands differently', 'A `share:` of a block call applies the block again with the layers of the original call; here the block makes another layer than the original call made at that place (its `when:` or loops depend on the input).'),
  unknownOutput: m('MS3130', 'error', 'unknown output of an item', 'A reference `id.name` takes one output of an item that has several: `enc.state_h` and `enc.state_c` of an `lstm` with `return_state: true`, `enc.state` of a `gru` or `simple_rnn` with it (`enc` alone is the first output). Here the item has no output of that name, or returns no states (return_state is false), or the reference names no item with several outputs.'),
  noInput: m('MS3012', 'error', 'item has no input', 'The first item of a spec with several inputs (or none) must say which one it takes with `from:`.'),
  useOutsideRoot: m('MS3014', 'error', 'use: outside the project', 'A `use:` path leads outside the spec\'s project (the nearest folder above it with package.json or .git). Pass --allow-outside-root to permit it.'),
  useCycle: m('MS3013', 'error', 'use cycle', 'Files named in `use:` include each other.'),

  exprSyntax: m('MS4001', 'error', 'expression syntax error', 'A `${...}` expression cannot be parsed. The language is closed: numbers, strings, booleans, null, variables, lists, arithmetic, comparisons, `&& || !`, `c ? a : b`, indexing and the functions min, max, floor, ceil, round, abs, range, len.'),
  unknownVariable: m('MS4002', 'error', 'unknown variable', 'An expression names a variable that is neither a parameter, a `let`, nor a loop variable in scope.'),
  exprType: m('MS4003', 'error', 'expression type error', 'An operator or function got values of the wrong type (e.g. `"a" * 2`, `range(1.5)`).'),
  paramType: m('MS4004', 'error', 'parameter value of the wrong type', 'A parameter value (a default, `--set`, or a block argument) does not have the parameter\'s declared type.'),
  paramRange: m('MS4005', 'error', 'parameter value out of range', 'A parameter value is outside its declared `min`/`max` or not one of its `values`.'),
  assertFailed: m('MS4006', 'error', 'assertion failed', 'An `assert:` of the spec or of a block evaluated to false for these parameter values.'),
  exprMath: m('MS4007', 'error', 'arithmetic error', 'Division or modulo by zero, or a result that is not a finite number; or an expression past its limits (docs/robustness.md): too many evaluation steps (in one expression, or in all of them), a `range()`, list or string too long.'),
  expansionLimit: m('MS4009', 'error', 'expansion limit reached', 'Expanding `repeat`, `for` and blocks would create more nodes than the limit (20,000 by default), take more expansion steps (100,000: every item of every iteration, those that make no node included), or nest blocks deeper (64); or a loop has an invalid count. This guards against specs that would exhaust memory or time (docs/robustness.md).'),
  notExportable: m('MS4140', 'error', 'not exportable to PyTorch', '`modelspec export --format pytorch` writes only what it can write exactly as Keras computes it: the op at this item has no PyTorch mapping (docs/language.md §12 lists the ops that have one), or an attribute value, an initializer or a Keras mask (from `embedding` with mask_zero) that the mapping cannot express. The message names the op and what is refused. Exit code 1.'),
  badSetSyntax: m('MS4008', 'error', 'malformed --set value', '`--set` takes `name=value`, where the value is read as YAML (`n=18`, `input_shape=[64,64,3]`).'),

  shapeMismatch: m('MS5001', 'error', 'incompatible input shapes', 'The inputs of a merge (`add`, `multiply`, `concatenate`, ...) have shapes that cannot be combined, or a recurrent layer\'s initial state (`from: [seq, h, c]`) is not (batch, units). The shapes and the node are named.'),
  shapeInvalid: m('MS5002', 'error', 'op cannot take this input shape', 'An op received an input of the wrong rank, or its output would have a dimension below 1 (e.g. a 5x5 kernel on a 3x3 feature map with `padding: valid`).'),
  tooLarge: m('MS5004', 'error', 'number too large', 'A shape dimension, parameter count or MAC count exceeds 2^53, past which JavaScript numbers are no longer exact.'),
  sharedShape: m('MS5003', 'error', 'shared layer used with another input shape', 'A `share:` item applies a layer to an input whose shape needs weights of another shape than the layer has.'),

  unusedInput: m('MS6001', 'warning', 'unused input', 'A declared input does not reach any output.'),
  deadNode: m('MS6002', 'warning', 'layer output is never used', 'An item\'s output does not reach any output of the model, so it would be computed for nothing.'),

  internal: m('MS9001', 'error', 'internal error', 'A bug in modelspec. Please report it with the spec that caused it.'),
} as const satisfies Record<string, MessageDef>;

export type MsgKey = keyof typeof Msg;

/** A diagnostic's catalogue key with its worded message: what a template of `Say` returns. */
export interface Said {
  readonly key: MsgKey;
  readonly message: string;
}

const say = <A extends unknown[]>(key: MsgKey, text: (...args: A) => string) => (...args: A): Said => ({ key, message: text(...args) });
const inputsNoun = (n: number) => (n === 0 ? 'no inputs' : `${n} inputs`);

/**
 * The messages that more than one stage words: the compiler (src/expand), spec2ts (src/codegen)
 * and the generated builders' runtime (src/runtime) say the same thing for the same problem, so
 * they take it from here, by name. Values are passed already shown (`show`/`typeName` live in
 * src/expr, above this folder).
 */
export const Say = {
  duplicateId: say('duplicateId', (id: string) => `id '${id}' is used twice in the same scope`),
  unknownOp: say('unknownOp', (op: string) => `unknown op '${op}'`),
  unknownOpOrBlock: say('unknownOp', (name: string) => `unknown op or block '${name}'`),
  unknownAttribute: say('unknownAttribute', (op: string, attr: string) => `${op} has no attribute '${attr}'`),
  missingAttribute: say('missingKey', (op: string, attr: string) => `${op} needs the attribute '${attr}'`),
  takesOneInput: say('arity', (what: string, n: number) => `${what} takes one input, got ${n}`),
  takesSequenceAndStates: say('arity', (op: string, states: readonly string[], n: number) =>
    `${op} takes one input, or its sequence and ${states.length === 1 ? 'an initial state' : `its ${states.length} initial states (${states.join(', ')})`}: ${1 + states.length} inputs, got ${n}`),
  noOutputOfThatName: say('unknownOutput', (ref: string, base: string, op: string, names: readonly string[]) =>
    `'${ref}': ${op} '${base}' has no output '${ref.slice(base.length + 1)}'; its outputs are ${[base, ...names.map((n) => `${base}.${n}`)].join(', ')}`),
  noStatesReturned: say('unknownOutput', (ref: string, base: string, op: string) =>
    `'${ref}': ${op} '${base}' has one output, '${base}': give it return_state: true for its states`),
  notMultiOutput: say('unknownOutput', (ref: string, base: string, what: string) =>
    `'${ref}': '${base}' is ${what}, which has one output: only a recurrent layer with return_state: true has named outputs`),
  branchesTakeOneInput: say('arity', (n: number) => `branches take one input, got ${n}`),
  mergesTwoOrMore: say('arity', (op: string, n: number) => `${op} merges two or more inputs, got ${n}`),
  blockArity: say('arity', (block: string, inputs: readonly string[], n: number) =>
    `block '${block}' takes ${inputs.length} input${inputs.length === 1 ? '' : 's'} (${inputs.join(', ')}), got ${n}`),
  nodeLimit: say('expansionLimit', (limit: number) => `the model expands to more than ${limit} nodes`),
  stepLimit: say('expansionLimit', (limit: number) => `expanding the model takes more than ${limit} steps (maxExpansionSteps): every item of every loop iteration and block call counts, also those that make no node`),
  blockDepthLimit: say('expansionLimit', (limit: number) => `blocks nest deeper than ${limit}`),
  repeatOverLimit: say('expansionLimit', (n: number, limit: number) => `repeat: ${n} is more than the node limit (${limit})`),
  repeatCount: say('wrongType', (got: string) => `repeat: must be a non-negative integer, got ${got}`),
  forValues: say('wrongType', (got: string) => `for ... in: must be a list, got ${got}`),
  inputShape: say('wrongType', (name: string, got: string) => `input '${name}' shape must be a list of positive integers or null (any size), got ${got}`),
  itemNoInput: say('noInput', (inputs: number) => `this item has no input: the model has ${inputsNoun(inputs)}, so say which one it takes`),
  branchNoInput: say('noInput', () => 'this branch has no input: an empty branch passes its input through, and there is none here'),
  modelNoOutput: say('noInput', () => 'the model has no output'),
  refNoOutput: say('unknownReference', (id: string) => `'${id}' has no output here: it passes its input through (no iteration, or every item left out by when:), and it has no input`),
  refWhenFalse: say('unknownReference', (id: string) => `'${id}' is not in the model for these parameter values: its when: is false`),
  unknownReference: say('unknownReference', (id: string) => `unknown reference '${id}'`),
  generatedIdReference: say('unknownReference', (id: string) => `'${id}' refers to a generated node id, which spec2ts does not support`),
  shareNotALayer: say('badShare', (target: string, what: string) => `share: '${target}' is ${what}; only a layer or a block call can be shared`),
  shareNoWeights: say('badShare', (target: string, what: string) => `share: '${target}' is ${what}; only a layer or a block call can be shared`),
  loopOutputIndex: say('loopOutput', (base: string, why: string) => `loop output '${base}[...]': ${why}`),
  notALoopOutput: say('loopOutput', (base: string) => `'${base}' is not the id of an item directly in the body of an earlier repeat or for, so '${base}[...]' names nothing`),
  sharedCallDiffers: say('sharedCallDiffers', (call: string, id: string, original: string | undefined, op: string) =>
    `share: '${id}' would be a ${op} layer, but the shared call '${call}' has ${original ? `a ${original} layer` : 'no layer'} there`),
  unknownSpecParam: say('unknownSetParam', (name: string) => `the spec has no parameter '${name}'`),
  unknownArgument: say('unknownArgument', (owner: string, name: string) => `${owner} has no parameter '${name}'`),
  missingParam: say('missingParam', (owner: string, name: string) => `${owner} parameter '${name}' has no default and no value was given`),
  assertNotBoolean: say('exprType', (got: string) => `an assert must evaluate to true or false, got ${got}`),
  assertFailed: say('assertFailed', (message: string, values: string) => `${message}${values ? ` (${values})` : ''}`),
  unknownVariable: say('unknownVariable', (name: string) => `unknown variable '${name}'`),
  unknownOperator: say('exprType', (op: string) => `unknown operator ${op}`),
  emptyOutput: say('shapeInvalid', (op: string, id: string, inputs: string, output: string) => `${op} '${id}' cannot take an input of shape (${inputs}): its output would be (${output})`),
  missingFactory: say('internal', (factory: string) => `tf.layers.${factory} does not exist`),
} as const;
