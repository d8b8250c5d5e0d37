/**
 * Text for a terminal. Ids, file names, messages and code frames come from specs and file names
 * anyone can write: printed raw, an ESC sequence in an id can set the window title, clear the
 * screen or hide text, and a bidi override (U+202E) can show a line in another order than it is
 * read. Everything modelspec prints as text goes through `escapeTerminal`, which writes such
 * characters as visible escapes (`\x1b`, `\u202e`). JSON output is left as it is: JSON.stringify
 * escapes the C0 controls, and a program reads it, not a terminal.
 */

/**
 * C0 controls but tab and newline (a carriage return too, unless it ends a CRLF line), DEL, C1
 * controls, and the bidirectional formatting characters: ALM, LRM/RLM, LRE/RLE/PDF/LRO/RLO,
 * LRI/RLI/FSI/PDI, and the line and paragraph separators.
 */
const UNSAFE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\r(?!\n)/g;

const hex = (c: string, width: number) => c.charCodeAt(0).toString(16).padStart(width, '0');

/** `text` with control and bidi characters written as visible escapes. */
export function escapeTerminal(text: string): string {
  return text.replace(UNSAFE, (c) => (c.charCodeAt(0) < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}
