/** Errors that are the user's to fix, not bugs: reported without a stack trace. */

/** A problem with how a command was called (a flag, a plugin module): exit code 2, no stack trace. */
export class UsageError extends Error {}
