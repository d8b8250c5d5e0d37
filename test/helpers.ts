/** Shared test helpers. */
import { fileURLToPath } from 'node:url';
import { compileFile, compileSource, type CompileOptions, type CompileResult } from '../src/index.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const spec = (name: string) => `${ROOT}specs/${name}`;

export function compileSpec(name: string, set: string[] = []): CompileResult {
  return compileFile(spec(name), { set });
}

/** Compile YAML text given inline (a `modelspec: 1` header is added unless present). */
export function compileYaml(yaml: string, opts: CompileOptions = {}, file = `${ROOT}test/inline.yaml`): CompileResult {
  const text = /^modelspec:/m.test(yaml) ? yaml : `modelspec: 1\n${yaml}`;
  return compileSource(file, text, opts);
}

export function codes(r: CompileResult): string[] {
  return r.diagnostics.map((d) => d.code);
}
