/**
 * Stage 1: YAML text -> plain data plus a map from JSON pointer to source span.
 *
 * Only the YAML core schema is accepted (no tags beyond it), duplicate keys are
 * errors, and mappings become prototype-less objects so keys such as
 * `__proto__` are ordinary data.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YNode } from 'yaml';
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
  const doc: Document.Parsed = parseDocument(text, {
    schema: 'core',
    uniqueKeys: true,
    prettyErrors: false,
    lineCounter: new LineCounter(),
    keepSourceTokens: false,
  });
  // The YAML parser reports one slip as a burst of follow-on errors; keep the first of each line.
  const errorLines = new Set<number>();
  for (const e of doc.errors) {
    const [s, t] = e.pos;
    const line = lineOf(text, s);
    if (errorLines.has(line)) continue;
    errorLines.add(line);
    if (e.code === 'DUPLICATE_KEY') {
      const key = (/^[^:\n,{}[\]]+/.exec(text.slice(s))?.[0] ?? '').trim() || firstLine(e.message);
      diagnostics.push(diag('yamlDuplicateKey', `duplicate key '${key}' in this mapping`, span(s, t), { hint: 'YAML would keep only one of them; remove or rename one' }));
      continue;
    }
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
    const [s, t] = w.pos;
    if (w.code === 'TAG_RESOLVE_FAILED') {
      const written = text.slice(s, t).match(/^!\S*/)?.[0] ?? firstLine(w.message);
      diagnostics.push(diag('yamlTag', `the tag ${written} is not allowed: specs use only the YAML core schema`, span(s, t), {
        hint: 'remove the tag: a spec is plain data and nothing in it is ever evaluated as code',
      }));
    }
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { file, text, value: undefined, spans, diagnostics };

  // Size after alias expansion, computed without expanding (memoised per anchored node), so a
  // "billion laughs" document is refused at once instead of after 200,000 nodes of work.
  const sizes = new Map<YNode, number>();
  const expandedSize = (node: YNode | null | undefined, depth: number): number => {
    if (node == null || depth > LIMITS.maxYamlDepth) return 1;
    if (isAlias(node)) return expandedSize(node.resolve(doc) as YNode | undefined, depth + 1);
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
      const target = node.resolve(doc);
      return walk(target as YNode | undefined, ptr, depth + 1);
    }
    const range = node.range;
    const prev = spans.get(ptr);
    if (range) spans.set(ptr, { ...prev, start: range[0], end: range[1] });
    if (node.tag && !isStandardTag(node.tag)) {
      diagnostics.push(diag('yamlTag', `the tag ${node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed: specs use only the YAML core schema`, range ? span(range[0], range[1]) : undefined));
    }
    if (isScalar(node)) return node.value ?? null;
    if (isSeq(node)) return node.items.map((it, i) => walk(it as YNode, `${ptr}/${i}`, depth + 1));
    if (isMap(node)) {
      const obj: Record<string, unknown> = Object.create(null);
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
        const childPtr = `${ptr}/${escapePointer(key)}`;
        const kr = k.range;
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
  return { file, text, value: exhausted ? undefined : value, spans, diagnostics };
}

function isStandardTag(tag: string): boolean {
  return /^tag:yaml\.org,2002:(str|int|float|bool|null|map|seq)$/.test(tag);
}

function lineOf(text: string, offset: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
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
