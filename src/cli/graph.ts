/** `modelspec graph <spec>`: a thin front over the library's drawGraph (src/backends/graph/command.ts). */
export { drawGraph as runGraph, graphFormatFor, GRAPH_FORMATS, type GraphFormat, type GraphOptions, type GraphOutput } from '../backends/graph/command.js';
