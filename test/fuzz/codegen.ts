/**
 * The spec2ts part of the fuzz harness: every case is also given to the code generator
 * (src/codegen), which must not throw, must give the same module twice, must succeed exactly when
 * the front end accepts the spec (it needs nothing more: parameter values are the builder's
 * arguments), and its module must type-check under --strict. Type-checking one module costs a
 * TypeScript program, so modules are collected and checked in batches (`typecheckPending`),
 * with the compiler options of test/spec2ts.test.ts (test/strict-ts.ts); a program reuses the previous one's files.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { parseSpec } from '../../src/index.js';
import { ROOT } from '../helpers.js';
import { STRICT_GENERATED_OPTIONS } from '../strict-ts.js';
import type { CodegenHook, FuzzCase } from './harness.js';
import { virtualHost } from './project.js';

interface Pending {
  c: FuzzCase;
  code: string;
}


export interface CodegenFuzz extends CodegenHook {
  /** Type-check the modules generated since the last call; the cases whose module does not compile, with the errors. */
  typecheckPending(): { c: FuzzCase; errors: string }[];
  /** Modules type-checked so far. */
  checked: number;
}

/** The hook, or undefined when the code generator is not there (or does not work yet). */
export async function codegenHook(): Promise<CodegenFuzz | undefined> {
  let gen: typeof import('../../src/codegen/index.js');
  try {
    gen = await import('../../src/codegen/index.js');
    const smoke = gen.generateSource(join(ROOT, 'smoke.yaml'), 'modelspec: 1\ninputs:\n  x: {shape: [4]}\nlayers:\n  - dense: 2\n');
    if (!smoke.ok || !smoke.code) return undefined;
  } catch {
    return undefined;
  }
  let pending: Pending[] = [];
  let old: ts.Program | undefined;
  let counter = 0;
  const hook: CodegenFuzz = {
    checked: 0,
    generate(c, collect) {
      const opts = { host: virtualHost(c.files), ...(c.limits ? { limits: c.limits } : {}), ...(c.allowOutsideRoot ? { allowOutsideRoot: true } : {}) };
      const r = gen.generateSource(c.file, c.text, opts);
      const front = parseSpec(c.file, c.text, opts);
      const problems: string[] = [];
      if (r.ok !== front.ok) problems.push(`spec2ts says ${r.ok ? 'ok' : 'not ok'} where the front end says ${front.ok ? 'ok' : 'not ok'}`);
      if (r.ok && !r.library && !r.code) problems.push('spec2ts succeeded without code');
      if (collect && r.ok && r.code) pending.push({ c, code: r.code });
      return { ok: r.ok, ...(r.code !== undefined ? { code: r.code } : {}), ...(r.library ? { library: true } : {}), diagnostics: r.diagnostics, problems };
    },
    typecheckPending() {
      if (pending.length === 0) return [];
      const files = new Map(pending.map((p) => [join(ROOT, 'tmp', 'fuzz-spec2ts', `m${counter++}.ts`), p]));
      pending = [];
      const base = ts.createCompilerHost(STRICT_GENERATED_OPTIONS);
      const host: ts.CompilerHost = {
        ...base,
        fileExists: (f) => files.has(f) || base.fileExists(f),
        readFile: (f) => files.get(f)?.code ?? base.readFile(f),
        getSourceFile: (f, v, onError, create) => {
          const p = files.get(f);
          return p ? ts.createSourceFile(f, p.code, v) : base.getSourceFile(f, v, onError, create);
        },
      };
      const rootNames = [...files.keys()];
      const program = ts.createProgram({ rootNames, options: STRICT_GENERATED_OPTIONS, host, ...(old ? { oldProgram: old } : {}) });
      old = program;
      hook.checked += rootNames.length;
      const byFile = new Map<string, ts.Diagnostic[]>();
      for (const d of ts.getPreEmitDiagnostics(program)) {
        const f = d.file?.fileName;
        if (f && files.has(f)) byFile.set(f, [...(byFile.get(f) ?? []), d]);
        else if (!f || !f.includes('node_modules')) byFile.set('', [...(byFile.get('') ?? []), d]);
      }
      const out: { c: FuzzCase; errors: string }[] = [];
      const format = (ds: ts.Diagnostic[]) => ts.formatDiagnostics(ds.slice(0, 5), { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' });
      for (const [f, ds] of byFile) {
        const p = files.get(f);
        if (p) out.push({ c: p.c, errors: format(ds) });
        else out.push({ c: [...files.values()][0]!.c, errors: `the program of this batch has errors outside the generated modules:\n${format(ds)}` });
      }
      return out;
    },
  };
  return hook;
}
