/**
 * The spec AST: what a YAML spec says, after schema validation and parsing of
 * expressions, before any parameter has a value. Every node keeps `ptr`, the
 * JSON pointer of its YAML node, so diagnostics can point at the source.
 */
import type { SourceSpan } from './diagnostic.js';

/** Expression syntax tree of the closed `${...}` language. */
export type Expr =
  | { kind: 'num'; value: number; start: number; end: number }
  | { kind: 'str'; value: string; start: number; end: number }
  | { kind: 'bool'; value: boolean; start: number; end: number }
  | { kind: 'null'; start: number; end: number }
  | { kind: 'var'; name: string; start: number; end: number }
  | { kind: 'list'; items: Expr[]; start: number; end: number }
  | { kind: 'unary'; op: '-' | '!' | '+'; arg: Expr; start: number; end: number }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; start: number; end: number }
  | { kind: 'cond'; test: Expr; then: Expr; else: Expr; start: number; end: number }
  | { kind: 'call'; fn: string; args: Expr[]; start: number; end: number }
  | { kind: 'index'; target: Expr; index: Expr; start: number; end: number };

export type BinaryOp =
  | '+' | '-' | '*' | '/' | '//' | '%' | '**'
  | '==' | '!=' | '<' | '<=' | '>' | '>='
  | '&&' | '||';

/** A value position in a spec: a literal, an expression, or a list/map of those. */
export type Template =
  | { kind: 'lit'; value: unknown; ptr: string }
  | { kind: 'expr'; expr: Expr; source: string; text: string; span: SourceSpan; ptr: string }
  | { kind: 'list'; items: Template[]; ptr: string }
  | { kind: 'map'; entries: [string, Template][]; ptr: string };

export type ParamType = 'int' | 'float' | 'bool' | 'string' | 'enum' | 'shape' | 'activation';

export interface ParamDecl {
  name: string;
  type: ParamType;
  default?: unknown;
  hasDefault: boolean;
  min?: number;
  max?: number;
  values?: unknown[];
  nullable: boolean;
  doc?: string;
  ptr: string;
}

export interface LetDecl {
  name: string;
  value: Template;
  ptr: string;
}

export interface AssertDecl {
  that: Template;
  message: string;
  ptr: string;
}

export interface InputDecl {
  name: string;
  shape: Template;
  dtype: string;
  ptr: string;
}

export interface Ref {
  name: string;
  ptr: string;
}

interface ItemBase {
  ptr: string;
  id?: string;
  from?: Ref[];
  when?: Template;
  lets: LetDecl[];
}

export interface LayerItem extends ItemBase {
  kind: 'layer';
  op: string;
  attrs: Map<string, Template>;
}

export interface CallItem extends ItemBase {
  kind: 'call';
  block: string;
  args: Map<string, Template>;
}

export interface ShareItem extends ItemBase {
  kind: 'share';
  target: Ref;
}

export interface RepeatItem extends ItemBase {
  kind: 'repeat';
  count: Template;
  as?: string;
  body: Item[];
}

export interface ForItem extends ItemBase {
  kind: 'for';
  var: string;
  in: Template;
  body: Item[];
}

export interface Branch {
  ptr: string;
  from?: Ref[];
  body: Item[];
}

export interface BranchesItem extends ItemBase {
  kind: 'branches';
  branches: Branch[];
  merge: string;
  mergeAttrs: Map<string, Template>;
}

export type Item = LayerItem | CallItem | ShareItem | RepeatItem | ForItem | BranchesItem;

export interface BlockDecl {
  name: string;
  doc?: string;
  params: ParamDecl[];
  lets: LetDecl[];
  asserts: AssertDecl[];
  /** Named inputs; a block without `inputs` takes one input called `x`. */
  inputs: string[];
  body: Item[];
  output?: Ref;
  /** The file the block was defined in (for `use`d libraries). */
  file: string;
  ptr: string;
}

export interface SpecAst {
  file: string;
  name: string;
  doc?: string;
  params: ParamDecl[];
  lets: LetDecl[];
  asserts: AssertDecl[];
  inputs: InputDecl[];
  /** Blocks visible to this spec: its own and those of the files it `use`s. */
  blocks: Map<string, BlockDecl>;
  body: Item[];
  outputs?: Ref[];
  /** The raw `training:` section, validated by the schema, interpreted by the trainer. */
  training?: unknown;
}
