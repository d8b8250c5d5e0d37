/**
 * `modelspec export <spec> --format pytorch [--set ...] [--out model.py]`: a thin front over the
 * library's exportSpec (src/train/export.ts), which main parses the options for and prints.
 */
export { exportSpec as runExport, pytorchModuleText, EXPORT_MARKER, type ExportOptions } from '../train/export.js';
