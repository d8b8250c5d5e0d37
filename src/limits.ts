/**
 * Resource limits. A spec is input from anyone who can open a pull request, and
 * `modelspec check` runs in CI on it: each limit turns what would be a hang, a
 * crash or an exhausted memory into a diagnostic. All are configurable through
 * `CompileOptions.limits` (and `--limit name=value` on the command line);
 * docs/robustness.md lists them.
 */
export interface Limits {
  /** Bytes of one spec file (the spec or a `use:`d library). */
  maxFileBytes: number;
  /** Nesting of YAML flow collections `[...]`/`{...}` and block mappings/sequences. */
  maxYamlDepth: number;
  /** YAML nodes after alias expansion (guards against "billion laughs"). */
  maxYamlNodes: number;
  /** Graph nodes after expanding repeat/for/blocks. */
  maxExpandedNodes: number;
  /**
   * Items expanded in all: every item of every loop iteration and block call, those that `when:`
   * leaves out included, and every iteration itself (bounds loops that make no nodes).
   */
  maxExpansionSteps: number;
  /** Nesting of block calls. */
  maxBlockDepth: number;
  /** Characters of one `${...}` expression. */
  maxExprLength: number;
  /** Nesting of one expression. */
  maxExprDepth: number;
  /** Evaluation steps of one expression. */
  maxEvalSteps: number;
  /** Evaluation steps of all the expressions of one compilation. */
  maxTotalEvalSteps: number;
  /** Values of a list (nested lists counted in full), or characters of a string, built by an expression (range(), +, [...]). */
  maxListLength: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFileBytes: 131_072,
  maxYamlDepth: 100,
  maxYamlNodes: 100_000,
  maxExpandedNodes: 20_000,
  maxExpansionSteps: 100_000,
  maxBlockDepth: 64,
  maxExprLength: 4096,
  maxExprDepth: 64,
  maxEvalSteps: 100_000,
  maxTotalEvalSteps: 5_000_000,
  maxListLength: 100_000,
});

/**
 * The limits of one compilation: the defaults with `given` over them. A value, passed down the
 * stages (load, resolve, expand, the expression evaluator) with the rest of their context; there is
 * no module state, so two compilations with different limits can never see each other's.
 */
export function limitsWith(given: Partial<Limits> | undefined): Readonly<Limits> {
  return given ? { ...DEFAULT_LIMITS, ...given } : DEFAULT_LIMITS;
}

export const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as (keyof Limits)[];
