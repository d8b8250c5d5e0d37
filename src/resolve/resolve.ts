/**
 * Stage 3: resolve names across files. Loads `use:` libraries, gathers the
 * blocks a spec can see, and checks calls statically: unknown ops or blocks,
 * unknown block arguments, and recursion through blocks.
 */
import { dirname, relative, resolve as resolvePath } from 'node:path';
import type { Diagnostic, SourceSpan } from '../types/diagnostic.js';
import type { BlockDecl, Item, SpecAst } from '../types/spec.js';
import type { OpRegistry } from '../ops/index.js';
import { diag, didYouMean } from '../diagnostics/diagnostics.js';
import type { Sources } from '../diagnostics/sources.js';
import { escapePointer, loadYaml, spanAt, type LoadedDocument } from '../load/yaml.js';
import { validateDocument } from '../validate/ajv.js';
import type { Limits } from '../limits.js';
import { describeReadError } from '../io/read.js';
import { AstBuilder, type AstBuild } from '../validate/to-ast.js';

export interface Host {
  /** The file's text; a host that reads files bounds the read by `limit` bytes (maxFileBytes). */
  readFile(path: string, limit?: number): string;
  /** Whether a path exists (used to find the project root); hosts without it treat every path as inside. */
  exists?(path: string): boolean;
  /** The path with symbolic links resolved (used to keep `use:` inside the project); hosts without it have no links. */
  realpath?(path: string): string;
  /** Bytes of a file, so that one over maxFileBytes is refused before it is read; optional. */
  size?(path: string): number;
}

/** The size of a file when the host can tell it without reading it. */
export function fileSize(host: Host, path: string): number | undefined {
  try {
    return host.size?.(path);
  } catch {
    return undefined; // reading it will say what is wrong
  }
}

export interface FrontEndContext {
  host: Host;
  registry: OpRegistry;
  sources: Sources;
  /** Every document read, by file name (spans of items point into these). */
  docs: Map<string, LoadedDocument>;
  diagnostics: Diagnostic[];
  /** Allow `use:` of files outside the root spec's project. */
  allowOutsideRoot?: boolean;
  /** The resource limits of this compilation. */
  limits: Readonly<Limits>;
}

/** Read, parse, validate and build the AST of one file. Returns undefined when it cannot go further. */
export function readSpecFile(file: string, text: string, ctx: FrontEndContext): AstBuild | undefined {
  ctx.sources.add(file, text);
  const bytes = Buffer.byteLength(text);
  if (bytes > ctx.limits.maxFileBytes) {
    ctx.diagnostics.push(diag('resourceLimit', `the file has ${bytes} bytes; the limit is ${ctx.limits.maxFileBytes} (maxFileBytes)`, { file, start: 0, end: 0 }));
    return undefined;
  }
  const doc = loadYaml(file, text, ctx.limits);
  ctx.docs.set(file, doc);
  ctx.diagnostics.push(...doc.diagnostics);
  if (doc.diagnostics.some((d) => d.severity === 'error')) return undefined;
  if (doc.value === null || typeof doc.value !== 'object' || Array.isArray(doc.value)) {
    ctx.diagnostics.push(diag('notAMapping', 'a spec must be a YAML mapping that starts with `modelspec: 1`', spanAt(doc, '')));
    return undefined;
  }
  const schemaDiags = validateDocument(doc, ctx.registry);
  ctx.diagnostics.push(...schemaDiags);
  if (schemaDiags.length > 0) return undefined;
  const builder = new AstBuilder(doc, ctx.registry, ctx.limits);
  const built = builder.build();
  ctx.diagnostics.push(...builder.diagnostics);
  return builder.diagnostics.some((d) => d.severity === 'error') ? undefined : built;
}

/**
 * Load the `use:` closure of a spec and attach the visible blocks; check calls. Long (~90 lines):
 * the recursive walk over `use:` (loadUses) and its checks (project root, size, cycles) are closures
 * sharing the blocks and files loaded so far.
 */
export function resolveSpec(root: AstBuild, ctx: FrontEndContext): SpecAst {
  const blocks = new Map<string, BlockDecl>();
  const addBlocks = (list: BlockDecl[]) => {
    for (const b of list) {
      const prev = blocks.get(b.name);
      if (prev && prev !== b) {
        // Point at the definition in the spec being compiled when there is one: that is where it is fixed.
        const [here, there] = prev.file === root.ast.file ? [prev, b] : [b, prev];
        ctx.diagnostics.push(diag('blockConflict', `block '${b.name}' is defined twice`, blockSpan(here, ctx), {
          related: [{ message: 'also defined here', span: blockSpan(there, ctx) }],
          hint: 'rename one of them',
        }));
        continue;
      }
      if (ctx.registry.has(b.name)) {
        ctx.diagnostics.push(diag('blockConflict', `block '${b.name}' has the name of a built-in op`, blockSpan(b, ctx), { hint: 'rename the block: an item with this key would be ambiguous' }));
        continue;
      }
      blocks.set(b.name, b);
    }
  };
  addBlocks(root.ownBlocks);
  const loaded = new Map<string, AstBuild | undefined>();
  const loadUses = (build: AstBuild, file: string, stack: string[]) => {
    const doc = ctx.docs.get(file)!;
    for (const use of build.uses) {
      const path = resolvePath(dirname(file), use.path);
      const at = spanAt(doc, use.ptr);
      if (stack.includes(path)) {
        ctx.diagnostics.push(diag('useCycle', `'${use.path}' is already being loaded: ${[...stack, path].map((p) => relativePath(dirname(root.ast.file), p)).join(' -> ')}`, at, {
          hint: 'move the blocks both files need into a third file that both use',
        }));
        continue;
      }
      if (loaded.has(path)) continue;
      const size = fileSize(ctx.host, path);
      if (size !== undefined && size > ctx.limits.maxFileBytes) {
        ctx.diagnostics.push(diag('resourceLimit', `'${use.path}' has ${size} bytes; the limit is ${ctx.limits.maxFileBytes} (maxFileBytes)`, at));
        loaded.set(path, undefined);
        continue;
      }
      let text: string;
      try {
        text = ctx.host.readFile(path, ctx.limits.maxFileBytes);
      } catch (e) {
        const why = describeReadError(e);
        ctx.diagnostics.push(diag('fileRead', `cannot read '${use.path}': ${why} (${relativePath(dirname(root.ast.file), path)} from this spec's folder)`, at, {
          hint: 'paths in use: are relative to the file that names them',
        }));
        loaded.set(path, undefined);
        continue;
      }
      const lib = readSpecFile(path, text, ctx);
      loaded.set(path, lib);
      if (!lib) continue;
      addBlocks(lib.ownBlocks);
      loadUsesChecked(lib, path, [...stack, path]);
    }
  };
  const project = projectRoot(dirname(root.ast.file), ctx.host);
  // Also through a symbolic link: a link inside the project to a file outside it would show that
  // file's lines in the diagnostics' code frames.
  const real = (p: string) => {
    try {
      return ctx.host.realpath?.(p) ?? p;
    } catch {
      return p; // a missing file: reading it reports that
    }
  };
  const realProject = real(project);
  const outside = (path: string) => !ctx.allowOutsideRoot && (relative(project, path).startsWith('..') || relative(realProject, real(path)).startsWith('..'));
  const loadUsesChecked = (build: AstBuild, file: string, stack: string[]) => {
    const doc = ctx.docs.get(file)!;
    const allowed = build.uses.filter((use) => {
      const path = resolvePath(dirname(file), use.path);
      if (!outside(path)) return true;
      ctx.diagnostics.push(diag('useOutsideRoot', `'${use.path}' is outside this spec's project (the folder ${relativePath(dirname(file), project)}, which holds package.json or .git)`, spanAt(doc, use.ptr), {
        hint: 'keep block libraries inside the project, or pass --allow-outside-root if you trust this file',
      }));
      loaded.set(path, undefined);
      return false;
    });
    loadUses({ ...build, uses: allowed }, file, stack);
  };
  loadUsesChecked(root, root.ast.file, [root.ast.file]);
  const ast: SpecAst = { ...root.ast, blocks };
  // A library that failed to load has reported its own errors; its blocks would only show up as unknown.
  const libraryFailed = [...loaded.values()].some((l) => l === undefined);
  checkCalls(ast, ctx, libraryFailed);
  return ast;
}

/**
 * The nearest folder at or above `dir` holding package.json or .git; `dir` itself when there is
 * none. A host that cannot tell whether a path exists gets the file system root: everything is inside.
 */
function projectRoot(dir: string, host: Host): string {
  if (!host.exists) return resolvePath('/');
  for (let d = dir; ; d = dirname(d)) {
    if (host.exists?.(`${d}/package.json`) || host.exists?.(`${d}/.git`)) return d;
    if (dirname(d) === d) return dir;
  }
}

function relativePath(from: string, to: string): string {
  const r = relative(from, to);
  return r.startsWith('..') ? r : `./${r}`;
}

function blockSpan(b: BlockDecl, ctx: FrontEndContext): SourceSpan {
  return spanAt(ctx.docs.get(b.file)!, b.ptr, 'key');
}

function* walkItems(items: readonly Item[]): Generator<Item> {
  for (const it of items) {
    yield it;
    if (it.kind === 'repeat' || it.kind === 'for') yield* walkItems(it.body);
    if (it.kind === 'branches') for (const b of it.branches) yield* walkItems(b.body);
  }
}

function checkCalls(ast: SpecAst, ctx: FrontEndContext, libraryFailed: boolean): void {
  const candidates = [...ctx.registry.names().filter((n) => n !== 'input'), ...ast.blocks.keys()];
  const check = (items: readonly Item[], file: string) => {
    const doc = ctx.docs.get(file)!;
    for (const it of walkItems(items)) {
      if (it.kind !== 'call') continue;
      const callPtr = `${it.ptr}/${escapePointer(it.block)}`;
      const block = ast.blocks.get(it.block);
      if (!block) {
        if (libraryFailed) continue;
        const hint = didYouMean(it.block, candidates);
        ctx.diagnostics.push(diag('unknownOp', `unknown op or block '${it.block}'`, spanAt(doc, callPtr, 'key'), hint ? { hint } : {}));
        continue;
      }
      const names = block.params.map((p) => p.name);
      for (const arg of it.args.keys()) {
        if (!names.includes(arg)) {
          const hint = didYouMean(arg, names) ?? (names.length ? `${block.name} takes: ${names.join(', ')}` : `${block.name} takes no arguments`);
          ctx.diagnostics.push(diag('unknownArgument', `block '${block.name}' has no parameter '${arg}'`, spanAt(doc, `${callPtr}/${escapePointer(arg)}`, 'key'), { hint }));
        }
      }
    }
  };
  check(ast.body, ast.file);
  for (const b of ast.blocks.values()) check(b.body, b.file);

  // Recursion: depth-first search over the block call graph. One path, pushed and popped (a copy
  // per level made a chain of thousands of blocks quadratic).
  const state = new Map<string, 'active' | 'done'>();
  const path: string[] = [];
  const visit = (name: string) => {
    const b = ast.blocks.get(name);
    if (!b) return;
    state.set(name, 'active');
    path.push(name);
    for (const it of walkItems(b.body)) {
      if (it.kind !== 'call' || !ast.blocks.has(it.block)) continue;
      const s = state.get(it.block);
      if (s === 'active') {
        const cycle = [...path.slice(path.indexOf(it.block)), it.block];
        ctx.diagnostics.push(diag('recursiveBlock', `block '${it.block}' calls itself: ${cycle.join(' -> ')}`, spanAt(ctx.docs.get(b.file)!, `${it.ptr}/${escapePointer(it.block)}`, 'key'), {
          hint: 'blocks are expanded before the model is built, so they cannot recurse; use repeat or for instead, and refer to an iteration\'s output after the loop as id[i] (a U-Net: docs/language.md §6.5)',
        }));
      } else if (s === undefined) {
        visit(it.block);
      }
    }
    path.pop();
    state.set(name, 'done');
  };
  for (const name of ast.blocks.keys()) if (!state.has(name)) visit(name);
}
