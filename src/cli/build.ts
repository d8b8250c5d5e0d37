/** `modelspec build <spec> --out <dir>`: a thin front over the library's buildToFolder (src/build/write.ts). */
export { buildToFolder as runBuild, buildReport, type BuildCommandOptions } from '../build/write.js';
