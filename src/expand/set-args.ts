/** `--set name=value` arguments: values are read as YAML (`n=18`, `input_shape=[64,64,3]`). */
import { parseDocument, visit } from 'yaml';
import type { Diagnostic } from '../types/diagnostic.js';
import { diag } from '../diagnostics/diagnostics.js';
import { COMMAND_LINE, type Sources } from '../diagnostics/sources.js';
import type { SetValue } from './instantiate.js';

export function parseSetArgs(args: readonly string[], sources: Sources, flag = '--set'): { sets: SetValue[]; diagnostics: Diagnostic[] } {
  const parts = args.map((a) => `${flag} ${a}`);
  const text = parts.join(' ');
  const file = flag === '--set' ? COMMAND_LINE : `${COMMAND_LINE} ${flag}`;
  sources.add(file, text);
  const sets: SetValue[] = [];
  const diagnostics: Diagnostic[] = [];
  let offset = 0;
  for (const [i, a] of args.entries()) {
    const start = offset + flag.length + 1;
    offset += parts[i]!.length + 1;
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      diagnostics.push(diag('badSetSyntax', `${flag} '${a}': expected name=value`, { file, start, end: start + a.length }, { hint: `e.g. ${flag} n=18 or ${flag} input_shape=[64,64,3]` }));
      continue;
    }
    const raw = a.slice(eq + 1);
    let value: unknown;
    try {
      // As in spec files: the core schema, no tags (and no warning printed by the YAML library).
      const doc = raw.trim() === '' ? undefined : parseDocument(raw, { schema: 'core' });
      if (doc?.errors.length) throw doc.errors[0];
      const tag = doc?.warnings.find((w) => w.code === 'TAG_RESOLVE_FAILED');
      if (tag) {
        const written = /!\S*/.exec(raw)?.[0] ?? 'tag';
        diagnostics.push(diag('badSetSyntax', `${flag} ${name}: the tag ${written} is not allowed: values use only the YAML core schema`, { file, start: start + eq + 1, end: start + a.length }));
        continue;
      }
      // An alias could make a value that contains itself (`&a [*a]`); a value on the command line needs none.
      let alias = false;
      if (doc) visit(doc, { Alias: () => { alias = true; return visit.BREAK; } });
      if (alias) {
        diagnostics.push(diag('badSetSyntax', `${flag} ${name}: YAML aliases (*name) are not allowed in a value`, { file, start: start + eq + 1, end: start + a.length }));
        continue;
      }
      value = doc ? doc.toJS() : null;
    } catch (e) {
      diagnostics.push(diag('badSetSyntax', `${flag} ${name}: the value '${raw}' is not valid YAML (${(e as Error).message.split('\n')[0]})`, { file, start: start + eq + 1, end: start + a.length }));
      continue;
    }
    sets.push({ name, value, text: a, span: { file, start, end: start + a.length } });
  }
  return { sets, diagnostics };
}
