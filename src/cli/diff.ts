/**
 * `modelspec diff <a> <b>` and `modelspec git-diff-driver ...`: thin fronts over the library's
 * diffSpecs and gitDiffDriver (src/diff/command.ts).
 */
export { diffSpecs as runDiff, gitDiffDriver as runGitDiffDriver, DIFF_FORMATS, type DiffFormat, type DiffOptions } from '../diff/command.js';
