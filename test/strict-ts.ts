/**
 * The compiler options generated builders must type-check under (strict, no unchecked index
 * access, ...), with the runtime module resolved to its sources: shared by test/spec2ts.test.ts and
 * the spec2ts part of the fuzz harness (test/fuzz/codegen.ts).
 */
import ts from 'typescript';
import { RUNTIME_MODULE } from '../src/codegen/index.js';
import { ROOT } from './helpers.js';

export const STRICT_GENERATED_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2023.d.ts'],
  strict: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  noFallthroughCasesInSwitch: true,
  noImplicitReturns: true,
  noEmit: true,
  skipLibCheck: true,
  types: ['node'],
  baseUrl: ROOT,
  paths: { [RUNTIME_MODULE]: ['src/runtime/index.ts'] },
};
