/** Graph drawings of a typed model: DOT and Mermaid text, SVG and PNG rendered in-process. */
export { buildView, fitView, MAX_LAID_OUT, scopeCaption, type FittedView, type GraphView, type ViewNode, type ViewCluster, type ViewEdge, type ViewOptions } from './view.js';
export { graphToDot, viewToDot, titleLines, type DotOptions } from './dot.js';
export { graphToMermaid, viewToMermaid, mermaidText, layerLines, foldedLines, type MermaidOptions } from './mermaid.js';
export { brief, kerasClassOf, paletteOf } from './labels.js';
export { dotToSvg, svgToPng, type PngOptions } from './render.js';
