/**
 * The source's structure, checked: diagnostic codes are only written in the catalogue
 * (src/diagnostics/), everything else names them by key.
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
