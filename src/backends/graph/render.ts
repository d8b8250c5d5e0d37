/**
 * DOT -> SVG -> PNG in-process: Graphviz compiled to WebAssembly (@hpcc-js/wasm-graphviz)
 * lays the graph out, resvg (@resvg/resvg-js, prebuilt per platform) rasterises the SVG.
 * No system Graphviz, no browser. Both libraries are loaded on first use only, so that
 * commands other than `graph` never pay for them; the module names are not string
 * literals, so the CLI bundler leaves them as run-time imports from node_modules.
 */
import { FONT, FONT_STACK } from './dot.js';
import { importModule } from '../../io/import-module.js';

type GraphvizModule = typeof import('@hpcc-js/wasm-graphviz');
type ResvgModule = typeof import('@resvg/resvg-js');

const GRAPHVIZ: string = '@hpcc-js/wasm-graphviz';
const RESVG: string = '@resvg/resvg-js';

let graphviz: Promise<Awaited<ReturnType<GraphvizModule['Graphviz']['load']>>> | undefined;

async function loadGraphviz() {
  graphviz ??= importModule<GraphvizModule>(GRAPHVIZ).then((m) => m.Graphviz.load());
  return graphviz;
}

/** Lay out DOT with Graphviz `dot` and return the SVG (fonts given as a fallback stack). */
export async function dotToSvg(dot: string): Promise<string> {
  const gv = await loadGraphviz();
  const svg = gv.dot(dot, 'svg');
  return svg.replaceAll(`font-family="${FONT}"`, `font-family="${FONT_STACK}"`);
}

export interface PngOptions {
  /** Pixels per SVG point (default 2: crisp on high-density screens and in READMEs). */
  scale?: number;
}

/** Rasterise an SVG to PNG on a white background, with the system's fonts. */
export async function svgToPng(svg: string, opts: PngOptions = {}): Promise<Buffer> {
  const { Resvg } = await importModule<ResvgModule>(RESVG);
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: opts.scale ?? 2 },
    font: { loadSystemFonts: true, defaultFontFamily: FONT, sansSerifFamily: FONT },
    shapeRendering: 2,
    textRendering: 1,
    logLevel: 'off',
  });
  return resvg.render().asPng();
}
