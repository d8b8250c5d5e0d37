/**
 * `import ... from 'modelspec'`: the library's public face. It only re-exports; nothing in src/
 * imports it (the compiler itself is src/compile.ts), so it can sit at the end of the pipeline
 * order and re-export every stage, TensorFlow.js building included, without a cycle.
 */
export * from './compile.js';
export { builtinRegistry, OpRegistry, ShapeError, attr } from './ops/index.js';
export type { OpDef, AttrDef } from './ops/index.js';
export { Sources } from './diagnostics/sources.js';
export { DEFAULT_LIMITS, type Limits } from './limits.js';
export { renderDiagnostic, renderDiagnostics, diagnosticToJson } from './diagnostics/render.js';
export { Msg } from './diagnostics/messages.js';
export { generateSchema } from './validate/schema.js';
export { formatSummary, formatFolded, summaryJson } from './report/summary.js';
export { kerasLayerOrder } from './report/keras-order.js';
export type { Diagnostic, SourceSpan } from './types/diagnostic.js';
export type { GraphIR, IRNode, TypedGraph, TypedNode, WeightSpec } from './types/ir.js';
export type { Shape, Dim } from './types/shape.js';
export type { SpecAst } from './types/spec.js';
export type { SetValue } from './expand/instantiate.js';
// The commands' workflows (each CLI command is a thin parser over one): they return what the
// command prints and its exit code (CommandOutput), and write only the files asked for.
export { EXIT, type CommandOutput } from './diagnostics/outcome.js';
export { UsageError } from './diagnostics/errors.js';
export { exportSpec, pytorchModuleText, type ExportOptions } from './train/export.js';
export { drawGraph, graphFormatFor, GRAPH_FORMATS, type GraphFormat, type GraphOptions, type GraphOutput } from './backends/graph/command.js';
export { buildToFolder, buildReport, type BuildCommandOptions } from './build/write.js';
export { diffSpecs, gitDiffDriver, DIFF_FORMATS, type DiffFormat, type DiffOptions } from './diff/command.js';
export { importModel, type ImportModelOptions } from './backends/keras-json/command.js';
// Running specs with TensorFlow.js (loaded lazily, only when a model is built).
export { buildModel, compileForBuild, SpecError, loadTf, describeBackend, BACKENDS, type BuildOptions, type BackendName } from './build.js';
// Training and using a trained model (TensorFlow.js loaded on first call); the CLI's train,
// evaluate and predict are thin parsers over these.
export { train, TrainError, type TrainOptions, type TrainResult } from './train/trainer.js';
export {
  evaluateModel, predictImages, type EvaluateModelOptions, type EvaluateModelResult, type PredictImagesOptions, type Prediction,
} from './train/inference.js';
export {
  evaluateArraysModel, predictArrays, type ArrayInferenceOptions, type ArrayEvaluation, type ArrayPrediction,
} from './train/array-inference.js';
export { ModelDirError } from './train/model-io.js';
export { DataError } from './train/data/idx.js';
export { BackendUnavailable } from './backends/tfjs/backend.js';
