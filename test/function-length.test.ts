/**
 * Issue #13: no function in src/ over ~80 lines without a reason written beside it. A reason is a
 * doc comment saying `Long (~N lines)` (or `Long by design`) on the function or on a function
 * around it (its nested closures share the reason).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const MAX_LINES = 80;
const ROOT = join(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

type Fn = ts.FunctionLikeDeclaration;
const isFunction = (n: ts.Node): n is Fn =>
  ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isConstructorDeclaration(n) || ts.isGetAccessor(n) || ts.isSetAccessor(n);

/**
 * The node whose doc comment describes the function: `const f = () => ...` and
 * `register('Name', (tf) => { ... });` are documented on their statement.
 */
function documented(fn: Fn): ts.Node {
  let n: ts.Node = fn;
  while (n.parent && (ts.isVariableDeclaration(n.parent) || ts.isVariableDeclarationList(n.parent) || ts.isVariableStatement(n.parent) || ts.isPropertyAssignment(n.parent))) n = n.parent;
  if (n === fn && n.parent && ts.isCallExpression(n.parent) && n.parent.parent && ts.isExpressionStatement(n.parent.parent)) return n.parent.parent;
  return n;
}

function nameOf(fn: Fn): string {
  if (fn.name) return fn.name.getText();
  const d = documented(fn);
  if (ts.isVariableStatement(d)) return d.declarationList.declarations[0]!.name.getText();
  if (ts.isPropertyAssignment(d)) return d.name.getText();
  return '<anonymous>';
}

/** Functions longer than MAX_LINES with no `Long` reason on them or on a function around them. */
export function unexplainedLongFunctions(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const hasReason = (fn: Fn) => ts.getJSDocCommentsAndTags(documented(fn)).some((d) => /\bLong\b/.test(d.getText()));
  const visit = (n: ts.Node, explained: boolean) => {
    let inner = explained;
    if (isFunction(n)) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart()).line;
      const last = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      const lines = last - first + 1;
      inner = explained || hasReason(n);
      if (lines > MAX_LINES && !inner) found.push(`${file}:${first + 1} ${nameOf(n)} (${lines} lines)`);
    }
    ts.forEachChild(n, (c) => visit(c, inner));
  };
  visit(sf, false);
  return found;
}

describe('function length (issue #13)', () => {
  it(`no function in src/ is over ${MAX_LINES} lines without a reason beside it`, () => {
    const long = sourceFiles(join(ROOT, 'src')).flatMap((f) => unexplainedLongFunctions(relative(ROOT, f), readFileSync(f, 'utf8')));
    expect(long).toEqual([]);
  });

  it('the check sees long functions, closures and methods, and accepts a written reason', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  x += ${i};`).join('\n');
    const src = [
      `export function tooLong(): number {\n  let x = 0;\n${body(80)}\n  return x;\n}`,
      `const arrow = () => {\n  let x = 0;\n${body(80)}\n};`,
      `class C {\n  method(): void {\n    let x = 0;\n${body(80)}\n  }\n}`,
      `/** Long (~85 lines): one case per kind. */\nexport function explained(): void {\n  let x = 0;\n  const inner = () => {\n${body(82)}\n  };\n}`,
      `export function short(): void {\n${body(70)}\n}`,
    ].join('\n\n');
    expect(unexplainedLongFunctions('t.ts', src).map((s) => s.replace(/ \(\d+ lines\)$/, ''))).toEqual(['t.ts:1 tooLong', 't.ts:86 arrow', 't.ts:171 method']);
  });
});
