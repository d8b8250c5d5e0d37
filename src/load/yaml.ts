/**
 * Stage 1: YAML text -> plain data plus a map from JSON pointer to source span.
 *
 * Only the YAML core schema is accepted (no tags beyond it), duplicate keys are
 * errors, and mappings become prototype-less objects so keys such as
 * `__proto__` are ordinary data.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Alias, type Document, type Node as YNode } from 'yaml';
import type { Diagnostic, SourceSpan } from '../types/diagnostic.js';
import { diag } from '../diagnostics/diagnostics.js';
import { LIMITS } from '../limits.js';

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

export function loadYaml(file: string, text: string): LoadedDocument {
  const diagnostics: Diagnostic[] = [];
  const spans = new Map<string, NodeSpan>();
  const span = (start: number, end: number): SourceSpan => ({ file, start, end });
  const flow = flowDepth(text);
  if (flow.depth > LIMITS.maxYamlDepth) {
    diagnostics.push(diag('resourceLimit', `[...] and {...} nest ${flow.depth} deep here; the limit is ${LIMITS.maxYamlDepth} (maxYamlDepth)`, span(flow.at, flow.at + 1)));
    return { file, text, value: undefined, spans, diagnostics };
  }
  const lines = new LineCounter();
  // The parser makes an Error object for each problem it finds; their stack traces are never shown
  // and cost most of the time of a file of 10,000 broken lines: take none while parsing.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, {
      schema: 'core',
      // Duplicate keys are found below, in one pass: the parser's own check compares each key with
      // every earlier one (30,000 keys took seconds), and tells `1` from "1", which are one key here.
      uniqueKeys: false,
      prettyErrors: false,
      lineCounter: lines,
      keepSourceTokens: false,
    });
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  const lineOf = (offset: number) => lines.linePos(offset).line;
  // The YAML parser reports one slip as a burst of follow-on errors; keep the first of each line.
  const errorLines = new Set<number>();
  // The parser places an error at the end of the input one character past it: keep spans inside the file.
  const clamp = (pos: [number, number]): [number, number] => {
    const s = Math.min(Math.max(0, pos[0]), text.length);
    return [s, Math.min(Math.max(s, pos[1]), text.length)];
  };
  for (const e of doc.errors) {
    const [s, t] = clamp(e.pos);
    const line = lineOf(s);
    if (errorLines.has(line)) continue;
    errorLines.add(line);
    // `{units: ${n * 2}}`: an unquoted expression inside a flow mapping or list is the commonest slip.
    const lineStart = text.lastIndexOf('\n', s) + 1;
    const lineText = text.slice(lineStart, text.indexOf('\n', s) < 0 ? text.length : text.indexOf('\n', s));
    const inFlow = /[{[,]\s*(?:[A-Za-z_][A-Za-z0-9_]*\s*:\s*)?(\$\{)/.exec(lineText);
    if (inFlow) {
      const at = lineStart + inFlow.index + inFlow[0].length - 2;
      diagnostics.push(diag('yamlSyntax', 'an expression ${...} inside a flow mapping {...} or list [...] must be quoted', span(at, at + 2), {
        hint: 'write it in quotes, e.g. {units: "${n * 2}"}, or use a block mapping on separate lines',
      }));
      continue;
    }
    // `pad: ${c ? 1 : 0}`: the ': ' of the conditional operator ends a plain YAML scalar.
    const withColon = /\$\{[^}]*:\s/.exec(lineText);
    if (withColon) {
      const at = lineStart + withColon.index;
      diagnostics.push(diag('yamlSyntax', "an expression that contains ': ' (as in c ? a : b) must be quoted", span(at, at + 2), {
        hint: 'write it in quotes, e.g. pad: "${n % 4 == 2 ? 1 : 0}"',
      }));
      continue;
    }
    diagnostics.push(diag('yamlSyntax', firstLine(e.message), span(s, t)));
  }
  for (const w of doc.warnings) {
    const [s, t] = clamp(w.pos);
    if (w.code === 'TAG_RESOLVE_FAILED') {
      const written = text.slice(s, t).match(/^!\S*/)?.[0] ?? firstLine(w.message);
      diagnostics.push(diag('yamlTag', `the tag ${written} is not allowed: specs use only the YAML core schema`, span(s, t), {
        hint: 'remove the tag: a spec is plain data and nothing in it is ever evaluated as code',
      }));
    }
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { file, text, value: undefined, spans, diagnostics };

  // What each alias stands for, found in one pass: `Alias.resolve(doc)` walks the whole document
  // on every call, which made a document of many aliases quadratic. As there, an alias names the
  // last node before it with that anchor.
  const aliasTargets = new Map<Alias, YNode | undefined>();
  const anchors = new Map<string, YNode>();
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) aliasTargets.set(node, anchors.get(node.source));
      else if ((node as { anchor?: string }).anchor) anchors.set((node as { anchor: string }).anchor, node as YNode);
    },
  });
  const resolveAlias = (node: Alias) => aliasTargets.get(node);

  // Size after alias expansion, computed without expanding (memoised per anchored node), so a
  // "billion laughs" document is refused at once instead of after 200,000 nodes of work.
  const sizes = new Map<YNode, number>();
  const expandedSize = (node: YNode | null | undefined, depth: number): number => {
    if (node == null || depth > LIMITS.maxYamlDepth) return 1;
    if (isAlias(node)) return expandedSize(resolveAlias(node), depth + 1);
    const hit = sizes.get(node);
    if (hit !== undefined) return hit;
    let n = 1;
    if (isSeq(node)) for (const it of node.items) n += expandedSize(it as YNode, depth + 1);
    else if (isMap(node)) for (const pair of node.items) if (isPair(pair)) n += expandedSize(pair.value as YNode, depth + 1);
    n = Math.min(n, Number.MAX_SAFE_INTEGER);
    sizes.set(node, n);
    return n;
  };
  const total = expandedSize(doc.contents as YNode | null, 0);
  if (total > LIMITS.maxYamlNodes) {
    const r = (doc.contents as YNode | null)?.range;
    diagnostics.push(diag('resourceLimit', `the document expands to more than ${LIMITS.maxYamlNodes} nodes (maxYamlNodes): ${total} after its YAML aliases (*name) are expanded`, r ? span(r[0], Math.min(r[1], r[0] + 1)) : undefined));
    return { file, text, value: undefined, spans, diagnostics };
  }
  let budget = LIMITS.maxYamlNodes;
  let exhausted = false;
  let duplicates = false;
  let invalid = false;
  /** Nodes reported already (a node reached again through an alias is reported once). */
  const reported = new Set<YNode>();
  const duplicate = (at: number, key: string) => {
    duplicates = true;
    const line = lineOf(at);
    if (errorLines.has(line)) return; // also a mapping reached again through an alias
    errorLines.add(line);
    const written = (/^[^:\n,{}[\]]+/.exec(text.slice(at, at + 200))?.[0] ?? '').trim() || key;
    diagnostics.push(diag('yamlDuplicateKey', `duplicate key '${written}' in this mapping`, span(at, Math.min(at + 1, text.length)), { hint: 'YAML would keep only one of them; remove or rename one' }));
  };
  const walk = (node: YNode | null | undefined, ptr: string, depth: number): unknown => {
    if (--budget < 0 || depth > LIMITS.maxYamlDepth) {
      if (!exhausted) {
        exhausted = true;
        const r = node?.range;
        const why = budget < 0
          ? `the document expands to more than ${LIMITS.maxYamlNodes} nodes (maxYamlNodes); YAML aliases (*name) multiply what they repeat`
          : `the document nests deeper than ${LIMITS.maxYamlDepth} levels (maxYamlDepth)`;
        diagnostics.push(diag('resourceLimit', why, r ? span(r[0], r[1]) : undefined));
      }
      return null;
    }
    if (node == null) return null;
    if (isAlias(node)) {
      return walk(resolveAlias(node), ptr, depth + 1);
    }
    const range = node.range;
    const prev = spans.get(ptr);
    if (range) spans.set(ptr, { ...prev, start: range[0], end: range[1] });
    if (node.tag && !isStandardTag(node.tag)) {
      diagnostics.push(diag('yamlTag', `the tag ${node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed: specs use only the YAML core schema`, range ? span(range[0], range[1]) : undefined));
    }
    if (isScalar(node)) {
      // `.nan`, `.inf` and `1e999` are YAML floats but no value of a spec (nor of JSON) can be one.
      if (typeof node.value === 'number' && !Number.isFinite(node.value) && !reported.has(node)) {
        reported.add(node);
        diagnostics.push(diag('invalidValue', `${text.slice(range?.[0] ?? 0, range?.[1] ?? 0).trim() || String(node.value)} is not a finite number`, range ? span(range[0], range[1]) : undefined, {
          hint: 'numbers in a spec must be finite',
        }));
        invalid = true;
      }
      return node.value ?? null;
    }
    if (isSeq(node)) return node.items.map((it, i) => walk(it as YNode, `${ptr}/${i}`, depth + 1));
    if (isMap(node)) {
      const obj: Record<string, unknown> = Object.create(null);
      const keys = new Set<string>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const k = pair.key as YNode | null;
        let key: string;
        if (isScalar(k)) key = String(k.value);
        else {
          const r = (k as YNode | null)?.range;
          diagnostics.push(diag('yamlSyntax', 'mapping keys must be plain scalars', r ? span(r[0], r[1]) : undefined));
          continue;
        }
        const kr = k.range;
        if (keys.has(key)) {
          duplicate(kr ? kr[0] : range ? range[0] : 0, key);
          continue;
        }
        keys.add(key);
        const childPtr = `${ptr}/${escapePointer(key)}`;
        const v = pair.value as YNode | null;
        const vr = v?.range;
        // A key without a value (`conv2d:`) spans its key.
        spans.set(childPtr, {
          start: vr ? vr[0] : kr ? kr[0] : 0,
          end: vr ? vr[1] : kr ? kr[1] : 0,
          ...(kr ? { keyStart: kr[0], keyEnd: kr[1] } : {}),
        });
        obj[key] = walk(v, childPtr, depth + 1);
        if (vr == null && kr) spans.set(childPtr, { start: kr[0], end: kr[1], keyStart: kr[0], keyEnd: kr[1] });
      }
      return obj;
    }
    return null;
  };
  const value = walk(doc.contents as YNode | null, '', 0);
  return { file, text, value: exhausted || duplicates || invalid ? undefined : value, spans, diagnostics };
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
