import { compileFile, renderDiagnostics, formatSummary, builtinRegistry, formatFolded } from '../src/index.js';
const [file, ...sets] = process.argv.slice(2);
const r = compileFile(file!, { set: sets });
console.log(renderDiagnostics(r.diagnostics, r.sources));
if (r.graph) { console.log(formatSummary(r.graph, builtinRegistry())); }
