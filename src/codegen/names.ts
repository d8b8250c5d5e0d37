/**
 * TypeScript identifiers for the names of a spec. Spec names are `[A-Za-z_][A-Za-z0-9_]*`, so
 * they are identifiers already, but they may be reserved words (`default`, `class`), globals
 * the generated code uses (`Math`), names the module declares (`tf`, helpers, block functions)
 * or each other's (a parameter and an id of the same name): those are renamed (`default_`).
 */

/** Words that cannot be bound, or that generated code relies on not being shadowed. */
export const RESERVED = new Set([
  // ECMAScript reserved words, strict-mode and module reserved words
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum',
  'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'new', 'null',
  'return', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with',
  'implements', 'interface', 'let', 'package', 'private', 'protected', 'public', 'static', 'yield', 'await',
  'arguments', 'eval',
  // globals used by generated code or too confusing to shadow
  'undefined', 'NaN', 'Infinity', 'globalThis', 'Math', 'Object', 'Array', 'Number', 'String', 'Boolean',
  'JSON', 'Symbol', 'Error', 'Promise', 'Map', 'Set', 'console', 'tf', '__proto__',
]);

export const isIdentifier = (s: string) => /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s);

/** `resnet_layer` -> `resnetLayer`. */
export function camelCase(name: string): string {
  const parts = name.split('_').filter((p) => p !== '');
  if (parts.length === 0) return '_';
  const s = parts.map((p, i) => (i === 0 ? p : p[0]!.toUpperCase() + p.slice(1))).join('');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** `resnet_v1` -> `ResnetV1`. */
export function pascalCase(name: string): string {
  const c = camelCase(name);
  return c.startsWith('_') ? c : c[0]!.toUpperCase() + c.slice(1);
}

/** `resnet_layer` -> `RESNET_LAYER`. */
export function constantCase(name: string): string {
  const s = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

type Kind = 'chain' | 'other';

/**
 * One level of TypeScript block scope. A name is free if no enclosing level binds it; the
 * exception is the tensor that a function threads through its items (`x`), which a nested
 * function (a branch) may shadow, since the nested function never reads the outer one.
 */
export class Idents {
  private readonly bound = new Map<string, { kind: Kind; fn: number }>();
  private static nextFn = 0;

  constructor(readonly parent: Idents | undefined, readonly fn: number) {}

  static module(): Idents {
    return new Idents(undefined, Idents.nextFn++);
  }

  /** A nested block of the same function. */
  block(): Idents {
    return new Idents(this, this.fn);
  }

  /** The body of a nested function. */
  function(): Idents {
    return new Idents(this, Idents.nextFn++);
  }

  isFree(name: string, kind: Kind = 'other'): boolean {
    if (RESERVED.has(name)) return false;
    for (let s: Idents | undefined = this; s; s = s.parent) {
      const b = s.bound.get(name);
      if (!b) continue;
      if (s !== this && kind === 'chain' && b.kind === 'chain' && b.fn !== this.fn) continue;
      return false;
    }
    return true;
  }

  /** Bind a name for a spec name: `name`, else `name_`, `name_2`, ... */
  declare(name: string, kind: Kind = 'other'): string {
    const candidates = function* () {
      yield name;
      yield `${name}_`;
      for (let i = 2; ; i++) yield `${name}_${i}`;
    };
    for (const c of candidates()) if (this.isFree(c, kind)) return this.bind(c, kind);
    throw new Error('unreachable');
  }

  /** Bind a name for something of the generated code's own: `base`, else `base2`, `base3`, ... */
  internal(base: string, kind: Kind = 'other'): string {
    for (let i = 1; ; i++) {
      const c = i === 1 ? base : `${base}${i}`;
      if (this.isFree(c, kind)) return this.bind(c, kind);
    }
  }

  /** Bind `base<first>`, else `base<first + 1>`, ... (`s1` for the scope of a first-level loop). */
  numbered(base: string, first: number): string {
    for (let i = first; ; i++) if (this.isFree(`${base}${i}`)) return this.bind(`${base}${i}`, 'other');
  }

  private bind(name: string, kind: Kind): string {
    this.bound.set(name, { kind, fn: this.fn });
    return name;
  }
}
