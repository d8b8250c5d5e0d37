/**
 * modelspec: YAML spec -> validated, shape-checked graph.
 *
 *   load (YAML + source map)  ->  validate (JSON Schema, AST)  ->  resolve (use, blocks)
 *   ->  instantiate (params, expressions, repeat/for/when/branches)  ->  infer (shapes, params, MACs)
 *
 * Every stage returns new values and reports problems as diagnostics; nothing here throws at the user.
 */
import { existsSync, realpathSync } from 'node:fs';
import { describeReadError, readTextBounded, regularFileSize } from './io/read.js';
import { DEFAULT_LIMITS, limitsWith, type Limits } from './limits.js';
import { resolve as resolvePath } from 'node:path';
import type { Diagnostic } from './types/diagnostic.js';
import type { GraphIR, TypedGraph } from './types/ir.js';
import type { SpecAst } from './types/spec.js';
import { builtinRegistry, type OpRegistry } from './ops/index.js';
import { Sources } from './diagnostics/sources.js';
import { diag, hasErrors, sortDiagnostics } from './diagnostics/diagnostics.js';
import { Msg } from './diagnostics/messages.js';
import { fileSize, readSpecFile, resolveSpec, type FrontEndContext, type Host } from './resolve/resolve.js';
import { instantiate, type SetValue } from './expand/instantiate.js';
import { parseSetArgs } from './expand/set-args.js';
import { computeTotals, infer } from './infer/infer.js';
import { lintGraph, reachableFromOutputs } from './infer/lint.js';
import type { LoadedDocument } from './load/yaml.js';

export interface CompileOptions {
  registry?: OpRegistry;
  /** Resource limits (defaults: DEFAULT_LIMITS, listed in docs/robustness.md). */
  limits?: Partial<Limits>;
  /** Allow `use:` of files outside the spec's project (refused by default). */
  allowOutsideRoot?: boolean;
  /** Parameter values: `--set` strings (`n=18`), or values by name. */
  set?: readonly string[] | Readonly<Record<string, unknown>>;
  host?: Host;
  sources?: Sources;
  /**
   * `parseSpec` of this very file and text with these options, to reuse: compiling one spec for
   * several parameter sets (`diff a.yaml a.yaml --left-set n=18 --right-set n=9`) parses it once.
   */
  front?: FrontEndResult;
}

/** What the commands' --limit and --allow-outside-root set: the part of CompileOptions a command passes through. */
export type CompileFlags = Pick<CompileOptions, 'limits' | 'allowOutsideRoot'>;

export interface FrontEndResult {
  ok: boolean;
  /** A file with blocks and no layers: a library for `use:`, checked but not instantiated. */
  library?: boolean;
  ast?: SpecAst;
  diagnostics: Diagnostic[];
  sources: Sources;
  docs: Map<string, LoadedDocument>;
}

export interface CompileResult extends FrontEndResult {
  /** The instantiated graph before inference. */
  ir?: GraphIR;
  /** The graph with shapes, weights, parameter counts and MACs. */
  graph?: TypedGraph;
}

export const fsHost: Host = {
  // Bounded, regular files only: a FIFO or /dev/zero given as a spec (or `use:`d) is refused.
  readFile: (p, limit = DEFAULT_LIMITS.maxFileBytes) => readTextBounded(p, limit),
  exists: (p) => existsSync(p),
  realpath: (p) => realpathSync(p),
  size: (p) => regularFileSize(p),
};

/** Load, validate and resolve a spec: everything that does not depend on parameter values. */
export function parseSpec(file: string, text: string, opts: CompileOptions = {}): FrontEndResult {
  const sources = opts.sources ?? new Sources();
  const ctx: FrontEndContext = {
    host: opts.host ?? fsHost,
    registry: opts.registry ?? builtinRegistry(),
    sources,
    docs: new Map(),
    diagnostics: [],
    ...(opts.allowOutsideRoot ? { allowOutsideRoot: true } : {}),
    limits: limitsWith(opts.limits),
  };
  const built = readSpecFile(file, text, ctx);
  let ast: SpecAst | undefined;
  let library = false;
  if (built) {
    ast = resolveSpec(built, ctx);
    library = !built.hasLayers && built.ownBlocks.length > 0 && built.ast.inputs.length === 0;
    if (!built.hasLayers && !library) ctx.diagnostics.push(diag('missingKey', 'the spec has no layers: (a file with only blocks is a library for use:)', { file, start: 0, end: 0 }));
  }
  const ok = !hasErrors(ctx.diagnostics) && ast !== undefined;
  return { ok, ...(library ? { library } : {}), ...(ast ? { ast } : {}), diagnostics: sortDiagnostics(ctx.diagnostics), sources, docs: ctx.docs };
}

function toSets(set: CompileOptions['set'], sources: Sources): { sets: SetValue[]; diagnostics: Diagnostic[] } {
  if (!set) return { sets: [], diagnostics: [] };
  if (Array.isArray(set)) return parseSetArgs(set as string[], sources);
  return parseSetArgs(Object.entries(set).map(([k, v]) => `${k}=${JSON.stringify(v)}`), sources);
}

/** Compile spec text all the way to the typed graph. */
export function compileSource(file: string, text: string, opts: CompileOptions = {}): CompileResult {
  const front = opts.front ? { ...opts.front, sources: opts.front.sources.copy() } : parseSpec(file, text, opts);
  const diagnostics = [...front.diagnostics];
  const { sets, diagnostics: setDiags } = toSets(opts.set, front.sources);
  diagnostics.push(...setDiags);
  if (!front.ok || !front.ast || setDiags.length) return { ...front, ok: false, diagnostics: sortDiagnostics(diagnostics) };
  if (front.library) return { ...front, diagnostics: sortDiagnostics(diagnostics) };
  const registry = opts.registry ?? builtinRegistry();
  const ir = instantiate(front.ast, sets, { registry, docs: front.docs, diagnostics, limits: limitsWith(opts.limits) });
  if (!ir) return { ...front, ok: false, diagnostics: sortDiagnostics(diagnostics) };
  const typed = infer(ir, registry, diagnostics);
  // Reachability warnings only for a graph without errors: a failed node is not "unused".
  const warnings = typed ? lintGraph(ir) : [];
  diagnostics.push(...warnings);
  const ok = !hasErrors(diagnostics) && typed !== undefined;
  const graph = typed && warnings.some((w) => w.code === Msg.deadNode.code || w.code === Msg.unusedInput.code) ? pruneUnreachable(typed) : typed;
  return { ...front, ok, diagnostics: sortDiagnostics(diagnostics), ir, ...(ok && graph ? { graph } : {}) };
}

export function compileFile(path: string, opts: CompileOptions = {}): CompileResult {
  const file = resolvePath(path);
  const sources = opts.sources ?? new Sources();
  // A file over the size limit is not read at all (it could be larger than the memory).
  const size = fileSize(opts.host ?? fsHost, file);
  const maxBytes = limitsWith(opts.limits).maxFileBytes;
  if (size !== undefined && size > maxBytes) {
    return { ok: false, diagnostics: [diag('resourceLimit', `'${path}' has ${size} bytes; the limit is ${maxBytes} (maxFileBytes)`, undefined)], sources, docs: new Map() };
  }
  let text: string;
  try {
    text = (opts.host ?? fsHost).readFile(file, maxBytes);
  } catch (e) {
    return {
      ok: false,
      diagnostics: [diag('fileRead', `cannot read '${path}': ${describeReadError(e)}`, undefined)],
      sources,
      docs: new Map(),
    };
  }
  return compileSource(file, text, { ...opts, sources });
}

/** Keep only what reaches an output: the model Keras would build. */
function pruneUnreachable(g: TypedGraph): TypedGraph {
  const live = reachableFromOutputs(g);
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const owned = new Set<string>();
  const nodes = g.nodes
    .filter((n) => live.has(n.id) || (n.op === 'input' && g.inputs.includes(n.id)))
    .map((n) => {
      // A shared layer whose own first application is pruned still exists (Keras keeps the layer):
      // its first live application carries its weights, so they are counted once.
      if (!n.sharedWith || live.has(n.sharedWith) || owned.has(n.sharedWith)) return n;
      owned.add(n.sharedWith);
      const original = byId.get(n.sharedWith)!;
      return { ...n, weights: original.weights, params: original.params };
    });
  return { ...g, nodes, totals: computeTotals(nodes) };
}

// Read by diff/sides.ts to compare files from other sources than the disk.
export type { Host } from './resolve/resolve.js';
