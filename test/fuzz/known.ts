/**
 * Bugs of src/codegen found by the fuzz harness, whose modules do not type-check yet: each with
 * the TypeScript error it gives and its minimal reproducers in the corpus (the fix belongs to
 * src/codegen). A module whose every error is one of these is a known failure: the short run
 * (test/fuzz.test.ts) fails on any other error, and on a reproducer that type-checks (the bug is
 * fixed: take it off the list); the long run counts known failures apart and does not save them.
 */
export const KNOWN_SPEC2TS_BUGS: { bug: string; error: RegExp; reproducers: string[] }[] = [
  // None open. Fixed: a block called without a parameter that has no default; an item's input typed
  // 'SymbolicTensor | undefined' (a loop with no output and no input); code typed 'never' after a
  // reference that cannot resolve; a branch starting from another id assigning an undeclared variable.
];

/** The known bugs behind every error of a module (an error with the indented lines that explain it), or undefined. */
export function knownBugs(errors: string): string[] | undefined {
  const blocks = errors.split(/\n(?=\S)/).filter((b) => / error TS\d+/.test(b));
  const bugs = blocks.map((b) => KNOWN_SPEC2TS_BUGS.find((k) => k.error.test(b))?.bug);
  return blocks.length && bugs.every((b) => b !== undefined) ? [...new Set(bugs as string[])] : undefined;
}
