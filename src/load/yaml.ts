/**
 * Stage 1: YAML text -> plain data plus a map from JSON pointer to source span.
 *
 * Only the YAML core schema is accepted (no tags beyond it), duplicate keys are
 * errors, and mappings become prototype-less objects so keys such as
 * `__proto__` are ordinary data.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Alias, type Document, type Node as YNode, type YAMLMap } from 'yaml';
import type { Diagnostic, SourceSpan } from '../types/diagnostic.js';
import { diag } from '../diagnostics/diagnostics.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';

export interface NodeSpan {
  start: number;
  end: number;
  /** For a mapping value: the span of its key. */
  keyStart?: number;
  keyEnd?: number;
}

export interface LoadedDocument {
  file: string;
  text: string;
  value: unknown;
  /** JSON pointer ('' is the root, '/layers/0/conv2d') -> span. */
  spans: Map<string, NodeSpan>;
  diagnostics: Diagnostic[];
}


export function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function unescapePointer(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * Deepest nesting of flow collections, found by a scan that respects quotes and comments. The
 * YAML parser exhausts memory on very deep `[[[[...` input, so this runs first.
 */
function flowDepth(text: string): { depth: number; at: number } {
  let depth = 0, max = 0, at = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) { const nl = text.indexOf('\n', i); i = nl < 0 ? text.length : nl; }
    else if (c === '[' || c === '{') { if (++depth > max) { max = depth; at = i; } }
    else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
    else if (c === '\n') quote = null;
  }
  return { depth: max, at };
}

/**
 * Read YAML text into plain data and the spans of its nodes, in phases: the flow-depth pre-scan,
 * parsing (its errors and warnings as diagnostics), the size after alias expansion, and the walk
 * that builds the data (limits, tags, non-finite numbers, duplicate keys).
 */
export function loadYaml(file: string, text: string, limits: Pick<Limits, 'maxYamlDepth' | 'maxYamlNodes'> = DEFAULT_LIMITS): LoadedDocument {
  const r = new YamlReader(file, text, limits);
  const flow = flowDepth(text);
  if (flow.depth > limits.maxYamlDepth) {
    r.diagnostics.push(diag('resourceLimit', `[...] and {...} nest ${flow.depth} deep here; the limit is ${limits.maxYamlDepth} (maxYamlDepth)`, r.span(flow.at, flow.at + 1)));
    return r.result(undefined);
  }
  const doc = r.parse();
  if (r.diagnostics.some((d) => d.severity === 'error')) return r.result(undefined);
  r.resolveAliases(doc);
  const total = r.expandedSize(doc.contents as YNode | null, 0);
  if (total > limits.maxYamlNodes) {
    const range = (doc.contents as YNode | null)?.range;
    r.diagnostics.push(diag('resourceLimit', `the document expands to more than ${limits.maxYamlNodes} nodes (maxYamlNodes): ${total} after its YAML aliases (*name) are expanded`, range ? r.span(range[0], Math.min(range[1], range[0] + 1)) : undefined));
    return r.result(undefined);
  }
  const value = r.walk(doc.contents as YNode | null, '', 0);
  return r.result(r.refused ? undefined : value);
}

/** The state of reading one document: its diagnostics and spans, the walk's budget and what it found. */
class YamlReader {
  readonly diagnostics: Diagnostic[] = [];
  private readonly spans = new Map<string, NodeSpan>();
  private readonly lines = new LineCounter();
  /** The YAML parser reports one slip as a burst of follow-on errors; the first of each line is kept. */
  private readonly errorLines = new Set<number>();
  private readonly aliasTargets = new Map<Alias, YNode | undefined>();
  private readonly sizes = new Map<YNode, number>();
  /** Nodes reported already (a node reached again through an alias is reported once). */
  private readonly reported = new Set<YNode>();
  private budget: number;
  /** The walk hit a limit, met a duplicate key or a value no spec can hold: the document has no value. */
  refused = false;
  private exhausted = false;

  constructor(readonly file: string, readonly text: string, private readonly limits: Pick<Limits, 'maxYamlDepth' | 'maxYamlNodes'>) {
    this.budget = limits.maxYamlNodes;
  }

  span(start: number, end: number): SourceSpan {
    return { file: this.file, start, end };
  }

  result(value: unknown): LoadedDocument {
    return { file: this.file, text: this.text, value, spans: this.spans, diagnostics: this.diagnostics };
  }

  private lineOf(offset: number): number {
    return this.lines.linePos(offset).line;
  }

  /** The parser places an error at the end of the input one character past it: spans are kept inside the file. */
  private clamp(pos: [number, number]): [number, number] {
    const s = Math.min(Math.max(0, pos[0]), this.text.length);
    return [s, Math.min(Math.max(s, pos[1]), this.text.length)];
  }

  /** Parse (core schema), reporting the parser's errors and the tags it could not resolve. */
  parse(): Document.Parsed {
    // The parser makes an Error object for each problem it finds; their stack traces are never shown
    // and cost most of the time of a file of 10,000 broken lines: take none while parsing.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    let doc: Document.Parsed;
    try {
      doc = parseDocument(this.text, {
        schema: 'core',
        // Duplicate keys are found below, in one pass: the parser's own check compares each key with
        // every earlier one (30,000 keys took seconds), and tells `1` from "1", which are one key here.
        uniqueKeys: false,
        prettyErrors: false,
        lineCounter: this.lines,
        keepSourceTokens: false,
      });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    for (const e of doc.errors) this.syntaxError(e.pos, e.message);
    for (const w of doc.warnings) {
      const [s, t] = this.clamp(w.pos);
      if (w.code === 'TAG_RESOLVE_FAILED') {
        const written = this.text.slice(s, t).match(/^!\S*/)?.[0] ?? firstLine(w.message);
        this.diagnostics.push(diag('yamlTag', `the tag ${written} is not allowed: specs use only the YAML core schema`, this.span(s, t), {
          hint: 'remove the tag: a spec is plain data and nothing in it is ever evaluated as code',
        }));
      }
    }
    return doc;
  }

  /** One parser error, worded for the commonest slips with expressions. */
  private syntaxError(pos: [number, number], message: string): void {
    const text = this.text;
    const [s, t] = this.clamp(pos);
    const line = this.lineOf(s);
    if (this.errorLines.has(line)) return;
    this.errorLines.add(line);
    const lineStart = text.lastIndexOf('\n', s) + 1;
    const lineText = text.slice(lineStart, text.indexOf('\n', s) < 0 ? text.length : text.indexOf('\n', s));
    // `{units: ${n * 2}}`: an unquoted expression inside a flow mapping or list is the commonest slip.
    const inFlow = /[{[,]\s*(?:[A-Za-z_][A-Za-z0-9_]*\s*:\s*)?(\$\{)/.exec(lineText);
    if (inFlow) {
      const at = lineStart + inFlow.index + inFlow[0].length - 2;
      this.diagnostics.push(diag('yamlSyntax', 'an expression ${...} inside a flow mapping {...} or list [...] must be quoted', this.span(at, at + 2), {
        hint: 'write it in quotes, e.g. {units: "${n * 2}"}, or use a block mapping on separate lines',
      }));
      return;
    }
    // `pad: ${c ? 1 : 0}`: the ': ' of the conditional operator ends a plain YAML scalar.
    const withColon = /\$\{[^}]*:\s/.exec(lineText);
    if (withColon) {
      const at = lineStart + withColon.index;
      this.diagnostics.push(diag('yamlSyntax', "an expression that contains ': ' (as in c ? a : b) must be quoted", this.span(at, at + 2), {
        hint: 'write it in quotes, e.g. pad: "${n % 4 == 2 ? 1 : 0}"',
      }));
      return;
    }
    this.diagnostics.push(diag('yamlSyntax', firstLine(message), this.span(s, t)));
  }

  /**
   * What each alias stands for, found in one pass: `Alias.resolve(doc)` walks the whole document
   * on every call, which made a document of many aliases quadratic. As there, an alias names the
   * last node before it with that anchor.
   */
  resolveAliases(doc: Document.Parsed): void {
    const anchors = new Map<string, YNode>();
    visit(doc, {
      Node: (_key, node) => {
        if (isAlias(node)) this.aliasTargets.set(node, anchors.get(node.source));
        else if ((node as { anchor?: string }).anchor) anchors.set((node as { anchor: string }).anchor, node as YNode);
      },
    });
  }

  /**
   * Size after alias expansion, computed without expanding (memoised per anchored node), so a
   * "billion laughs" document is refused at once instead of after 200,000 nodes of work.
   */
  expandedSize(node: YNode | null | undefined, depth: number): number {
    if (node == null || depth > this.limits.maxYamlDepth) return 1;
    if (isAlias(node)) return this.expandedSize(this.aliasTargets.get(node), depth + 1);
    const hit = this.sizes.get(node);
    if (hit !== undefined) return hit;
    let n = 1;
    if (isSeq(node)) for (const it of node.items) n += this.expandedSize(it as YNode, depth + 1);
    else if (isMap(node)) for (const pair of node.items) if (isPair(pair)) n += this.expandedSize(pair.value as YNode, depth + 1);
    n = Math.min(n, Number.MAX_SAFE_INTEGER);
    this.sizes.set(node, n);
    return n;
  }

  /** The plain data of `node` at `ptr`, recording spans; null where a limit is hit (reported once). */
  walk(node: YNode | null | undefined, ptr: string, depth: number): unknown {
    if (--this.budget < 0 || depth > this.limits.maxYamlDepth) {
      if (!this.exhausted) {
        this.exhausted = this.refused = true;
        const r = node?.range;
        const why = this.budget < 0
          ? `the document expands to more than ${this.limits.maxYamlNodes} nodes (maxYamlNodes); YAML aliases (*name) multiply what they repeat`
          : `the document nests deeper than ${this.limits.maxYamlDepth} levels (maxYamlDepth)`;
        this.diagnostics.push(diag('resourceLimit', why, r ? this.span(r[0], r[1]) : undefined));
      }
      return null;
    }
    if (node == null) return null;
    if (isAlias(node)) return this.walk(this.aliasTargets.get(node), ptr, depth + 1);
    const range = node.range;
    const prev = this.spans.get(ptr);
    if (range) this.spans.set(ptr, { ...prev, start: range[0], end: range[1] });
    if (node.tag && !isStandardTag(node.tag)) {
      this.diagnostics.push(diag('yamlTag', `the tag ${node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed: specs use only the YAML core schema`, range ? this.span(range[0], range[1]) : undefined));
    }
    if (isScalar(node)) {
      // `.nan`, `.inf` and `1e999` are YAML floats but no value of a spec (nor of JSON) can be one.
      if (typeof node.value === 'number' && !Number.isFinite(node.value) && !this.reported.has(node)) {
        this.reported.add(node);
        this.diagnostics.push(diag('invalidValue', `${this.text.slice(range?.[0] ?? 0, range?.[1] ?? 0).trim() || String(node.value)} is not a finite number`, range ? this.span(range[0], range[1]) : undefined, {
          hint: 'numbers in a spec must be finite',
        }));
        this.refused = true;
      }
      return node.value ?? null;
    }
    if (isSeq(node)) return node.items.map((it, i) => this.walk(it as YNode, `${ptr}/${i}`, depth + 1));
    if (isMap(node)) return this.mapping(node as YAMLMap, ptr, depth);
    return null;
  }

  /** A mapping as a prototype-less object (so `__proto__` is a plain key); duplicate keys reported. */
  private mapping(node: YAMLMap, ptr: string, depth: number): Record<string, unknown> {
    const range = node.range;
    const obj: Record<string, unknown> = Object.create(null);
    const keys = new Set<string>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const k = pair.key as YNode | null;
      let key: string;
      if (isScalar(k)) key = String(k.value);
      else {
        const r = (k as YNode | null)?.range;
        this.diagnostics.push(diag('yamlSyntax', 'mapping keys must be plain scalars', r ? this.span(r[0], r[1]) : undefined));
        continue;
      }
      const kr = k.range;
      if (keys.has(key)) {
        this.duplicate(kr ? kr[0] : range ? range[0] : 0, key);
        continue;
      }
      keys.add(key);
      const childPtr = `${ptr}/${escapePointer(key)}`;
      const v = pair.value as YNode | null;
      const vr = v?.range;
      // A key without a value (`conv2d:`) spans its key.
      this.spans.set(childPtr, {
        start: vr ? vr[0] : kr ? kr[0] : 0,
        end: vr ? vr[1] : kr ? kr[1] : 0,
        ...(kr ? { keyStart: kr[0], keyEnd: kr[1] } : {}),
      });
      obj[key] = this.walk(v, childPtr, depth + 1);
      if (vr == null && kr) this.spans.set(childPtr, { start: kr[0], end: kr[1], keyStart: kr[0], keyEnd: kr[1] });
    }
    return obj;
  }

  private duplicate(at: number, key: string): void {
    this.refused = true;
    const line = this.lineOf(at);
    if (this.errorLines.has(line)) return; // also a mapping reached again through an alias
    this.errorLines.add(line);
    const written = (/^[^:\n,{}[\]]+/.exec(this.text.slice(at, at + 200))?.[0] ?? '').trim() || key;
    this.diagnostics.push(diag('yamlDuplicateKey', `duplicate key '${written}' in this mapping`, this.span(at, Math.min(at + 1, this.text.length)), { hint: 'YAML would keep only one of them; remove or rename one' }));
  }
}

function isStandardTag(tag: string): boolean {
  return /^tag:yaml\.org,2002:(str|int|float|bool|null|map|seq)$/.test(tag);
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

/** Span of the node at `ptr`, or of its nearest ancestor that has one. */
export function spanAt(doc: Pick<LoadedDocument, 'spans' | 'file'>, ptr: string, which: 'value' | 'key' = 'value'): SourceSpan {
  let p = ptr;
  for (;;) {
    const s = doc.spans.get(p);
    if (s) {
      if (which === 'key' && s.keyStart !== undefined) return { file: doc.file, start: s.keyStart, end: s.keyEnd! };
      return { file: doc.file, start: s.start, end: s.end };
    }
    if (p === '') return { file: doc.file, start: 0, end: 0 };
    p = p.slice(0, p.lastIndexOf('/'));
  }
}
