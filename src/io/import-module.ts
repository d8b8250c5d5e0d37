/**
 * `import()` of a module chosen at run time (TensorFlow.js, Graphviz, resvg), in one place.
 *
 * The built CLI runs as a CommonJS bundle in a vm script (src/cli/modelspec.ts, for V8's code
 * cache), and a vm script's own `import()` needs an experimental Node.js option that, in Node 20,
 * a script loaded from a code cache loses. So the launcher, an ES module, hands its `import` in:
 * specifiers are then resolved from dist/cli/, beside the bundle. Everywhere else (the TypeScript
 * sources, dist/*.js as a library, the ES module chunks), the plain `import()` below is used.
 */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

let importer: ModuleImporter | undefined;

/** Set by the launcher of the CommonJS bundle before it runs a command. */
export function setModuleImporter(fn: ModuleImporter): void {
  importer = fn;
}

/** Import a package by name, or a module by file URL. */
export function importModule<T = unknown>(specifier: string): Promise<T> {
  return (importer ? importer(specifier) : import(specifier)) as Promise<T>;
}
