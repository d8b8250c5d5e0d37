/** `modelspec build <spec> --out <dir>`: the TensorFlow.js model (or its Keras JSON), written atomically. */
import { existsSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { MAX_JSON_BYTES, readTextBounded } from '../io/read.js';
import { join, relative } from 'node:path';
import { compileFile, type CompileFlags } from '../compile.js';
import { renderDiagnostics } from '../diagnostics/render.js';
import { formatInt, formatMacs, kerasRows } from '../report/summary.js';
import { formatShape } from '../types/shape.js';
import type { TypedGraph } from '../types/ir.js';
import type { OpRegistry } from '../ops/index.js';
import { checkOverwrite, GENERATOR, writeFileAtomic } from '../io/atomic.js';
import { fileProblem } from '../io/fs-problems.js';
import { EXIT, type CommandOutput } from '../diagnostics/outcome.js';
import { UsageError } from '../diagnostics/errors.js';

export interface BuildCommandOptions {
  /** Limits and use: policy from the command line. */
  compile?: CompileFlags;
  set: string[];
  out: string;
  backend?: 'node' | 'wasm' | 'cpu';
  format: 'tfjs' | 'keras-json' | 'keras3-json';
  force: boolean;
  registry: OpRegistry;
}

const isOurModelJson = (content: string) => {
  try {
    const j = JSON.parse(content) as { generatedBy?: string; modelspec?: unknown };
    return (typeof j.generatedBy === 'string' && j.generatedBy.startsWith(GENERATOR)) || j.modelspec !== undefined;
  } catch {
    return false;
  }
};

/**
 * modelspec's own short report of what was built (tfjs' model.summary() is hundreds of lines
 * with names cut at 25 characters): totals, inputs and outputs, where the full table is.
 */
export function buildReport(graph: TypedGraph, spec: string): string[] {
  const t = graph.totals;
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const ends = (ids: readonly string[]) => ids.map((id) => `${id} ${formatShape(byId.get(id)?.outputShape)}`).join(', ');
  return [
    `${graph.name}: ${formatInt(kerasRows(graph).length)} layers, ${formatInt(t.total)} params (${formatInt(t.trainable)} trainable, ${formatInt(t.nonTrainable)} non-trainable), ${formatMacs(t.macs)} MACs`,
    `  inputs:  ${ends(graph.inputs)}`,
    `  outputs: ${ends(graph.outputs)}`,
    `  layer by layer: modelspec summary ${spec}`,
  ];
}

const ourModelJsonAt = (path: string) => {
  try {
    return isOurModelJson(readTextBounded(path, MAX_JSON_BYTES));
  } catch {
    return false;
  }
};

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Build the spec with TensorFlow.js and write the model (tfjs, Keras or Keras 3 JSON) into `out`. */
export async function buildToFolder(spec: string, opts: BuildCommandOptions): Promise<CommandOutput> {
  try {
    return await buildTo(spec, opts);
  } catch (e) {
    // Permission denied on --out, a full disk, a folder where model.json belongs: the user's to fix.
    const problem = fileProblem(e, 'write');
    if (problem) return { stdout: '', stderr: `modelspec build: ${problem.message}\n`, code: EXIT.problems };
    throw e;
  }
}

async function buildTo(spec: string, opts: BuildCommandOptions): Promise<CommandOutput> {
  const result = compileFile(spec, { ...opts.compile, set: opts.set, registry: opts.registry });
  const rendered = result.diagnostics.length ? renderDiagnostics(result.diagnostics, result.sources, { cwd: process.cwd() }) + '\n' : '';
  if (!result.ok || !result.graph) return { stdout: '', stderr: rendered, code: EXIT.problems };
  const graph = result.graph;

  const modelPath = join(opts.out, 'model.json');
  const weightsPath = join(opts.out, 'weights.bin');
  // A weights.bin that an earlier build (ours) wrote beside the model.json this build replaces.
  let staleWeights = false;
  try {
    checkOverwrite(modelPath, opts.force, isOurModelJson);
    staleWeights = existsSync(weightsPath) && (opts.force || ourModelJsonAt(modelPath));
    // weights.bin is ours when the model.json beside it is.
    if (opts.format === 'tfjs') {
      checkOverwrite(weightsPath, opts.force, () => ourModelJsonAt(modelPath));
    }
  } catch (e) {
    throw new UsageError((e as Error).message);
  }

  const { loadTf, describeBackend } = await import('../backends/tfjs/backend.js');
  const { buildFromGraph } = await import('../backends/tfjs/interpreter.js');
  let loaded;
  try {
    loaded = await loadTf(opts.backend);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { tf, backend } = loaded;
  const model = buildFromGraph(tf, graph, opts.registry);
  const lines = buildReport(graph, relative(process.cwd(), spec) || spec);
  const meta = { spec: relative(process.cwd(), spec) || spec, parameters: graph.params };
  const written: string[] = [];
  if (opts.format === 'keras-json') {
    const topology = model.toJSON(null, false) as object;
    // No weights go with the topology: an earlier build's weights.bin must not stay beside it as if
    // it were this model's. Removed first, so that a run killed in between leaves a model.json
    // whose weights are missing (an error when loaded), never one with another model's weights.
    if (staleWeights) rmSync(weightsPath, { force: true });
    writeFileAtomic(modelPath, JSON.stringify({ ...topology, modelspec: meta }, null, 2) + '\n');
    written.push(`${modelPath} (Keras topology JSON, for tf.keras.models.model_from_json)`);
  } else if (opts.format === 'keras3-json') {
    const { toKeras3 } = await import('../backends/keras-json/keras3.js');
    const topology = model.toJSON(null, false) as Parameters<typeof toKeras3>[0];
    const shapeOf = (layer: string, node: number, tensor = 0) => {
      const s = model.getLayer(layer).getOutputAt(node) as { shape: (number | null)[] } | { shape: (number | null)[] }[];
      return [...(Array.isArray(s) ? s[tensor]!.shape : s.shape)];
    };
    writeFileAtomic(modelPath, JSON.stringify({ ...toKeras3(topology, shapeOf), modelspec: meta }, null, 2) + '\n');
    written.push(`${modelPath} (Keras 3 config.json, for keras.models.model_from_json or a .keras zip)`);
  } else {
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData instanceof ArrayBuffer ? new Uint8Array(artifacts.weightData) : new Uint8Array(0);
      // model.json records the digest of its weights: a build killed between the two renames leaves
      // a pair that readers (evaluate, predict) refuse instead of mixing two models.
      writeFileAtomic(weightsPath, weights);
      const modelJson = {
        format: 'layers-model',
        generatedBy: `${GENERATOR} (TensorFlow.js ${tf.version.tfjs})`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        userDefinedMetadata: { modelspec: { ...meta, weightsSha256: sha256(weights) } },
      };
      writeFileAtomic(modelPath, JSON.stringify(modelJson) + '\n');
      written.push(`${modelPath}`, `${weightsPath} (${weights.byteLength.toLocaleString('en-US')} bytes)`);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
  }
  model.dispose();
  const stdout = [
    `backend: ${describeBackend(backend)}`,
    ...lines,
    ...written.map((w) => `wrote ${w}`),
    '',
  ].join('\n');
  return { stdout, stderr: rendered, code: EXIT.ok };
}
