/** `--set name=value` arguments: values are read as YAML (`n=18`, `input_shape=[64,64,3]`). */
import { parse } from 'yaml';
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
      value = raw.trim() === '' ? null : parse(raw, { schema: 'core' });
    } catch (e) {
      diagnostics.push(diag('badSetSyntax', `${flag} ${name}: the value '${raw}' is not valid YAML (${(e as Error).message.split('\n')[0]})`, { file, start: start + eq + 1, end: start + a.length }));
      continue;
    }
    sets.push({ name, value, text: a, span: { file, start, end: start + a.length } });
  }
  return { sets, diagnostics };
}
