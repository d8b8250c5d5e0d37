/**
 * Stage 4: instantiate the checked AST for one set of parameter values.
 * Evaluates `let`, `assert` and every expression; expands blocks, `repeat`,
 * `for`, `when` and `branches`; resolves `from:`/`share:` references; names
 * every node with a stable hierarchical id. The result is the graph IR.
 *
 * Naming: each node's id is the path of the scopes it lives in (block calls,
 * loop iterations `stage1`, `block0`, branches `branch0`) plus its own name: its
 * `id:`, or its op's name, suffixed `_1`, `_2` ... only when the same op occurs
 * again in the same scope. So inserting an item changes no other item's id
 * unless it is the same op in the same scope, and `id:` pins a name for good.
 */
import type { Diagnostic, SourceSpan } from '../types/diagnostic.js';
import { tensorKey, type GraphIR, type IRNode, type Scope as IRScope } from '../types/ir.js';
import type { AssertDecl, BlockDecl, Item, LetDecl, ParamDecl, Ref, SpecAst, Template } from '../types/spec.js';
import type { AttrDef, OpDef, OpRegistry } from '../ops/index.js';
import { diag, didYouMean, DiagnosticSink, type DiagExtra } from '../diagnostics/diagnostics.js';
import { Msg, Say, type MsgKey, type Said } from '../diagnostics/messages.js';
import { escapePointer, spanAt, type LoadedDocument } from '../load/yaml.js';
import { EvalError, evaluate, show, typeName, type EvalMeter, type Scope, type Value } from '../expr/evaluate.js';
import { ExprSyntaxError, freeVariables, parseExpr } from '../expr/parse.js';
import { ShapeError, extraOutputs } from '../ops/index.js';
import type { Shape } from '../types/shape.js';
import { schemaValidators, translateErrors } from '../validate/ajv.js';
import { checkParamValue } from '../validate/params.js';
import { Names, arityProblem, assertValues, fillAttrs, isInputShape, isRepeatCount, joinPath, loopOutputAt, loopOutputRef, loopSuffix, shareBase, sharedOriginal, type ShareMap } from './engine.js';
import type { Limits } from '../limits.js';

export interface SetValue {
  name: string;
  value: unknown;
  /** Where the value was given (the `--set` argument on the command line). */
  span: SourceSpan;
  /** The argument as typed (`n=abc`). */
  text?: string;
}


export interface InstantiateContext {
  registry: OpRegistry;
  docs: Map<string, LoadedDocument>;
  diagnostics: Diagnostic[];
  /** The resource limits of this compilation. */
  limits: Readonly<Limits>;
}

class VarScope implements Scope {
  readonly vars = new Map<string, Value>();
  shape?: Scope['shape'];
  constructor(readonly parent?: VarScope) {}
  get(name: string): Value | undefined {
    return this.vars.has(name) ? this.vars.get(name) : this.parent?.get(name);
  }
  *names(): Iterable<string> {
    yield* this.vars.keys();
    if (this.parent) yield* this.parent.names();
  }
}

class RefScope {
  readonly refs = new Map<string, string>();
  /** The scope paths of the block calls with ids, by id (for `share:` of a call). */
  readonly calls = new Map<string, string>();
  constructor(readonly parent?: RefScope) {}
  get(name: string): string | undefined {
    return this.refs.get(name) ?? this.parent?.get(name);
  }
  call(name: string): string | undefined {
    return this.refs.has(name) ? this.calls.get(name) : this.parent?.call(name);
  }
  /** The outputs of an item of an earlier loop's body, one per iteration (`skip[i]`). */
  readonly lists = new Map<string, string[]>();
  list(name: string): string[] | undefined {
    return this.lists.get(name) ?? this.parent?.list(name);
  }
  *names(): Iterable<string> {
    yield* this.refs.keys();
    if (this.parent) yield* this.parent.names();
  }
}

interface Ctx {
  vars: VarScope;
  refs: RefScope;
  /** Scope path of the nodes created here ('' at the top). */
  path: string;
  /** File the items being expanded come from. */
  file: string;
  /** Block call sites, innermost first. */
  trace: SourceSpan[];
  scopes: IRScope[];
  depth: number;
  /** Inside a block call: where each argument was given, for messages about values that came from them. */
  args?: Map<string, () => SourceSpan>;
  /** Inside a block call applied again by `share:`: the layers made are those of the original call. */
  share?: ShareMap;
}

/** Marks a value that could not be computed because of an earlier error: no further diagnostics for it. */
const POISON = '\u0000poison';
/** Bound to the id of an item left out by `when: false`, followed by the item's pointer. */
const SKIPPED = '\u0000skipped:';
/** Bound to the id of an item that passed its input through when there was none (`repeat: 0` before any input). */
const NO_OUTPUT = '\u0000no-output';
/** Output k > 0 of a node (`enc.state_h`) is carried through the expansion as `id` PORT `k` (tensorKey). */
const PORT = '\u0001';
function splitKey(key: string): [string, number] {
  const at = key.indexOf(PORT);
  return at < 0 ? [key, 0] : [key.slice(0, at), Number(key.slice(at + 1))];
}
/** `base.name`: one named output of an item (`enc.state_h`); undefined when `name` is not of that form. */
function outputRef(name: string): { base: string; output: string } | undefined {
  const m = /^(.+)\.([A-Za-z_][A-Za-z0-9_]*)$/s.exec(name);
  return m ? { base: m[1]!, output: m[2]! } : undefined;
}

class Instantiator {
  readonly nodes: IRNode[] = [];
  private readonly byId = new Map<string, IRNode>();
  private readonly names = new Names();
  private readonly sink: DiagnosticSink;
  private readonly definedIds = new Map<string, { file: string; ptr: string; start: number; kind: Item['kind'] }[]>();
  private limitHit = false;
  /** Evaluation steps of all expressions so far (maxTotalEvalSteps). */
  private readonly meter: EvalMeter = { steps: 0 };
  /** Items and loop iterations expanded so far (maxExpansionSteps). */
  private expansionSteps = 0;

  constructor(private readonly ast: SpecAst, private readonly ctx: InstantiateContext) {
    this.sink = new DiagnosticSink(ctx.diagnostics);
    const collect = (items: readonly Item[], file: string) => {
      for (const it of items) {
        if (it.id) {
          const start = this.span(file, it.ptr).start;
          this.definedIds.set(it.id, [...(this.definedIds.get(it.id) ?? []), { file, ptr: it.ptr, start, kind: it.kind }]);
        }
        if (it.kind === 'repeat' || it.kind === 'for') collect(it.body, file);
        if (it.kind === 'branches') it.branches.forEach((b) => collect(b.body, file));
      }
    };
    collect(ast.body, ast.file);
    for (const b of ast.blocks.values()) collect(b.body, b.file);
  }

  // ---- diagnostics ----------------------------------------------------------

  private span(file: string, ptr: string, which: 'value' | 'key' = 'value'): SourceSpan {
    const doc = this.ctx.docs.get(file);
    return doc ? spanAt(doc, ptr, which) : { file, start: 0, end: 0 };
  }

  /** Spans of AST objects that every expansion of them needs, looked up once (deep models expand an item thousands of times). */
  private readonly spanMemo = new WeakMap<object, SourceSpan>();
  private memoSpan(obj: object, file: string, ptr: () => string, which: 'value' | 'key'): SourceSpan {
    let s = this.spanMemo.get(obj);
    if (!s) this.spanMemo.set(obj, (s = this.span(file, ptr(), which)));
    return s;
  }

  private report(key: MsgKey, message: string, span: SourceSpan | undefined, c: Ctx | undefined, extra: DiagExtra = {}): void {
    const related = [...(extra.related ?? []), ...(c ? this.traceInfo(c) : [])];
    this.sink.push(diag(key, message, span, { ...extra, related }));
  }

  /** Report a catalogue message (`Say`). */
  private say(s: Said, span: SourceSpan | undefined, c: Ctx | undefined, extra: DiagExtra = {}): void {
    this.report(s.key, s.message, span, c, extra);
  }

  private traceInfo(c: Ctx) {
    return c.trace.map((span, i) => ({ message: i === 0 ? 'in the block called here' : 'called from here', span }));
  }

  // ---- names ----------------------------------------------------------------

  private alloc(path: string, base: string): string {
    return this.names.alloc(path, base);
  }

  private claim(path: string, id: string, c: Ctx, ptr: string): string {
    const dup = this.names.claim(path, id);
    if (!dup) return id;
    this.say(dup, this.span(c.file, `${ptr}/id`), c);
    return this.alloc(path, id);
  }

  private reserve(path: string, items: readonly Item[]): void {
    for (const it of items) if (it.id) this.names.reserve(path, [it.id]);
  }

  private join(path: string, name: string): string {
    return joinPath(path, name);
  }

  private addNode(node: IRNode, c: Ctx): string {
    if (node.inputs.some((i) => i.includes(PORT))) {
      const split = node.inputs.map(splitKey);
      node = { ...node, inputs: split.map(([id]) => id), ports: split.map(([, p]) => p) };
    }
    if (this.nodes.length >= this.ctx.limits.maxExpandedNodes) {
      if (!this.limitHit) {
        this.limitHit = true;
        this.say(Say.nodeLimit(this.ctx.limits.maxExpandedNodes), node.span, c, {
          hint: 'check the repeat counts and loop ranges (and the parameters they use)',
        });
      }
      return POISON;
    }
    this.nodes.push(node);
    this.byId.set(node.id, node);
    return node.id;
  }

  /**
   * Count one step of the expansion (an item, a loop iteration); false once over the limit, which
   * is reported once and stops the expansion, like the node limit.
   */
  private expansionStep(span: () => SourceSpan, c: Ctx): boolean {
    if (++this.expansionSteps <= this.ctx.limits.maxExpansionSteps) return true;
    if (!this.limitHit) {
      this.limitHit = true;
      this.say(Say.stepLimit(this.ctx.limits.maxExpansionSteps), span(), c, {
        hint: 'check the repeat counts and loop ranges (and the parameters they use)',
      });
    }
    return false;
  }

  // ---- values ---------------------------------------------------------------

  /** Evaluate a template; undefined after reporting an error. */
  value(t: Template, c: Ctx): Value | undefined {
    switch (t.kind) {
      case 'lit': return t.value as Value;
      case 'list': {
        const out: Value[] = [];
        for (const it of t.items) {
          const v = this.value(it, c);
          if (v === undefined) return undefined;
          out.push(v);
        }
        return out;
      }
      case 'map': {
        // Maps only occur as literal data (e.g. a regularizer); keep key order.
        const out: Record<string, unknown> = {};
        for (const [k, v] of t.entries) {
          const x = this.value(v, c);
          if (x === undefined) return undefined;
          out[k] = x;
        }
        return out as unknown as Value;
      }
      case 'expr':
        // After a limit was reached, nothing more is evaluated (and nothing more reported).
        if (this.limitHit) return undefined;
        try {
          return evaluate(t.expr, usesShapes(t.expr) ? this.shapeScope(c) : c.vars, this.meter, this.ctx.limits);
        } catch (e) {
          if (!(e instanceof EvalError)) throw e;
          if (this.meter.steps > this.ctx.limits.maxTotalEvalSteps) this.limitHit = true;
          const span = { file: t.span.file, start: t.span.start + e.start, end: t.span.start + e.end };
          const key: MsgKey = e.kind === 'unknownVariable' ? 'unknownVariable' : e.kind === 'math' ? 'exprMath' : 'exprType';
          // The same expression failing again (in the next iteration of a loop): counted, not worded again.
          if (this.sink.again(Msg[key].code, span)) return undefined;
          if (e.kind === 'unknownVariable') {
            const hint = didYouMean(e.message.replace(/^unknown variable '(.*)'$/, '$1'), e.candidates);
            this.report(key, e.message, span, c, hint ? { hint } : { hint: `variables in scope: ${e.candidates.join(', ') || 'none'}` });
          } else {
            this.report(key, e.message, span, c);
          }
          return undefined;
        }
    }
  }

  // ---- shapes in expressions (shape(x), channels(x)) --------------------------

  /** The node whose shape `shape()` / `channels()` read: the input of the item being expanded. */
  private inputNow: string | undefined;
  private readonly shapeMemo = new Map<string, Shape | string>();

  private shapeScope(c: Ctx): VarScope {
    const scope = Object.create(c.vars) as VarScope;
    const input = this.inputNow;
    scope.shape = (ref) => {
      let id: string | undefined;
      if (ref === undefined) id = input;
      else {
        id = c.refs.get(ref);
        if (id === undefined) return `'${ref}' is not an id or input visible here`;
      }
      if (id === undefined || id === NO_OUTPUT) return 'there is no input here';
      if (id === POISON || id.startsWith(SKIPPED)) return `'${ref ?? 'the input'}' is not in the model`;
      const shape = this.shapeOfNode(id);
      if (typeof shape === 'string') return shape;
      const dims = [...shape]; // shapes leave the batch dimension out
      return dims.every((d): d is number => typeof d === 'number') ? dims : `the shape of '${id}' has a dimension not known until run time`;
    };
    return scope;
  }

  /** A node's output shape (without the batch dimension), inferred on demand from the registry as stage 5 will; a string says why not. */
  private shapeOfNode(key: string): Shape | string {
    const [root, port] = splitKey(key);
    if (port > 0) {
      const own = this.shapeOfNode(root);
      // A recurrent layer's states are (units).
      return typeof own === 'string' ? own : [this.byId.get(root)!.attrs.units as number];
    }
    const stack = [root];
    while (stack.length) {
      const id = stack[stack.length - 1]!;
      if (this.shapeMemo.has(id)) { stack.pop(); continue; }
      const node = this.byId.get(id);
      if (!node) { this.shapeMemo.set(id, `'${id}' has no shape`); stack.pop(); continue; }
      const missing = node.inputs.filter((i) => !this.shapeMemo.has(i));
      if (missing.length) { stack.push(...missing); continue; }
      stack.pop();
      const inputs = node.inputs.map((i, k) => (node.ports?.[k] ? this.shapeOfNode(tensorKey(i, node.ports[k])) : this.shapeMemo.get(i)!));
      const bad = inputs.find((x): x is string => typeof x === 'string');
      if (bad !== undefined) { this.shapeMemo.set(id, bad); continue; }
      try {
        this.shapeMemo.set(id, this.ctx.registry.get(node.op)!.outputShape(inputs as Shape[], node.attrs));
      } catch (e) {
        if (!(e instanceof ShapeError)) throw e;
        this.shapeMemo.set(id, `the shape of '${id}' cannot be inferred: ${e.message}`);
      }
    }
    return this.shapeMemo.get(root)!;
  }

  private bindLets(lets: readonly LetDecl[], vars: VarScope, c: Ctx): boolean {
    let ok = true;
    for (const [i, l] of lets.entries()) {
      // A let that reads a later one: say so, rather than "unknown variable".
      if (l.value.kind === 'expr') {
        const later = [...freeVariables(l.value.expr)].find((n) => vars.get(n) === undefined && lets.slice(i + 1).some((m) => m.name === n));
        if (later) {
          const decl = lets.find((m) => m.name === later)!;
          this.report('unknownVariable', `'${later}' is defined later in this let:; lets are evaluated in order, each seeing only those above it`, l.value.span, c, {
            related: [{ message: `'${later}' is defined here`, span: this.span(c.file, decl.ptr, 'key') }],
            hint: `move '${later}' above '${l.name}'`,
          });
          ok = false;
          continue;
        }
      }
      const v = this.value(l.value, { ...c, vars });
      if (v === undefined) { ok = false; continue; }
      vars.vars.set(l.name, v);
    }
    return ok;
  }

  private checkAsserts(asserts: readonly AssertDecl[], c: Ctx): boolean {
    let ok = true;
    for (const a of asserts) {
      const v = this.value(a.that, c);
      if (v === undefined) { ok = false; continue; }
      const span = a.that.kind === 'expr' ? a.that.span : this.span(c.file, a.that.ptr);
      if (typeof v !== 'boolean') {
        this.say(Say.assertNotBoolean(`${typeName(v)} ${show(v)}`), span, c);
        ok = false;
      } else if (!v) {
        const vars = a.that.kind === 'expr' ? [...freeVariables(a.that.expr)].filter((n) => c.vars.get(n) !== undefined) : [];
        this.say(Say.assertFailed(a.message, assertValues(vars, (n) => show(c.vars.get(n)))), span, c);
        ok = false;
      }
    }
    return ok;
  }

  /** Bind declared parameters from given values (arguments or --set) and defaults. */
  private bindParams(
    decls: readonly ParamDecl[],
    given: Map<string, { value: unknown; span: () => SourceSpan; note?: string }>,
    vars: VarScope,
    c: Ctx,
    missingAt: SourceSpan,
    what: string,
  ): boolean {
    let ok = true;
    for (const p of decls) {
      const g = given.get(p.name);
      // Spans are only needed for a diagnostic, so they are computed only then.
      const declSpan = () => this.span(c.file, p.ptr, 'key');
      let value: unknown;
      let span: () => SourceSpan;
      if (g) { value = g.value; span = g.span; }
      else if (p.hasDefault) { value = p.default; span = () => this.span(c.file, `${p.ptr}/default`); }
      else {
        // A spec parameter is fixed where it is declared (or with --set); a block argument where the block is called.
        const atDecl = what === 'spec';
        this.say(Say.missingParam(what, p.name), atDecl ? declSpan() : missingAt, c, {
          related: atDecl ? [] : [{ message: `'${p.name}' is declared here`, span: declSpan() }],
          hint: atDecl ? `give it a default: or pass --set ${p.name}=...` : `pass ${p.name}: ... in the call`,
        });
        ok = false;
        continue;
      }
      const problem = checkParamValue(p, value);
      if (problem) {
        this.report(problem.kind === 'type' ? 'paramType' : 'paramRange', `${problem.message}${g?.note ?? ''}`, span(), c, {
          related: g ? [{ message: `'${p.name}' is declared here`, span: declSpan() }] : [],
        });
        ok = false;
        continue;
      }
      vars.vars.set(p.name, value as Value);
    }
    return ok;
  }

  // ---- references -----------------------------------------------------------

  /** `name[index]`: one iteration's output of an item of an earlier loop; undefined when `ref` is not of that form. */
  private loopOutput(ref: Ref, c: Ctx): string | undefined {
    const parts = loopOutputRef(ref.name);
    if (!parts) return undefined;
    const at = this.span(c.file, ref.ptr);
    const list = c.refs.list(parts.base);
    if (!list) {
      this.say(Say.notALoopOutput(parts.base), at, c, { hint: 'give the item inside the loop an id, and refer to it after the loop as id[i]' });
      return POISON;
    }
    let index: Value | undefined;
    try {
      index = this.value({ kind: 'expr', expr: parseExpr(parts.index, this.ctx.limits), text: parts.index, span: at } as Template, c);
    } catch (e) {
      if (!(e instanceof ExprSyntaxError)) throw e;
      this.say(Say.loopOutputIndex(parts.base, e.message), at, c);
      return POISON;
    }
    if (index === undefined) return POISON;
    const got = loopOutputAt(list, parts.base, index);
    if ('problem' in got) {
      this.say(got.problem, at, c);
      return POISON;
    }
    return this.resolveFound({ ...ref, name: `${parts.base}[${show(index)}]` }, got.value, c);
  }

  private resolveRef(ref: Ref, c: Ctx): string {
    const viaLoop = this.loopOutput(ref, c);
    if (viaLoop !== undefined) return viaLoop;
    const found = c.refs.get(ref.name);
    const resolved = this.resolveFound(ref, found, c);
    if (resolved !== undefined) return resolved;
    const named = outputRef(ref.name);
    if (named) return this.namedOutput(ref, named.base, named.output, c);
    return this.unresolved(ref, c);
  }

  /** `base.output`: output k > 0 of the node `base` names (`enc.state_h`), as `id` PORT `k`. */
  private namedOutput(ref: Ref, base: string, output: string, c: Ctx): string {
    const id = this.resolveRef({ ...ref, name: base }, c);
    if (id === POISON) return POISON;
    const at = this.span(c.file, ref.ptr);
    const node = id.includes(PORT) ? undefined : this.byId.get(id);
    const def = node && this.ctx.registry.get(node.op);
    if (!node || !def?.states) {
      const what = node ? `a ${node.op} layer` : id.includes(PORT) ? 'an output itself' : 'not a layer';
      this.say(Say.notMultiOutput(ref.name, base, what), at, c, { hint: `refer to '${base}' itself` });
      return POISON;
    }
    const names = extraOutputs(def, node.attrs);
    if (names.length === 0) {
      this.say(Say.noStatesReturned(ref.name, base, node.op), at, c, {
        hint: def.states.includes(output) ? `add return_state: true to '${base}'` : `its states would be ${def.states.map((n) => `${base}.${n}`).join(', ')} (with return_state: true)`,
      });
      return POISON;
    }
    const k = names.indexOf(output);
    if (k < 0) {
      const near = didYouMean(ref.name, names.map((n) => `${base}.${n}`));
      this.say(Say.noOutputOfThatName(ref.name, base, node.op, names), at, c, near ? { hint: near } : {});
      return POISON;
    }
    return tensorKey(id, k + 1);
  }

  /** A reference bound to `found`: its node id, or POISON after saying why it has none; undefined when unbound. */
  private resolveFound(ref: Ref, found: string | undefined, c: Ctx): string | undefined {
    const at = this.span(c.file, ref.ptr);
    if (found === NO_OUTPUT) {
      this.say(Say.refNoOutput(ref.name), at, c, {
        hint: 'refer to an item that makes a node, or give the model an input',
      });
      return POISON;
    }
    if (found !== undefined && !found.startsWith(SKIPPED)) return found;
    if (found !== undefined) {
      const ptr = found.slice(SKIPPED.length);
      this.say(Say.refWhenFalse(ref.name), at, c, {
        related: [{ message: `the when: of '${ref.name}'`, span: this.span(c.file, `${ptr}/when`) }],
        hint: 'give the referring item the same when:, or refer to something that is always there',
      });
      return POISON;
    }
    return undefined;
  }

  private unresolved(ref: Ref, c: Ctx): string {
    const at = this.span(c.file, ref.ptr);
    // Where the name is defined, if anywhere: the same container (the body, or one block) decides the message.
    const container = (ptr: string) => (ptr.startsWith('/blocks/') ? ptr.split('/').slice(0, 3).join('/') : '/layers');
    const refContainer = container(ref.ptr);
    const defs = this.definedIds.get(ref.name) ?? [];
    const later = defs.find((d) => d.file === c.file && container(d.ptr) === refContainer && d.start > at.start);
    if (later) {
      const where = this.span(later.file, `${later.ptr}/id`);
      this.report('forwardReference', `'${ref.name}' is defined later in the spec; an item can only take inputs defined before it`, at, c, {
        related: [{ message: `'${ref.name}' is defined here`, span: where }],
        hint: 'move the item after the one it refers to; references that go both ways would make a cycle',
      });
    } else if (c.depth > 0 && !defs.some((d) => d.file === c.file && container(d.ptr) === refContainer)) {
      const visible = [...new Set(c.refs.names())];
      this.report('unknownReference', `'${ref.name}' is not visible in this block: a block sees only its inputs (${visible.join(', ') || 'none'}) and the ids it defines`, at, c, {
        hint: 'pass it in: add an input to the block (inputs: [x, ...]) and give the call from: [..., ' + ref.name + ']',
      });
    } else if (defs.length > 0) {
      const d = defs[0]!;
      this.report('unknownReference', `'${ref.name}' is not visible here: it is defined inside another sequence or block`, at, c, {
        related: [{ message: `'${ref.name}' is defined here`, span: this.span(d.file, `${d.ptr}/id`) }],
        hint: 'ids are visible in the sequence that defines them and in the sequences nested in it',
      });
    } else if (this.byId.has(ref.name) || this.isGeneratedName(ref.name)) {
      this.report('unknownReference', `'${ref.name}' is a generated node name, not a reference`, at, c, {
        hint: `give the item an id (id: ${ref.name.replace(/[^A-Za-z0-9_]/g, '_')}) and refer to that; only ids and input names can be referenced, so that inserting a layer never rewires anything`,
      });
    } else {
      const hint = didYouMean(ref.name, c.refs.names());
      const visible = hint ? [] : [...new Set(c.refs.names())];
      this.say(Say.unknownReference(ref.name), at, c, {
        hint: hint ?? (visible.length ? `names visible here: ${visible.join(', ')}` : 'no ids are visible here'),
      });
    }
    return POISON;
  }

  /** Whether some node's id ends in `/name` (a generated name in a nested scope). */
  private isGeneratedName(name: string): boolean {
    const suffix = `/${name}`;
    for (const k of this.byId.keys()) if (k.endsWith(suffix)) return true;
    return false;
  }

  /** The inputs of an item: its `from:`, else the previous output. After an error, [POISON]. */
  private inputsOf(from: readonly Ref[] | undefined, current: string | undefined, c: Ctx, span: SourceSpan): string[] {
    if (from) return from.map((r) => this.resolveRef(r, c));
    if (current === undefined) {
      const names = c.depth === 0 ? this.ast.inputs.map((i) => i.name) : [...c.refs.names()];
      this.say(Say.itemNoInput(names.length), span, c, {
        hint: names.length ? `add ${names.map((n) => `\`from: ${n}\``).join(' or ')}` : 'declare the model inputs under inputs:',
      });
      return [POISON];
    }
    return [current];
  }

  // ---- items ----------------------------------------------------------------

  sequence(items: readonly Item[], input: string | undefined, c: Ctx): string | undefined {
    this.reserve(c.path, items);
    let current = input;
    for (const item of items) {
      if (this.limitHit || !this.expansionStep(() => this.span(c.file, item.ptr), c)) return POISON;
      if (item.when) {
        this.inputNow = current;
        const w = this.value(item.when, c);
        if (w === undefined) continue;
        if (typeof w !== 'boolean') {
          const span = item.when.kind === 'expr' ? item.when.span : this.span(c.file, item.when.ptr);
          this.report('exprType', `when: must be true or false, got ${typeName(w)} ${show(w)}`, span, c);
          continue;
        }
        if (!w) {
          if (item.id) c.refs.refs.set(item.id, SKIPPED + item.ptr);
          continue;
        }
      }
      // The id is claimed whatever happens to the item, so duplicates are found even after an error,
      // and bound to the item's output, or to POISON when it failed, so later references stay silent.
      const name = item.id ? this.claim(c.path, item.id, c, item.ptr) : undefined;
      current = this.item(item, current, c, name);
      if (item.id) c.refs.refs.set(item.id, current ?? NO_OUTPUT);
      if (item.id && (item.kind === 'call' || item.kind === 'share') && this.callArgs.has(this.join(c.path, name!))) c.refs.calls.set(item.id, this.join(c.path, name!));
    }
    return current;
  }

  private item(item: Item, current: string | undefined, c: Ctx, name: string | undefined): string | undefined {
    switch (item.kind) {
      case 'layer': return this.layer(item.op, item.attrs, item, current, c, name);
      case 'call': return this.call(item, current, c, name);
      case 'share': return this.share(item, current, c, name);
      case 'repeat': case 'for': return this.loop(item, current, c);
      case 'branches': return this.branches(item, current, c, name);
    }
  }

  private layer(op: string, attrTemplates: Map<string, Template>, item: Item, current: string | undefined, c: Ctx, name: string | undefined, mergeInputs?: string[]): string | undefined {
    const def = this.ctx.registry.get(op)!;
    const opPtr = () => (item.kind === 'branches' ? `${item.ptr}/merge` : `${item.ptr}/${escapePointer(op)}`);
    const span = this.memoSpan(item, c.file, opPtr, item.kind === 'branches' ? 'value' : 'key');
    const inputs = mergeInputs ?? this.inputsOf(item.from, current, c, span);
    this.inputNow = inputs[0];
    const attrs = this.attrs(op, attrTemplates, opPtr, c);
    if (inputs.includes(POISON) || !attrs) return POISON;
    if (!this.arityOk(def, op, inputs.length, item.from ? this.span(c.file, `${item.ptr}/from`) : span, c)) return POISON;
    const id = this.join(c.path, name ?? this.alloc(c.path, op));
    if (c.share) return this.applyAgain(id, op, inputs, span, c);
    return this.addNode({ id, op, attrs, inputs, span, trace: c.trace, scopes: c.scopes }, c);
  }

  /** A layer of a block call applied again by `share:`: the original call's layer of the same relative id. */
  private applyAgain(id: string, op: string, inputs: string[], span: SourceSpan, c: Ctx): string {
    const originalId = sharedOriginal(c.share!, id);
    const original = this.byId.get(originalId);
    if (!original || original.op !== op) {
      this.say(Say.sharedCallDiffers(c.share!.from, id, original ? original.op : undefined, op), span, c);
      return POISON;
    }
    return this.addNode({ id, op, attrs: original.attrs, inputs, sharedWith: original.sharedWith ?? original.id, span, trace: c.trace, scopes: c.scopes }, c);
  }

  private arityOk(def: OpDef, op: string, n: number, span: SourceSpan, c: Ctx): boolean {
    const arity = def.arity;
    const problem = arityProblem(arity, op, n, def.states);
    if (!problem) return true;
    this.say(problem, span, c, {
      hint: def.states ? `give from: [sequence, ${def.states.join(', ')}] to start from given states (Keras' initial_state), or one input` : arity === 'one' ? 'to combine several inputs, use a merge such as add or concatenate' : `give the inputs with from: [a, b], or use branches: with merge: ${op}`,
    });
    return false;
  }

  private readonly attrDefCache = new Map<string, [string, AttrDef][]>();
  private attrDefs(op: string): [string, AttrDef][] {
    let e = this.attrDefCache.get(op);
    if (!e) this.attrDefCache.set(op, (e = Object.entries(this.ctx.registry.get(op)!.attrs)));
    return e;
  }

  /** Evaluate, default and validate the attributes of an op. */
  private attrs(op: string, templates: Map<string, Template>, opPtr: () => string, c: Ctx): Record<string, unknown> | undefined {
    const values = new Map<string, unknown>();
    const fromExpr = new Map<string, Template>();
    let ok = true;
    for (const [k, t] of templates) {
      const v = this.value(t, c);
      if (v === undefined) { ok = false; continue; }
      values.set(k, v);
      if (containsExpr(t)) fromExpr.set(k, t);
    }
    if (!ok) return undefined;
    // Unknown and missing attributes were reported from the spec schema (validate/): not again here.
    const full = fillAttrs(op, this.attrDefs(op), values).attrs;
    if (fromExpr.size === 0) return full; // literals were validated with the spec schema
    const errors = schemaValidators(this.ctx.registry).attrs(op, full);
    if (!errors) return full;
    const diags = translateErrors(errors, {
      registry: this.ctx.registry,
      locate: (ptr) => {
        const attr = ptr.split('/')[1] ?? '';
        const t = fromExpr.get(attr) ?? templates.get(attr);
        if (t?.kind === 'expr') return t.span;
        return this.span(c.file, `${opPtr()}${ptr}`);
      },
      describe: (ptr) => `${op} attribute '${ptr.split('/')[1] ?? ''}'`,
    });
    for (const d of diags) {
      const attr = Object.keys(full).find((k) => d.message.includes(`'${k}'`));
      const t = attr ? fromExpr.get(attr) : undefined;
      const related = [];
      // `filters: $filters` in a block: show where the argument's value was given.
      if (t?.kind === 'expr' && t.expr.kind === 'var' && c.args?.has(t.expr.name)) {
        related.push({ message: `${t.expr.name} = ${show(c.vars.get(t.expr.name))} is given here`, span: c.args.get(t.expr.name)!() });
      }
      this.report(d.code === Msg.wrongType.code ? 'wrongType' : d.code === Msg.outOfRange.code ? 'outOfRange' : d.code === Msg.notInEnum.code ? 'notInEnum' : 'invalidValue',
        d.message + (t?.kind === 'expr' ? ` (from ${t.text})` : ''), d.span, c, { ...(d.hint ? { hint: d.hint } : {}), related });
    }
    return undefined;
  }

  /** The arguments of each block call, by the call's scope path: a `share:` of the call passes them again. */
  private readonly callArgs = new Map<string, { block: string; given: Map<string, { value: unknown; span: () => SourceSpan }> }>();

  /**
   * A block call; with `share` (`share: <id of a call>`), the block applied again to other inputs
   * with the arguments and the layers (weights) of the original call.
   */
  private call(item: Extract<Item, { kind: 'call' | 'share' }>, current: string | undefined, c: Ctx, name: string | undefined, share?: { from: string }): string | undefined {
    const blockName = item.kind === 'call' ? item.block : this.callArgs.get(share!.from)!.block;
    const block = this.ast.blocks.get(blockName);
    if (!block) return POISON; // reported by resolve
    const callSpan = this.memoSpan(item, c.file, () => item.kind === 'call' ? `${item.ptr}/${escapePointer(blockName)}` : `${item.ptr}/share`, item.kind === 'call' ? 'key' : 'value');
    if (c.depth >= this.ctx.limits.maxBlockDepth) {
      this.say(Say.blockDepthLimit(this.ctx.limits.maxBlockDepth), callSpan, c);
      return POISON;
    }
    const inputs = this.inputsOf(item.from, current, c, callSpan);
    // Arguments are checked even when the inputs failed: they do not depend on them.
    const given = new Map<string, { value: unknown; span: () => SourceSpan }>();
    let ok = !inputs.includes(POISON);
    this.inputNow = inputs[0];
    // The spans are closures over the file only: callArgs keeps `given` of every call for `share:`,
    // and a closure over `c` would keep every call's context alive to the end of the compile.
    const file = c.file;
    for (const [k, t] of item.kind === 'call' ? item.args : []) {
      const v = this.value(t, c);
      if (v === undefined) { ok = false; continue; }
      given.set(k, { value: v, span: () => (t.kind === 'expr' ? t.span : this.span(file, t.ptr)) });
    }
    const path = this.join(c.path, name ?? this.alloc(c.path, share ? shareBase(share.from) : block.name));
    if (share) {
      given.clear();
      for (const [k, v] of this.callArgs.get(share.from)!.given) given.set(k, v);
    }
    this.callArgs.set(path, { block: block.name, given });
    const scope: IRScope = { path, kind: 'block', label: block.name };
    const inner: Ctx = {
      vars: new VarScope(),
      refs: new RefScope(),
      path,
      file: block.file,
      trace: [callSpan, ...c.trace],
      scopes: [...c.scopes, scope],
      depth: c.depth + 1,
      args: new Map([...given].map(([k, g]) => [k, g.span])),
      ...(share ? { share: { from: share.from, to: path } } : c.share ? { share: c.share } : {}),
    };
    // Argument problems are reported at the call site, so the trace starts above it.
    if (!this.bindParams(block.params, given, inner.vars, { ...inner, trace: c.trace }, callSpan, `block '${block.name}'`)) return POISON;
    if (!ok) return POISON;
    // What the PyTorch exporter writes as the block module's typed constructor arguments.
    scope.call = { args: block.params.map((p) => ({ name: p.name, type: p.type, value: inner.vars.get(p.name), given: given.has(p.name) })), ...(block.doc ? { doc: block.doc } : {}) };
    if (inputs.length !== block.inputs.length) {
      this.say(Say.blockArity(block.name, block.inputs, inputs.length),
        item.from ? this.span(c.file, `${item.ptr}/from`) : callSpan, c);
      return POISON;
    }
    block.inputs.forEach((input, i) => inner.refs.refs.set(input, inputs[i]!));
    this.inputNow = inputs[0];
    if (!this.bindLets(block.lets, inner.vars, inner) || !this.checkAsserts(block.asserts, inner)) return POISON;
    const out = this.sequence(block.body, inputs[0], inner);
    return block.output ? this.resolveRef(block.output, inner) : out;
  }

  /**
   * `share: <id>`: the layer of that id applied again to this item's input (any layer, with or
   * without weights), or, for the id of a block call, the whole block applied again with its layers.
   */
  private share(item: Extract<Item, { kind: 'share' }>, current: string | undefined, c: Ctx, name: string | undefined): string | undefined {
    const span = this.span(c.file, `${item.ptr}/share`);
    const kind = this.definedIds.get(item.target.name)?.find((d) => d.file === c.file)?.kind;
    if (kind && kind !== 'layer' && kind !== 'share' && kind !== 'call') {
      this.say(Say.shareNotALayer(item.target.name, `a ${kind} item`), span, c, {
        hint: `give the layer or block call inside the ${kind} an id and share that`,
      });
      return POISON;
    }
    const targetId = this.resolveRef(item.target, c);
    if (targetId === POISON) return POISON;
    const callPath = c.refs.call(item.target.name);
    if (callPath) return this.call(item, current, c, name, { from: callPath });
    // The target is checked before the input: a share after a failed item is still checked (every MS3011 is reported).
    const target = this.byId.get(targetId);
    const def = target && this.ctx.registry.get(target.op);
    if (!target || !def || target.op === 'input') {
      this.say(Say.shareNoWeights(item.target.name, !target ? 'not a layer' : 'a model input'), span, c, {
        hint: 'share the layer that reads the input, or give the other input its own layers',
      });
      return POISON;
    }
    const inputs = this.inputsOf(item.from, current, c, span);
    if (inputs.includes(POISON)) return POISON;
    if (!this.arityOk(def, target.op, inputs.length, span, c)) return POISON;
    const original = target.sharedWith ?? target.id;
    const id = this.join(c.path, name ?? this.alloc(c.path, shareBase(original)));
    return this.addNode({ id, op: target.op, attrs: target.attrs, inputs, sharedWith: original, span, trace: c.trace, scopes: c.scopes }, c);
  }

  private loop(item: Extract<Item, { kind: 'repeat' | 'for' }>, current: string | undefined, c: Ctx): string | undefined {
    let values: Value[];
    let prefix: string;
    if (item.kind === 'repeat') {
      const n = this.value(item.count, c);
      if (n === undefined) return POISON;
      const span = item.count.kind === 'expr' ? item.count.span : this.span(c.file, item.count.ptr);
      if (!isRepeatCount(n)) {
        this.say(Say.repeatCount(`${typeName(n)} ${show(n)}`), span, c);
        return POISON;
      }
      if (n > this.ctx.limits.maxExpandedNodes) {
        this.say(Say.repeatOverLimit(n, this.ctx.limits.maxExpandedNodes), span, c, {
          hint: 'a model of this size cannot be built; check the count and the parameters it uses',
        });
        return POISON;
      }
      values = Array.from({ length: n }, (_, i) => i);
      prefix = item.as ?? item.id ?? 'repeat';
    } else {
      const list = this.value(item.in, c);
      if (list === undefined) return POISON;
      if (!Array.isArray(list)) {
        const span = item.in.kind === 'expr' ? item.in.span : this.span(c.file, item.in.ptr);
        this.say(Say.forValues(`${typeName(list)} ${show(list)}`), span, c);
        return POISON;
      }
      values = list;
      prefix = item.var;
    }
    let cur: string | undefined = current;
    if (item.from) {
      const inputs = this.inputsOf(item.from, current, c, this.span(c.file, `${item.ptr}/from`));
      if (inputs.length !== 1) { this.say(Say.takesOneInput(item.kind, inputs.length), this.span(c.file, `${item.ptr}/from`), c); return POISON; }
      cur = inputs[0];
    }
    // The ids of the items directly in the body name, after the loop, the list of their outputs (`skip[i]`).
    const collected = item.body.filter((b) => b.id).map((b) => [b.id!, [] as string[]] as const);
    // Which loop an iteration belongs to, for the PyTorch exporter's nn.ModuleList.
    const loopKey = `${c.path}\u0000${c.file}\u0000${item.ptr}`;
    const loopName = item.kind === 'repeat' ? prefix : item.var;
    values.forEach((v, i) => {
      if (this.limitHit || !this.expansionStep(() => this.span(c.file, item.ptr), c)) return;
      const path = this.join(c.path, this.alloc(c.path, `${prefix}${loopSuffix(item.kind, v, i)}`));
      const vars = new VarScope(c.vars);
      vars.vars.set(item.kind === 'repeat' ? item.as ?? '\u0000' : item.var, item.kind === 'repeat' ? i : v);
      const label = item.kind === 'repeat' ? `repeat ${item.as ?? 'iteration'} = ${i}` : `for ${item.var} = ${show(v)}`;
      const loop = { key: loopKey, name: loopName, index: i };
      const inner: Ctx = { ...c, vars, refs: new RefScope(c.refs), path, scopes: [...c.scopes, { path, kind: item.kind, label, loop }] };
      this.inputNow = cur;
      if (!this.bindLets(item.lets, vars, inner)) { cur = POISON; return; }
      cur = this.sequence(item.body, cur, inner);
      for (const [id, list] of collected) list.push(inner.refs.refs.get(id) ?? POISON);
    });
    for (const [id, list] of collected) c.refs.lists.set(id, list);
    return cur;
  }

  private branches(item: Extract<Item, { kind: 'branches' }>, current: string | undefined, c: Ctx, name: string | undefined): string | undefined {
    const vars = new VarScope(c.vars);
    const outer: Ctx = { ...c, vars };
    if (!this.bindLets(item.lets, vars, outer)) return POISON;
    let input = current;
    if (item.from) {
      const inputs = this.inputsOf(item.from, current, outer, this.span(c.file, `${item.ptr}/from`));
      if (inputs.length !== 1) { this.say(Say.branchesTakeOneInput(inputs.length), this.span(c.file, `${item.ptr}/from`), c); return POISON; }
      input = inputs[0];
    }
    const outs: string[] = [];
    item.branches.forEach((b, j) => {
      const path = this.join(c.path, this.alloc(c.path, `branch${j}`));
      let start = input;
      if (b.from) {
        const inputs = this.inputsOf(b.from, input, outer, this.span(c.file, `${b.ptr}/from`));
        if (inputs.length !== 1) { this.say(Say.takesOneInput('a branch', inputs.length), this.span(c.file, `${b.ptr}/from`), c); outs.push(POISON); return; }
        start = inputs[0];
      }
      const scopes: IRScope[] = [...c.scopes, { path, kind: 'branch', label: item.branches.length > 1 ? `branch ${j} of ${item.merge}` : 'branch' }];
      const out = this.sequence(b.body, start, { ...outer, refs: new RefScope(c.refs), path, scopes });
      if (out === undefined) {
        // Only an empty branch without an input gets here: a non-empty one has reported on its first item.
        const names = this.ast.inputs.map((i) => i.name);
        this.say(Say.branchNoInput(), this.span(c.file, b.ptr), c, {
          hint: names.length ? `add from: ${names.join(' or ')} to the branches item` : 'declare the model inputs under inputs:',
        });
        outs.push(POISON);
      } else outs.push(out);
    });
    if (item.branches.length === 1 && !item.mergeAttrs.size && outs.length === 1) return outs[0];
    if (outs.includes(POISON)) return POISON;
    return this.layer(item.merge, item.mergeAttrs, item, current, outer, name, outs);
  }

  // ---- the whole spec -------------------------------------------------------

  finish(): void {
    this.sink.finish();
  }

  spec(sets: readonly SetValue[]): GraphIR | undefined {
    const ast = this.ast;
    const root: Ctx = { vars: new VarScope(), refs: new RefScope(), path: '', file: ast.file, trace: [], scopes: [], depth: 0 };
    const given = new Map<string, { value: unknown; span: () => SourceSpan; note: string }>();
    const declared = ast.params.map((p) => p.name);
    for (const s of sets) {
      if (!declared.includes(s.name)) {
        const hint = didYouMean(s.name, declared) ?? (declared.length ? `parameters: ${declared.join(', ')}` : 'this spec has no parameters');
        this.report('unknownSetParam', `--set ${s.name}: the spec has no parameter '${s.name}'`, s.span, undefined, { hint });
        continue;
      }
      given.set(s.name, { value: s.value, span: () => s.span, note: ` (from --set ${s.text ?? `${s.name}=${show(s.value)}`})` });
    }
    const specSpan = this.span(ast.file, '');
    const paramsOk = this.bindParams(ast.params, given, root.vars, root, { ...specSpan, end: specSpan.start }, 'spec');
    if (!paramsOk || this.ctx.diagnostics.some((d) => d.code === Msg.unknownSetParam.code)) return undefined;
    const params = Object.fromEntries(root.vars.vars);
    root.vars = new VarScope(root.vars);
    if (!this.bindLets(ast.lets, root.vars, root) || !this.checkAsserts(ast.asserts, root)) return undefined;

    const inputIds: string[] = [];
    for (const inp of ast.inputs) {
      const shape = this.value(inp.shape, root);
      if (shape === undefined) continue;
      const span = this.span(ast.file, inp.ptr, 'key');
      if (!isInputShape(shape)) {
        const at = inp.shape.kind === 'expr' ? inp.shape.span : this.span(ast.file, inp.shape.ptr);
        this.say(Say.inputShape(inp.name, show(shape)), at, root);
        continue;
      }
      this.names.take('', inp.name);
      root.refs.refs.set(inp.name, inp.name);
      inputIds.push(this.addNode({ id: inp.name, op: 'input', attrs: { shape, dtype: inp.dtype }, inputs: [], span, trace: [], scopes: [] }, root));
    }
    const start = inputIds.length === 1 ? inputIds[0] : undefined;
    const last = this.sequence(ast.body, start, root);
    let outputs: string[];
    if (ast.outputs) outputs = ast.outputs.map((r) => this.resolveRef(r, root));
    else outputs = last === undefined ? [] : [last];
    if (outputs.includes(POISON) || this.ctx.diagnostics.some((d) => d.severity === 'error')) return undefined;
    if (ast.body.length === 0) {
      this.report('missingKey', 'the spec has no layers', this.span(ast.file, ''), undefined);
      return undefined;
    }
    if (outputs.some((o) => o.includes(PORT))) {
      const split = outputs.map(splitKey);
      return { name: ast.name, nodes: this.nodes, inputs: inputIds, outputs: split.map(([id]) => id), outputPorts: split.map(([, p]) => p), params };
    }
    return { name: ast.name, nodes: this.nodes, inputs: inputIds, outputs, params };
  }
}

const shapeMemo = new WeakMap<object, boolean>();
/** Whether an expression calls shape() or channels() (only those evaluate with the shapes at hand). */
function usesShapes(e: import('../types/spec.js').Expr): boolean {
  let r = shapeMemo.get(e);
  if (r === undefined) {
    const walk = (x: import('../types/spec.js').Expr): boolean => {
      switch (x.kind) {
        case 'call': return x.fn === 'shape' || x.fn === 'channels' || x.args.some(walk);
        case 'unary': return walk(x.arg);
        case 'binary': return walk(x.left) || walk(x.right);
        case 'cond': return walk(x.test) || walk(x.then) || walk(x.else);
        case 'index': return walk(x.target) || walk(x.index);
        case 'list': return x.items.some(walk);
        default: return false;
      }
    };
    shapeMemo.set(e, (r = walk(e)));
  }
  return r;
}

const exprMemo = new WeakMap<Template, boolean>();
function containsExpr(t: Template): boolean {
  if (t.kind === 'lit') return false;
  if (t.kind === 'expr') return true;
  let r = exprMemo.get(t);
  if (r === undefined) {
    r = t.kind === 'list' ? t.items.some(containsExpr) : t.entries.some(([, v]) => containsExpr(v));
    exprMemo.set(t, r);
  }
  return r;
}

export function instantiate(ast: SpecAst, sets: readonly SetValue[], ctx: InstantiateContext): GraphIR | undefined {
  const inst = new Instantiator(ast, ctx);
  const graph = inst.spec(sets);
  inst.finish();
  return graph;
}

export type { BlockDecl };
