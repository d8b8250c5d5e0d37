#!/usr/bin/env node
/**
 * The pull-request comment: the semantic diff (`modelspec diff --format markdown`) of every
 * spec that changed between two revisions, as one Markdown document on standard output (or
 * --out FILE). Run by examples/github/modelspec-diff.yml; works in any git checkout:
 *
 *   node examples/github/modelspec-pr-comment.mjs --base origin/main --head HEAD [--specs 'specs/**.yaml'] [--out comment.md]
 *
 * Options: --base REV, --head REV (default HEAD), --specs PATHSPEC (git pathspec glob, default
 * `*.yaml`, repeatable), --out FILE, --modelspec CMD (how to run modelspec; default: this
 * checkout's dist/cli/modelspec.js if there is one, else `modelspec` on PATH).
 * Files that are not model specs (block libraries, other YAML) are listed as skipped.
 * Exit 0 with the comment written; 2 on a usage or git error. Needs git; no network.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** First line of every comment this script writes: lets a workflow find and update its own comment. */
export const MARKER = '<!-- modelspec-pr-comment -->';

function parseArgs(argv) {
  const o = { base: undefined, head: 'HEAD', specs: [], out: undefined, modelspec: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    const need = () => { if (v === undefined) fail(`${a} needs a value`); i++; return v; };
    if (a === '--base') o.base = need();
    else if (a === '--head') o.head = need();
    else if (a === '--specs') o.specs.push(need());
    else if (a === '--out') o.out = need();
    else if (a === '--modelspec') o.modelspec = need();
    else fail(`unknown argument ${a}`);
  }
  if (!o.base) fail('--base REV is required');
  for (const rev of [o.base, o.head]) if (!/^[\w./~^@{}-]+$/.test(rev) || rev.startsWith('-')) fail(`not a revision: ${rev}`);
  if (!o.specs.length) o.specs.push('*.yaml');
  return o;
}

function fail(message) {
  process.stderr.write(`modelspec-pr-comment: ${message}\n`);
  process.exit(2);
}

function git(args) {
  const r = spawnSync('git', args, { encoding: 'utf8' });
  if (r.status !== 0) fail(`git ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

function modelspecCommand(given) {
  if (given) return given.split(' ');
  const local = join(dirname(fileURLToPath(import.meta.url)), '../../dist/cli/modelspec.js');
  return existsSync(local) ? [process.execPath, local] : ['modelspec'];
}

export function comment(o) {
  const [cmd, ...pre] = modelspecCommand(o.modelspec);
  const base = git(['rev-parse', '--verify', '--end-of-options', `${o.base}^{commit}`]).trim();
  const head = git(['rev-parse', '--verify', '--end-of-options', `${o.head}^{commit}`]).trim();
  // The merge base, as GitHub shows a pull request: only what the branch changed.
  const from = git(['merge-base', base, head]).trim();
  const changed = git(['diff', '--name-status', '--no-renames', '-z', from, head, '--', ...o.specs])
    .split('\0').filter(Boolean);
  const files = [];
  for (let i = 0; i + 1 < changed.length; i += 2) files.push({ status: changed[i], path: changed[i + 1] });
  const short = (sha) => sha.slice(0, 8);
  const sections = [];
  const skipped = [];
  let differ = 0;
  for (const f of files) {
    if (f.status === 'A' || f.status === 'D') {
      // A spec against itself: its totals, or exit 2 when the file is no model spec.
      const rev = f.status === 'A' ? head : from;
      const r = spawnSync(cmd, [...pre, 'diff', `${rev}:${f.path}`, `${rev}:${f.path}`, '--format', 'markdown'], { encoding: 'utf8' });
      const what = f.status === 'A' ? 'New' : 'Deleted';
      if (r.status !== 0) { skipped.push(`\`${f.path}\` (${what.toLowerCase()}; no model)`); continue; }
      const totals = /^\*\*No architectural change\*\* \((.*)\)$/m.exec(r.stdout)?.[1] ?? '';
      sections.push(`### ${what} spec \`${f.path}\`\n\n${totals}\n`);
      differ++;
      continue;
    }
    const r = spawnSync(cmd, [...pre, 'diff', `${from}:${f.path}`, `${head}:${f.path}`, '--format', 'markdown'], { encoding: 'utf8' });
    if (r.status === 0 || r.status === 1) {
      sections.push(r.stdout.trimEnd() + '\n');
      if (r.status === 1) differ++;
    } else {
      skipped.push(`\`${f.path}\` (${(r.stderr.split('\n')[0] ?? '').replace(/^modelspec diff: /, '').slice(0, 200)})`);
    }
  }
  const out = [MARKER, `## modelspec: architecture diff`, '', `${short(from)} → ${short(head)}: ${files.length} spec file${files.length === 1 ? '' : 's'} changed, ${differ} with an architectural change.`, ''];
  for (const s of sections) out.push(s);
  if (skipped.length) out.push(`<sub>Skipped (no model to compare): ${skipped.join(', ')}</sub>`, '');
  return out.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const o = parseArgs(process.argv.slice(2));
  const text = comment(o);
  if (o.out) writeFileSync(o.out, text);
  else process.stdout.write(text);
}
