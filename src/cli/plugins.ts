/** UsageError, for the commands: it lives in src/diagnostics/errors.ts, below every stage that throws it. */
export { UsageError } from '../diagnostics/errors.js';
