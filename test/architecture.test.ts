/**
 * The source's structure, checked: diagnostic codes are only written in the catalogue
 * (src/diagnostics/), everything else names them by key; imports run only down the pipeline
 * order, so no folder-level cycle can form.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');

function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const parsed = sourceFiles().map((file) => ({
  file: relative(SRC, file).split('\\').join('/'),
  ast: ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true),
}));

/** Every string-like literal of a file (strings, template parts), with its line; comments are not literals. */
function literals(sf: ts.SourceFile): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isStringLiteralLike(n) || ts.isTemplateLiteralToken(n)) {
      out.push({ text: n.text, line: sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

describe('diagnostic codes', () => {
  it('are written only in the catalogue: everything else names a message by key (Msg.x.code, Say.x(...))', () => {
    const raw = parsed
      .filter((f) => !f.file.startsWith('diagnostics/'))
      .flatMap((f) => literals(f.ast).filter((l) => /\bMS\d{4}\b/.test(l.text)).map((l) => `src/${f.file}:${l.line}: ${l.text}`));
    expect(raw).toEqual([]);
  });

  it('the check sees a code in a string, a template and a template part', () => {
    const sf = ts.createSourceFile('x.ts', "f('MS1234'); g(`MS2345`); h(`a ${b} MS3456`); // MS4567", ts.ScriptTarget.Latest, true);
    expect(literals(sf).filter((l) => /\bMS\d{4}\b/.test(l.text)).map((l) => l.text)).toEqual(['MS1234', 'MS2345', ' MS3456']);
  });
});

/**
 * The pipeline order (README, "Layout"): a folder of src/ (or a file at its top) may import only
 * from itself and from those before it, so the stages stack and no folder-level cycle can form.
 * src/index.ts, the package's entry, re-exports the stages and is imported by none of them.
 */
const PIPELINE = [
  'types', 'limits', 'io', 'diagnostics', 'expr', 'ops', 'load', 'validate', 'resolve', 'expand', 'infer',
  'compile', 'report', 'backends', 'runtime', 'codegen', 'diff', 'build', 'train', 'cli', 'index',
] as const;

/** The layer of a path relative to src/: its first folder, or a top-level file's name. */
const layerOf = (rel: string) => rel.split('/')[0]!.replace(/\.ts$/, '');

/** The relative module specifiers of a file: imports, re-exports, `import()` calls and `import('x').T` types. */
function specifiers(sf: ts.SourceFile): { spec: string; line: number }[] {
  const out: { spec: string; line: number }[] = [];
  const add = (lit: ts.Node | undefined) => {
    if (lit && ts.isStringLiteralLike(lit) && lit.text.startsWith('.')) out.push({ spec: lit.text, line: sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1 });
  };
  const visit = (n: ts.Node) => {
    if (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) add(n.moduleSpecifier);
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) add(n.arguments[0]);
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument)) add(n.argument.literal);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

const edges = parsed.flatMap((f) => specifiers(f.ast).map((s) => {
  const target = join(f.file, '..', s.spec).split('\\').join('/');
  return { from: f.file, to: target, line: s.line, fromLayer: layerOf(f.file), toLayer: layerOf(target) };
}));

describe('imports', () => {
  it('every folder of src/ has its place in the pipeline order', () => {
    const layers = new Set(parsed.map((f) => layerOf(f.file)));
    expect([...layers].filter((l) => !(PIPELINE as readonly string[]).includes(l))).toEqual([]);
  });

  it('run only down the pipeline order (no import of a later stage)', () => {
    const rank = (l: string) => (PIPELINE as readonly string[]).indexOf(l);
    const backwards = edges.filter((e) => rank(e.toLayer) > rank(e.fromLayer)).map((e) => `src/${e.from}:${e.line} (${e.fromLayer}) imports ${e.to} (${e.toLayer})`);
    expect(backwards).toEqual([]);
  });

  it('make no cycle between folders', () => {
    const next = new Map<string, Set<string>>();
    for (const e of edges) if (e.fromLayer !== e.toLayer) next.set(e.fromLayer, (next.get(e.fromLayer) ?? new Set()).add(e.toLayer));
    // Depth-first search; a folder met again while on the stack closes a cycle.
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const dfs = (l: string) => {
      state.set(l, 'open');
      stack.push(l);
      for (const m of next.get(l) ?? []) {
        if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m].join(' -> '));
        else if (!state.has(m)) dfs(m);
      }
      stack.pop();
      state.set(l, 'done');
    };
    for (const l of next.keys()) if (!state.has(l)) dfs(l);
    expect(cycles).toEqual([]);
  });

  it('the check reads imports, re-exports, import() and import types', () => {
    const sf = ts.createSourceFile('x.ts', "import a from './a.js'; export * from '../b.js'; const c = import('./c.js'); type D = import('./d.js').D; import 'node:fs';", ts.ScriptTarget.Latest, true);
    expect(specifiers(sf).map((s) => s.spec)).toEqual(['./a.js', '../b.js', './c.js', './d.js']);
  });
});
