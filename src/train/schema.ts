/**
 * The `training:` section's schema and its value lists live in the validation stage
 * (src/validate/training-schema.ts), which the spec schema is built from; training reads them here.
 */
export * from '../validate/training-schema.js';
